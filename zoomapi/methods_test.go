package zoomapi_test

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// TestTypedResults checks that each method maps Zoom's fields, under their
// per-endpoint names, onto the typed results.
func TestTypedResults(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	s := b.zoom
	s.AddUser(zoomtest.User{ID: "HostUser0000000000001", Email: "host@example.org", FirstName: "Hana", LastName: "Host"})
	s.AddUser(zoomtest.User{ID: "AnaUser00000000000001", Email: "ana@example.org", FirstName: "Ana", LastName: "Ruiz", Type: 1})
	start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	uuid := s.StartMeeting(zoomtest.MeetingSpec{ID: 81234567890, UUID: "t6WJ0cK+QvOe2m/hY1Lx9A==", HostID: "HostUser0000000000001", Topic: "Support stand-up", Type: 8, Start: start, Duration: 30})

	t.Run("GetMeetingWhileRunning", func(t *testing.T) {
		m, err := b.client.GetMeeting(t.Context(), 81234567890)
		require.NoError(t, err)
		require.Equal(t, zoomapi.Meeting{
			ID: 81234567890, UUID: uuid, HostID: "HostUser0000000000001", HostEmail: "host@example.org",
			Topic: "Support stand-up", Type: 8, Status: "started", StartTime: start, Duration: 30, Timezone: "UTC",
			CreatedAt: start,
		}, m)
		require.Equal(t, time.UTC, m.StartTime.Location())
	})

	host := s.Join(uuid, zoomtest.Person{Name: "Hana Host", Email: "host@example.org", ParticipantUserID: "HostUser0000000000001"}, start)
	ana := s.Join(uuid, zoomtest.Person{Name: "Ana Ruiz", Email: "ana@example.org", ParticipantUserID: "AnaUser00000000000001", RegistrantID: "reg-1"}, start.Add(time.Minute))
	s.Leave(uuid, ana.UserID, start.Add(11*time.Minute), "")
	guest := s.Join(uuid, zoomtest.Person{Name: "Guest", Email: ""}, start.Add(2*time.Minute))
	end := start.Add(45 * time.Minute)
	s.EndMeeting(uuid, end)
	_ = host

	t.Run("Users", func(t *testing.T) {
		users := collect(t, b.client.Users(t.Context(), "active"))
		var got zoomapi.User
		for _, u := range users {
			if u.ID == "AnaUser00000000000001" {
				got = u
			}
		}
		require.Equal(t, "ana@example.org", got.Email)
		require.Equal(t, "Ana", got.FirstName)
		require.Equal(t, "Ruiz", got.LastName)
		require.Equal(t, "Ana Ruiz", got.DisplayName)
		require.Equal(t, 1, got.Type)
		require.Equal(t, "active", got.Status)
		require.NotZero(t, got.PMI)
		require.False(t, got.CreatedAt.IsZero())
	})

	t.Run("PastMeeting", func(t *testing.T) {
		pm, err := b.client.PastMeeting(t.Context(), uuid)
		require.NoError(t, err)
		require.Equal(t, int64(81234567890), pm.ID)
		require.Equal(t, uuid, pm.UUID)
		require.Equal(t, "HostUser0000000000001", pm.HostID)
		require.Equal(t, "Support stand-up", pm.Topic)
		require.Equal(t, 8, pm.Type)
		require.Equal(t, "Hana Host", pm.UserName)
		require.Equal(t, "host@example.org", pm.UserEmail)
		require.Equal(t, start, pm.StartTime)
		require.Equal(t, end, pm.EndTime)
		require.Equal(t, 45, pm.Duration)
		require.Equal(t, 3, pm.ParticipantsCount)
	})

	t.Run("PastMeetingInstances", func(t *testing.T) {
		again := s.StartMeeting(zoomtest.MeetingSpec{ID: 81234567890, HostID: "HostUser0000000000001", Start: end.Add(time.Hour)})
		s.EndMeeting(again, end.Add(2*time.Hour))
		insts, err := b.client.PastMeetingInstances(t.Context(), 81234567890)
		require.NoError(t, err)
		require.Equal(t, []zoomapi.Instance{{UUID: uuid, StartTime: start}, {UUID: again, StartTime: end.Add(time.Hour)}}, insts)
	})

	wantAna := zoomapi.Participant{
		ID: "AnaUser00000000000001", UserID: ana.UserID, Name: "Ana Ruiz", Email: "ana@example.org",
		JoinTime: start.Add(time.Minute), LeaveTime: start.Add(11 * time.Minute), Duration: 600, Status: "in_meeting",
	}
	find := func(t *testing.T, ps []zoomapi.Participant, userID string) zoomapi.Participant {
		t.Helper()
		for _, p := range ps {
			if p.UserID == userID {
				return p
			}
		}
		t.Fatalf("no participant with user_id %s in %+v", userID, ps)
		return zoomapi.Participant{}
	}

	t.Run("PastMeetingParticipants", func(t *testing.T) {
		ps := collect(t, b.client.PastMeetingParticipants(t.Context(), uuid))
		require.Len(t, ps, 3)
		want := wantAna
		want.RegistrantID = "reg-1"
		want.InternalUser = true
		require.Equal(t, want, find(t, ps, ana.UserID))
		g := find(t, ps, guest.UserID)
		require.Empty(t, g.ID, "outsiders have no Zoom user ID")
		require.Empty(t, g.Email)
		require.Equal(t, "Guest", g.Name)
		require.Equal(t, end, g.LeaveTime, "ended by the host")
	})

	t.Run("ReportMeeting", func(t *testing.T) {
		rm, err := b.client.ReportMeeting(t.Context(), uuid)
		require.NoError(t, err)
		require.Equal(t, int64(81234567890), rm.ID)
		require.Equal(t, uuid, rm.UUID)
		require.Equal(t, "host@example.org", rm.UserEmail)
		require.Equal(t, start, rm.StartTime)
		require.Equal(t, end, rm.EndTime)
		require.Equal(t, 45, rm.Duration)
	})

	t.Run("ReportMeetingParticipants", func(t *testing.T) {
		ps := collect(t, b.client.ReportMeetingParticipants(t.Context(), uuid))
		require.Len(t, ps, 3)
		want := wantAna
		want.RegistrantID = "reg-1" // only sent with include_fields=registrant_id
		want.ParticipantUserID = "AnaUser00000000000001"
		require.Equal(t, want, find(t, ps, ana.UserID))
	})

	t.Run("ReportUserMeetings", func(t *testing.T) {
		ms := collect(t, b.client.ReportUserMeetings(t.Context(), "host@example.org", start.AddDate(0, 0, -1), time.Now()))
		require.Len(t, ms, 1, "the second instance had a single participant")
		require.Equal(t, uuid, ms[0].UUID)
		require.Equal(t, int64(81234567890), ms[0].ID)
		require.Equal(t, "Support stand-up", ms[0].Topic)
		require.Equal(t, 3, ms[0].ParticipantsCount)
		require.Equal(t, "Zoom", ms[0].Source)
	})

	t.Run("DashboardMeetings", func(t *testing.T) {
		ms := collect(t, b.client.DashboardMeetings(t.Context(), zoomapi.DashboardPast, start.AddDate(0, 0, -1), time.Now()))
		require.Len(t, ms, 1)
		require.Equal(t, zoomapi.DashboardMeeting{
			UUID: uuid, ID: 81234567890, Topic: "Support stand-up", Host: "Hana Host", Email: "host@example.org",
			UserType: "Licensed", StartTime: start, EndTime: end, Duration: 45 * time.Minute, Participants: 3,
		}, ms[0])
		one := collect(t, b.client.DashboardMeetings(t.Context(), zoomapi.DashboardPastOne, start.AddDate(0, 0, -1), time.Now()))
		require.Len(t, one, 1)
		require.NotEqual(t, uuid, one[0].UUID)
	})

	t.Run("DashboardMeetingParticipants", func(t *testing.T) {
		ps := collect(t, b.client.DashboardMeetingParticipants(t.Context(), uuid, zoomapi.DashboardPast))
		require.Len(t, ps, 3)
		got := find(t, ps, ana.UserID)
		require.NotEmpty(t, got.ParticipantUUID)
		require.Contains(t, got.LeaveReason, "Ana Ruiz left the meeting.")
		want := wantAna
		want.RegistrantID = "reg-1"
		want.ParticipantUserID = "AnaUser00000000000001"
		want.ParticipantUUID = got.ParticipantUUID
		want.LeaveReason = got.LeaveReason
		require.Equal(t, want, got, "user_name and email mapped; duration computed from join and leave")
	})

	t.Run("DashboardLive", func(t *testing.T) {
		live := s.StartMeeting(zoomtest.MeetingSpec{HostID: "HostUser0000000000001", Topic: "Live now", Start: time.Now().Add(-10 * time.Minute)})
		p := s.Join(live, zoomtest.Person{Name: "Ana Ruiz", Email: "ana@example.org"}, time.Time{})
		ms := collect(t, b.client.DashboardMeetings(t.Context(), zoomapi.DashboardLive, time.Now(), time.Now()))
		require.Len(t, ms, 1)
		require.Equal(t, live, ms[0].UUID)
		require.True(t, ms[0].EndTime.IsZero())
		ps := collect(t, b.client.DashboardMeetingParticipants(t.Context(), live, zoomapi.DashboardLive))
		require.Len(t, ps, 1)
		require.Equal(t, p.UserID, ps[0].UserID)
		require.True(t, ps[0].LeaveTime.IsZero())
		require.Zero(t, ps[0].Duration)
		m, err := b.client.GetMeeting(t.Context(), ms[0].ID)
		require.NoError(t, err)
		require.Equal(t, "started", m.Status)
		s.EndMeeting(live, time.Time{})
	})

	t.Run("Webinars", func(t *testing.T) {
		wStart := start.Add(time.Hour)
		w := s.StartMeeting(zoomtest.MeetingSpec{Webinar: true, UUID: "/webinar+uuid//A==", HostID: "HostUser0000000000001", Topic: "Launch", Start: wStart})
		s.Join(w, zoomtest.Person{Name: "Ana Ruiz", Email: "ana@example.org", RegistrantID: "reg-9"}, wStart)
		s.EndMeeting(w, wStart.Add(90*time.Minute))
		past := collect(t, b.client.PastWebinarParticipants(t.Context(), w))
		require.Len(t, past, 1)
		require.Equal(t, "reg-9", past[0].RegistrantID)
		report := collect(t, b.client.ReportWebinarParticipants(t.Context(), w))
		require.Len(t, report, 1)
		require.Equal(t, "reg-9", report[0].RegistrantID)
		dash := collect(t, b.client.DashboardWebinars(t.Context(), zoomapi.DashboardPast, wStart.AddDate(0, 0, -1), time.Now()))
		require.Len(t, dash, 1)
		require.Equal(t, w, dash[0].UUID)
		require.Equal(t, 90*time.Minute, dash[0].Duration)
	})
}

// TestWebinarResults checks the webinar methods' mapping of Zoom's webinar
// shapes, which differ from the meeting ones (no status in GET /webinars,
// webinars[] in instances, role in Dashboard rows).
func TestWebinarResults(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	s := b.zoom
	const host, id = "HostUser0000000000001", 95551234567
	s.AddUser(zoomtest.User{ID: host, Email: "host@example.org", FirstName: "Hana", LastName: "Host"})
	start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	first := endedMeeting(s, zoomtest.MeetingSpec{ID: id, Webinar: true, HostID: host, Start: start.Add(-time.Hour)}, 2)
	uuid := s.StartWebinar(zoomtest.MeetingSpec{ID: id, UUID: "/webinar+uuid//A==", HostID: host, Topic: "Launch", Type: 9, Start: start, Duration: 90})

	t.Run("GetWebinar", func(t *testing.T) {
		w, err := b.client.GetWebinar(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, zoomapi.Webinar{
			ID: id, UUID: uuid, HostID: host, HostEmail: "host@example.org", Topic: "Launch", Type: 9,
			StartTime: start, Duration: 90, Timezone: "UTC", CreatedAt: start.Add(-time.Hour),
		}, w)
	})

	t.Run("DashboardLive", func(t *testing.T) {
		p := s.Join(uuid, zoomtest.Person{Name: "Pia Panel", Email: "pia@example.org", Panelist: true}, start)
		d, err := b.client.DashboardWebinar(t.Context(), uuid, zoomapi.DashboardLive)
		require.NoError(t, err)
		require.Equal(t, uuid, d.UUID)
		require.True(t, d.EndTime.IsZero())
		ps := collect(t, b.client.DashboardWebinarParticipants(t.Context(), uuid, zoomapi.DashboardLive))
		require.Len(t, ps, 1)
		require.Equal(t, p.UserID, ps[0].UserID)
		require.Equal(t, "panelist", ps[0].Role)
		require.Empty(t, ps[0].Status, "webinar rows have no status")
		_, err = b.client.ReportWebinar(t.Context(), uuid)
		requireOnly(t, err, zoomapi.ErrNotReady)
	})

	g := s.Join(uuid, zoomtest.Person{Name: "Gus Guest", RegistrantID: "reg-9"}, start.Add(time.Minute))
	end := start.Add(90 * time.Minute)
	s.EndWebinar(uuid, end)

	t.Run("PastWebinarInstances", func(t *testing.T) {
		insts, err := b.client.PastWebinarInstances(t.Context(), id)
		require.NoError(t, err)
		require.Equal(t, []zoomapi.Instance{{UUID: first, StartTime: start.Add(-time.Hour)}, {UUID: uuid, StartTime: start}}, insts)
	})

	t.Run("ReportWebinar", func(t *testing.T) {
		r, err := b.client.ReportWebinar(t.Context(), uuid)
		require.NoError(t, err)
		require.Equal(t, uuid, r.UUID)
		require.Equal(t, int64(id), r.ID)
		require.Equal(t, 9, r.Type)
		require.True(t, r.Webinar())
		require.Equal(t, end, r.EndTime)
		require.Equal(t, 90, r.Duration)
		require.Equal(t, 2, r.ParticipantsCount)
	})

	t.Run("DashboardPast", func(t *testing.T) {
		d, err := b.client.DashboardWebinar(t.Context(), uuid, zoomapi.DashboardPast)
		require.NoError(t, err)
		require.Equal(t, zoomapi.DashboardMeeting{
			UUID: uuid, ID: id, Topic: "Launch", Host: "Hana Host", Email: "host@example.org", UserType: "Licensed",
			StartTime: start, EndTime: end, Duration: 90 * time.Minute, Participants: 2,
		}, d)
		ps := collect(t, b.client.DashboardWebinarParticipants(t.Context(), uuid, zoomapi.DashboardPast))
		require.Len(t, ps, 2)
		require.Equal(t, "attendee", ps[1].Role)
		require.Equal(t, "reg-9", ps[1].RegistrantID, "include_fields=registrant_id after the end")
		require.Equal(t, g.UserID, ps[1].UserID)
	})

	t.Run("ReportUserMeetingsListsWebinars", func(t *testing.T) {
		ms := collect(t, b.client.ReportUserMeetings(t.Context(), host, start.AddDate(0, 0, -1), time.Now()))
		var webinars []string
		for _, m := range ms {
			require.True(t, m.Webinar(), "only webinars were played: %+v", m)
			webinars = append(webinars, m.UUID)
		}
		require.ElementsMatch(t, []string{first, uuid}, webinars)
	})
}

// TestRoomResults checks that waiting-room stays and breakout-room
// sessions come through with their status and bo_mtg_id (§10).
func TestRoomResults(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	s := b.zoom
	start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	uuid := s.StartMeeting(zoomtest.MeetingSpec{Start: start})
	ana := s.Join(uuid, zoomtest.Person{Name: "Ana Ruiz", Email: "ana@example.org"}, start)
	waiter := s.JoinWaitingRoom(uuid, zoomtest.Person{Name: "Wes Wait"}, start.Add(time.Minute))
	s.LeaveWaitingRoom(uuid, waiter.UserID, start.Add(2*time.Minute))
	moved := s.MoveToBreakoutRoom(uuid, ana.UserID, "Room A", start.Add(5*time.Minute))
	gus := s.Join(uuid, zoomtest.Person{Name: "Gus Guest"}, start.Add(6*time.Minute))
	s.EndMeeting(uuid, start.Add(30*time.Minute))
	truth, ok := s.Truth(uuid)
	require.True(t, ok)
	room := truth.BreakoutRooms[0].UUID

	type row struct{ status, room string }
	want := map[string]row{
		ana.UserID:    {"in_meeting", ""},
		waiter.UserID: {"in_waiting_room", ""},
		moved.UserID:  {"in_meeting", room},
		gus.UserID:    {"in_meeting", ""},
	}
	tests := []struct {
		name     string
		list     func() []zoomapi.Participant
		withRoom bool // the endpoint sends bo_mtg_id
	}{
		{"Past", func() []zoomapi.Participant { return collect(t, b.client.PastMeetingParticipants(t.Context(), uuid)) }, false},
		{"Report", func() []zoomapi.Participant { return collect(t, b.client.ReportMeetingParticipants(t.Context(), uuid)) }, true},
		{"Dashboard", func() []zoomapi.Participant {
			return collect(t, b.client.DashboardMeetingParticipants(t.Context(), uuid, zoomapi.DashboardPast))
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := map[string]row{}
			for _, p := range tt.list() {
				got[p.UserID] = row{p.Status, p.BreakoutRoomID}
				if tt.name == "Dashboard" && (p.UserID == ana.UserID || p.UserID == moved.UserID) {
					require.Equal(t, ana.ParticipantUUID, p.ParticipantUUID, "participant_uuid survives the move")
				}
			}
			w := maps.Clone(want)
			if !tt.withRoom {
				w[moved.UserID] = row{"in_meeting", ""}
			}
			require.Equal(t, w, got)
		})
	}
}

// TestReportActiveUsers checks the active-hosts report: type=active, month
// windows, and each window's dates on its rows.
func TestReportActiveUsers(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	now := time.Now().UTC()
	b.zoom.AddUser(zoomtest.User{ID: "Recent", Email: "recent@example.org", FirstName: "Rae", LastName: "Cent"})
	b.zoom.AddUser(zoomtest.User{ID: "Older", Email: "older@example.org"})
	b.zoom.AddUser(zoomtest.User{ID: "Idle", Email: "idle@example.org"})
	endedMeeting(b.zoom, zoomtest.MeetingSpec{HostID: "Recent", Start: now.AddDate(0, 0, -1).Truncate(time.Second)}, 3)
	endedMeeting(b.zoom, zoomtest.MeetingSpec{HostID: "Older", Start: now.AddDate(0, 0, -50).Truncate(time.Second)}, 2)
	endedMeeting(b.zoom, zoomtest.MeetingSpec{HostID: "Recent", Start: now.AddDate(0, 0, -50).Add(time.Hour).Truncate(time.Second)}, 2)

	users := collect(t, b.client.ReportActiveUsers(t.Context(), now.AddDate(0, 0, -60), now))
	got := map[string][]int{}
	for _, u := range users {
		require.False(t, u.To.Before(u.From))
		require.False(t, u.To.After(u.From.AddDate(0, 1, 0)), "window %s..%s", u.From, u.To)
		got[u.ID] = append(got[u.ID], u.Meetings)
	}
	require.Equal(t, map[string][]int{"Recent": {1, 1}, "Older": {1}}, got, "Recent is active in two windows, Idle in none")
	for _, u := range users {
		if u.ID == "Recent" && !u.To.Before(truncateDay(now.AddDate(0, 0, -1))) {
			require.Equal(t, "Rae Cent", u.UserName)
			require.Equal(t, "recent@example.org", u.Email)
			require.Equal(t, 3, u.Participants)
			require.Equal(t, 45, u.MeetingMinutes)
		}
	}
	for _, r := range b.requests(t) {
		if r.Endpoint == "/report/users" {
			require.Equal(t, "active", r.Query.Get("type"))
		}
	}
	require.GreaterOrEqual(t, b.callCount(t, "/report/users"), 2, "60 days are two or more windows")

	t.Run("NeedsPro", func(t *testing.T) {
		basic := setup(t, setupOpts{zoom: []zoomtest.Option{zoomtest.WithPlan(zoomtest.PlanBasic)}})
		_, err := collectErr(t, basic.client.ReportActiveUsers(t.Context(), now, now))
		requireOnly(t, err, zoomapi.ErrPlan)
	})
}

func truncateDay(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

func TestPagination(t *testing.T) {
	t.Parallel()
	const people = 650 // 300 + 300 + 50
	b := setup(t, setupOpts{})
	start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	uuid := endedMeeting(b.zoom, zoomtest.MeetingSpec{Topic: "All hands", Start: start}, people)
	const pastEndpoint = "/past_meetings/{meetingId}/participants"

	// since returns the requests sent after mark.
	since := func(t *testing.T, mark int) []zoomtest.Request { return b.requests(t)[mark:] }

	t.Run("FollowsNextPageToken", func(t *testing.T) {
		mark := len(b.requests(t))
		ps := collect(t, b.client.PastMeetingParticipants(t.Context(), uuid))
		require.Len(t, ps, people)
		seen := map[string]bool{}
		for _, p := range ps {
			require.False(t, seen[p.UserID], "session %s listed twice", p.UserID)
			seen[p.UserID] = true
		}
		reqs := since(t, mark)
		require.Len(t, reqs, 3)
		for i, r := range reqs {
			require.Equal(t, pastEndpoint, r.Endpoint)
			require.Equal(t, "300", r.Query.Get("page_size"))
			require.Equal(t, i > 0, r.Query.Has("next_page_token"), "request %d", i)
		}
	})

	t.Run("ReportAddsIncludeFields", func(t *testing.T) {
		mark := len(b.requests(t))
		ps := collect(t, b.client.ReportMeetingParticipants(t.Context(), uuid))
		require.Len(t, ps, people)
		reqs := since(t, mark)
		require.Len(t, reqs, 7, "Heavy endpoints serve 100 rows a page whatever page_size asks (§10)")
		for _, r := range reqs {
			require.Equal(t, "/report/meetings/{meetingId}/participants", r.Endpoint)
			require.Equal(t, "registrant_id", r.Query.Get("include_fields"))
		}
	})

	t.Run("StopsWhenTheConsumerStops", func(t *testing.T) {
		mark := len(b.requests(t))
		n := 0
		for _, err := range b.client.PastMeetingParticipants(t.Context(), uuid) {
			require.NoError(t, err)
			n++
			if n == 10 {
				break
			}
		}
		require.Len(t, since(t, mark), 1)
	})

	t.Run("YieldsAnErrorOnceAndEnds", func(t *testing.T) {
		n, errs := 0, 0
		var last error
		for p, err := range b.client.PastMeetingParticipants(t.Context(), uuid) {
			if err != nil {
				errs++
				last = err
				require.Zero(t, p)
				continue
			}
			n++
			if n == 1 {
				// The second page will fail every attempt.
				b.zoom.Inject(zoomtest.Fault{Path: pastEndpoint, Status: http.StatusServiceUnavailable})
			}
		}
		b.zoom.ClearFaults()
		require.Equal(t, 300, n)
		require.Equal(t, 1, errs)
		requireOnly(t, last, nil)
	})

	t.Run("UsersAcrossPages", func(t *testing.T) {
		u := setup(t, setupOpts{})
		for i := range 610 {
			u.zoom.AddUser(zoomtest.User{ID: fmt.Sprintf("user%017d", i)})
		}
		u.zoom.AddUser(zoomtest.User{ID: "inactive0000000000000", Status: "inactive"})
		users := collect(t, u.client.Users(t.Context(), "active"))
		require.Len(t, users, 610)
		require.Equal(t, 3, u.callCount(t, "/users"))
		inactive := collect(t, u.client.Users(t.Context(), "inactive"))
		require.Len(t, inactive, 1)
	})
}

func TestDateWindows(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	now := time.Now().UTC()
	host := "HostUser0000000000001"
	b.zoom.AddUser(zoomtest.User{ID: host, Email: "host@example.org"})
	var want []string
	for _, daysAgo := range []int{100, 70, 40, 10, 1} {
		start := now.AddDate(0, 0, -daysAgo).Truncate(time.Second)
		want = append(want, endedMeeting(b.zoom, zoomtest.MeetingSpec{HostID: host, Start: start}, 2))
	}
	from, to := now.AddDate(0, 0, -120), now

	check := func(t *testing.T, endpoint string, got []string) {
		t.Helper()
		require.ElementsMatch(t, want, got)
		var windows int
		for _, r := range b.requests(t) {
			if r.Endpoint != endpoint {
				continue
			}
			windows++
			f, err := time.Parse(time.DateOnly, r.Query.Get("from"))
			require.NoError(t, err)
			tt, err := time.Parse(time.DateOnly, r.Query.Get("to"))
			require.NoError(t, err)
			require.False(t, tt.After(f.AddDate(0, 1, 0)), "window %s..%s exceeds a month", f, tt)
		}
		require.GreaterOrEqual(t, windows, 4, "120 days need at least four one-month windows")
	}

	t.Run("ReportUserMeetings", func(t *testing.T) {
		var got []string
		for _, m := range collect(t, b.client.ReportUserMeetings(t.Context(), host, from, to)) {
			got = append(got, m.UUID)
		}
		check(t, "/report/users/{userId}/meetings", got)
	})

	t.Run("DashboardMeetings", func(t *testing.T) {
		var got []string
		for _, m := range collect(t, b.client.DashboardMeetings(t.Context(), zoomapi.DashboardPast, from, to)) {
			got = append(got, m.UUID)
		}
		check(t, "/metrics/meetings", got)
	})

	t.Run("RejectsReversedRange", func(t *testing.T) {
		_, err := collectErr(t, b.client.ReportUserMeetings(t.Context(), host, to, from))
		require.ErrorContains(t, err, "before it starts")
	})
}

// TestUUIDEncoding checks that UUIDs with '/', '+' and '=' reach the right
// instance, encoded twice when they begin with '/' or contain "//" (§5).
func TestUUIDEncoding(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	uuids := []string{"/ab+cd//ef==", "/leadingSlash+Ab0==", "inner//double+A==", "inner/slash+Plus0A==", "PlainUuid0123456789ab=="}
	for i, u := range uuids {
		endedMeeting(b.zoom, zoomtest.MeetingSpec{ID: 81000000000 + int64(i), UUID: u, Topic: u, Start: start}, 2)
	}
	for i, u := range uuids {
		t.Run(strings.NewReplacer("/", "_", "+", "-", "=", "").Replace(u), func(t *testing.T) {
			pm, err := b.client.PastMeeting(t.Context(), u)
			require.NoError(t, err)
			require.Equal(t, u, pm.UUID)
			require.Equal(t, 81000000000+int64(i), pm.ID)
			require.Len(t, collect(t, b.client.PastMeetingParticipants(t.Context(), u)), 2)
			rm, err := b.client.ReportMeeting(t.Context(), u)
			require.NoError(t, err)
			require.Equal(t, u, rm.UUID)
			require.Len(t, collect(t, b.client.ReportMeetingParticipants(t.Context(), u)), 2)
			require.Len(t, collect(t, b.client.DashboardMeetingParticipants(t.Context(), u, zoomapi.DashboardPast)), 2)
		})
	}
	t.Run("PathIsEncodedTwiceAsTheReferenceShows", func(t *testing.T) {
		var paths []string
		for _, r := range b.requests(t) {
			if r.Endpoint == "/past_meetings/{meetingId}" {
				paths = append(paths, r.Path)
			}
		}
		require.Contains(t, paths, "/v2/past_meetings/%252Fab%252Bcd%252F%252Fef%253D%253D")
		require.Contains(t, paths, "/v2/past_meetings/inner%2Fslash%2BPlus0A%3D%3D")
	})
}

// TestRejectsBadArguments checks that arguments Zoom could only refuse are
// refused before any request, and match no sentinel: they are not evidence.
func TestRejectsBadArguments(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	tests := []struct {
		name    string
		call    func() error
		wantErr string
	}{
		{"GetMeetingZeroID", func() error { _, err := b.client.GetMeeting(t.Context(), 0); return err }, "meeting ID 0 is not positive"},
		{"InstancesNegativeID", func() error { _, err := b.client.PastMeetingInstances(t.Context(), -1); return err }, "meeting ID -1 is not positive"},
		{"PastMeetingEmptyUUID", func() error { _, err := b.client.PastMeeting(t.Context(), ""); return err }, "empty meeting UUID"},
		{"ParticipantsEmptyUUID", func() error {
			_, err := collectErr(t, b.client.PastMeetingParticipants(t.Context(), ""))
			return err
		}, "empty meeting UUID"},
		{"GetWebinarZeroID", func() error { _, err := b.client.GetWebinar(t.Context(), 0); return err }, "webinar ID 0 is not positive"},
		{"WebinarInstancesNegativeID", func() error { _, err := b.client.PastWebinarInstances(t.Context(), -5); return err }, "webinar ID -5 is not positive"},
		{"ReportWebinarEmptyUUID", func() error { _, err := b.client.ReportWebinar(t.Context(), ""); return err }, "empty webinar UUID"},
		{"DashboardMeetingEmptyUUID", func() error {
			_, err := b.client.DashboardMeeting(t.Context(), "", zoomapi.DashboardLive)
			return err
		}, "empty meeting UUID"},
		{"DashboardWebinarParticipantsEmptyUUID", func() error {
			_, err := collectErr(t, b.client.DashboardWebinarParticipants(t.Context(), "", zoomapi.DashboardLive))
			return err
		}, "empty webinar UUID"},
		{"ReportActiveUsersReversedRange", func() error {
			_, err := collectErr(t, b.client.ReportActiveUsers(t.Context(), time.Now(), time.Now().AddDate(0, 0, -2)))
			return err
		}, "before it starts"},
		{"ReportUserMeetingsEmptyUser", func() error {
			_, err := collectErr(t, b.client.ReportUserMeetings(t.Context(), "", time.Now(), time.Now()))
			return err
		}, "empty user ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			requireOnly(t, err, nil)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
	require.Zero(t, b.client.Calls(), "nothing was sent")
	require.Zero(t, b.zoom.TokenRequests(), "not even a token request")
}
