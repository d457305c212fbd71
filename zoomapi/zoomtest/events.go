package zoomtest

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"
)

// Webhook payloads, written from zoom-platform.md §4 and the fixtures in
// webhook/testdata with this package's own structs. Struct field order is
// Zoom's key order: envelopes are event, payload, event_ts as in real
// captures, or event, event_ts, payload as in Zoom's current docs
// (SetBodyKeyOrder, §3), and inside object the order varies by event as in
// real captures.

// envelope is an event body in CapturedKeyOrder.
type envelope struct {
	Event   string  `json:"event"`
	Payload payload `json:"payload"`
	EventTS int64   `json:"event_ts"`
}

// documentedEnvelope is an event body in DocumentedKeyOrder.
type documentedEnvelope struct {
	Event   string  `json:"event"`
	EventTS int64   `json:"event_ts"`
	Payload payload `json:"payload"`
}

type payload struct {
	AccountID string `json:"account_id"`
	Object    any    `json:"object"`
}

// meetingID is a meeting number as events carry it: a JSON string in most
// events, a number in recording.completed and some deliveries (§4).
type meetingID struct {
	n       int64
	numeric bool
}

func (id meetingID) MarshalJSON() ([]byte, error) {
	s := strconv.FormatInt(id.n, 10)
	if id.numeric {
		return []byte(s), nil
	}
	return []byte(`"` + s + `"`), nil
}

type startedObject struct {
	Duration  int       `json:"duration"`
	StartTime string    `json:"start_time"`
	Timezone  string    `json:"timezone"`
	Topic     string    `json:"topic"`
	ID        meetingID `json:"id"`
	Type      int       `json:"type"`
	UUID      string    `json:"uuid"`
	HostID    string    `json:"host_id"`
}

type endedObject struct {
	Duration        int       `json:"duration"`
	StartTime       string    `json:"start_time"`
	Timezone        string    `json:"timezone"`
	EndTime         string    `json:"end_time"`
	Topic           string    `json:"topic"`
	ID              meetingID `json:"id"`
	Type            int       `json:"type"`
	UUID            string    `json:"uuid"`
	HostID          string    `json:"host_id"`
	PracticeSession *bool     `json:"practice_session,omitempty"` // webinar.ended only (§4)
}

type participantObject struct {
	ID          meetingID `json:"id"`
	UUID        string    `json:"uuid"`
	HostID      string    `json:"host_id"`
	Topic       string    `json:"topic"`
	Type        int       `json:"type"`
	StartTime   string    `json:"start_time"`
	Timezone    string    `json:"timezone"`
	Duration    int       `json:"duration"`
	Participant any       `json:"participant"`
}

// meetingParticipant is payload.object.participant of meeting events. id is
// always present, empty for guests; the optional fields are left out when
// empty, as in Zoom's captures.
type meetingParticipant struct {
	UserID            string `json:"user_id"`
	UserName          string `json:"user_name"`
	ID                string `json:"id"`
	ParticipantUUID   string `json:"participant_uuid,omitempty"`
	JoinTime          string `json:"join_time,omitempty"`
	LeaveTime         string `json:"leave_time,omitempty"`
	LeaveReason       string `json:"leave_reason,omitempty"`
	Email             string `json:"email"`
	RegistrantID      string `json:"registrant_id,omitempty"`
	ParticipantUserID string `json:"participant_user_id,omitempty"`
}

// webinarParticipant orders the same fields as webinar captures do, with
// participant_uuid last (added to webinar events in July 2023, §4).
type webinarParticipant struct {
	UserID            string `json:"user_id"`
	UserName          string `json:"user_name"`
	ID                string `json:"id"`
	JoinTime          string `json:"join_time,omitempty"`
	LeaveTime         string `json:"leave_time,omitempty"`
	LeaveReason       string `json:"leave_reason,omitempty"`
	Email             string `json:"email"`
	RegistrantID      string `json:"registrant_id,omitempty"`
	ParticipantUserID string `json:"participant_user_id,omitempty"`
	ParticipantUUID   string `json:"participant_uuid,omitempty"`
}

// zoomTime formats a time as every Zoom payload does: UTC, whole seconds, Z.
func zoomTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05Z")
}

func (inst *instance) id(numeric bool) meetingID { return meetingID{n: inst.m.id, numeric: numeric} }

func (inst *instance) startedObject(numeric bool) startedObject {
	return startedObject{
		Duration: inst.duration, StartTime: zoomTime(inst.start), Timezone: inst.timezone, Topic: inst.topic,
		ID: inst.id(numeric), Type: inst.typ, UUID: inst.uuid, HostID: inst.hostID,
	}
}

func (inst *instance) endedObject(numeric bool) endedObject {
	o := endedObject{
		Duration: inst.duration, StartTime: zoomTime(inst.start), Timezone: inst.timezone, EndTime: zoomTime(inst.end),
		Topic: inst.topic, ID: inst.id(numeric), Type: inst.typ, UUID: inst.uuid, HostID: inst.hostID,
	}
	if inst.m.webinar {
		o.PracticeSession = new(bool)
	}
	return o
}

func (inst *instance) participantObject(numeric bool, sess *session, joined bool) participantObject {
	p := meetingParticipant{
		UserID: sess.p.UserID, UserName: sess.p.Name, ID: sess.p.ParticipantUserID,
		ParticipantUUID: sess.p.ParticipantUUID, Email: sess.p.Email,
		RegistrantID: sess.p.RegistrantID, ParticipantUserID: sess.p.ParticipantUserID,
	}
	if joined {
		p.JoinTime = zoomTime(sess.join)
	} else {
		p.LeaveTime, p.LeaveReason = zoomTime(sess.leave), sess.reason
	}
	var participant any = p
	if inst.m.webinar {
		participant = webinarParticipant{
			UserID: p.UserID, UserName: p.UserName, ID: p.ID, JoinTime: p.JoinTime, LeaveTime: p.LeaveTime,
			LeaveReason: p.LeaveReason, Email: p.Email, RegistrantID: p.RegistrantID,
			ParticipantUserID: p.ParticipantUserID, ParticipantUUID: p.ParticipantUUID,
		}
	}
	return participantObject{
		ID: inst.id(numeric), UUID: inst.uuid, HostID: inst.hostID, Topic: inst.topic, Type: inst.typ,
		StartTime: zoomTime(inst.start), Timezone: inst.timezone, Duration: inst.duration, Participant: participant,
	}
}

// envelope builds an event body around object in the key order
// SetBodyKeyOrder chose. It takes no lock, so it may be called under any.
func (s *Server) envelope(event string, object any, ts int64) []byte {
	p := payload{AccountID: s.creds.AccountID, Object: object}
	if BodyKeyOrder(s.hooks.keyOrder.Load()) == DocumentedKeyOrder {
		return compactJSON(documentedEnvelope{Event: event, EventTS: ts, Payload: p})
	}
	return compactJSON(envelope{Event: event, Payload: p, EventTS: ts})
}

// recording.completed carries download_token at the top level, after
// event_ts, and a numeric id (§4).
type recordingEnvelope struct {
	Event         string           `json:"event"`
	EventTS       int64            `json:"event_ts"`
	DownloadToken string           `json:"download_token"`
	Payload       recordingPayload `json:"payload"`
}

type recordingPayload struct {
	AccountID string          `json:"account_id"`
	Object    recordingObject `json:"object"`
}

type recordingObject struct {
	UUID           string          `json:"uuid"`
	ID             int64           `json:"id"`
	AccountID      string          `json:"account_id"`
	HostID         string          `json:"host_id"`
	Topic          string          `json:"topic"`
	Type           int             `json:"type"`
	StartTime      string          `json:"start_time"`
	Timezone       string          `json:"timezone"`
	HostEmail      string          `json:"host_email"`
	Duration       int             `json:"duration"`
	TotalSize      int64           `json:"total_size"`
	RecordingCount int             `json:"recording_count"`
	ShareURL       string          `json:"share_url"`
	Password       string          `json:"password"`
	RecordingFiles []recordingFile `json:"recording_files"`
}

type recordingFile struct {
	ID             string `json:"id"`
	MeetingID      string `json:"meeting_id"`
	RecordingStart string `json:"recording_start"`
	RecordingEnd   string `json:"recording_end"`
	FileType       string `json:"file_type"`
	FileExtension  string `json:"file_extension"`
	FileSize       int64  `json:"file_size"`
	PlayURL        string `json:"play_url"`
	DownloadURL    string `json:"download_url"`
	Status         string `json:"status"`
	RecordingType  string `json:"recording_type"`
}

func (s *Server) recordingBody(inst *instance, host *userRecord, at time.Time, ts int64) func(bool) []byte {
	end := inst.end
	if end.IsZero() {
		end = at
	}
	const size = 52428800
	body := compactJSON(recordingEnvelope{
		Event:         "recording.completed",
		EventTS:       ts,
		DownloadToken: "eyJ0eXAiOiJKV1QifQ." + randString(32, alnum) + ".sig",
		Payload: recordingPayload{AccountID: s.creds.AccountID, Object: recordingObject{
			UUID: inst.uuid, ID: inst.m.id, AccountID: s.creds.AccountID, HostID: inst.hostID, Topic: inst.topic,
			Type: inst.typ, StartTime: zoomTime(inst.start), Timezone: inst.timezone, HostEmail: host.Email,
			Duration: int(end.Sub(inst.start).Minutes()), TotalSize: size, RecordingCount: 1,
			ShareURL: "https://zoom.us/rec/share/" + randString(16, alnum),
			RecordingFiles: []recordingFile{{
				ID: newParticipantUUID(), MeetingID: inst.uuid, RecordingStart: zoomTime(inst.start), RecordingEnd: zoomTime(end),
				FileType: "MP4", FileExtension: "MP4", FileSize: size,
				PlayURL: "https://zoom.us/rec/play/" + randString(16, alnum), DownloadURL: "https://zoom.us/rec/download/" + randString(16, alnum),
				Status: "completed", RecordingType: "shared_screen_with_speaker_view",
			}},
		}},
	})
	// Its id is always numeric; NumericID changes nothing.
	return func(bool) []byte { return body }
}

// compactJSON encodes v as Zoom sends bodies (§2): compact, no trailing
// newline, raw UTF-8 and no HTML escaping of <, > and &, so that a receiver
// that re-serialises the body breaks the signature as it would with Zoom.
func compactJSON(v any) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("zoomtest: encode payload: " + err.Error()) // our own structs always encode
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
