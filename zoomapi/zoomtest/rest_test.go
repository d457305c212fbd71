package zoomtest_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

var (
	ana   = zoomtest.Person{Name: "Ana Ruiz", Email: "ana@example.org", ParticipantUserID: "Pt4RkLm9Qw2eXc7vBn1MzA"}
	guest = zoomtest.Person{Name: "Gäst 👋 <Ext> & Co", RegistrantID: "Rg7yT5uI3oP1aS9dF2gH4j"}
	host  = zoomtest.Person{Name: "Hugo Host", ParticipantUserID: "HostUser0000000000001"}
)

func TestPagination(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithPageTokenTTL(15*time.Minute))
	for i := range 75 {
		s.AddUser(zoomtest.User{ID: fmt.Sprintf("user%02d", i), FirstName: "U", LastName: fmt.Sprint(i)})
	}
	s.AddUser(zoomtest.User{ID: "gone", Status: "inactive"})
	tok := token(t, s)

	t.Run("WalksEveryPageOnce", func(t *testing.T) {
		var ids []string
		next, pages := "", 0
		for {
			a := get(t, s, tok, "/users?status=active&page_size=30&next_page_token="+url.QueryEscape(next))
			require.Equal(t, 200, a.Status, "body %s", a.Body)
			m := a.JSON(t)
			require.EqualValues(t, 75, m["total_records"])
			require.EqualValues(t, 30, m["page_size"])
			require.EqualValues(t, 3, m["page_count"])
			for _, u := range m["users"].([]any) {
				ids = append(ids, u.(map[string]any)["id"].(string))
			}
			pages++
			next = m["next_page_token"].(string)
			if next == "" {
				break
			}
		}
		require.Equal(t, 3, pages)
		require.Len(t, ids, 75)
		require.Equal(t, "user00", ids[0])
		require.Equal(t, "user74", ids[74])
	})

	t.Run("DefaultsTo30AndCapsAt300", func(t *testing.T) {
		m := get(t, s, tok, "/users").JSON(t)
		require.Len(t, m["users"], 30)
		m = get(t, s, tok, "/users?page_size=1000").JSON(t)
		require.EqualValues(t, 300, m["page_size"])
		require.Len(t, m["users"], 75)
		require.Equal(t, "", m["next_page_token"])
	})

	t.Run("TokenExpiresAfterTheTTL", func(t *testing.T) {
		next := get(t, s, tok, "/users?page_size=10").JSON(t)["next_page_token"].(string)
		require.NotEmpty(t, next)
		clk.Advance(14 * time.Minute)
		require.Equal(t, 200, get(t, s, tok, "/users?page_size=10&next_page_token="+next).Status)
		clk.Advance(time.Minute)
		get(t, s, tok, "/users?page_size=10&next_page_token="+next).requireError(t, 400, 300, "")
	})

	t.Run("TokenBelongsToItsListing", func(t *testing.T) {
		next := get(t, s, tok, "/users?page_size=10").JSON(t)["next_page_token"].(string)
		get(t, s, tok, "/users?status=inactive&page_size=10&next_page_token="+next).requireError(t, 400, 300, "")
	})
}

// TestPageSizeCaps checks that a page never holds more than the endpoint
// serves: 30, 50 or 100 on Heavy ones (§10 "Page sizes"), 300 on the others
// (§5), whatever page_size asks.
func TestPageSizeCaps(t *testing.T) {
	t.Parallel()
	start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	day := start.Format(time.DateOnly)
	play := func(s *zoomtest.Server) string {
		uuid := s.StartMeeting(zoomtest.MeetingSpec{Start: start})
		for i := range 120 {
			p := s.Join(uuid, zoomtest.Person{Name: fmt.Sprint("P", i)}, start)
			s.Leave(uuid, p.UserID, start.Add(time.Minute), "")
		}
		s.EndMeeting(uuid, start.Add(time.Hour))
		return uuid
	}
	tests := []struct {
		name     string
		opts     []zoomtest.Option
		path     string // {uuid} is the UUID
		wantSize int
	}{
		{name: "MediumServes300", path: "/past_meetings/{uuid}/participants?page_size=300", wantSize: 300},
		{name: "HeavyServes100", path: "/report/meetings/{uuid}/participants?page_size=300", wantSize: 100},
		{name: "ResourceIntensiveServes300", path: "/metrics/meetings/{uuid}/participants?type=past&page_size=300", wantSize: 300},
		{name: "HeavyPageSizeIsAnOption", opts: []zoomtest.Option{zoomtest.WithHeavyPageSize(30)}, path: "/report/meetings/{uuid}/participants?page_size=300", wantSize: 30},
		{name: "SmallerRequestsAreHonoured", path: "/report/meetings/{uuid}/participants?page_size=50", wantSize: 50},
		{name: "HeavyPageSizeLeavesOthersAlone", opts: []zoomtest.Option{zoomtest.WithHeavyPageSize(50)}, path: "/metrics/meetings?type=past&from=" + day + "&to=" + day + "&page_size=300", wantSize: 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, tt.opts...)
			uuid := play(s)
			m := get(t, s, token(t, s), strings.ReplaceAll(tt.path, "{uuid}", enc(uuid))).JSON(t)
			require.EqualValues(t, tt.wantSize, m["page_size"])
			if rows, ok := m["participants"].([]any); ok {
				require.Len(t, rows, min(tt.wantSize, 120))
				require.Equal(t, tt.wantSize < 120, m["next_page_token"] != "")
			}
		})
	}
}

func TestUUIDEncoding(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	start := time.Now().Add(-time.Hour).UTC()
	const slashy = "/ab+cd//efGhIjKlMnOpQ=="
	const plain = "t6WJ0cK+QvOe2m/hY1Lx9A=="
	endedMeeting(s, zoomtest.MeetingSpec{ID: 91234567890, UUID: slashy, Start: start}, ana, guest)
	endedMeeting(s, zoomtest.MeetingSpec{ID: 84512093377, UUID: plain, Start: start}, ana, guest)
	// Webinars follow the same rule; their UUIDs differ from the meetings'.
	const slashyWebinar, plainWebinar = "/wb+cd//efGhIjKlMnOpQ==", "w6WJ0cK+QvOe2m/hY1Lx9A=="
	endedMeeting(s, zoomtest.MeetingSpec{ID: 95551234567, UUID: slashyWebinar, Webinar: true, Start: start}, ana, guest)
	endedMeeting(s, zoomtest.MeetingSpec{ID: 96661234567, UUID: plainWebinar, Webinar: true, Start: start}, ana, guest)
	tok := token(t, s)

	tests := []struct {
		name     string
		slashy   bool
		encode   func(string) string
		resolves bool
	}{
		{name: "SlashyUUIDDoubleEncodedResolves", slashy: true, encode: twice, resolves: true},
		{name: "SlashyUUIDSingleEncodedIsNotFound", slashy: true, encode: once},
		{name: "SlashyUUIDUnencodedIsNotFound", slashy: true, encode: func(u string) string { return u }},
		{name: "PlainUUIDSingleEncodedResolves", encode: once, resolves: true},
		{name: "PlainUUIDDoubleEncodedResolves", encode: twice, resolves: true},
		{name: "PlainUUIDUnencodedIsNotFound", encode: func(u string) string { return u }},
	}
	endpoints := []struct {
		path      string
		webinar   bool
		uuidField bool // the answer names the instance
	}{
		{path: "/past_meetings/%s", uuidField: true},
		{path: "/past_meetings/%s/participants"},
		{path: "/report/meetings/%s", uuidField: true},
		{path: "/report/meetings/%s/participants"},
		{path: "/metrics/meetings/%s?type=past", uuidField: true},
		{path: "/metrics/meetings/%s/participants?type=past"},
		{path: "/past_webinars/%s/participants", webinar: true},
		{path: "/report/webinars/%s", webinar: true, uuidField: true},
		{path: "/report/webinars/%s/participants", webinar: true},
		{path: "/metrics/webinars/%s?type=past", webinar: true, uuidField: true},
		{path: "/metrics/webinars/%s/participants?type=past", webinar: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, ep := range endpoints {
				uuid := map[[2]bool]string{{false, false}: plain, {false, true}: slashy, {true, false}: plainWebinar, {true, true}: slashyWebinar}[[2]bool{ep.webinar, tt.slashy}]
				a := get(t, s, tok, fmt.Sprintf(ep.path, tt.encode(uuid)))
				if !tt.resolves {
					a.requireError(t, 404, 3001, "")
					continue
				}
				require.Equal(t, 200, a.Status, "%s: %s", ep.path, a.Body)
				if ep.uuidField {
					require.Equal(t, uuid, a.JSON(t)["uuid"], ep.path)
				}
			}
		})
	}

	t.Run("RequestLogKeepsTheRawPath", func(t *testing.T) {
		s.ResetRequests()
		get(t, s, tok, "/past_meetings/"+twice(slashy))
		reqs := s.Requests()
		require.Len(t, reqs, 1)
		require.Equal(t, "/v2/past_meetings/%252Fab%252Bcd%252F%252FefGhIjKlMnOpQ%253D%253D", reqs[0].Path)
		require.Equal(t, "/past_meetings/{meetingId}", reqs[0].Endpoint)
		require.Equal(t, 200, reqs[0].Status)
	})
}

func TestMeetingNumberSelectsTheLatestInstance(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	start := time.Now().Add(-3 * time.Hour).UTC()
	first := endedMeeting(s, zoomtest.MeetingSpec{ID: 84512093377, Type: 8, Start: start}, ana, guest)
	second := endedMeeting(s, zoomtest.MeetingSpec{ID: 84512093377, Type: 8, Start: start.Add(time.Hour)}, ana, guest)
	require.NotEqual(t, first, second)
	tok := token(t, s)

	require.Equal(t, second, get(t, s, tok, "/past_meetings/84512093377").JSON(t)["uuid"])
	require.Equal(t, second, get(t, s, tok, "/report/meetings/84512093377").JSON(t)["uuid"])

	m := get(t, s, tok, "/past_meetings/84512093377/instances").JSON(t)
	var uuids []string
	for _, inst := range m["meetings"].([]any) {
		uuids = append(uuids, inst.(map[string]any)["uuid"].(string))
	}
	require.Equal(t, []string{first, second}, uuids)

	// A running third instance is not past yet: the number still means the second.
	s.StartMeeting(zoomtest.MeetingSpec{ID: 84512093377, Type: 8})
	require.Equal(t, second, get(t, s, tok, "/past_meetings/84512093377").JSON(t)["uuid"])
	get(t, s, tok, "/past_meetings/99999999999").requireError(t, 404, 3001, "Meeting does not exist: 99999999999.")
}

// TestPMIUsedThreeTimes plays one personal meeting ID three times in a row,
// as §10 describes recurring meetings and PMIs: each start is a new instance
// with its own UUID; GET /meetings/{id} describes the number, with the
// latest instance's UUID and status; and with a report delay the instance
// that just ended answers 404/3001 on past_meetings/{uuid} for that long,
// while the number still means the latest instance whose data is out.
func TestPMIUsedThreeTimes(t *testing.T) {
	t.Parallel()
	const pmi = 4155550123 // 10 digits, as PMIs are (§ intro)
	const delay = 2 * time.Minute
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithTokenLifetime(24*time.Hour))
	s.SetReportDelay(delay)
	tok := token(t, s)
	meeting := func() map[string]any { return get(t, s, tok, fmt.Sprint("/meetings/", pmi)).JSON(t) }
	pastUUID := func(ref string) answer { return get(t, s, tok, "/past_meetings/"+ref) }
	instances := func() []string {
		var out []string
		for _, m := range get(t, s, tok, fmt.Sprint("/past_meetings/", pmi, "/instances")).JSON(t)["meetings"].([]any) {
			out = append(out, m.(map[string]any)["uuid"].(string))
		}
		return out
	}

	var uuids []string
	for i := range 3 {
		uuid := s.StartMeeting(zoomtest.MeetingSpec{ID: pmi, Type: 4, Topic: "Ana's room"})
		require.NotContains(t, uuids, uuid, "instance %d has its own UUID", i+1)
		m := meeting()
		require.Equal(t, uuid, m["uuid"], "instance %d", i+1)
		require.Equal(t, "started", m["status"])
		require.EqualValues(t, pmi, m["id"])
		pastUUID(enc(uuid)).requireError(t, 404, 3001, "")
		if i > 0 {
			// The number means the latest instance whose data is out.
			require.Equal(t, uuids[i-1], pastUUID(fmt.Sprint(pmi)).JSON(t)["uuid"], "while instance %d runs", i+1)
		}

		s.Join(uuid, ana, clk.Now())
		clk.Advance(20 * time.Minute)
		s.EndMeeting(uuid, clk.Now())
		m = meeting()
		require.Equal(t, uuid, m["uuid"], "an ended instance is still the latest")
		require.Equal(t, "waiting", m["status"])
		pastUUID(enc(uuid)).requireError(t, 404, 3001, "")
		require.Equal(t, uuids, instances(), "not listed until its data is out")

		clk.Advance(delay - time.Second)
		pastUUID(enc(uuid)).requireError(t, 404, 3001, "")
		clk.Advance(time.Second)
		require.Equal(t, uuid, pastUUID(enc(uuid)).JSON(t)["uuid"], "out after the delay")
		require.Equal(t, uuid, pastUUID(fmt.Sprint(pmi)).JSON(t)["uuid"])
		uuids = append(uuids, uuid)
		require.Equal(t, uuids, instances())
		clk.Advance(5 * time.Minute)
	}
	for i, uuid := range uuids {
		truth, ok := s.Truth(uuid)
		require.True(t, ok)
		require.EqualValues(t, pmi, truth.ID, "instance %d", i+1)
	}
}

func TestReportBeforeAndAfterTheEnd(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now))
	s.SetReportDelay(2 * time.Minute)
	tok := token(t, s)
	start := clk.Now()
	uuid := s.StartMeeting(zoomtest.MeetingSpec{ID: 84512093377, HostID: host.ParticipantUserID, Topic: "Stand-up", Start: start})
	h := s.Join(uuid, host, start)
	a := s.Join(uuid, ana, start.Add(time.Minute))
	g := s.Join(uuid, guest, start.Add(2*time.Minute))
	s.Leave(uuid, a.UserID, start.Add(5*time.Minute), "")
	a2 := s.Join(uuid, ana, start.Add(6*time.Minute)) // a rejoin is a second session
	require.NotEqual(t, a.UserID, a2.UserID)
	require.Equal(t, a.ParticipantUUID, a2.ParticipantUUID)

	notEnded := "Meeting ID is invalid or not end."
	path := "/report/meetings/" + enc(uuid) + "/participants"
	get(t, s, tok, path).requireError(t, 404, 3001, notEnded)
	get(t, s, tok, "/past_meetings/"+enc(uuid)+"/participants").requireError(t, 404, 3001, "")

	clk.Advance(10 * time.Minute)
	s.EndMeeting(uuid, time.Time{})
	get(t, s, tok, path).requireError(t, 404, 3001, notEnded)

	clk.Advance(2 * time.Minute)
	m := get(t, s, tok, path).JSON(t)
	rows := m["participants"].([]any)
	require.Len(t, rows, 4, "one row per join session")
	require.EqualValues(t, 4, m["total_records"])
	byUser := map[string]map[string]any{}
	for _, r := range rows {
		row := r.(map[string]any)
		byUser[row["user_id"].(string)] = row
		require.NotContains(t, row, "registrant_id", "only with include_fields=registrant_id")
	}
	require.Equal(t, "", byUser[g.UserID]["id"], "externals have an empty id")
	require.Equal(t, "", byUser[g.UserID]["participant_user_id"])
	require.Equal(t, ana.ParticipantUserID, byUser[a.UserID]["id"])
	require.EqualValues(t, 240, byUser[a.UserID]["duration"])
	require.Equal(t, "2024-03-05T14:01:00Z", byUser[a.UserID]["join_time"])
	require.Equal(t, "2024-03-05T14:05:00Z", byUser[a.UserID]["leave_time"])
	require.Contains(t, byUser, h.UserID)

	m = get(t, s, tok, path+"?include_fields=registrant_id").JSON(t)
	for _, r := range m["participants"].([]any) {
		row := r.(map[string]any)
		require.Contains(t, row, "registrant_id")
		if row["user_id"] == g.UserID {
			require.Equal(t, guest.RegistrantID, row["registrant_id"])
		}
	}

	truth, ok := s.Truth(uuid)
	require.True(t, ok)
	require.Len(t, truth.Sessions, 4)
	require.Equal(t, start.Add(10*time.Minute), truth.End)
	for _, sess := range truth.Sessions {
		require.False(t, sess.LeaveTime.IsZero())
	}

	past := get(t, s, tok, "/past_meetings/"+enc(uuid)).JSON(t)
	require.EqualValues(t, 84512093377, past["id"], "REST ids are numbers")
	require.EqualValues(t, 10, past["duration"])
	require.EqualValues(t, 4, past["participants_count"])
	require.Equal(t, "Stand-up", past["topic"])
}

func TestOnePersonMeetingsStayOutOfReports(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	start := time.Now().UTC().Add(-time.Hour)
	uuid := endedMeeting(s, zoomtest.MeetingSpec{ID: 84512093377, HostID: host.ParticipantUserID, Start: start}, host)
	tok := token(t, s)

	get(t, s, tok, "/report/meetings/"+enc(uuid)).requireError(t, 404, 3001, "Meeting ID is invalid or not end.")
	get(t, s, tok, "/report/meetings/"+enc(uuid)+"/participants").requireError(t, 404, 3001, "Meeting ID is invalid or not end.")
	m := get(t, s, tok, "/past_meetings/"+enc(uuid)+"/participants").JSON(t)
	require.Empty(t, m["participants"], "Zoom returns nothing for one-participant meetings")

	day := start.Format(time.DateOnly)
	q := "?from=" + day + "&to=" + day
	require.Empty(t, get(t, s, tok, "/report/users/"+host.ParticipantUserID+"/meetings"+q).JSON(t)["meetings"])
	one := get(t, s, tok, "/report/users/"+host.ParticipantUserID+"/meetings"+q+"&type=pastOne").JSON(t)["meetings"].([]any)
	require.Len(t, one, 1)
	require.Empty(t, get(t, s, tok, "/metrics/meetings"+q+"&type=past").JSON(t)["meetings"])
	require.Len(t, get(t, s, tok, "/metrics/meetings"+q+"&type=pastOne").JSON(t)["meetings"], 1)
}

func TestPlanGating(t *testing.T) {
	t.Parallel()
	day := time.Now().UTC().Format(time.DateOnly)
	metrics := "/metrics/meetings?type=live&from=" + day + "&to=" + day
	tests := []struct {
		name       string
		plan       zoomtest.Plan
		path       string
		wantStatus int
	}{
		{name: "ProCannotUseTheDashboard", plan: zoomtest.PlanPro, path: metrics, wantStatus: 400},
		{name: "BusinessCanUseTheDashboard", plan: zoomtest.PlanBusiness, path: metrics, wantStatus: 200},
		{name: "BasicCannotUseReports", plan: zoomtest.PlanBasic, path: "/report/meetings/123/participants", wantStatus: 400},
		{name: "BasicCanListUsers", plan: zoomtest.PlanBasic, path: "/users", wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, zoomtest.WithPlan(tt.plan))
			a := get(t, s, token(t, s), tt.path)
			if tt.wantStatus == 400 {
				a.requireError(t, 400, 200, "")
				return
			}
			require.Equal(t, tt.wantStatus, a.Status, "body %s", a.Body)
		})
	}

	t.Run("SetPlanChangesItAtRuntime", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		tok := token(t, s)
		require.Equal(t, 200, get(t, s, tok, metrics).Status)
		s.SetPlan(zoomtest.PlanPro)
		get(t, s, tok, metrics).requireError(t, 400, 200, "")
	})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithTokenLifetime(24*time.Hour))
	tok := token(t, s)
	start := clk.Now()
	uuid := s.StartMeeting(zoomtest.MeetingSpec{ID: 84512093377, Topic: "Live one", Start: start})
	a := s.Join(uuid, ana, start)
	g := s.Join(uuid, guest, start.Add(time.Minute))
	s.Leave(uuid, g.UserID, start.Add(2*time.Minute), "")
	clk.Advance(75 * time.Minute)
	day := start.Format(time.DateOnly)

	live := get(t, s, tok, "/metrics/meetings?type=live&from="+day+"&to="+day).JSON(t)["meetings"].([]any)
	require.Len(t, live, 1)
	row := live[0].(map[string]any)
	require.Equal(t, uuid, row["uuid"])
	require.Equal(t, "01:15", row["duration"], "Dashboard durations are HH:MM strings")
	require.EqualValues(t, 84512093377, row["id"])

	parts := get(t, s, tok, "/metrics/meetings/"+enc(uuid)+"/participants").JSON(t)["participants"].([]any)
	require.Len(t, parts, 2)
	first := parts[0].(map[string]any)
	require.Equal(t, a.UserID, first["user_id"])
	require.NotContains(t, first, "leave_time", "still in the meeting")
	require.NotContains(t, first, "registrant_id", "not for live")
	require.Contains(t, parts[1].(map[string]any)["leave_reason"], "Reason: left the meeting")

	// By meeting number, the live view shows the running instance.
	require.Len(t, get(t, s, tok, "/metrics/meetings/84512093377/participants?type=live").JSON(t)["participants"], 2)
	get(t, s, tok, "/metrics/meetings/84512093377/participants?type=past").requireError(t, 404, 3001, "")

	s.EndMeeting(uuid, time.Time{})
	require.Empty(t, get(t, s, tok, "/metrics/meetings?from="+day+"&to="+day).JSON(t)["meetings"])
	past := get(t, s, tok, "/metrics/meetings?type=past&from="+day+"&to="+day).JSON(t)["meetings"].([]any)
	require.Len(t, past, 1)
	require.Equal(t, "2024-03-05T15:15:00Z", past[0].(map[string]any)["end_time"])
	require.Len(t, get(t, s, tok, "/metrics/meetings/"+enc(uuid)+"/participants?type=past").JSON(t)["participants"], 2)
}

func TestGetMeeting(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tok := token(t, s)
	scheduled := s.StartMeeting(zoomtest.MeetingSpec{ID: 84512093377, Type: 2})
	instant := s.StartMeeting(zoomtest.MeetingSpec{ID: 81234567890, Type: 1})

	m := get(t, s, tok, "/meetings/84512093377").JSON(t)
	require.Equal(t, "started", m["status"])
	require.Equal(t, scheduled, m["uuid"])
	require.EqualValues(t, 84512093377, m["id"])
	require.Equal(t, "started", get(t, s, tok, "/meetings/81234567890").JSON(t)["status"])

	s.EndMeeting(scheduled, time.Time{})
	s.EndMeeting(instant, time.Time{})
	require.Equal(t, "waiting", get(t, s, tok, "/meetings/84512093377").JSON(t)["status"])
	get(t, s, tok, "/meetings/81234567890").requireError(t, 404, 3001, "Meeting 81234567890 is not found or has expired.")
	get(t, s, tok, "/meetings/12345678901").requireError(t, 404, 3001, "Meeting does not exist: 12345678901.")
}

func TestReportUserMeetings(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now))
	tok := token(t, s)
	start := clk.Now().Add(-24 * time.Hour)
	uuid := endedMeeting(s, zoomtest.MeetingSpec{HostID: host.ParticipantUserID, Start: start}, host, ana)
	s.AddUser(zoomtest.User{ID: "Other", Email: "other@example.org"})

	tests := []struct {
		name     string
		user     string
		query    string
		wantCode int
		wantLen  int
	}{
		{name: "ListsMeetingsInTheRange", user: host.ParticipantUserID, query: "from=2024-03-01&to=2024-03-05", wantLen: 1},
		{name: "AcceptsAnEmail", user: "other@example.org", query: "from=2024-03-01&to=2024-03-05", wantLen: 0},
		{name: "ListsWhatTheUserJoined", user: ana.ParticipantUserID, query: "from=2024-03-01&to=2024-03-05&type=pastJoined", wantLen: 1},
		{name: "LeavesOutOtherDays", user: host.ParticipantUserID, query: "from=2024-03-05&to=2024-03-05", wantLen: 0},
		{name: "RefusesMoreThanAMonth", user: host.ParticipantUserID, query: "from=2024-02-01&to=2024-03-05", wantCode: 300},
		{name: "RefusesOlderThanSixMonths", user: host.ParticipantUserID, query: "from=2023-08-01&to=2023-08-20", wantCode: 300},
		{name: "RefusesABadDate", user: host.ParticipantUserID, query: "from=03/01/2024&to=2024-03-05", wantCode: 300},
		{name: "RefusesAnUnknownUser", user: "nobody", query: "from=2024-03-01&to=2024-03-05", wantCode: 1001},
		{name: "RefusesMeForS2STokens", user: "me", query: "from=2024-03-01&to=2024-03-05", wantCode: 4700},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, s, tok, "/report/users/"+url.PathEscape(tt.user)+"/meetings?"+tt.query)
			if tt.wantCode != 0 {
				status := 400
				if tt.wantCode == 1001 {
					status = 404
				}
				a.requireError(t, status, tt.wantCode, "")
				return
			}
			m := a.JSON(t)
			require.Len(t, m["meetings"], tt.wantLen, "body %s", a.Body)
			if tt.wantLen > 0 {
				require.Equal(t, uuid, m["meetings"].([]any)[0].(map[string]any)["uuid"])
			}
		})
	}
}

func TestEveryAnswerCarriesZoomHeaders(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tok := token(t, s)
	tests := []struct {
		name     string
		tok      string
		path     string
		category string
	}{
		{name: "Success", tok: tok, path: "/users", category: "Medium"},
		{name: "Unauthorized", tok: "", path: "/report/meetings/1/participants", category: "Heavy"},
		{name: "NotFound", tok: tok, path: "/meetings/1", category: "Light"},
		{name: "Dashboard", tok: tok, path: "/metrics/meetings/1", category: "Resource-intensive"},
		{name: "NoRoute", tok: tok, path: "/nothing/here", category: "Light"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := get(t, s, tt.tok, tt.path)
			require.Regexp(t, `^v=2\.0;clid=us06;rid=WEB_[0-9a-f]{32}$`, a.Header.Get("x-zm-trackingid"))
			require.Equal(t, tt.category, a.Header.Get("X-RateLimit-Category"))
			require.Equal(t, "QPS", a.Header.Get("X-RateLimit-Type"))
			require.NotEmpty(t, a.Header.Get("X-RateLimit-Limit"))
			require.NotEmpty(t, a.Header.Get("X-RateLimit-Remaining"))
		})
	}
}

func TestWebinarEndpoints(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithTokenLifetime(24*time.Hour))
	tok := token(t, s)
	start := clk.Now()
	panelist := zoomtest.Person{Name: "Pia Panel", Email: "pia@example.org", Panelist: true}
	first := endedMeeting(s, zoomtest.MeetingSpec{ID: 95551234567, Webinar: true, HostID: host.ParticipantUserID, Start: start.Add(-2 * time.Hour)}, host, guest)
	uuid := s.StartWebinar(zoomtest.MeetingSpec{ID: 95551234567, HostID: host.ParticipantUserID, Topic: "Launch", Start: start})
	h := s.Join(uuid, host, start)
	p := s.Join(uuid, panelist, start)
	g := s.Join(uuid, guest, start.Add(time.Minute))
	day := start.Format(time.DateOnly)

	t.Run("RunningWebinar", func(t *testing.T) {
		w := get(t, s, tok, "/webinars/95551234567").JSON(t)
		require.Equal(t, uuid, w["uuid"], "the latest instance")
		require.EqualValues(t, 95551234567, w["id"])
		require.EqualValues(t, 5, w["type"])
		require.NotContains(t, w, "status", "Zoom's webinar answer has none, unlike the meeting's")
		get(t, s, tok, "/report/webinars/"+enc(uuid)).requireError(t, 404, 3001, "Meeting ID is invalid or not end.")
		live := get(t, s, tok, "/metrics/webinars/"+enc(uuid)+"?type=live").JSON(t)
		require.Equal(t, uuid, live["uuid"])
		require.NotContains(t, live, "end_time")
		insts := get(t, s, tok, "/past_webinars/95551234567/instances").JSON(t)["webinars"].([]any)
		require.Len(t, insts, 1, "a running instance is not past")
		require.Equal(t, first, insts[0].(map[string]any)["uuid"])
	})

	s.EndWebinar(uuid, start.Add(90*time.Minute))
	clk.Advance(91 * time.Minute)

	t.Run("EndedWebinar", func(t *testing.T) {
		report := get(t, s, tok, "/report/webinars/"+enc(uuid)).JSON(t)
		require.Equal(t, uuid, report["uuid"])
		require.EqualValues(t, 90, report["duration"])
		require.EqualValues(t, 3, report["participants_count"])
		require.Equal(t, uuid, get(t, s, tok, "/report/webinars/95551234567").JSON(t)["uuid"], "a number means the latest instance")
		var insts []string
		for _, i := range get(t, s, tok, "/past_webinars/95551234567/instances").JSON(t)["webinars"].([]any) {
			insts = append(insts, i.(map[string]any)["uuid"].(string))
		}
		require.Equal(t, []string{first, uuid}, insts)
		require.Len(t, rowsByUser(t, get(t, s, tok, "/past_webinars/"+enc(uuid)+"/participants")), 3)
		require.Len(t, rowsByUser(t, get(t, s, tok, "/report/webinars/"+enc(uuid)+"/participants")), 3)
		require.Len(t, get(t, s, tok, "/metrics/webinars?type=past&from="+day+"&to="+day).JSON(t)["webinars"], 2)
		detail := get(t, s, tok, "/metrics/webinars/"+enc(uuid)+"?type=past").JSON(t)
		require.Equal(t, "01:30", detail["duration"])
		require.EqualValues(t, 3, detail["participants"])
	})

	t.Run("DashboardRowsNameTheRole", func(t *testing.T) {
		rows := rowsByUser(t, get(t, s, tok, "/metrics/webinars/"+enc(uuid)+"/participants?type=past"))
		for userID, role := range map[string]string{h.UserID: "host", p.UserID: "panelist", g.UserID: "attendee"} {
			require.Equal(t, role, rows[userID][0]["role"], "role of %s", userID)
			require.NotContains(t, rows[userID][0], "status", "webinar rows have none")
		}
	})

	t.Run("WebinarsAreNotMeetings", func(t *testing.T) {
		for _, path := range []string{
			"/past_meetings/" + enc(uuid) + "/participants",
			"/meetings/95551234567",
			"/past_meetings/95551234567/instances",
			"/metrics/meetings/" + enc(uuid) + "?type=past",
		} {
			get(t, s, tok, path).requireError(t, 404, 3001, "")
		}
		get(t, s, tok, "/webinars/84512093377").requireError(t, 404, 3001, "Webinar does not exist: 84512093377.")
		get(t, s, tok, "/past_webinars/"+enc(uuid)+"/instances").requireError(t, 404, 3001, "")
		require.Panics(t, func() { s.EndWebinar(s.StartMeeting(zoomtest.MeetingSpec{}), time.Time{}) })
	})

	t.Run("ReportUserMeetingsListsWebinarsToo", func(t *testing.T) {
		lone := endedMeeting(s, zoomtest.MeetingSpec{Webinar: true, HostID: host.ParticipantUserID, Start: clk.Now().Add(-time.Hour)}, host)
		m := get(t, s, tok, "/report/users/"+host.ParticipantUserID+"/meetings?from="+day+"&to="+day).JSON(t)
		types := map[string]float64{}
		for _, r := range m["meetings"].([]any) {
			row := r.(map[string]any)
			types[row["uuid"].(string)] = row["type"].(float64)
		}
		require.Equal(t, map[string]float64{first: 5, uuid: 5}, types, "webinars with two or more people (§10), not %s", lone)
	})
}

func TestReportActiveUsers(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithTokenLifetime(24*time.Hour))
	tok := token(t, s)
	start := clk.Now().Add(-24 * time.Hour)
	s.AddUser(zoomtest.User{ID: "Active", Email: "active@example.org", FirstName: "Ada", LastName: "Active"})
	s.AddUser(zoomtest.User{ID: "Idle", Email: "idle@example.org"})
	s.AddUser(zoomtest.User{ID: "Webinarist", Email: "web@example.org"})
	s.AddUser(zoomtest.User{ID: "Gone", Status: "inactive"})
	endedMeeting(s, zoomtest.MeetingSpec{HostID: "Active", Start: start}, ana, guest)
	endedMeeting(s, zoomtest.MeetingSpec{HostID: "Active", Start: start.Add(time.Hour)}, ana)
	endedMeeting(s, zoomtest.MeetingSpec{HostID: "Webinarist", Webinar: true, Start: start}, ana, guest)
	s.StartMeeting(zoomtest.MeetingSpec{HostID: "Idle"}) // still running: not in a report yet

	tests := []struct {
		name     string
		query    string
		wantIDs  []string
		wantCode int
	}{
		{name: "ListsHostsOfEndedMeetings", query: "type=active&from=2024-03-04&to=2024-03-05", wantIDs: []string{"Active"}},
		{name: "ActiveIsTheDefault", query: "from=2024-03-04&to=2024-03-05", wantIDs: []string{"Active"}},
		// Ana joined as a user of the account, so she is one too.
		{name: "InactiveListsTheOtherActiveUsers", query: "type=inactive&from=2024-03-04&to=2024-03-05", wantIDs: []string{"Idle", "Webinarist", ana.ParticipantUserID}},
		{name: "LeavesOutOtherDays", query: "type=active&from=2024-03-05&to=2024-03-05", wantIDs: []string{}},
		{name: "RefusesMoreThanAMonth", query: "type=active&from=2024-01-01&to=2024-03-05", wantCode: 300},
		{name: "RefusesAnUnknownType", query: "type=everyone&from=2024-03-04&to=2024-03-05", wantCode: 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := get(t, s, tok, "/report/users?"+tt.query)
			if tt.wantCode != 0 {
				a.requireError(t, 400, tt.wantCode, "")
				return
			}
			m := a.JSON(t)
			ids := []string{}
			for _, u := range m["users"].([]any) {
				ids = append(ids, u.(map[string]any)["id"].(string))
			}
			require.Equal(t, tt.wantIDs, ids)
		})
	}

	t.Run("CountsMeetingsParticipantsAndMinutes", func(t *testing.T) {
		m := get(t, s, tok, "/report/users?type=active&from=2024-03-04&to=2024-03-05").JSON(t)
		u := m["users"].([]any)[0].(map[string]any)
		require.Equal(t, "Ada Active", u["user_name"])
		require.Equal(t, "active@example.org", u["email"])
		require.EqualValues(t, 2, u["meetings"])
		require.EqualValues(t, 3, u["participants"])
		require.EqualValues(t, 60, u["meeting_minutes"])
		require.EqualValues(t, 2, m["total_meetings"])
		require.Equal(t, "2024-03-04", m["from"])
	})

	t.Run("NeedsPro", func(t *testing.T) {
		b := newServer(t, zoomtest.WithPlan(zoomtest.PlanBasic))
		get(t, b, token(t, b), "/report/users?type=active&from=2024-03-04&to=2024-03-05").requireError(t, 400, 200, "")
	})
}

// TestEndpointScopesPlansAndLabels holds every route to the scopes, plan and
// rate-limit label of zoom-platform.md §5, §6 and §10: its classic scope and
// its granular scope each suffice, a token with neither is told the missing
// one, a plan below the endpoint's is refused, and answers name the label.
func TestEndpointScopesPlansAndLabels(t *testing.T) {
	t.Parallel()
	day := time.Now().UTC().Format(time.DateOnly)
	days := "?from=" + day + "&to=" + day
	tests := []struct {
		template, path, classic, granular string
		plan                              zoomtest.Plan
		label                             string
	}{
		{"/users", "/users", "user:read:admin", "user:read:list_users:admin", zoomtest.PlanBasic, "Medium"},
		{"/meetings/{meetingId}", "/meetings/1", "meeting:read:admin", "meeting:read:meeting:admin", zoomtest.PlanBasic, "Light"},
		{"/past_meetings/{meetingId}", "/past_meetings/1", "meeting:read:admin", "meeting:read:past_meeting:admin", zoomtest.PlanPro, "Light"},
		{"/past_meetings/{meetingId}/participants", "/past_meetings/1/participants", "meeting:read:admin", "meeting:read:list_past_participants:admin", zoomtest.PlanPro, "Medium"},
		{"/past_meetings/{meetingId}/instances", "/past_meetings/1/instances", "meeting:read:admin", "meeting:read:list_past_instances:admin", zoomtest.PlanBasic, "Medium"},
		{"/report/meetings/{meetingId}", "/report/meetings/1", "report:read:admin", "report:read:meeting:admin", zoomtest.PlanPro, "Heavy"},
		{"/report/meetings/{meetingId}/participants", "/report/meetings/1/participants", "report:read:admin", "report:read:list_meeting_participants:admin", zoomtest.PlanPro, "Heavy"},
		{"/report/users/{userId}/meetings", "/report/users/x/meetings" + days, "report:read:admin", "report:read:user:admin", zoomtest.PlanPro, "Heavy"},
		{"/report/users", "/report/users" + days, "report:read:admin", "report:read:list_users:admin", zoomtest.PlanPro, "Heavy"},
		{"/metrics/meetings", "/metrics/meetings" + days, "dashboard_meetings:read:admin", "dashboard:read:list_meetings:admin", zoomtest.PlanBusiness, "Resource-intensive"},
		{"/metrics/meetings/{meetingId}", "/metrics/meetings/1", "dashboard_meetings:read:admin", "dashboard:read:meeting:admin", zoomtest.PlanBusiness, "Resource-intensive"},
		{"/metrics/meetings/{meetingId}/participants", "/metrics/meetings/1/participants", "dashboard_meetings:read:admin", "dashboard:read:list_meeting_participants:admin", zoomtest.PlanBusiness, "Resource-intensive"},
		{"/metrics/webinars", "/metrics/webinars" + days, "dashboard_webinars:read:admin", "dashboard:read:list_webinars:admin", zoomtest.PlanBusiness, "Resource-intensive"},
		{"/metrics/webinars/{webinarId}", "/metrics/webinars/1", "dashboard_webinars:read:admin", "dashboard:read:webinar:admin", zoomtest.PlanBusiness, "Resource-intensive"},
		{"/metrics/webinars/{webinarId}/participants", "/metrics/webinars/1/participants", "dashboard_webinars:read:admin", "dashboard:read:list_webinar_participants:admin", zoomtest.PlanBusiness, "Resource-intensive"},
		{"/webinars/{webinarId}", "/webinars/1", "webinar:read:admin", "webinar:read:webinar:admin", zoomtest.PlanPro, "Light"},
		{"/past_webinars/{webinarId}/instances", "/past_webinars/1/instances", "webinar:read:admin", "webinar:read:list_past_instances:admin", zoomtest.PlanPro, "Medium"},
		{"/past_webinars/{webinarId}/participants", "/past_webinars/1/participants", "webinar:read:admin", "webinar:read:list_past_participants:admin", zoomtest.PlanPro, "Medium"},
		{"/report/webinars/{webinarId}", "/report/webinars/1", "report:read:admin", "report:read:webinar:admin", zoomtest.PlanPro, "Heavy"},
		{"/report/webinars/{webinarId}/participants", "/report/webinars/1/participants", "report:read:admin", "report:read:list_webinar_participants:admin", zoomtest.PlanPro, "Heavy"},
	}
	listed := map[string]bool{}
	for _, tt := range tests {
		listed[tt.template] = true
		t.Run(tt.template, func(t *testing.T) {
			t.Parallel()
			for _, scope := range []string{tt.classic, tt.granular} {
				s := newServer(t, zoomtest.WithScopes(scope))
				a := get(t, s, token(t, s), tt.path)
				require.NotEqual(t, 400, a.Status, "with only %s: %s", scope, a.Body)
				require.Equal(t, tt.label, a.Header.Get("X-RateLimit-Category"))
				require.Equal(t, "QPS", a.Header.Get("X-RateLimit-Type"), "§10: per-minute limits say QPS too")
			}
			s := newServer(t, zoomtest.WithScopes("nothing:read:useful:admin"))
			get(t, s, token(t, s), tt.path).requireError(t, 400, 4711, "Invalid access token, does not contain scopes:["+tt.granular+"].")
			below := map[zoomtest.Plan]zoomtest.Plan{zoomtest.PlanPro: zoomtest.PlanBasic, zoomtest.PlanBusiness: zoomtest.PlanPro}
			if plan, ok := below[tt.plan]; ok {
				s := newServer(t, zoomtest.WithPlan(plan))
				get(t, s, token(t, s), tt.path).requireError(t, 400, 200, "")
			}
		})
	}
	for _, rt := range newServer(t).Routes() {
		require.True(t, listed[rt.Template], "%s is not in this table", rt.Template)
	}
}
