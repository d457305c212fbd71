package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/zoomrecon/zoomrecon/migrations"
)

// DefaultPruneBatch is how many rows one pruning statement deletes. Each
// statement is its own transaction, so on SQLite ingest's group commit waits
// for at most one such batch (a few milliseconds), never for a whole prune.
const DefaultPruneBatch = 1000

// PruneEvents deletes the events received before before, at most batch
// (DefaultPruneBatch when not positive) per statement and transaction, and
// reports how many it deleted. It is idempotent, so replicas may run it at
// once.
//
// The events table is also the deduplication ledger: callers keep before at
// least the webhook replay window in the past, so a replay Zoom may still
// sign is still recognised.
//
// It walks events in id order, which is commit order (migration 3 dropped the
// received_at index to spare ingest a B-tree), and stops at the first batch
// that is not entirely old: every statement reads only the oldest batch rows
// through the primary key, never the whole table.
func (s *Store) PruneEvents(ctx context.Context, before time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = DefaultPruneBatch
	}
	n, err := s.pruneLoop(ctx, batch, `
DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY id LIMIT ?) AND received_at < ?
    AND NOT EXISTS (SELECT 1 FROM forward_deliveries d WHERE d.event_id = events.id AND d.status = 'pending')`, batch, dbTime(before))
	if err != nil {
		return n, err
	}
	// A dead delivery whose event is gone can no longer be replayed: it
	// stops counting as one the application still lacks and can be sent.
	// (Keeping such events instead would stall the walk above, which stops
	// at the first batch it cannot delete whole.)
	if _, err := s.pruneLoop(ctx, batch, `
DELETE FROM forward_deliveries WHERE id IN (
    SELECT d.id FROM forward_deliveries d WHERE d.status = 'dead' AND d.event_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id)
    ORDER BY d.id LIMIT ?)`, batch); err != nil {
		return n, fmt.Errorf("dead deliveries of pruned events: %w", err)
	}
	return n, nil
}

// pruneLoop runs a batched DELETE until it deletes fewer than batch rows.
func (s *Store) pruneLoop(ctx context.Context, batch int, query string, args ...any) (int, error) {
	total := 0
	for {
		var n int64
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			res, err := tx.ExecContext(ctx, s.q(query), args...)
			if err != nil {
				return err
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, fmt.Errorf("prune: %w", err)
		}
		total += int(n)
		if n < int64(batch) {
			return total, nil
		}
	}
}

// Pruned counts the rows PruneHistory deleted, by table.
type Pruned map[string]int

// PruneHistory deletes what happened before before, in batches of batch rows
// (DefaultPruneBatch when not positive), each its own transaction:
//
//   - delivered or dead alerts (alert_outbox, with their alert_announcements
//     and alert_edits), unless an announcement or edit is still pending or
//     their discrepancy is still open;
//   - resolved discrepancies, unless an alert of theirs is still pending;
//   - ended meetings with their participant sessions, unless the meeting has
//     an open discrepancy;
//   - finished reconcile runs.
//
// An open discrepancy and a pending alert are never deleted, whatever their
// age. It is idempotent, so replicas may run it at once.
func (s *Store) PruneHistory(ctx context.Context, before time.Time, batch int) (Pruned, error) {
	if batch <= 0 {
		batch = DefaultPruneBatch
	}
	t := dbTime(before)
	out := Pruned{"meetings": 0, "participant_sessions": 0}
	steps := []struct {
		table string
		query string
		args  []any
	}{
		{"alert_outbox", `
DELETE FROM alert_outbox WHERE id IN (
    SELECT o.id FROM alert_outbox o
    WHERE ((o.status = 'sent' AND o.sent_at < ?) OR (o.status = 'dead' AND o.created_at < ?))
      AND NOT EXISTS (SELECT 1 FROM alert_announcements a WHERE a.outbox_id = o.id AND a.status = 'pending')
      AND NOT EXISTS (SELECT 1 FROM alert_edits e WHERE e.outbox_id = o.id AND e.status = 'pending')
      AND NOT EXISTS (SELECT 1 FROM discrepancies d WHERE d.id = o.discrepancy_id AND d.resolved_at IS NULL)
    ORDER BY o.id LIMIT ?)`, []any{t, t, batch}},
		{"discrepancies", `
DELETE FROM discrepancies WHERE id IN (
    SELECT d.id FROM discrepancies d
    WHERE d.resolved_at < ?
      AND NOT EXISTS (SELECT 1 FROM alert_outbox o WHERE o.discrepancy_id = d.id AND o.status = 'pending')
    ORDER BY d.id LIMIT ?)`, []any{t, batch}},
		{"reconcile_runs", `
DELETE FROM reconcile_runs WHERE id IN (
    SELECT id FROM reconcile_runs WHERE started_at < ? AND finished_at IS NOT NULL ORDER BY id LIMIT ?)`, []any{t, batch}},
		{"forward_deliveries", `
DELETE FROM forward_deliveries WHERE id IN (
    SELECT id FROM forward_deliveries WHERE status <> 'pending' AND created_at < ? ORDER BY id LIMIT ?)`, []any{t, batch}},
		{"reconstructed_events", `
DELETE FROM reconstructed_events WHERE id IN (
    SELECT r.id FROM reconstructed_events r WHERE r.created_at < ?
      AND NOT EXISTS (SELECT 1 FROM forward_deliveries d WHERE d.reconstructed_id = r.id AND d.status = 'pending')
    ORDER BY r.id LIMIT ?)`, []any{t, batch}},
		{"websocket_gaps", `
DELETE FROM websocket_gaps WHERE id IN (
    SELECT id FROM websocket_gaps WHERE ended_at < ? ORDER BY id LIMIT ?)`, []any{t, batch}},
	}
	for _, st := range steps {
		n, err := s.pruneLoop(ctx, batch, st.query, st.args...)
		out[st.table] += n
		if err != nil {
			return out, fmt.Errorf("%s: %w", st.table, err)
		}
	}
	if err := s.pruneMeetings(ctx, t, batch, out); err != nil {
		return out, err
	}
	return out, nil
}

// pruneMeetings deletes old ended meetings and their sessions, batch meetings
// per transaction. The sessions are deleted by name rather than left to ON
// DELETE CASCADE so that they are counted.
func (s *Store) pruneMeetings(ctx context.Context, before time.Time, batch int, out Pruned) error {
	for {
		var uuids []string
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			if err := tx.SelectContext(ctx, &uuids, s.q(`
SELECT m.uuid FROM meetings m
WHERE m.status = 'ended' AND m.end_time < ?
  AND NOT EXISTS (SELECT 1 FROM discrepancies d WHERE d.meeting_uuid = m.uuid AND d.resolved_at IS NULL)
ORDER BY m.end_time LIMIT ?`), before, batch); err != nil {
				return err
			}
			if len(uuids) == 0 {
				return nil
			}
			return inChunks(uuids, func(chunk []string) error {
				in := "(" + placeholders(1, len(chunk)) + ")"
				res, err := tx.ExecContext(ctx, s.q("DELETE FROM participant_sessions WHERE meeting_uuid IN "+in), anySlice(chunk)...)
				if err != nil {
					return err
				}
				n, _ := res.RowsAffected()
				out["participant_sessions"] += int(n)
				if res, err = tx.ExecContext(ctx, s.q("DELETE FROM meetings WHERE uuid IN "+in), anySlice(chunk)...); err != nil {
					return err
				}
				n, _ = res.RowsAffected()
				out["meetings"] += int(n)
				return nil
			})
		})
		if err != nil {
			return fmt.Errorf("prune meetings: %w", err)
		}
		if len(uuids) < batch {
			return nil
		}
	}
}

// ReclaimSpace returns the pages that pruning freed to the file system, at
// most pages per step, each step its own short write, until none are free or
// maxSteps steps have run, and reports how many pages it freed. It needs
// auto_vacuum=INCREMENTAL, which Open sets on new SQLite files and migration
// 9 on older ones. On PostgreSQL it does nothing: autovacuum reuses the space.
func (s *Store) ReclaimSpace(ctx context.Context, pages, maxSteps int) (int, error) {
	if s.dialect.name != migrations.SQLite {
		return 0, nil
	}
	freed := 0
	for range maxSteps {
		before, err := s.FreePages(ctx)
		if err != nil || before == 0 {
			return freed, err
		}
		if _, err := s.db.ExecContext(ctx, fmt.Sprintf("PRAGMA incremental_vacuum(%d)", pages)); err != nil {
			return freed, fmt.Errorf("incremental vacuum: %w", err)
		}
		after, err := s.FreePages(ctx)
		if err != nil {
			return freed, err
		}
		freed += before - after
		if after >= before {
			return freed, nil // auto_vacuum is not INCREMENTAL: nothing to do
		}
	}
	return freed, nil
}

// FreePages reports SQLite's freelist_count: pages inside the file that hold
// no data. It is 0 on PostgreSQL.
func (s *Store) FreePages(ctx context.Context) (int, error) {
	if s.dialect.name != migrations.SQLite {
		return 0, nil
	}
	var n int
	if err := s.db.GetContext(ctx, &n, "PRAGMA freelist_count"); err != nil {
		return 0, fmt.Errorf("freelist count: %w", err)
	}
	return n, nil
}

// AutoVacuum reports SQLite's auto_vacuum mode ("none", "full" or
// "incremental"), or "" on PostgreSQL.
func (s *Store) AutoVacuum(ctx context.Context) (string, error) {
	if s.dialect.name != migrations.SQLite {
		return "", nil
	}
	var n int
	if err := s.db.GetContext(ctx, &n, "PRAGMA auto_vacuum"); err != nil {
		return "", fmt.Errorf("auto_vacuum: %w", err)
	}
	return strings.Fields("none full incremental")[min(max(n, 0), 2)], nil
}
