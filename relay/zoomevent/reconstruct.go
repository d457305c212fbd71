// Package zoomevent rebuilds the webhook events Zoom should have sent, in
// Zoom's own shape (zoom-platform.md §4), from what zoomrecon reconciled: the
// relay delivers them to the application behind zoomrecon in place of the
// ones Zoom lost. It imports none of zoomrecon's packages, so the reconciler
// can build them without depending on the relay's delivery.
package zoomevent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// ErrUnknownEvent is returned for an event name Reconstruct does not build.
var ErrUnknownEvent = errors.New("unknown event")

// Meeting is what zoomrecon knows of the instance an event is about.
type Meeting struct {
	UUID   string // the instance
	ID     int64  // Zoom's numeric meeting ID (the meeting number); 0 when unknown
	HostID string
	Topic  string
	// Webinar must agree with the event's name: webinar.* events are about
	// webinars, meeting.* events about meetings.
	Webinar bool
	// ZoomType is Zoom's "type" field (1 instant, 2 scheduled, 8 recurring
	// with a fixed time, 5 webinar...; §4); 0 when unknown, sent as 2 for a
	// meeting and 5 for a webinar.
	ZoomType int
	// Duration is the scheduled length in minutes, which is what every
	// meeting and webinar event carries in duration, not the actual length
	// (§4); 0 when unknown, as Zoom itself sends for instant meetings.
	Duration int
	Start    time.Time
	End      time.Time // zero unless ended
	Timezone string    // IANA zone; often unknown: ""
}

// Participant is one person's session, as the reconciled data has it.
type Participant struct {
	UserID   string // Zoom's per-session participant "user_id"
	UserName string
	// ID is the signed-in participant's Zoom user ID; "" for guests. Events
	// carry it as both "id" and "participant_user_id".
	ID              string
	ParticipantUUID string
	Email           string
	RegistrantID    string
	JoinTime        time.Time
	LeaveTime       time.Time // zero while still in
	LeaveReason     string    // Zoom's text, HTML <br> and all (§4)
}

// Reconstruct returns the body Zoom would have sent for event about m, and
// about p for the participant events: {"event","event_ts","payload":
// {"account_id","object"}} with the object's fields as Zoom's generated
// types name them (zoom-api-reference.json), compact and in Zoom's key order,
// with raw UTF-8 and an unescaped <br> as Zoom sends bodies (§2).
//
// event is one of meeting.started, meeting.ended,
// meeting.participant_joined, meeting.participant_left and their webinar
// twins; any other name is ErrUnknownEvent. event_ts is at in Unix
// milliseconds: pass the time Zoom says the event happened (m.Start,
// m.End, p.JoinTime or p.LeaveTime), since event_ts is when an event
// happened, not when it was sent (§3). account_id is accountID.
//
// Unknown values are handled as Zoom's types allow. An optional field that
// is unknown is left out. A required one that is unknown gets the blank Zoom
// itself sends when it has nothing: "" for host_id, topic, timezone,
// user_id, user_name and email, 0 for duration. A required identity or time
// (uuid, id, start_time, the event's own time) cannot be made up: its
// absence is an error, as is a participant event without p or another
// event with one.
func Reconstruct(event, accountID string, at time.Time, m Meeting, p *Participant) ([]byte, error) {
	body, err := reconstruct(event, accountID, at, m, p)
	if err != nil {
		return nil, fmt.Errorf("reconstruct %s: %w", event, err)
	}
	return body, nil
}

// happening is what an event reports.
type happening int

const (
	started happening = iota
	ended
	joined
	left
)

// shape is Zoom's generated type for one event (zoom/rivet-javascript
// meetings/meetings.d.ts, v0.2.1 to v0.3.0; zoom-api-reference.json lists
// its fields and types but drops the "?" that marks the optional ones).
type shape struct {
	webinar bool
	what    happening
	// optional are the object's fields the type marks optional, with
	// participant fields as "participant.<name>", less three that Zoom
	// sends all the same: participant.id, always present and "" for guests
	// in every capture (webhook/testdata, §4), and end_time in
	// webinar.ended and leave_time in webinar.participant_left, the very
	// time those events report.
	optional []string
}

var shapes = map[string]shape{
	"meeting.started": {what: started, optional: []string{"timezone"}},
	"meeting.ended":   {what: ended, optional: []string{"timezone"}},
	"meeting.participant_joined": {what: joined, optional: []string{
		"id", "topic", "start_time", "timezone",
		"participant.participant_uuid", "participant.registrant_id", "participant.participant_user_id",
	}},
	"meeting.participant_left": {what: left, optional: []string{
		"timezone",
		"participant.user_name", "participant.participant_uuid", "participant.leave_reason",
		"participant.registrant_id", "participant.participant_user_id",
	}},
	"webinar.started": {webinar: true, what: started},
	"webinar.ended":   {webinar: true, what: ended},
	"webinar.participant_joined": {webinar: true, what: joined, optional: []string{
		"participant.registrant_id", "participant.participant_user_id", "participant.participant_uuid",
	}},
	"webinar.participant_left": {webinar: true, what: left, optional: []string{
		"participant.user_name", "participant.leave_reason",
		"participant.registrant_id", "participant.participant_user_id", "participant.participant_uuid",
	}},
}

// The types sent when zoomrecon does not know the instance's: a scheduled
// meeting and a plain webinar (§4), the defaults of Zoom's create endpoints
// (not in zoom-platform.md) and of the fake Zoom. type is required in every
// event, and a guess among Zoom's own values is more faithful than 0, which
// Zoom never sends.
const (
	defaultMeetingType = 2
	defaultWebinarType = 5
)

func reconstruct(event, accountID string, at time.Time, m Meeting, p *Participant) ([]byte, error) {
	sh, ok := shapes[event]
	switch {
	case !ok:
		return nil, ErrUnknownEvent
	case sh.webinar != m.Webinar:
		return nil, fmt.Errorf("the instance %q is a %s", m.UUID, kindName(m.Webinar))
	case at.IsZero():
		return nil, errors.New("no event time for event_ts")
	case (sh.what == joined || sh.what == left) && p == nil:
		return nil, errors.New("no participant")
	case (sh.what == started || sh.what == ended) && p != nil:
		return nil, errors.New("a participant given for an event that carries none")
	}

	typ := m.ZoomType
	if typ == 0 {
		typ = defaultMeetingType
		if m.Webinar {
			typ = defaultWebinarType
		}
	}
	var id any
	if m.ID > 0 {
		id = strconv.FormatInt(m.ID, 10) // a string in these events, unlike REST (§4)
	}
	var (
		duration = member{"duration", m.Duration, nil} // never unknown: 0 is what Zoom sends for no schedule
		start    = member{"start_time", zoomTime(m.Start), nil}
		timezone = member{"timezone", known(m.Timezone), ""}
		end      = member{"end_time", zoomTime(m.End), nil}
		topic    = member{"topic", known(m.Topic), ""}
		idm      = member{"id", id, nil}
		typm     = member{"type", typ, nil}
		uuid     = member{"uuid", known(m.UUID), nil}
		host     = member{"host_id", known(m.HostID), ""}
	)
	// Key orders are those of real captures (§2 "Body format as sent"),
	// which the fake Zoom and webhook/testdata follow.
	var members []member
	switch sh.what {
	case started:
		members = []member{duration, start, timezone, topic, idm, typm, uuid, host}
	case ended:
		members = []member{duration, start, timezone, end, topic, idm, typm, uuid, host}
	default:
		part, err := participant(sh, p)
		if err != nil {
			return nil, err
		}
		members = []member{idm, uuid, host, topic, typm, start, timezone, duration, {"participant", part, nil}}
	}
	object, err := fill("", members, sh.optional)
	if err != nil {
		return nil, err
	}

	// The key order of Zoom's current docs (§3); receivers accept either.
	return encode(obj{
		{"event", event},
		{"event_ts", at.UnixMilli()},
		{"payload", obj{{"account_id", accountID}, {"object", object}}},
	})
}

// participant builds payload.object.participant.
func participant(sh shape, p *Participant) (obj, error) {
	var (
		userID   = member{"user_id", known(p.UserID), ""}
		userName = member{"user_name", known(p.UserName), ""}
		id       = member{"id", known(p.ID), ""} // "" for guests
		puuid    = member{"participant_uuid", known(p.ParticipantUUID), nil}
		email    = member{"email", known(p.Email), ""} // "" for guests and hidden addresses (§4)
		regID    = member{"registrant_id", known(p.RegistrantID), nil}
		// Zoom's user ID again, for internal participants only (§4).
		puid = member{"participant_user_id", known(p.ID), nil}
	)
	var when []member
	if sh.what == joined {
		when = []member{{"join_time", zoomTime(p.JoinTime), nil}}
	} else {
		when = []member{{"leave_time", zoomTime(p.LeaveTime), nil}, {"leave_reason", known(p.LeaveReason), nil}}
	}
	members := slices.Concat([]member{userID, userName, id, puuid}, when, []member{email, regID, puid})
	if sh.webinar {
		// Webinar captures carry participant_uuid last: it was added to
		// webinar events only in July 2023 (§4).
		members = slices.Concat([]member{userID, userName, id}, when, []member{email, regID, puid, puuid})
	}
	// customer_key and phone_number are in Zoom's types too, optional, and
	// unknown to zoomrecon: left out.
	return fill("participant.", members, sh.optional)
}

// member is one field of an object. value nil means unknown; blank is what
// the field carries when Zoom's type requires it and it is unknown, nil
// when no value would be faithful.
type member struct {
	key   string
	value any
	blank any
}

// fill keeps the members with a value, leaves out the unknown optional ones
// (optional names keys under prefix) and gives the unknown required ones
// their blank.
func fill(prefix string, members []member, optional []string) (obj, error) {
	out := make(obj, 0, len(members))
	for _, m := range members {
		v := m.value
		if v == nil {
			if slices.Contains(optional, prefix+m.key) {
				continue
			}
			if m.blank == nil {
				return nil, fmt.Errorf("no %s%s, which the event requires", prefix, m.key)
			}
			v = m.blank
		}
		out = append(out, pair{m.key, v})
	}
	return out, nil
}

// known is s, or nil (unknown) when s is empty.
func known(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// zoomTime formats t as every Zoom payload does: UTC, whole seconds, a
// trailing Z (zoom-platform.md, introduction). A zero t is unknown: nil.
func zoomTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func kindName(webinar bool) string {
	if webinar {
		return "webinar"
	}
	return "meeting"
}

// obj is a JSON object that keeps its key order.
type obj []pair

type pair struct {
	key   string
	value any
}

// encode writes v as Zoom sends bodies (§2): compact, no trailing newline,
// raw UTF-8, and no HTML escaping, so a leave_reason's <br> stays as it is.
func encode(v obj) ([]byte, error) {
	var buf bytes.Buffer
	if err := write(&buf, v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func write(buf *bytes.Buffer, v any) error {
	o, ok := v.(obj)
	if !ok {
		enc := json.NewEncoder(buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			return fmt.Errorf("encode: %w", err)
		}
		buf.Truncate(buf.Len() - 1) // Encode's newline
		return nil
	}
	buf.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		if err := write(buf, p.key); err != nil {
			return err
		}
		buf.WriteByte(':')
		if err := write(buf, p.value); err != nil {
			return err
		}
	}
	buf.WriteByte('}')
	return nil
}
