package reconciler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi"
)

// checkAttendance compares an ended meeting's participant sessions with
// Zoom's participant report, session by session, backfills the sides the
// webhooks missed, and marks the meeting confirmed so no later pass fetches
// it again.
func (p *pass) checkAttendance(ctx context.Context, m store.Meeting) error {
	// Every join and leave lies between the start and the end: if Zoom was
	// told to retry any of them, the comparison waits until it cannot
	// redeliver them any more.
	from := m.FirstSeenAt
	if m.StartTime != nil && m.StartTime.Before(from) {
		from = *m.StartTime
	}
	if m.EndTime != nil && !p.overdue(from, *m.EndTime) {
		return nil
	}
	zs, err := p.attendance(ctx, m)
	if err != nil && !notReady(err) {
		return fmt.Errorf("participant report: %w", err)
	}
	end := m.FirstSeenAt
	if m.EndTime != nil {
		end = *m.EndTime
	}
	if notReady(err) {
		// Zoom has no data yet (it lags the end), or never will. Ask again
		// with backoff, half the time since the end (so about a dozen times
		// in a day rather than every pass), until giving up.
		if p.now.Before(end.Add(p.cfg.GiveUpAfter)) {
			p.deferred[m.UUID] = p.now.Add(max(p.now.Sub(end)/2, p.cfg.MissedGrace/2))
			return nil
		}
		zs = nil
	}

	ours, err := p.st.Sessions(ctx, m.UUID)
	if err != nil {
		return err
	}
	// What a meeting-level discrepancy already says is not repeated per
	// participant: a meeting nobody told us about missed every join, and a
	// missed meeting.ended usually took the final leaves with it. Looked up
	// only when a session differs, which is rare.
	var quiet *[2]bool
	isQuiet := func(kind store.Kind) (bool, error) {
		if quiet == nil {
			// A lost start alone (its other webhooks came) says nothing of
			// the joins: only a meeting no join webhook reached missed them all.
			joins := !slices.ContainsFunc(ours, func(s store.ParticipantSession) bool { return s.JoinSource == store.SourceWebhook })
			if joins {
				var err error
				if joins, err = p.hasDiscrepancy(ctx, store.KindMissedMeetingStarted, m.UUID); err != nil {
					return false, err
				}
			}
			leaves := joins
			if !leaves {
				if leaves, err = p.hasDiscrepancy(ctx, store.KindMissedMeetingEnded, m.UUID); err != nil {
					return false, err
				}
			}
			quiet = &[2]bool{joins, leaves}
		}
		if kind == store.KindMissedParticipantJoined {
			return quiet[0], nil
		}
		return quiet[1], nil
	}

	used := make([]bool, len(ours))
	var silent []store.ParticipantUpdate
	for _, z := range zs {
		who := toParticipant(z)
		i := p.match(z, ours, used)
		var (
			updates []store.ParticipantUpdate
			kind    store.Kind
			detail  string
		)
		switch {
		case i < 0:
			updates = sessionUpdates(m.UUID, z)
			kind = store.KindMissedParticipantJoined
			detail = fmt.Sprintf("Zoom reports %s joined at %s; no webhook mentioned this session", who.Display(), utc(z.JoinTime)) + p.lostNote(z.JoinTime)
		case ours[i].JoinTime == nil && !z.JoinTime.IsZero():
			used[i] = true
			updates = []store.ParticipantUpdate{{MeetingUUID: m.UUID, Participant: sessionIdentity(ours[i], who),
				JoinTime: z.JoinTime, Source: store.SourceReconciled}}
			kind = store.KindMissedParticipantJoined
			detail = fmt.Sprintf("Zoom reports %s joined at %s; participant_joined never arrived", who.Display(), utc(z.JoinTime)) + p.lostNote(z.JoinTime)
		case ours[i].LeaveTime == nil && !z.LeaveTime.IsZero():
			used[i] = true
			updates = []store.ParticipantUpdate{{MeetingUUID: m.UUID, Participant: sessionIdentity(ours[i], who),
				LeaveTime: z.LeaveTime, Source: store.SourceReconciled}}
			kind = store.KindMissedParticipantLeft
			detail = fmt.Sprintf("Zoom reports %s left at %s; participant_left never arrived", who.Display(), utc(z.LeaveTime)) + p.lostNote(z.LeaveTime)
		default:
			used[i] = true
			continue
		}
		q, err := isQuiet(kind)
		if err != nil {
			return err
		}
		if q {
			silent = append(silent, updates...)
			continue
		}
		err = p.record(ctx, store.Backfill{
			Participants: updates,
			Discrepancy: &store.Discrepancy{Kind: kind, MeetingUUID: m.UUID, Subject: who.Key(),
				Detail: detail, DetectedAt: p.now, Backfilled: true},
		}, m.MeetingID, m.Topic, who.Display())
		if err != nil {
			return err
		}
	}
	// Sessions still open when the meeting ended end with it.
	for i, s := range ours {
		if !used[i] && s.LeaveTime == nil && s.JoinTime != nil && m.EndTime != nil {
			silent = append(silent, store.ParticipantUpdate{MeetingUUID: m.UUID, Participant: s.Participant,
				LeaveTime: *m.EndTime, Source: store.SourceReconciled})
		}
	}
	if p.opts.DryRun {
		return nil
	}
	if len(silent) > 0 {
		if _, _, err := p.st.ApplyBackfill(ctx, p.withEvents(ctx, store.Backfill{Participants: silent}), p.now); err != nil {
			return err
		}
	}
	p.verified = append(p.verified, m.UUID)
	return nil
}

// attendance collects the sessions of the people who attended an ended
// meeting or webinar, by Zoom's account. It asks the past-participants
// endpoint first: it is Medium, outside the daily quota that Heavy and
// Resource-intensive calls share with every app on the account (§6), where
// the report is Heavy. A meeting with one participant has no past
// participants (§5); on Business plans the dashboard's one-person list has
// it, so it is confirmed now rather than asked about until GiveUpAfter.
// Waiting-room stays are left out: they are no attendance (§10).
func (p *pass) attendance(ctx context.Context, m store.Meeting) ([]zoomapi.Participant, error) {
	past, dashboard := p.zoom.PastMeetingParticipants, p.zoom.DashboardMeetingParticipants
	if m.Type == store.TypeWebinar {
		past, dashboard = p.zoom.PastWebinarParticipants, p.zoom.DashboardWebinarParticipants
	}
	out, err := collect(past(ctx, m.UUID))
	if p.path == PathDashboard {
		switch {
		case notReady(err):
			// The dashboard may have the data before the past endpoints do.
			out, err = collect(dashboard(ctx, m.UUID, zoomapi.DashboardPast))
			if notReady(err) && m.Type == store.TypeMeeting {
				out, err = collect(dashboard(ctx, m.UUID, zoomapi.DashboardPastOne))
			}
		case err == nil && len(out) == 0 && m.Type == store.TypeMeeting:
			out, err = collect(dashboard(ctx, m.UUID, zoomapi.DashboardPastOne))
		}
	}
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(out, func(z zoomapi.Participant) bool { return !attended(z) }), nil
}

// notReady says whether Zoom has no data on an ended instance yet (or never
// will, for a report of a one-person meeting): "not found" or "not ended".
func notReady(err error) bool {
	return errors.Is(err, zoomapi.ErrNotFound) || errors.Is(err, zoomapi.ErrNotReady)
}

// attended says whether a participant row is a session in the meeting, not
// a stay in its waiting room (§10).
func attended(z zoomapi.Participant) bool { return z.Status != zoomapi.StatusInWaitingRoom }

func collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for v, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (p *pass) hasDiscrepancy(ctx context.Context, kind store.Kind, uuid string) (bool, error) {
	_, err := p.st.Discrepancy(ctx, kind, uuid, "")
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// match finds the unused stored session that is Zoom's session z: the same
// participant, joined within the tolerance (or, for a session whose join we
// never saw, left within it). It returns -1 when none is.
//
// Identities Zoom gives (user_id, participant_uuid, the person's Zoom ID,
// registrant ID, email) are tried first. Where the row and the session share
// none, because Zoom hands out a new user_id on every breakout-room move and
// reports may carry ones the webhooks never used (§10), the same name within
// the tolerance is the same person.
func (p *pass) match(z zoomapi.Participant, ours []store.ParticipantSession, used []bool) int {
	if i := p.closest(z, ours, used, sameParticipant); i >= 0 {
		return i
	}
	return p.closest(z, ours, used, func(z zoomapi.Participant, s store.Participant) bool {
		return z.Name != "" && z.Name == s.UserName
	})
}

// closest finds the unused session that same accepts and that joined (or,
// when neither join is known, left) nearest z, within the tolerance.
func (p *pass) closest(z zoomapi.Participant, ours []store.ParticipantSession, used []bool,
	same func(zoomapi.Participant, store.Participant) bool) int {
	best, bestGap := -1, time.Duration(-1)
	for i, s := range ours {
		if used[i] || !same(z, s.Participant) {
			continue
		}
		var gap time.Duration
		switch {
		case s.JoinTime != nil && !z.JoinTime.IsZero():
			gap = absDuration(s.JoinTime.Sub(z.JoinTime))
		case s.JoinTime == nil && s.LeaveTime != nil && !z.LeaveTime.IsZero():
			gap = absDuration(s.LeaveTime.Sub(z.LeaveTime))
		default:
			continue
		}
		if gap <= p.cfg.JoinTolerance && (best < 0 || gap < bestGap) {
			best, bestGap = i, gap
		}
	}
	return best
}

// sameParticipant says whether a report row and a stored session belong to
// one participant. External participants have empty ids in reports
// (zoom-platform.md §5 "Privacy"), so any identity both sides carry counts.
func sameParticipant(z zoomapi.Participant, s store.Participant) bool {
	eq := func(a, b string) bool { return a != "" && a == b }
	return eq(z.UserID, s.UserID) ||
		eq(z.ParticipantUUID, s.ParticipantUUID) ||
		eq(cmp.Or(z.ParticipantUserID, z.ID), s.ParticipantUserID) ||
		eq(z.RegistrantID, s.RegistrantID) ||
		eq(strings.ToLower(z.Email), strings.ToLower(s.Email)) ||
		(s.UserID == "" && z.UserID == "" && eq(z.Name, s.UserName))
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// toParticipant turns a report row into the identity the store keys sessions by.
func toParticipant(z zoomapi.Participant) store.Participant {
	return store.Participant{
		UserID:            z.UserID,
		ParticipantUserID: cmp.Or(z.ParticipantUserID, z.ID),
		ParticipantUUID:   z.ParticipantUUID,
		RegistrantID:      z.RegistrantID,
		UserName:          z.Name,
		Email:             z.Email,
	}
}

// sessionIdentity keeps the stored session's identity (so the leave pairs
// with it) and fills what it lacks from Zoom's row.
func sessionIdentity(s store.ParticipantSession, z store.Participant) store.Participant {
	out := s.Participant
	out.UserID = cmp.Or(out.UserID, z.UserID)
	out.ParticipantUserID = cmp.Or(out.ParticipantUserID, z.ParticipantUserID)
	out.ParticipantUUID = cmp.Or(out.ParticipantUUID, z.ParticipantUUID)
	out.RegistrantID = cmp.Or(out.RegistrantID, z.RegistrantID)
	out.UserName = cmp.Or(out.UserName, z.UserName)
	out.Email = cmp.Or(out.Email, z.Email)
	return out
}

// sessionUpdates records a whole session Zoom reports: its join, and its
// leave when it has one.
func sessionUpdates(uuid string, z zoomapi.Participant) []store.ParticipantUpdate {
	who := toParticipant(z)
	var out []store.ParticipantUpdate
	if !z.JoinTime.IsZero() {
		out = append(out, store.ParticipantUpdate{MeetingUUID: uuid, Participant: who, JoinTime: z.JoinTime, Source: store.SourceReconciled})
	}
	if !z.LeaveTime.IsZero() {
		out = append(out, store.ParticipantUpdate{MeetingUUID: uuid, Participant: who, LeaveTime: z.LeaveTime,
			LeaveReason: z.LeaveReason, Source: store.SourceReconciled})
	}
	return out
}
