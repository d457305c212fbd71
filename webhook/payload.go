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

// envelope is the part of every Zoom event the receiver reads.
type envelope struct {
	Event   string          `json:"event"`
	EventTS int64           `json:"event_ts"` // Unix milliseconds
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

// errBadEvent is a body that cannot be an event at all: rejected with 400.
var errBadEvent = errors.New("bad event")

// parseEnvelope reads the parts every event has. A body that is not a JSON
// object, or has no event name, is errBadEvent.
func parseEnvelope(body []byte) (envelope, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return envelope{}, fmt.Errorf("%w: invalid JSON: %s", errBadEvent, jsonReason(err))
	}
	if env.Event == "" {
		return envelope{}, fmt.Errorf("%w: no \"event\" field", errBadEvent)
	}
	return env, nil
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

// ingestFor builds what the store keeps for one event: the raw row, its
// deduplication key, and the state it reports. An event whose type we do not
// track, or whose payload lacks what the state needs, is still stored (nothing
// is lost) with no state; unapplied says why, for the log.
func ingestFor(env envelope, body []byte, receivedAt time.Time) (it store.Ingest, unapplied string) {
	it.Event = store.Event{
		Type:       env.Event,
		EventTS:    time.UnixMilli(env.EventTS),
		ReceivedAt: receivedAt,
		Body:       body,
	}
	// Unknown or untracked events: Zoom redelivers the same body, so its hash
	// identifies the event.
	sum := sha256.Sum256(body)
	it.Event.DedupKey = env.Event + "|" + hex.EncodeToString(sum[:])

	typ, tracked := trackedTypeOf(env.Event)
	var p objectPayload
	if err := json.Unmarshal(env.Payload, &p); err != nil {
		if tracked {
			return it, "payload.object: " + jsonReason(err)
		}
		return it, ""
	}
	obj := p.Object
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

	key := []string{env.Event, obj.UUID, strconv.FormatInt(env.EventTS, 10)}
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
	it.Event.DedupKey = strings.Join(key, "|")
	return it, ""
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
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time", s)
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
