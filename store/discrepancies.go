package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// RecordDiscrepancy stores d unless a discrepancy with the same kind, meeting
// and subject exists, and in the same transaction queues alert (if not nil) for
// it. A d with ResolvedAt and Resolution set is recorded closed already. It reports whether d was new; an existing one is returned unchanged and
// no alert is queued, so a second pass over the same window stays silent. A
// kind not in Kinds is refused with ErrUnknownKind.
func (s *Store) RecordDiscrepancy(ctx context.Context, d Discrepancy, alert *OutboxMessage) (Discrepancy, bool, error) {
	var created bool
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		d, created, err = s.recordDiscrepancy(ctx, tx, d, alert)
		return err
	})
	return d, created, err
}

// lockAlarm holds the alarm key until tx ends, on PostgreSQL. An alarm
// raised "unless one is open" is checked and raised in one transaction, but
// two replicas' transactions at READ COMMITTED would each see none open and
// each raise one; holding the alarm's key first makes the second see the
// first's.
func (s *Store) lockAlarm(ctx context.Context, tx *sqlx.Tx, key string) error {
	if err := s.lockKeys(ctx, tx, []string{"alarm." + key}); err != nil {
		return fmt.Errorf("lock alarm %s: %w", key, err)
	}
	return nil
}

func (s *Store) recordDiscrepancy(ctx context.Context, tx *sqlx.Tx, d Discrepancy, alert *OutboxMessage) (Discrepancy, bool, error) {
	if err := checkKind(d.Kind); err != nil {
		return Discrepancy{}, false, fmt.Errorf("record discrepancy: %w", err)
	}
	// A discrepancy may be recorded closed already (ResolvedBackfilled):
	// then it carries both its reason and when.
	var resolvedAt *time.Time
	if d.ResolvedAt != nil || d.Resolution != "" {
		if d.ResolvedAt == nil {
			return Discrepancy{}, false, errors.New("record discrepancy: a resolution needs ResolvedAt")
		}
		if err := checkResolution(d.Resolution); err != nil {
			return Discrepancy{}, false, fmt.Errorf("record discrepancy: %w", err)
		}
		t := dbTime(*d.ResolvedAt)
		resolvedAt, d.ResolvedAt = &t, &t
	}
	d.MeetingUUID, d.Subject, d.Detail = dbText(d.MeetingUUID), dbText(d.Subject), dbText(d.Detail)
	err := tx.GetContext(ctx, &d.ID, s.q(`
INSERT INTO discrepancies (kind, meeting_uuid, subject, detail, detected_at, backfilled, resolved_at, resolution)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (kind, meeting_uuid, subject) DO NOTHING
RETURNING id`), d.Kind, d.MeetingUUID, d.Subject, d.Detail, dbTime(d.DetectedAt), d.Backfilled, resolvedAt, d.Resolution)
	if errors.Is(err, sql.ErrNoRows) {
		existing, gerr := s.getDiscrepancy(ctx, tx, d.Kind, d.MeetingUUID, d.Subject)
		return existing, false, gerr
	}
	if err != nil {
		return Discrepancy{}, false, fmt.Errorf("insert discrepancy: %w", err)
	}
	d.DetectedAt = dbTime(d.DetectedAt)
	if alert != nil {
		id := d.ID
		alert.DiscrepancyID = &id
		if _, err := s.enqueueAlert(ctx, tx, *alert); err != nil {
			return Discrepancy{}, false, err
		}
	}
	return d, true, nil
}

func (s *Store) getDiscrepancy(ctx context.Context, q sqlx.QueryerContext, kind Kind, meetingUUID, subject string) (Discrepancy, error) {
	var d Discrepancy
	err := sqlx.GetContext(ctx, q, &d, s.q(`
SELECT * FROM discrepancies WHERE kind = ? AND meeting_uuid = ? AND subject = ?`), kind, dbText(meetingUUID), dbText(subject))
	if err != nil {
		return Discrepancy{}, fmt.Errorf("get discrepancy: %w", interpretError(err))
	}
	return d, nil
}

// Discrepancy returns the discrepancy with the given identity, or ErrNotFound.
func (s *Store) Discrepancy(ctx context.Context, kind Kind, meetingUUID, subject string) (Discrepancy, error) {
	return s.getDiscrepancy(ctx, s.db, kind, meetingUUID, subject)
}

// ResolveDiscrepancy closes an open discrepancy, saying why, and in the same
// transaction queues alert (if not nil) to announce it. It reports whether an
// open discrepancy was closed; resolving twice, or one that never existed,
// changes nothing. A reason that is not one of the ResolutionReason constants
// is refused with ErrUnknownResolution.
func (s *Store) ResolveDiscrepancy(ctx context.Context, kind Kind, meetingUUID, subject string, resolution ResolutionReason, at time.Time, alert *OutboxMessage) (bool, error) {
	var resolved bool
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		resolved, err = s.resolveDiscrepancy(ctx, tx, kind, meetingUUID, subject, resolution, at, alert)
		return err
	})
	return resolved, err
}

func (s *Store) resolveDiscrepancy(ctx context.Context, tx *sqlx.Tx, kind Kind, meetingUUID, subject string, resolution ResolutionReason, at time.Time, alert *OutboxMessage) (bool, error) {
	if err := checkResolution(resolution); err != nil {
		return false, fmt.Errorf("resolve discrepancy: %w", err)
	}
	var id int64
	err := tx.GetContext(ctx, &id, s.q(`
UPDATE discrepancies SET resolved_at = ?, resolution = ?
WHERE kind = ? AND meeting_uuid = ? AND subject = ? AND resolved_at IS NULL
RETURNING id`), dbTime(at), resolution, kind, dbText(meetingUUID), dbText(subject))
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("resolve discrepancy: %w", err)
	}
	if alert != nil {
		alert.DiscrepancyID = &id
		if _, err := s.enqueueAlert(ctx, tx, *alert); err != nil {
			return false, err
		}
	}
	return true, nil
}

// OpenDiscrepancies lists the unresolved discrepancies, oldest first.
func (s *Store) OpenDiscrepancies(ctx context.Context) ([]Discrepancy, error) {
	var out []Discrepancy
	err := s.db.SelectContext(ctx, &out, `SELECT * FROM discrepancies WHERE resolved_at IS NULL ORDER BY detected_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list open discrepancies: %w", err)
	}
	return out, nil
}
