package zoomtest_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// reference is zoom-api-reference.json: Zoom's own generated types for the
// endpoints and events zoomrecon uses.
type reference struct {
	Endpoints map[string]struct {
		PathParams  map[string]string `json:"PathParams"`
		QueryParams map[string]string `json:"QueryParams"`
		Response    map[string]string `json:"Response"`
	} `json:"endpoints"`
	WebhookEvents map[string]map[string]string `json:"webhook_events"`
}

func loadReference(t *testing.T) reference {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "zoom", "zoom-api-reference.json"))
	require.NoError(t, err)
	var ref reference
	require.NoError(t, json.Unmarshal(raw, &ref))
	require.NotEmpty(t, ref.Endpoints)
	return ref
}

// TestRoutesMatchReference holds the fake's endpoints to Zoom's: every
// template it serves is in the reference with the same path and query
// parameter names, and it serves every endpoint the reference lists.
func TestRoutesMatchReference(t *testing.T) {
	t.Parallel()
	ref := loadReference(t)
	s := newServer(t)
	served := map[string]bool{}
	for _, rt := range s.Routes() {
		t.Run(strings.ReplaceAll(rt.Template, "/", "_"), func(t *testing.T) {
			key := "GET " + rt.Template
			served[key] = true
			ep, ok := ref.Endpoints[key]
			require.True(t, ok, "%s is not in the reference", key)

			var pathParams []string
			for _, seg := range strings.Split(rt.Template, "/") {
				if name, ok := strings.CutPrefix(seg, "{"); ok {
					pathParams = append(pathParams, strings.TrimSuffix(name, "}"))
				}
			}
			require.ElementsMatch(t, keys(ep.PathParams), pathParams, "path parameters of %s", key)

			for _, q := range rt.Query {
				require.Contains(t, ep.QueryParams, q, "%s reads a query parameter the reference does not define", key)
			}
			require.ElementsMatch(t, keys(ep.QueryParams), append(slices.Clone(rt.Query), rt.Ignored...),
				"query parameters of %s: honoured plus ignored must be exactly the reference's", key)
		})
	}
	for key := range ref.Endpoints {
		require.True(t, served[key], "the fake does not serve %s", key)
	}
}

// TestAnswersMatchReference calls every endpoint and holds each field of the
// answer, name and JSON type, to the reference's response. The meetings
// played include a waiting room, a breakout room and a webinar panelist, so
// the rows that only they produce are held to the reference too.
func TestAnswersMatchReference(t *testing.T) {
	t.Parallel()
	ref := loadReference(t)
	s := newServer(t)
	tok := token(t, s)
	start := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	day := start.Format(time.DateOnly)
	ended := s.StartMeeting(zoomtest.MeetingSpec{ID: 84512093377, HostID: host.ParticipantUserID, Topic: "Ended", Start: start})
	s.Join(ended, host, start)
	a := s.Join(ended, ana, start.Add(time.Minute))
	a = s.MoveToBreakoutRoom(ended, a.UserID, "Room 1", start.Add(5*time.Minute))
	w := s.JoinWaitingRoom(ended, guest, start.Add(6*time.Minute))
	s.LeaveWaitingRoom(ended, w.UserID, start.Add(7*time.Minute))
	s.EndMeeting(ended, start.Add(30*time.Minute))
	webinar := s.StartWebinar(zoomtest.MeetingSpec{ID: 95551234567, HostID: host.ParticipantUserID, Start: start})
	s.Join(webinar, host, start)
	s.Join(webinar, zoomtest.Person{Name: "Pia Panel", Email: "pia@example.org", Panelist: true}, start)
	s.Join(webinar, guest, start.Add(time.Minute))
	s.EndWebinar(webinar, start.Add(40*time.Minute))
	live := s.StartMeeting(zoomtest.MeetingSpec{ID: 81234567890, Topic: "Live"})
	p := s.Join(live, ana, time.Time{})
	s.Join(live, guest, time.Time{})
	s.Leave(live, p.UserID, time.Time{}, "")
	liveWebinar := s.StartWebinar(zoomtest.MeetingSpec{ID: 96661234567})
	s.Join(liveWebinar, guest, time.Time{})

	calls := []struct {
		template, path string
		want           []string // fields that must be in the answer
	}{
		{"/users", "/users?status=active", nil},
		{"/meetings/{meetingId}", "/meetings/81234567890", []string{"status"}},
		{"/past_meetings/{meetingId}", "/past_meetings/" + enc(ended), nil},
		{"/past_meetings/{meetingId}/participants", "/past_meetings/" + enc(ended) + "/participants", []string{"participants[].status"}},
		{"/past_meetings/{meetingId}/instances", "/past_meetings/84512093377/instances", nil},
		{"/report/meetings/{meetingId}", "/report/meetings/" + twice(ended), nil},
		{"/report/meetings/{meetingId}/participants", "/report/meetings/84512093377/participants?include_fields=registrant_id",
			[]string{"participants[].status", "participants[].bo_mtg_id", "participants[].registrant_id"}},
		{"/report/users/{userId}/meetings", "/report/users/" + host.ParticipantUserID + "/meetings?from=" + day + "&to=" + day, nil},
		{"/report/users", "/report/users?type=active&from=" + day + "&to=" + day, []string{"users[].meetings", "total_meetings"}},
		{"/metrics/meetings", "/metrics/meetings?type=past&from=" + day + "&to=" + day, nil},
		{"/metrics/meetings", "/metrics/meetings?type=live&from=" + day + "&to=" + day, nil},
		{"/metrics/meetings/{meetingId}", "/metrics/meetings/" + enc(ended) + "?type=past", []string{"duration", "end_time"}},
		{"/metrics/meetings/{meetingId}", "/metrics/meetings/81234567890", []string{"duration"}},
		{"/metrics/meetings/{meetingId}/participants", "/metrics/meetings/" + enc(ended) + "/participants?type=past",
			[]string{"participants[].status", "participants[].bo_mtg_id"}},
		{"/metrics/meetings/{meetingId}/participants", "/metrics/meetings/" + enc(live) + "/participants", nil},
		{"/metrics/webinars", "/metrics/webinars?type=past&from=" + day + "&to=" + day, nil},
		{"/metrics/webinars/{webinarId}", "/metrics/webinars/95551234567?type=past", nil},
		{"/metrics/webinars/{webinarId}/participants", "/metrics/webinars/95551234567/participants?type=past", []string{"participants[].role"}},
		{"/metrics/webinars/{webinarId}/participants", "/metrics/webinars/" + enc(liveWebinar) + "/participants?type=live", nil},
		{"/webinars/{webinarId}", "/webinars/95551234567", nil},
		{"/past_webinars/{webinarId}/instances", "/past_webinars/95551234567/instances", nil},
		{"/past_webinars/{webinarId}/participants", "/past_webinars/95551234567/participants", nil},
		{"/report/webinars/{webinarId}", "/report/webinars/" + enc(webinar), nil},
		{"/report/webinars/{webinarId}/participants", "/report/webinars/95551234567/participants?include_fields=registrant_id", nil},
	}
	covered := map[string]bool{}
	for _, c := range calls {
		t.Run(c.path, func(t *testing.T) {
			covered[c.template] = true
			a := get(t, s, tok, c.path)
			require.Equal(t, 200, a.Status, "body %s", a.Body)
			var doc map[string]any
			require.NoError(t, json.Unmarshal(a.Body, &doc))
			got := map[string]string{}
			flatten("", doc, got)
			fields := ref.Endpoints["GET "+c.template].Response
			require.NotEmpty(t, fields, "the reference has no response for %s", c.template)
			for path, typ := range got {
				want, ok := fields[path]
				require.True(t, ok, "%s answers %s, which the reference does not define", c.template, path)
				require.Equal(t, want, typ, "type of %s", path)
			}
			// The lists are not empty, so their rows were checked too.
			for path, typ := range fields {
				if typ == "object" && strings.HasSuffix(path, "[]") && !strings.Contains(strings.TrimSuffix(path, "[]"), ".") &&
					!strings.Contains(path, "custom_keys") && !strings.Contains(path, "tracking_fields") && !strings.Contains(path, "occurrences") &&
					!strings.Contains(path, "custom_attributes") {
					require.Contains(t, got, path, "%s answered no %s", c.template, path)
				}
			}
			for _, path := range c.want {
				require.Contains(t, got, path, "%s answered no %s", c.template, path)
			}
		})
	}
	for _, rt := range s.Routes() {
		require.True(t, covered[rt.Template], "no call exercises %s", rt.Template)
	}
}

// TestEventsMatchReference holds every webhook the fake sends, field names
// and JSON types, to the reference's webhook_events.
func TestEventsMatchReference(t *testing.T) {
	t.Parallel()
	ref := loadReference(t)
	s, _ := hooked(t, nil)
	s.AddRule(zoomtest.ForEvent("meeting.ended", zoomtest.Action{Duplicate: true}))
	s.AddRule(func(event string, _ []byte, nth int) zoomtest.Action {
		return zoomtest.Action{NumericID: event == "meeting.ended" && nth == 2}
	})
	for _, webinar := range []bool{false, true} {
		uuid := s.StartMeeting(zoomtest.MeetingSpec{Webinar: webinar, Topic: "T"})
		a := s.Join(uuid, ana, time.Time{})
		s.Join(uuid, guest, time.Time{})
		s.Leave(uuid, a.UserID, time.Time{}, "")
		s.EndMeeting(uuid, time.Time{})
		s.CompleteRecording(uuid, time.Time{})
	}
	uuid := s.StartMeeting(zoomtest.MeetingSpec{})
	s.EndMeeting(uuid, time.Time{}) // the second meeting.ended: numeric id

	// Waiting and breakout rooms.
	rooms := s.StartMeeting(zoomtest.MeetingSpec{Topic: "Rooms"})
	w := s.JoinWaitingRoom(rooms, ana, time.Time{})
	s.Admit(rooms, w.UserID, time.Time{})
	g := s.JoinWaitingRoom(rooms, guest, time.Time{})
	s.LeaveWaitingRoom(rooms, g.UserID, time.Time{})
	moved := s.MoveToBreakoutRoom(rooms, w.UserID, "Room 1", time.Time{})
	back := s.ReturnFromBreakoutRoom(rooms, moved.UserID, time.Time{})
	s.PutInWaitingRoom(rooms, back.UserID, time.Time{})
	s.EndMeeting(rooms, time.Time{})

	deliveries := s.Deliveries()
	seen := map[string]bool{}
	for _, d := range deliveries {
		var doc map[string]any
		require.NoError(t, json.Unmarshal(d.Body, &doc))
		got := map[string]string{}
		flatten("", doc, got)
		fields, ok := ref.WebhookEvents[d.Event]
		require.True(t, ok, "%s is not in the reference", d.Event)
		seen[d.Event] = true
		for path, typ := range got {
			want, known := fields[path]
			switch {
			case d.Event == "webinar.ended" && path == "payload.object.practice_session":
				want, known = "boolean", true // §4: webinar.ended may carry it
			case strings.HasPrefix(d.Event, "meeting.") && path == "payload.object.id" && typ == "number":
				want, known = "number", true // §4: some deliveries send a number
			}
			require.True(t, known, "%s sends %s, which the reference does not define", d.Event, path)
			require.Equal(t, want, typ, "%s: type of %s", d.Event, path)
		}
		// A participant carries the one time field its event is about (§10:
		// date_time, not join_time, in the waiting-room events).
		if _, ok := fields["payload.object.participant"]; ok {
			want := "leave_time"
			switch _, waiting := fields["payload.object.participant.date_time"]; {
			case waiting:
				want = "date_time"
			case strings.Contains(d.Event, "_joined"):
				want = "join_time"
			}
			for _, f := range []string{"join_time", "leave_time", "date_time"} {
				_, sent := got["payload.object.participant."+f]
				require.Equal(t, f == want, sent, "%s: participant.%s sent", d.Event, f)
			}
		}
	}
	for event := range ref.WebhookEvents {
		require.True(t, seen[event], "the fake never sent %s", event)
	}
	var numeric int
	for _, d := range deliveries {
		if d.Event == "meeting.ended" && d.DuplicateOf == 0 && strings.Contains(string(d.Body), `"uuid":"`+uuid+`"`) {
			require.Regexp(t, `"id":\d`, string(d.Body), "the second meeting.ended has a numeric id")
			numeric++
		}
	}
	require.Equal(t, 1, numeric)
}

// TestEventsKeepZoomsKeyOrder compares the fake's key order with the
// fixtures captured from Zoom (§2: receivers that reorder keys break the
// signature, so the order is part of the wire format).
func TestEventsKeepZoomsKeyOrder(t *testing.T) {
	t.Parallel()
	s, _ := hooked(t, nil)
	uuid := s.StartMeeting(zoomtest.MeetingSpec{})
	a := s.Join(uuid, ana, time.Time{})
	s.Leave(uuid, a.UserID, time.Time{}, "")
	s.EndMeeting(uuid, time.Time{})
	wuuid := s.StartMeeting(zoomtest.MeetingSpec{Webinar: true})
	s.Join(wuuid, zoomtest.Person{Name: "Lea Vogt", Email: "lea@example.net", RegistrantID: "R"}, time.Time{})
	s.EndMeeting(wuuid, time.Time{})
	s.CompleteRecording(uuid, time.Time{})

	fixtures := map[string]string{
		"meeting.started":            "meeting.started.json",
		"meeting.participant_joined": "meeting.participant_joined.json",
		"meeting.participant_left":   "meeting.participant_left.json",
		"meeting.ended":              "meeting.ended.json",
		"webinar.started":            "webinar.started.json",
		"webinar.participant_joined": "webinar.participant_joined.json",
		"webinar.participant_left":   "webinar.participant_left.json",
		"webinar.ended":              "webinar.ended.json",
		"recording.completed":        "recording.completed.json",
	}
	checked := map[string]bool{}
	for _, d := range s.Deliveries() {
		name, ok := fixtures[d.Event]
		if !ok || checked[d.Event] {
			continue
		}
		checked[d.Event] = true
		fixture, err := os.ReadFile(filepath.Join("..", "..", "webhook", "testdata", name))
		require.NoError(t, err)
		ours, theirs := keyOrder(t, d.Body), keyOrder(t, fixture)
		require.Equal(t, common(theirs, ours), common(ours, theirs), "%s: key order differs from %s", d.Event, name)
	}
	require.Len(t, checked, len(fixtures))
}

// flatten records the JSON type of every field under dotted paths, with []
// marking the objects of an array, as the reference writes them.
func flatten(prefix string, v any, out map[string]string) {
	switch v := v.(type) {
	case map[string]any:
		if prefix != "" {
			out[prefix] = "object"
		}
		for k, child := range v {
			flatten(strings.TrimPrefix(prefix+"."+k, "."), child, out)
		}
	case []any:
		for _, child := range v {
			flatten(prefix+"[]", child, out)
		}
	case string:
		out[prefix] = "string"
	case float64:
		out[prefix] = "number"
	case bool:
		out[prefix] = "boolean"
	}
}

// keyOrder lists a JSON document's keys as dotted paths in the order they appear.
func keyOrder(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	var out []string
	var walk func(prefix string)
	walk = func(prefix string) {
		tok, err := dec.Token()
		require.NoError(t, err)
		switch tok {
		case json.Delim('{'):
			for dec.More() {
				k, err := dec.Token()
				require.NoError(t, err)
				path := strings.TrimPrefix(prefix+"."+k.(string), ".")
				out = append(out, path)
				walk(path)
			}
			_, err = dec.Token()
			require.NoError(t, err)
		case json.Delim('['):
			for dec.More() {
				walk(prefix + "[]")
			}
			_, err = dec.Token()
			require.NoError(t, err)
		}
	}
	walk("")
	return out
}

// common keeps the elements of a that b also has, in a's order, once each.
func common(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) && !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
