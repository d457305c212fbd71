package zoomevent_test

import (
	"bytes"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/relay/zoomevent"
)

// events are the events Reconstruct builds: the lifecycle and participant
// events of meetings and their webinar twins.
var events = []string{
	"meeting.started", "meeting.ended", "meeting.participant_joined", "meeting.participant_left",
	"webinar.started", "webinar.ended", "webinar.participant_joined", "webinar.participant_left",
}

// required are the fields of payload.object and of its participant that
// Zoom's generated types (zoom/rivet-javascript meetings/meetings.d.ts)
// declare without "?". zoom-api-reference.json lists every field with its
// type but drops those marks, so they are copied here.
var required = map[string]struct{ object, participant []string }{
	"meeting.started": {object: []string{"id", "uuid", "host_id", "topic", "type", "start_time", "duration"}},
	"meeting.ended":   {object: []string{"id", "uuid", "host_id", "topic", "type", "start_time", "duration", "end_time"}},
	"meeting.participant_joined": {
		object:      []string{"uuid", "host_id", "type", "duration", "participant"},
		participant: []string{"user_id", "user_name", "join_time", "email"},
	},
	"meeting.participant_left": {
		object:      []string{"id", "uuid", "host_id", "topic", "type", "start_time", "duration", "participant"},
		participant: []string{"user_id", "leave_time", "email"},
	},
	"webinar.started": {object: []string{"id", "uuid", "host_id", "topic", "type", "start_time", "timezone", "duration"}},
	"webinar.ended":   {object: []string{"id", "uuid", "host_id", "topic", "type", "start_time", "timezone", "duration"}},
	"webinar.participant_joined": {
		object:      []string{"id", "uuid", "host_id", "topic", "type", "start_time", "timezone", "duration", "participant"},
		participant: []string{"user_id", "user_name", "id", "join_time", "email"},
	},
	"webinar.participant_left": {
		object:      []string{"id", "uuid", "host_id", "topic", "type", "start_time", "timezone", "duration", "participant"},
		participant: []string{"user_id", "email"},
	},
}

// promised are the fields Reconstruct always sends although Zoom's type
// marks them optional, because Zoom sends them all the same: the time the
// event reports, and participant.id ("" for guests) as in every capture.
var promised = map[string][]string{
	"webinar.ended":              {"payload.object.end_time"},
	"meeting.participant_joined": {"payload.object.participant.id"},
	"meeting.participant_left":   {"payload.object.participant.id"},
	"webinar.participant_left":   {"payload.object.participant.id", "payload.object.participant.leave_time"},
}

// unknowable are fields of the reference that zoomrecon never knows and
// so never sends.
var unknowable = []string{"payload.object.participant.customer_key", "payload.object.participant.phone_number"}

// loadReference reads the webhook event shapes of zoom-api-reference.json:
// per event, every field's dotted path and JSON type.
func loadReference(t *testing.T) map[string]map[string]string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("..", "..", "testdata", "zoom", "zoom-api-reference.json"))
	require.NoError(t, err)
	var ref struct {
		WebhookEvents map[string]map[string]string `json:"webhook_events"`
	}
	require.NoError(t, json.Unmarshal(raw, &ref))
	return ref.WebhookEvents
}

// requiredPaths is the dotted paths of everything Zoom's type for event
// requires, the envelope included.
func requiredPaths(event string) []string {
	out := []string{"event", "event_ts", "payload", "payload.account_id", "payload.object"}
	for _, f := range required[event].object {
		out = append(out, "payload.object."+f)
	}
	for _, f := range required[event].participant {
		out = append(out, "payload.object.participant."+f)
	}
	return out
}

// flatten decodes a body into its dotted paths and values. Numbers are
// json.Number; an object is a nil map[string]any, its members having paths
// of their own.
func flatten(t *testing.T, body []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v map[string]any
	require.NoError(t, dec.Decode(&v), "body %s", body)
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			out[prefix+k] = v
			if sub, ok := v.(map[string]any); ok {
				out[prefix+k] = map[string]any(nil)
				walk(prefix+k+".", sub)
			}
		}
	}
	walk("", v)
	return out
}

// jsonType names v's JSON type as the reference does.
func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "boolean"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "null"
}

var (
	start = time.Date(2024, 3, 5, 14, 2, 11, 0, time.UTC)
	end   = start.Add(42*time.Minute + 47*time.Second)
	join  = start.Add(89 * time.Second)
	leave = start.Add(28*time.Minute + 54*time.Second)
)

// full knows everything zoomrecon can know of the instance and session.
func full(event string) (time.Time, zoomevent.Meeting, *zoomevent.Participant) {
	m := zoomevent.Meeting{
		UUID: "t6WJ0cK+QvOe2m/hY1Lx9A==", ID: 84512093377, HostID: "Hs8QeW2rTy5uIo1pAs3dFg", Topic: "Support stand-up",
		Webinar: strings.HasPrefix(event, "webinar."), ZoomType: 8, Duration: 45, Start: start, Timezone: "America/Chicago",
	}
	p := &zoomevent.Participant{
		UserID: "16779264", UserName: "Ana Ruiz", ID: "Pt4RkLm9Qw2eXc7vBn1MzA", ParticipantUUID: "6F1E2D3C-4B5A-6978-8A9B-0C1D2E3F4A5B",
		Email: "ana.ruiz@example.org", RegistrantID: "Rg7yT5uI3oP1aS9dF2gH4j", JoinTime: join, LeaveTime: leave,
		LeaveReason: "Ana Ruiz left the meeting.<br>Reason: left the meeting",
	}
	return at(event, &m, p)
}

// sparse knows only what Reconstruct cannot do without for event.
func sparse(event string) (time.Time, zoomevent.Meeting, *zoomevent.Participant) {
	m := zoomevent.Meeting{UUID: "t6WJ0cK+QvOe2m/hY1Lx9A==", Webinar: strings.HasPrefix(event, "webinar.")}
	if event != "meeting.participant_joined" { // its id and start_time are optional
		m.ID, m.Start = 84512093377, start
	}
	p := &zoomevent.Participant{JoinTime: join, LeaveTime: leave}
	return at(event, &m, p)
}

// at completes an input: the event's time, the end for the ended events,
// and the participant only for the participant events.
func at(event string, m *zoomevent.Meeting, p *zoomevent.Participant) (time.Time, zoomevent.Meeting, *zoomevent.Participant) {
	switch {
	case strings.HasSuffix(event, ".started"):
		return start, *m, nil
	case strings.HasSuffix(event, ".ended"):
		m.End = end
		return end, *m, nil
	case strings.HasSuffix(event, "_joined"):
		return join, *m, p
	}
	return leave, *m, p
}

// TestReconstructMatchesReference holds every event's body to Zoom's shape:
// the envelope's values, every required field with the reference's JSON
// type, and no field the reference does not list. Knowing everything, it
// sends every field the reference lists but the unknowable; knowing only
// the least, it sends nothing optional.
func TestReconstructMatchesReference(t *testing.T) {
	t.Parallel()
	ref := loadReference(t)
	const account = "Qx7vT2mLRa-9kdPq3ZwYbN"
	inputs := []struct {
		name  string
		input func(string) (time.Time, zoomevent.Meeting, *zoomevent.Participant)
	}{{"Full", full}, {"Sparse", sparse}}
	for _, event := range events {
		for _, in := range inputs {
			t.Run(strings.ReplaceAll(event, ".", "_")+"/"+in.name, func(t *testing.T) {
				t.Parallel()
				shape, ok := ref[event]
				require.True(t, ok, "the reference has no %s", event)
				when, m, p := in.input(event)
				body, err := zoomevent.Reconstruct(event, account, when, m, p)
				require.NoError(t, err)
				got := flatten(t, body)

				require.Equal(t, event, got["event"])
				require.Equal(t, json.Number(strconv.FormatInt(when.UnixMilli(), 10)), got["event_ts"])
				require.Equal(t, account, got["payload.account_id"])
				for _, path := range requiredPaths(event) {
					require.Contains(t, shape, path, "the test's required field is not in the reference")
					require.Contains(t, got, path, "required field missing; body %s", body)
				}
				for path, v := range got {
					want, ok := shape[path]
					require.True(t, ok, "%s is not in the reference's %s; body %s", path, event, body)
					require.Equal(t, want, jsonType(v), "JSON type of %s", path)
				}
				for _, path := range promised[event] {
					require.Contains(t, got, path, "promised field missing; body %s", body)
				}

				switch in.name {
				case "Full":
					want := slices.DeleteFunc(slices.Collect(maps.Keys(shape)), func(k string) bool { return slices.Contains(unknowable, k) })
					require.ElementsMatch(t, want, slices.Collect(maps.Keys(got)), "knowing everything, every field; body %s", body)
					require.Equal(t, "84512093377", got["payload.object.id"], "the meeting number is a string in events (§4)")
					require.Equal(t, "2024-03-05T14:02:11Z", got["payload.object.start_time"])
				case "Sparse":
					want := append(requiredPaths(event), promised[event]...)
					require.ElementsMatch(t, want, slices.Collect(maps.Keys(got)), "knowing the least, nothing optional; body %s", body)
					wantType := "2" // Zoom's default: a scheduled meeting
					if m.Webinar {
						wantType = "5"
					}
					require.Equal(t, json.Number(wantType), got["payload.object.type"])
					require.Equal(t, json.Number("0"), got["payload.object.duration"])
				}
			})
		}
	}
}

// TestReconstructEncodesAsZoom checks the bytes: compact, raw UTF-8 and an
// unescaped <br>, as Zoom sends bodies (§2), and Zoom's time format.
func TestReconstructEncodesAsZoom(t *testing.T) {
	t.Parallel()
	m := zoomevent.Meeting{UUID: "t6WJ0cK+QvOe2m/hY1Lx9A==", ID: 84512093377, Topic: "Café <Weekly> & Co", Start: start.In(time.FixedZone("CET", 3600)).Add(999 * time.Millisecond)}
	p := &zoomevent.Participant{UserID: "16781312", UserName: "Gäst 👋", LeaveTime: leave, LeaveReason: "Gäst 👋 left the meeting.<br>Reason: Host ended the meeting."}
	body, err := zoomevent.Reconstruct("meeting.participant_left", "Acct", leave.Add(240*time.Millisecond), m, p)
	require.NoError(t, err)
	s := string(body)
	require.True(t, strings.HasPrefix(s, `{"event":"meeting.participant_left","event_ts":1709649065240,"payload":{"account_id":"Acct","object":{`), s)
	require.True(t, strings.HasSuffix(s, "}}}"), "no trailing newline: %q", s)
	for _, want := range []string{
		`"topic":"Café <Weekly> & Co"`,
		`"start_time":"2024-03-05T14:02:11Z"`, // UTC, whole seconds
		`"leave_time":"2024-03-05T14:31:05Z"`,
		`"leave_reason":"Gäst 👋 left the meeting.<br>Reason: Host ended the meeting."`,
		`"id":""`, // a guest's
		`"email":""`,
	} {
		require.Contains(t, s, want)
	}
	var compact bytes.Buffer
	require.NoError(t, json.Compact(&compact, body))
	require.Equal(t, compact.String(), s, "compact")
}

// TestReconstructRefuses covers the inputs Reconstruct will not turn into
// an event: an unknown name, an identity or time it would have to make up,
// and a participant where the event has none or none where it has one.
func TestReconstructRefuses(t *testing.T) {
	t.Parallel()
	meeting := zoomevent.Meeting{UUID: "t6WJ0cK+QvOe2m/hY1Lx9A==", ID: 84512093377, Start: start, End: end}
	webinar := meeting
	webinar.Webinar = true
	person := &zoomevent.Participant{UserID: "16779264", JoinTime: join, LeaveTime: leave}
	tests := []struct {
		name  string
		event string
		at    time.Time
		m     zoomevent.Meeting
		p     *zoomevent.Participant
		want  string
	}{
		{"UnknownEvent", "meeting.participant_admitted", join, meeting, person, "reconstruct meeting.participant_admitted: unknown event"},
		{"WebinarAsMeeting", "meeting.started", start, webinar, nil, `reconstruct meeting.started: the instance "t6WJ0cK+QvOe2m/hY1Lx9A==" is a webinar`},
		{"MeetingAsWebinar", "webinar.started", start, meeting, nil, `reconstruct webinar.started: the instance "t6WJ0cK+QvOe2m/hY1Lx9A==" is a meeting`},
		{"NoEventTime", "meeting.started", time.Time{}, meeting, nil, "reconstruct meeting.started: no event time for event_ts"},
		{"NoParticipant", "meeting.participant_joined", join, meeting, nil, "reconstruct meeting.participant_joined: no participant"},
		{"ParticipantForStarted", "meeting.started", start, meeting, person, "reconstruct meeting.started: a participant given for an event that carries none"},
		{"NoUUID", "meeting.ended", end, with(meeting, func(m *zoomevent.Meeting) { m.UUID = "" }), nil, "reconstruct meeting.ended: no uuid, which the event requires"},
		{"NoMeetingID", "meeting.started", start, with(meeting, func(m *zoomevent.Meeting) { m.ID = 0 }), nil, "reconstruct meeting.started: no id, which the event requires"},
		{"NoStart", "webinar.participant_left", leave, with(webinar, func(m *zoomevent.Meeting) { m.Start = time.Time{} }), person, "reconstruct webinar.participant_left: no start_time, which the event requires"},
		{"NoEnd", "meeting.ended", end, with(meeting, func(m *zoomevent.Meeting) { m.End = time.Time{} }), nil, "reconstruct meeting.ended: no end_time, which the event requires"},
		// Zoom's type marks end_time optional here, but an end without its time tells nothing.
		{"NoWebinarEnd", "webinar.ended", end, with(webinar, func(m *zoomevent.Meeting) { m.End = time.Time{} }), nil, "reconstruct webinar.ended: no end_time, which the event requires"},
		{"NoJoinTime", "webinar.participant_joined", join, webinar, &zoomevent.Participant{UserID: "16779264"}, "reconstruct webinar.participant_joined: no participant.join_time, which the event requires"},
		{"NoLeaveTime", "webinar.participant_left", leave, webinar, &zoomevent.Participant{UserID: "16779264"}, "reconstruct webinar.participant_left: no participant.leave_time, which the event requires"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body, err := zoomevent.Reconstruct(tt.event, "Acct", tt.at, tt.m, tt.p)
			require.EqualError(t, err, tt.want)
			require.Nil(t, body)
		})
	}
	t.Run("UnknownEventIsErrUnknownEvent", func(t *testing.T) {
		t.Parallel()
		_, err := zoomevent.Reconstruct("recording.completed", "Acct", end, meeting, nil)
		require.ErrorIs(t, err, zoomevent.ErrUnknownEvent)
	})
}

func with(m zoomevent.Meeting, change func(*zoomevent.Meeting)) zoomevent.Meeting {
	change(&m)
	return m
}
