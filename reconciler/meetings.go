package reconciler

import (
	"cmp"
	"context"
	"errors"
	"fmt"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi"
)

// checkUnknown handles a meeting Zoom shows that no webhook mentioned.
func (p *pass) checkUnknown(ctx context.Context, z zoomMeeting) error {
	// History is not news: it started before the window (before the daemon
	// first ran, for the scheduled sweep).
	if z.Start.Before(p.opts.Window.Since) {
		return nil
	}
	// Zoom may still be retrying its meeting.started.
	if !p.overdue(z.Start, z.Start) {
		p.unsettle(z)
		return nil
	}
	if z.HostID == "" && !z.End.IsZero() && !z.Webinar {
		// The dashboard's rows name the host but give no host ID, which
		// tells one host's lost meetings from everyone's (hosts.go). Only
		// metadata: an error leaves the host unknown, the verdict stands.
		if past, err := p.zoom.PastMeeting(ctx, z.UUID); err == nil {
			z.HostID = past.HostID
			z.HostName, z.HostEmail = cmp.Or(z.HostName, past.UserName), cmp.Or(z.HostEmail, past.UserEmail)
		}
	}
	p.noteHost(z.HostID, z)
	update := &store.MeetingUpdate{
		UUID: z.UUID, MeetingID: z.ID, HostID: z.HostID, Topic: z.Topic, Type: z.meetingType(),
		StartTime: z.Start, Started: true, Source: store.SourceReconciled,
	}
	detail := fmt.Sprintf("Zoom reports it started at %s; no webhook ever mentioned it", utc(z.Start))
	if !z.End.IsZero() {
		update.EndTime, update.Ended = z.End, true
		detail = fmt.Sprintf("Zoom reports it ran from %s to %s; no webhook ever mentioned it", utc(z.Start), utc(z.End))
	}
	detail += p.lostNote(z.Start)
	var participants []store.ParticipantUpdate
	if z.End.IsZero() && p.path == PathDashboard {
		// Who is in it now; the rest arrives by webhook or by the attendance
		// check once it ends.
		live := p.zoom.DashboardMeetingParticipants
		if z.Webinar {
			live = p.zoom.DashboardWebinarParticipants
		}
		for zp, err := range live(ctx, z.UUID, zoomapi.DashboardLive) {
			if err != nil {
				return fmt.Errorf("live participants: %w", err)
			}
			if attended(zp) {
				participants = append(participants, sessionUpdates(z.UUID, zp)...)
			}
		}
	}
	// Attendance of an ended one is filled in by checkAttendance, silently,
	// since this discrepancy already says everything was missed.
	return p.record(ctx, store.Backfill{
		Meeting:      update,
		Participants: participants,
		Discrepancy: &store.Discrepancy{Kind: store.KindMissedMeetingStarted, MeetingUUID: z.UUID,
			Detail: detail, DetectedAt: p.now, Backfilled: true},
	}, z.ID, z.Topic, "")
}

// checkOpen handles a meeting we saw start and not end.
func (p *pass) checkOpen(ctx context.Context, m store.Meeting, z zoomMeeting, listed bool) error {
	// The dashboard's live list already says it is running; anything else
	// the listing did not settle is asked about.
	if !listed {
		var err error
		if z, listed, err = p.askEnded(ctx, m); err != nil {
			return err
		}
		// Zoom's answer may be the first word of when it started.
		if listed {
			if err := p.checkLostStart(ctx, m, z); err != nil {
				return err
			}
		}
	}
	if listed {
		p.noteHost(cmp.Or(m.HostID, z.HostID), z)
	}
	if listed && !z.End.IsZero() {
		if !p.overdue(z.End, z.End) {
			return nil // meeting.ended may still be on its way
		}
		b := store.Backfill{
			Meeting: &store.MeetingUpdate{UUID: m.UUID, MeetingID: z.ID, Topic: z.Topic,
				EndTime: z.End, Ended: true, Source: store.SourceReconciled},
			Discrepancy: &store.Discrepancy{Kind: store.KindMissedMeetingEnded, MeetingUUID: m.UUID,
				Detail: fmt.Sprintf("Zoom reports it ended at %s; %s never arrived", utc(z.End),
					store.KindMissedMeetingEnded.Info().Event(m.Type)) + p.lostNote(z.End),
				DetectedAt: p.now, Backfilled: true},
			Resolve: []store.Resolution{{Kind: store.KindStaleMeeting, MeetingUUID: m.UUID, Reason: store.ResolvedEnded}},
		}
		// A meeting we only know of because a pass found it live already has
		// its discrepancy; its missing end is not reported twice.
		if m.StartSource == store.SourceReconciled {
			unheard, err := p.hasDiscrepancy(ctx, store.KindMissedMeetingStarted, m.UUID)
			if err != nil {
				return err
			}
			if unheard {
				b.Discrepancy = nil
			}
		}
		return p.record(ctx, b, cmp.Or(m.MeetingID, z.ID), cmp.Or(m.Topic, z.Topic), "")
	}
	// Live per Zoom, or never confirmed ended: stale once old enough. It is
	// not marked ended; only Zoom can say that.
	start := m.FirstSeenAt
	if m.StartTime != nil {
		start = *m.StartTime
	}
	state := "Zoom could not confirm it ended"
	switch {
	case z.Over:
		// Over, by Zoom's word, but not yet in its past data: no meeting
		// stuck open, unless the data never comes.
		if p.now.Sub(start) <= p.cfg.GiveUpAfter {
			return nil
		}
		state = "a later instance of its meeting number has started, so it is over, but Zoom has not said when it ended"
	case p.now.Sub(start) <= p.cfg.StaleAfter:
		return nil
	case listed:
		state = "Zoom reports it still in progress"
	}
	return p.record(ctx, store.Backfill{
		Discrepancy: &store.Discrepancy{Kind: store.KindStaleMeeting, MeetingUUID: m.UUID,
			Detail:     fmt.Sprintf("in progress since %s (%s); %s", utc(start), roughly(p.now.Sub(start)), state),
			DetectedAt: p.now},
	}, m.MeetingID, m.Topic, "")
}

// askEnded asks Zoom about an open meeting or webinar the listing did not
// show. It reports the instance with End set and true when Zoom says it
// ended, with End zero and true when Zoom says this very instance is live,
// and false when Zoom gave no answer either way: "not found" for a live
// instance, or for one that ended a minute ago, is normal (§10).
func (p *pass) askEnded(ctx context.Context, m store.Meeting) (zoomMeeting, bool, error) {
	if m.Type == store.TypeWebinar {
		// Webinars have no past-instance detail; the report has one once the
		// webinar ended, and answers "not ended" before.
		r, err := p.zoom.ReportWebinar(ctx, m.UUID)
		switch {
		case err == nil && !r.EndTime.IsZero():
			return zoomMeeting{UUID: m.UUID, ID: r.ID, Topic: r.Topic, Webinar: true, Start: r.StartTime, End: r.EndTime}, true, nil
		case err == nil, errors.Is(err, zoomapi.ErrNotFound), errors.Is(err, zoomapi.ErrNotReady):
			return zoomMeeting{}, false, nil
		default:
			return zoomMeeting{}, false, fmt.Errorf("webinar report: %w", err)
		}
	}
	past, err := p.zoom.PastMeeting(ctx, m.UUID)
	switch {
	case err == nil && !past.EndTime.IsZero():
		return zoomMeeting{UUID: m.UUID, ID: past.ID, Topic: past.Topic, HostID: past.HostID, HostName: past.UserName, HostEmail: past.UserEmail,
			Start: past.StartTime, End: past.EndTime}, true, nil
	case err == nil, errors.Is(err, zoomapi.ErrNotFound), errors.Is(err, zoomapi.ErrNotReady):
	default:
		return zoomMeeting{}, false, fmt.Errorf("past meeting: %w", err)
	}
	if m.MeetingID == 0 {
		return zoomMeeting{}, false, nil
	}
	live, err := p.zoom.GetMeeting(ctx, m.MeetingID)
	switch {
	case err == nil && live.Status == "started" && live.UUID == m.UUID:
		return zoomMeeting{UUID: m.UUID, ID: m.MeetingID, Topic: live.Topic}, true, nil
	case err == nil && live.UUID != "" && live.UUID != m.UUID:
		// The number's current instance is another: a recurring meeting or
		// a PMI started again (§10). This one is over, and past_meetings
		// will say when once it has the data.
		return zoomMeeting{Over: true}, false, nil
	case err == nil, errors.Is(err, zoomapi.ErrNotFound):
		return zoomMeeting{}, false, nil
	default:
		return zoomMeeting{}, false, fmt.Errorf("meeting status: %w", err)
	}
}

// checkLostStart handles a meeting whose start we only inferred, from a
// participant event or its end, once Zoom shows when it started: its
// meeting.started (or webinar.started) was lost, whatever else arrived.
func (p *pass) checkLostStart(ctx context.Context, m store.Meeting, z zoomMeeting) error {
	if m.StartSource != store.SourceUnknown || z.Start.IsZero() || z.Start.Before(p.opts.Window.Since) {
		return nil
	}
	if !p.overdue(z.Start, z.Start) {
		p.unsettle(z)
		return nil // it may still come
	}
	return p.record(ctx, store.Backfill{
		Meeting: &store.MeetingUpdate{UUID: m.UUID, MeetingID: cmp.Or(m.MeetingID, z.ID), Topic: z.Topic,
			StartTime: z.Start, Started: true, Source: store.SourceReconciled},
		Discrepancy: &store.Discrepancy{Kind: store.KindMissedMeetingStarted, MeetingUUID: m.UUID,
			Detail: fmt.Sprintf("Zoom reports it started at %s; %s never arrived, though other webhooks of it did",
				utc(z.Start), store.KindMissedMeetingStarted.Info().Event(m.Type)) + p.lostNote(z.Start),
			DetectedAt: p.now, Backfilled: true},
	}, cmp.Or(m.MeetingID, z.ID), cmp.Or(m.Topic, z.Topic), "")
}

// unsettle marks z's host as one whose listing must be seen again, since z
// was listed but not judged.
func (p *pass) unsettle(z zoomMeeting) {
	if z.HostID != "" {
		p.unsettled[z.HostID] = true
	}
}
