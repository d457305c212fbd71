package webhook

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
)

// Event types the receiver turns into state (zoom-platform.md §4).
const (
	eventURLValidation = "endpoint.url_validation"

	eventMeetingStarted           = "meeting.started"
	eventMeetingEnded             = "meeting.ended"
	eventMeetingParticipantJoined = "meeting.participant_joined"
	eventMeetingParticipantLeft   = "meeting.participant_left"
	eventWebinarStarted           = "webinar.started"
	eventWebinarEnded             = "webinar.ended"
	eventWebinarParticipantJoined = "webinar.participant_joined"
	eventWebinarParticipantLeft   = "webinar.participant_left"
	eventRecordingCompleted       = "recording.completed"
)

// envelope is the part of every Zoom event the receiver reads. Zoom sends the
// keys in either order (event, payload, event_ts or event, event_ts,
// payload; zoom-platform.md §3); a JSON object does not care.
type envelope struct {
	Event string
	// EventTS is event_ts, Unix milliseconds, as a time; nil when the body
	// has none or it is not a usable time.
	EventTS *time.Time
	// eventTS is event_ts as sent, for the deduplication key.
	eventTS string
	Payload json.RawMessage
	// problem says why the body cannot be applied as an event, if it cannot;
	// an authentic body is stored all the same.
	problem string
}

// rawEnvelope reads each top-level field without judging its type, so that a
// field of the wrong type makes the event unapplied rather than refused.
type rawEnvelope struct {
	Event   json.RawMessage `json:"event"`
	EventTS json.RawMessage `json:"event_ts"`
	Payload json.RawMessage `json:"payload"`
}

type validationPayload struct {
	PlainToken string `json:"plainToken"`
}

type objectPayload struct {
	Object meetingObject `json:"object"`
}

type meetingObject struct {
	ID          flexInt64    `json:"id"`
	UUID        string       `json:"uuid"`
	HostID      string       `json:"host_id"`
	Topic       string       `json:"topic"`
	Type        int          `json:"type"`
	StartTime   string       `json:"start_time"`
	EndTime     string       `json:"end_time"`
	Participant *participant `json:"participant"`
}

type participant struct {
	UserID            string `json:"user_id"`
	UserName          string `json:"user_name"`
	ID                string `json:"id"`
	ParticipantUUID   string `json:"participant_uuid"`
	ParticipantUserID string `json:"participant_user_id"`
	RegistrantID      string `json:"registrant_id"`
	Email             string `json:"email"`
	JoinTime          string `json:"join_time"`
	LeaveTime         string `json:"leave_time"`
	LeaveReason       string `json:"leave_reason"`
}

// flexInt64 reads a meeting number sent as a JSON string ("81234567890", as
// most events do) or as a number (as recording.completed does).
type flexInt64 int64

func (f *flexInt64) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	if s == "" || s == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("meeting id %s is not a number", b)
	}
	*f = flexInt64(n)
	return nil
}

// parseEnvelope reads the parts every event has. It never fails: whatever an
// authentic body holds is stored (Zoom never retries a 4xx, §3), and what
// makes it unusable as state is reported in problem.
func parseEnvelope(body []byte) envelope {
	var raw rawEnvelope
	if err := json.Unmarshal(body, &raw); err != nil {
		return envelope{problem: "body is not a JSON object: " + jsonReason(err)}
	}
	env := envelope{Payload: raw.Payload}
	if len(raw.Event) == 0 || json.Unmarshal(raw.Event, &env.Event) != nil || env.Event == "" {
		env.problem = "no \"event\" name"
	}
	if len(raw.EventTS) > 0 {
		env.eventTS = string(raw.EventTS)
	}
	ms, err := strconv.ParseInt(env.eventTS, 10, 64)
	switch {
	case err != nil:
		env.problem = cmp.Or(env.problem, "event_ts is missing or not an integer")
	case !plausible(time.UnixMilli(ms)):
		env.problem = cmp.Or(env.problem, "event_ts "+env.eventTS+" is not a plausible time")
	default:
		t := time.UnixMilli(ms)
		env.EventTS = &t
	}
	return env
}

// plausible says whether a time from a payload can be stored and meant: Zoom
// did not exist before 2000, and both databases (and SQLite's text order)
// need four-digit years. A time outside is kept raw in the body, never
// stored as a wrong date.
func plausible(t time.Time) bool {
	return t.Year() >= 2000 && t.Year() <= 9999
}

// jsonReason describes a JSON error without quoting the body.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type (%s)", typ.Field, typ.Value)
	default:
		return "malformed"
	}
}

// maxIDLength bounds the identifiers the store indexes (a meeting UUID, a
// participant's identity fields). Zoom's are a few dozen characters; a longer
// one is not Zoom's, and indexing it could exceed PostgreSQL's index row size.
const maxIDLength = 256

// ingestFor builds what the store keeps for one event: the raw row, its
// deduplication key, and the state it reports. An event whose type we do not
// track, or whose payload lacks what the state needs, is still stored (nothing
// is lost) with no state; unapplied says why, for the log.
func ingestFor(env envelope, body []byte, receivedAt time.Time) (it store.Ingest, unapplied string) {
	it.Event = store.Event{
		Type:       env.Event,
		EventTS:    env.EventTS,
		ReceivedAt: receivedAt,
		Body:       body,
	}
	// Unknown or untracked events: Zoom redelivers the same body, so its hash
	// identifies the event.
	sum := sha256.Sum256(body)
	it.Event.DedupKey = dedupKey(env.Event, hex.EncodeToString(sum[:]))

	typ, tracked := trackedTypeOf(env.Event)
	if env.problem != "" {
		if tracked || env.Event == "" {
			return it, env.problem
		}
		return it, ""
	}
	var p objectPayload
	if err := json.Unmarshal(env.Payload, &p); err != nil {
		if tracked {
			return it, "payload.object: " + jsonReason(err)
		}
		return it, ""
	}
	obj := p.Object
	if len(obj.UUID) > maxIDLength {
		return it, fmt.Sprintf("payload.object.uuid is %d bytes long; not a Zoom UUID", len(obj.UUID))
	}
	it.Event.MeetingUUID = obj.UUID
	if !tracked {
		return it, ""
	}
	if obj.UUID == "" {
		return it, "payload.object.uuid is missing"
	}

	m := store.MeetingUpdate{
		UUID: obj.UUID, MeetingID: int64(obj.ID), HostID: obj.HostID, Topic: obj.Topic,
		Type: typ.meetingType, ZoomType: obj.Type, Source: store.SourceWebhook,
	}
	start, err := parseZoomTime(obj.StartTime)
	if err != nil {
		return it, "payload.object.start_time: " + err.Error()
	}
	m.StartTime = start

	key := []string{env.Event, obj.UUID, env.eventTS}
	switch typ.kind {
	case kindStarted:
		if start.IsZero() {
			return it, "payload.object.start_time is missing"
		}
		m.Started = true
		key = append(key, obj.StartTime)
	case kindEnded:
		end, err := parseZoomTime(obj.EndTime)
		if err != nil || end.IsZero() {
			return it, "payload.object.end_time is missing or invalid"
		}
		m.EndTime, m.Ended = end, true
		key = append(key, obj.EndTime)
	case kindJoined, kindLeft:
		pu, at, reason := participantUpdate(obj, typ.kind)
		if reason != "" {
			return it, reason
		}
		it.Participant = &pu
		key = append(key, pu.Participant.Key(), at)
	}
	it.Meeting = &m
	it.Event.DedupKey = dedupKey(key...)
	return it, ""
}

// dedupKey joins what identifies an event. A key longer than a unique index
// can hold (only a body that is not Zoom's makes one) is replaced by its hash.
func dedupKey(parts ...string) string {
	key := strings.Join(parts, "|")
	if len(key) <= 512 {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256|" + hex.EncodeToString(sum[:])
}

func participantUpdate(obj meetingObject, kind eventKind) (store.ParticipantUpdate, string, string) {
	p := obj.Participant
	if p == nil {
		return store.ParticipantUpdate{}, "", "payload.object.participant is missing"
	}
	u := store.ParticipantUpdate{
		MeetingUUID: obj.UUID,
		Participant: store.Participant{
			UserID:            p.UserID,
			ParticipantUserID: cmp.Or(p.ParticipantUserID, p.ID),
			ParticipantUUID:   p.ParticipantUUID,
			RegistrantID:      p.RegistrantID,
			UserName:          p.UserName,
			Email:             p.Email,
		},
		Source: store.SourceWebhook,
	}
	if u.Participant.Key() == "" {
		return store.ParticipantUpdate{}, "", "payload.object.participant has no identity"
	}
	if n := len(u.Participant.Key()); n > maxIDLength {
		return store.ParticipantUpdate{}, "", fmt.Sprintf("payload.object.participant's identity is %d bytes long; not Zoom's", n)
	}
	raw, field := p.JoinTime, "join_time"
	if kind == kindLeft {
		raw, field = p.LeaveTime, "leave_time"
	}
	at, err := parseZoomTime(raw)
	if err != nil || at.IsZero() {
		return store.ParticipantUpdate{}, "", "payload.object.participant." + field + " is missing or invalid"
	}
	if kind == kindLeft {
		u.LeaveTime, u.LeaveReason = at, p.LeaveReason
	} else {
		u.JoinTime = at
	}
	return u, raw, ""
}

// parseZoomTime reads Zoom's ISO 8601 UTC times ("2024-03-05T14:02:11Z"); an
// empty string is the zero time.
func parseZoomTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil || !plausible(t) {
		return time.Time{}, fmt.Errorf("%q is not a plausible RFC 3339 time", s)
	}
	return t, nil
}

type eventKind int

const (
	kindStarted eventKind = iota
	kindEnded
	kindJoined
	kindLeft
)

type trackedType struct {
	kind        eventKind
	meetingType store.MeetingType
}

// trackedTypeOf says whether an event changes meeting and participant state,
// and how.
func trackedTypeOf(event string) (trackedType, bool) {
	switch event {
	case eventMeetingStarted:
		return trackedType{kindStarted, store.TypeMeeting}, true
	case eventMeetingEnded:
		return trackedType{kindEnded, store.TypeMeeting}, true
	case eventMeetingParticipantJoined:
		return trackedType{kindJoined, store.TypeMeeting}, true
	case eventMeetingParticipantLeft:
		return trackedType{kindLeft, store.TypeMeeting}, true
	case eventWebinarStarted:
		return trackedType{kindStarted, store.TypeWebinar}, true
	case eventWebinarEnded:
		return trackedType{kindEnded, store.TypeWebinar}, true
	case eventWebinarParticipantJoined:
		return trackedType{kindJoined, store.TypeWebinar}, true
	case eventWebinarParticipantLeft:
		return trackedType{kindLeft, store.TypeWebinar}, true
	}
	return trackedType{}, false
}
