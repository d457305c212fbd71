package store

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// EnqueueAlert queues a message for delivery at msg.NextAttemptAt (now when
// zero) and returns its ID.
func (s *Store) EnqueueAlert(ctx context.Context, msg OutboxMessage) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		id, err = s.enqueueAlert(ctx, tx, msg)
		return err
	})
	return id, err
}

func (s *Store) enqueueAlert(ctx context.Context, tx *sqlx.Tx, m OutboxMessage) (int64, error) {
	if m.CreatedAt.IsZero() {
		return 0, fmt.Errorf("enqueue alert: CreatedAt must be set")
	}
	if m.NextAttemptAt.IsZero() {
		m.NextAttemptAt = m.CreatedAt
	}
	var id int64
	err := tx.GetContext(ctx, &id, s.q(`
INSERT INTO alert_outbox (discrepancy_id, kind, payload, status, next_attempt_at, created_at)
VALUES (?, ?, ?, 'pending', ?, ?)
RETURNING id`), m.DiscrepancyID, m.Kind, m.Payload, dbTime(m.NextAttemptAt), dbTime(m.CreatedAt))
	if err != nil {
		return 0, fmt.Errorf("enqueue alert: %w", err)
	}
	return id, nil
}

// ClaimAlerts takes up to limit pending messages that are due at now, oldest
// first, and leases them to the serve run by (0: no run) until now+lease by
// moving their next attempt. No other caller can claim them during the lease
// while run by is alive; if by dies before marking them, they become due again
// when the lease ends, or as soon as by is marked ended (EndUptime, or a
// successor's StartUptime). Tries counts claims.
func (s *Store) ClaimAlerts(ctx context.Context, by int64, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error) {
	var out []OutboxMessage
	query, args := s.claimQuery(outboxLease, claim{by: by, now: now, lease: lease, limit: limit}, "*")
	err := sqlx.SelectContext(ctx, s.db, &out, query, args...)
	if err != nil {
		return nil, fmt.Errorf("claim alerts: %w", err)
	}
	// RETURNING gives no order.
	slices.SortFunc(out, func(a, b OutboxMessage) int { return int(a.ID - b.ID) })
	return out, nil
}

// OutboxStats describes the messages not yet delivered.
type OutboxStats struct {
	Pending int `db:"pending"`
	// Dead counts the messages Slack refused for good; muted ones are not
	// failures and are left out.
	Dead int `db:"dead"`
	// OldestPending is the creation time of the oldest pending message; nil
	// when none is pending.
	OldestPending *time.Time `db:"oldest_pending"`
}

// ReleaseHeldAlerts makes due at now the alerts a pass queued at createdAt
// and held back until it ended (OutboxMessage.NextAttemptAt in the future):
// by then the pass has named the causes, a host or a silence, that fold
// them. Alerts a sender has tried since are left to their backoff.
func (s *Store) ReleaseHeldAlerts(ctx context.Context, createdAt, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`
UPDATE alert_outbox SET next_attempt_at = ?
WHERE status = 'pending' AND tries = 0 AND created_at = ? AND next_attempt_at > ?`),
		dbTime(now), dbTime(createdAt), dbTime(now))
	if err != nil {
		return fmt.Errorf("release held alerts: %w", err)
	}
	return nil
}

// AlertOutboxStats counts pending and dead messages.
func (s *Store) AlertOutboxStats(ctx context.Context) (OutboxStats, error) {
	var st OutboxStats
	err := s.db.GetContext(ctx, &st, `
SELECT
    (SELECT COUNT(*) FROM alert_outbox WHERE status = 'pending') AS pending,
    (SELECT COUNT(*) FROM alert_outbox WHERE status = 'dead' AND muted_by IS NULL) AS dead`)
	if err != nil {
		return OutboxStats{}, fmt.Errorf("outbox stats: %w", err)
	}
	var oldest []time.Time
	err = s.db.SelectContext(ctx, &oldest, `
SELECT created_at FROM alert_outbox WHERE status = 'pending' ORDER BY created_at LIMIT 1`)
	if err != nil {
		return OutboxStats{}, fmt.Errorf("outbox stats: %w", err)
	}
	if len(oldest) == 1 {
		st.OldestPending = &oldest[0]
	}
	return st, nil
}

// AlertsFor lists the messages queued for a discrepancy, oldest first.
func (s *Store) AlertsFor(ctx context.Context, discrepancyID int64) ([]OutboxMessage, error) {
	var out []OutboxMessage
	err := s.db.SelectContext(ctx, &out, s.q(`SELECT * FROM alert_outbox WHERE discrepancy_id = ? ORDER BY id`), discrepancyID)
	if err != nil {
		return nil, fmt.Errorf("list alerts: %w", err)
	}
	return out, nil
}
