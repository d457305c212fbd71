package reconciler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/zoomrecon/zoomrecon/relay/zoomevent"
	"github.com/zoomrecon/zoomrecon/store"
)

// withEvents adds to b the events Zoom should have sent for what it
// backfills from the API (the reconciled starts, ends, joins and leaves), in
// Zoom's payload shape, so the relay delivers them to the application behind
// zoomrecon in place of the ones Zoom lost. An event that cannot be rebuilt
// (Zoom's API gave no meeting number, say) is left out and logged: the
// backfill itself must not fail for it.
func (p *pass) withEvents(ctx context.Context, b store.Backfill) store.Backfill {
	uuid := ""
	switch {
	case b.Meeting != nil:
		uuid = b.Meeting.UUID
	case len(b.Participants) > 0:
		uuid = b.Participants[0].MeetingUUID
	default:
		return b
	}
	m, err := p.eventMeeting(ctx, uuid, b.Meeting)
	if err != nil {
		if ctx.Err() != nil {
			return b // shutting down: the backfill will not be written either
		}
		p.logger.WarnContext(ctx, "cannot rebuild the events of a backfill for the relay", "meeting_uuid", uuid, slog.Any("error", err))
		return b
	}
	prefix := "meeting."
	if m.Webinar {
		prefix = "webinar."
	}
	add := func(event string, at time.Time, key string, part *zoomevent.Participant) {
		body, err := zoomevent.Reconstruct(prefix+event, p.cfg.AccountID, at, m, part)
		if err != nil {
			p.logger.WarnContext(ctx, "cannot rebuild an event for the relay", "meeting_uuid", uuid, slog.Any("error", err))
			return
		}
		b.Events = append(b.Events, store.ReconstructedEvent{
			DedupKey: fmt.Sprintf("rebuilt|%s|%s|%s|%d", prefix+event, uuid, key, at.Unix()),
			Type:     prefix + event, MeetingUUID: uuid, EventTS: at, Body: body,
		})
	}
	if u := b.Meeting; u != nil && u.Source == store.SourceReconciled {
		if u.Started && !u.StartTime.IsZero() {
			add("started", u.StartTime, "", nil)
		}
	}
	for _, u := range b.Participants {
		if u.Source != store.SourceReconciled {
			continue
		}
		part := &zoomevent.Participant{
			UserID: u.Participant.UserID, UserName: u.Participant.UserName, ID: u.Participant.ParticipantUserID,
			ParticipantUUID: u.Participant.ParticipantUUID, Email: u.Participant.Email, RegistrantID: u.Participant.RegistrantID,
			JoinTime: u.JoinTime, LeaveTime: u.LeaveTime, LeaveReason: u.LeaveReason,
		}
		if !u.JoinTime.IsZero() {
			add("participant_joined", u.JoinTime, u.Participant.Key(), part)
		}
		if !u.LeaveTime.IsZero() {
			add("participant_left", u.LeaveTime, u.Participant.Key(), part)
		}
	}
	// The end last: Zoom sends it after the leaves it brings.
	if u := b.Meeting; u != nil && u.Source == store.SourceReconciled && u.Ended && !u.EndTime.IsZero() {
		add("ended", u.EndTime, "", nil)
	}
	return b
}

// eventMeeting is what the events about uuid carry of their meeting: the
// update's fields, or the stored meeting's where it says nothing.
func (p *pass) eventMeeting(ctx context.Context, uuid string, u *store.MeetingUpdate) (zoomevent.Meeting, error) {
	var stored store.Meeting
	switch s, err := p.st.Meeting(ctx, uuid); {
	case err == nil:
		stored = s
	case errors.Is(err, store.ErrNotFound):
	default:
		return zoomevent.Meeting{}, err
	}
	m := zoomevent.Meeting{UUID: uuid, ID: stored.MeetingID, HostID: stored.HostID, Topic: stored.Topic,
		Webinar: stored.Type == store.TypeWebinar, ZoomType: stored.ZoomType}
	if stored.StartTime != nil {
		m.Start = *stored.StartTime
	}
	if stored.EndTime != nil {
		m.End = *stored.EndTime
	}
	if u != nil {
		m.ID = cmp.Or(u.MeetingID, m.ID)
		m.HostID, m.Topic = cmp.Or(u.HostID, m.HostID), cmp.Or(u.Topic, m.Topic)
		m.ZoomType = cmp.Or(u.ZoomType, m.ZoomType)
		if u.Type != "" {
			m.Webinar = u.Type == store.TypeWebinar
		}
		if !u.StartTime.IsZero() {
			m.Start = u.StartTime
		}
		if u.Ended && !u.EndTime.IsZero() {
			m.End = u.EndTime
		}
	}
	return m, nil
}
