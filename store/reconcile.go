package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Backfill is what one reconcile finding writes, all in one transaction: the
// state Zoom's API reports (source reconciled) and the discrepancy that says
// the webhooks missed it.
type Backfill struct {
	// Meeting, if set, is merged into the meeting row.
	Meeting *MeetingUpdate
	// Participants are joins and leaves to record, in order.
	Participants []ParticipantUpdate
	// Discrepancy, if set, is recorded unless it exists already.
	Discrepancy *Discrepancy
	// Alert, if set, is queued for the discrepancy in the same transaction,
	// and only when the discrepancy is new.
	Alert *OutboxMessage
	// Resolve lists open discrepancies this finding closes (a stale meeting
	// that Zoom now reports ended, say).
	Resolve []Resolution
	// Events are the events Zoom should have sent for what the backfill
	// records, rebuilt in its payload shape: stored, and queued for the
	// relay's destinations, in the same transaction.
	Events []ReconstructedEvent
}

// Resolution names a discrepancy to close and why.
type Resolution struct {
	Kind        Kind
	MeetingUUID string
	Subject     string
	Reason      ResolutionReason
}

// ApplyBackfill writes b and reports the discrepancy as stored and whether it
// is new. With no Discrepancy it returns the zero value and false.
func (s *Store) ApplyBackfill(ctx context.Context, b Backfill, now time.Time) (Discrepancy, bool, error) {
	var (
		d       Discrepancy
		created bool
	)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if b.Meeting != nil {
			if err := s.upsertMeeting(ctx, tx, *b.Meeting, now); err != nil {
				return err
			}
		} else if len(b.Participants) > 0 {
			if err := s.upsertMeeting(ctx, tx, MeetingUpdate{UUID: b.Participants[0].MeetingUUID}, now); err != nil {
				return err
			}
		}
		if err := s.applyParticipants(ctx, tx, b.Participants, now); err != nil {
			return err
		}
		for _, r := range b.Resolve {
			if _, err := s.resolveDiscrepancy(ctx, tx, r.Kind, r.MeetingUUID, r.Subject, r.Reason, now, nil); err != nil {
				return err
			}
		}
		if err := s.storeReconstructed(ctx, tx, b.Events, now); err != nil {
			return err
		}
		if b.Discrepancy != nil {
			var err error
			d, created, err = s.recordDiscrepancy(ctx, tx, *b.Discrepancy, b.Alert)
			return err
		}
		return nil
	})
	if err != nil {
		return Discrepancy{}, false, fmt.Errorf("backfill: %w", err)
	}
	return d, created, nil
}

// lateKey is what one newly stored webhook says about one meeting (and
// participant): the discrepancies of the kinds it resolves there close.
type lateKey struct {
	signal        Signal
	meeting, subj string
}

// resolveLate closes the discrepancies that the batch's new events answer, as
// kindTable says: any event ends a webhook silence, and a meeting or
// participant event that arrives after the reconciler called it missed closes
// that verdict. State is already right (the reconciler backfilled it); the
// record shows it came late.
func (s *Store) resolveLate(ctx context.Context, tx *sqlx.Tx, items []Ingest, inserted []bool, now time.Time) error {
	var (
		seen  = map[lateKey]bool{}
		fresh bool
	)
	add := func(k lateKey) { seen[k] = true }
	for i, it := range items {
		if !inserted[i] {
			continue
		}
		fresh = true
		var signals []Signal
		if m := it.Meeting; m != nil {
			if m.Started {
				signals = append(signals, SignalStarted)
				add(lateKey{SignalStarted, m.UUID, ""})
			}
			if m.Ended {
				signals = append(signals, SignalEnded)
				add(lateKey{SignalEnded, m.UUID, ""})
			}
		}
		if p := it.Participant; p != nil {
			signal := SignalJoined
			if p.JoinTime.IsZero() {
				signal = SignalLeft
			}
			signals = append(signals, signal)
			add(lateKey{signal, p.MeetingUUID, p.Participant.Key()})
		}
		// What the event says about its host, for the host kinds: keyed by
		// the host alone, whatever the meeting.
		if m := it.Meeting; m != nil && m.HostID != "" {
			for _, signal := range append(signals, SignalAnyEvent) {
				add(lateKey{signal, "", m.HostID})
			}
		}
	}
	if !fresh {
		return nil
	}
	// Open discrepancies are few (none, most of the time), so read them and
	// match in memory: one small prepared query per batch instead of a
	// statement whose text changes with every batch.
	var open []struct {
		Kind        Kind   `db:"kind"`
		MeetingUUID string `db:"meeting_uuid"`
		Subject     string `db:"subject"`
	}
	st, err := s.txStmt(ctx, tx, `SELECT kind, meeting_uuid, subject FROM discrepancies WHERE resolved_at IS NULL`)
	if err != nil {
		return fmt.Errorf("resolve late discrepancies: %w", err)
	}
	if err := st.SelectContext(ctx, &open); err != nil {
		return fmt.Errorf("resolve late discrepancies: %w", err)
	}
	for _, d := range open {
		// A kind this version does not know has no ResolvedBy: left open.
		info := d.Kind.Info()
		switch {
		case info.Host:
			// Any meeting of the host: its subject.
			if !seen[lateKey{info.ResolvedBy, "", d.Subject}] {
				continue
			}
		case info.ResolvedBy != SignalAnyEvent && !seen[lateKey{info.ResolvedBy, d.MeetingUUID, d.Subject}]:
			continue
		}
		if _, err := s.resolveDiscrepancy(ctx, tx, d.Kind, d.MeetingUUID, d.Subject, info.ResolvedAs, now, nil); err != nil {
			return err
		}
	}
	return nil
}

// MarkVerified records that the reconciler confirmed these meetings complete
// against Zoom, so later passes do not fetch them again. A pass confirms many
// meetings at once: one transaction for all of them, not a commit each.
func (s *Store) MarkVerified(ctx context.Context, at time.Time, uuids ...string) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		return inChunks(uuids, func(uuids []string) error {
			_, err := s.txExec(ctx, tx, `UPDATE meetings SET verified_at = ? WHERE uuid IN (`+placeholders(1, len(uuids))+`)`,
				append([]any{dbTime(at)}, anySlice(uuids)...)...)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("mark meetings verified: %w", err)
	}
	return nil
}

// DeferChecks holds back the attendance checks of the given meetings until
// the times given, all in one transaction.
func (s *Store) DeferChecks(ctx context.Context, until map[string]time.Time) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for uuid, t := range until {
			if _, err := s.txExec(ctx, tx, `UPDATE meetings SET check_after = ? WHERE uuid = ?`, dbTime(t), dbText(uuid)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("defer attendance checks: %w", err)
	}
	return nil
}

// OpenMeetings lists the instances we have seen start and not end, oldest first.
func (s *Store) OpenMeetings(ctx context.Context) ([]Meeting, error) {
	var out []Meeting
	err := s.db.SelectContext(ctx, &out, `SELECT * FROM meetings WHERE status = 'started' ORDER BY start_time, uuid`)
	if err != nil {
		return nil, fmt.Errorf("list open meetings: %w", err)
	}
	return out, nil
}

// EndedUnverified lists ended instances the reconciler has not yet confirmed
// complete whose end is at or before endedBefore and whose check is not held
// back past now.
func (s *Store) EndedUnverified(ctx context.Context, endedBefore, now time.Time) ([]Meeting, error) {
	var out []Meeting
	err := s.db.SelectContext(ctx, &out, s.q(`
SELECT * FROM meetings WHERE status = 'ended' AND verified_at IS NULL AND end_time <= ?
    AND (check_after IS NULL OR check_after <= ?)
ORDER BY end_time, uuid`), dbTime(endedBefore), dbTime(now))
	if err != nil {
		return nil, fmt.Errorf("list unverified meetings: %w", err)
	}
	return out, nil
}

// MeetingsByUUID returns the stored meetings among uuids, keyed by UUID.
func (s *Store) MeetingsByUUID(ctx context.Context, uuids []string) (map[string]Meeting, error) {
	out := make(map[string]Meeting, len(uuids))
	const chunk = 500 // well under SQLite's and PostgreSQL's parameter limits
	for start := 0; start < len(uuids); start += chunk {
		part := make([]string, 0, chunk)
		for _, u := range uuids[start:min(start+chunk, len(uuids))] {
			part = append(part, dbText(u))
		}
		query, args, err := sqlx.In(`SELECT * FROM meetings WHERE uuid IN (?)`, part)
		if err != nil {
			return nil, fmt.Errorf("meetings by uuid: %w", err)
		}
		var rows []Meeting
		if err := s.db.SelectContext(ctx, &rows, s.q(query), args...); err != nil {
			return nil, fmt.Errorf("meetings by uuid: %w", err)
		}
		for _, m := range rows {
			out[m.UUID] = m
		}
	}
	return out, nil
}

// DiscrepancyView is a discrepancy with what a person needs to read it: the
// meeting's number and topic and, for the participant kinds, who.
type DiscrepancyView struct {
	Discrepancy
	MeetingID        int64  `db:"meeting_id"`
	Topic            string `db:"topic"`
	ParticipantName  string `db:"participant_name"`
	ParticipantEmail string `db:"participant_email"`
}

// DiscrepanciesSince lists the discrepancies open now or detected or resolved
// at or after since, newest first.
func (s *Store) DiscrepanciesSince(ctx context.Context, since time.Time) ([]DiscrepancyView, error) {
	var out []DiscrepancyView
	err := s.db.SelectContext(ctx, &out, s.q(`
SELECT d.*, COALESCE(m.meeting_id, 0) AS meeting_id, COALESCE(m.topic, '') AS topic,
    COALESCE((SELECT ps.user_name FROM participant_sessions ps
              WHERE ps.meeting_uuid = d.meeting_uuid AND ps.participant_key = d.subject LIMIT 1), '') AS participant_name,
    COALESCE((SELECT ps.email FROM participant_sessions ps
              WHERE ps.meeting_uuid = d.meeting_uuid AND ps.participant_key = d.subject LIMIT 1), '') AS participant_email
FROM discrepancies d LEFT JOIN meetings m ON m.uuid = d.meeting_uuid
WHERE d.resolved_at IS NULL OR d.detected_at >= ? OR d.resolved_at >= ?
ORDER BY d.detected_at DESC, d.id DESC`), dbTime(since), dbTime(since))
	if err != nil {
		return nil, fmt.Errorf("list discrepancies: %w", err)
	}
	return out, nil
}

// reconcileLock names the PostgreSQL advisory lock that lets one replica
// reconcile at a time. It is per schema: advisory locks are database-wide,
// and two deployments (or two test schemas) in one database must not wait on
// each other.
const reconcileLock = `hashtextextended('zoomrecon.reconcile.' || current_schema(), 0)`

// TryReconcileLock takes the reconcile lock if no other process holds it and
// returns the function that releases it. On SQLite one process is assumed and
// the lock is always granted.
func (s *Store) TryReconcileLock(ctx context.Context) (unlock func(), ok bool, err error) {
	if s.dialect.name != postgresDialect.name {
		return func() {}, true, nil
	}
	// A session lock lives on one connection, so hold that connection for
	// the whole pass.
	conn, err := s.db.Connx(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("reconcile lock: %w", err)
	}
	if err := conn.GetContext(ctx, &ok, `SELECT pg_try_advisory_lock(`+reconcileLock+`)`); err != nil {
		_ = conn.Close()
		return nil, false, fmt.Errorf("reconcile lock: %w", err)
	}
	if !ok {
		_ = conn.Close()
		return nil, false, nil
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), `SELECT pg_advisory_unlock(`+reconcileLock+`)`)
		_ = conn.Close()
	}, true, nil
}
