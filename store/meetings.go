package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// MeetingUpdate is what one event or one API answer says about a meeting
// instance. Empty fields leave what the store knows unchanged.
type MeetingUpdate struct {
	UUID      string
	MeetingID int64
	HostID    string
	Topic     string
	// Type is TypeMeeting or TypeWebinar; empty leaves it unchanged (a new
	// row defaults to TypeMeeting).
	Type     MeetingType
	ZoomType int
	// StartTime is the instance's start. With Started it is authoritative;
	// without, it is a hint (participant events carry it) that only fills an
	// unknown start and records no source.
	StartTime time.Time
	// Started says the update reports the start itself (meeting.started, or
	// Zoom's API for a reconciled start), learned from Source.
	Started bool
	// EndTime with Ended reports the end, learned from Source.
	EndTime time.Time
	Ended   bool
	Source  Source
}

// clean makes the update's text storable on both backends (see dbText).
func (u MeetingUpdate) clean() MeetingUpdate {
	u.UUID, u.HostID, u.Topic = dbText(u.UUID), dbText(u.HostID), dbText(u.Topic)
	return u
}

// clean makes the update's text storable on both backends (see dbText).
func (u ParticipantUpdate) clean() ParticipantUpdate {
	u.MeetingUUID, u.LeaveReason = dbText(u.MeetingUUID), dbText(u.LeaveReason)
	p := &u.Participant
	p.UserID, p.ParticipantUserID, p.ParticipantUUID = dbText(p.UserID), dbText(p.ParticipantUserID), dbText(p.ParticipantUUID)
	p.RegistrantID, p.UserName, p.Email = dbText(p.RegistrantID), dbText(p.UserName), dbText(p.Email)
	return u
}

// upsertMeeting merges u into the meeting row. The first source to report a
// start or an end wins: a webhook that arrives after the reconciler backfilled
// the end does not rewrite where we learned it.
func (s *Store) upsertMeeting(ctx context.Context, tx *sqlx.Tx, u MeetingUpdate, now time.Time) error {
	u = u.clean()
	if u.UUID == "" {
		return errors.New("meeting update without a UUID")
	}
	var (
		startTime   = dbTimePtr(u.StartTime)
		startSource = SourceUnknown
		endTime     *time.Time
		endSource   = SourceUnknown
		status      = StatusStarted
		typ         = u.Type
	)
	if u.Started && startTime != nil {
		startSource = u.Source
	}
	if u.Ended {
		endTime, endSource, status = dbTimePtr(u.EndTime), u.Source, StatusEnded
	}
	if typ == "" {
		typ = TypeMeeting
	}
	// CASE ... WHEN the stored value is unknown THEN the new one: each column
	// only ever fills in, except an authoritative start replacing a hint.
	const query = `
INSERT INTO meetings (uuid, meeting_id, host_id, topic, type, zoom_type, status,
                      start_time, start_source, end_time, end_source, first_seen_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (uuid) DO UPDATE SET
    meeting_id   = CASE WHEN excluded.meeting_id <> 0 THEN excluded.meeting_id ELSE meetings.meeting_id END,
    host_id      = CASE WHEN excluded.host_id <> '' THEN excluded.host_id ELSE meetings.host_id END,
    topic        = CASE WHEN excluded.topic <> '' THEN excluded.topic ELSE meetings.topic END,
    type         = CASE WHEN ? THEN excluded.type ELSE meetings.type END,
    zoom_type    = CASE WHEN excluded.zoom_type <> 0 THEN excluded.zoom_type ELSE meetings.zoom_type END,
    start_time   = CASE
                     WHEN meetings.start_source = '' AND excluded.start_source <> '' THEN excluded.start_time
                     WHEN meetings.start_time IS NULL THEN excluded.start_time
                     ELSE meetings.start_time END,
    start_source = CASE WHEN meetings.start_source = '' THEN excluded.start_source ELSE meetings.start_source END,
    end_time     = CASE WHEN meetings.end_source = '' AND excluded.end_source <> '' THEN excluded.end_time ELSE meetings.end_time END,
    end_source   = CASE WHEN meetings.end_source = '' THEN excluded.end_source ELSE meetings.end_source END,
    status       = CASE WHEN meetings.status = 'ended' OR excluded.status = 'ended' THEN 'ended' ELSE 'started' END,
    updated_at   = excluded.updated_at`
	_, err := s.txExec(ctx, tx, query,
		u.UUID, u.MeetingID, u.HostID, u.Topic, typ, u.ZoomType, status,
		startTime, startSource, endTime, endSource, dbTime(now), dbTime(now),
		u.Type != "")
	if err != nil {
		return fmt.Errorf("upsert meeting: %w", err)
	}
	return nil
}

// ApplyMeeting merges u into the meeting's row, creating it if needed.
func (s *Store) ApplyMeeting(ctx context.Context, u MeetingUpdate, now time.Time) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error { return s.upsertMeeting(ctx, tx, u, now) })
}

// Meeting returns the meeting instance with the given UUID, or ErrNotFound.
func (s *Store) Meeting(ctx context.Context, uuid string) (Meeting, error) {
	var m Meeting
	err := s.db.GetContext(ctx, &m, s.q(`SELECT * FROM meetings WHERE uuid = ?`), dbText(uuid))
	if err != nil {
		return Meeting{}, fmt.Errorf("get meeting: %w", interpretError(err))
	}
	return m, nil
}

// ParticipantUpdate reports one side of one participant session: a join
// (JoinTime set) or a leave (LeaveTime set).
type ParticipantUpdate struct {
	MeetingUUID string
	Participant Participant
	JoinTime    time.Time
	LeaveTime   time.Time
	LeaveReason string
	Source      Source
}

// ApplyParticipant records one join or leave; see pairSessions for how it
// pairs sides. The meeting row is created if it does not exist yet.
func (s *Store) ApplyParticipant(ctx context.Context, u ParticipantUpdate, now time.Time) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.upsertMeeting(ctx, tx, MeetingUpdate{UUID: u.MeetingUUID}, now); err != nil {
			return err
		}
		return s.applyParticipants(ctx, tx, []ParticipantUpdate{u}, now)
	})
}

// Sessions lists a meeting instance's participant sessions by join time, with
// join-less sessions last.
func (s *Store) Sessions(ctx context.Context, meetingUUID string) ([]ParticipantSession, error) {
	var out []ParticipantSession
	err := s.db.SelectContext(ctx, &out, s.q(`
SELECT * FROM participant_sessions WHERE meeting_uuid = ?
ORDER BY CASE WHEN join_time IS NULL THEN 1 ELSE 0 END, join_time, leave_time, id`), dbText(meetingUUID))
	if err != nil {
		return nil, fmt.Errorf("list participant sessions: %w", err)
	}
	return out, nil
}
