package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// This file keeps zoomrecon replay's side of the relay's queue: stored
// events queued again, in the order they happened, and the progress of
// what a replay queued.

// ReplayFilter chooses the stored events to deliver again.
type ReplayFilter struct {
	// Since and Until bound when the events happened (event_ts, or when
	// received for an event without one): [Since, Until).
	Since, Until time.Time
	// EventType, if set, keeps only events of that type.
	EventType string
}

// QueueReplay queues again, for each route, the stored events (received
// and rebuilt) that f chooses and the route wants, in the order they
// happened (an event's event_ts, or when it was received if it has none;
// received before rebuilt at the same moment). It returns how many
// deliveries it queued, also when it fails part way.
func (s *Store) QueueReplay(ctx context.Context, routes []ForwardRoute, f ReplayFilter, now time.Time) (int64, error) {
	type ref struct {
		forwardRef
		TS *time.Time `db:"event_ts"`
		// Fallback orders an event without event_ts: when it was stored.
		// (SQLite's COALESCE of two timestamps scans as text, so the two
		// are read apart.)
		Fallback      time.Time `db:"fallback"`
		At            time.Time `db:"-"`
		reconstructed bool
	}
	var all []ref
	for _, src := range []struct {
		table         string
		reconstructed bool
		ts, fallback  string
	}{
		{"events", false, "COALESCE(event_ts, received_at)", "received_at"},
		{"reconstructed_events", true, "event_ts", "created_at"},
	} {
		query := `SELECT id, event_type, meeting_uuid, event_ts, ` + src.fallback + ` AS fallback FROM ` + src.table +
			` WHERE ` + src.ts + ` >= ? AND ` + src.ts + ` < ?`
		args := []any{dbTime(f.Since), dbTime(f.Until)}
		if f.EventType != "" {
			query += ` AND event_type = ?`
			args = append(args, f.EventType)
		}
		var rows []ref
		if err := s.db.SelectContext(ctx, &rows, s.q(query), args...); err != nil {
			return 0, fmt.Errorf("queue replay: %w", err)
		}
		for i := range rows {
			rows[i].reconstructed = src.reconstructed
			rows[i].At = rows[i].Fallback
			if rows[i].TS != nil {
				rows[i].At = *rows[i].TS
			}
		}
		all = append(all, rows...)
	}
	slices.SortStableFunc(all, func(a, b ref) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		if a.reconstructed != b.reconstructed {
			if a.reconstructed {
				return 1
			}
			return -1
		}
		return cmp.Compare(a.ID, b.ID)
	})
	// A transaction per chunk, not one for the window: on SQLite it holds
	// the write lock, and days of events would hold webhooks past Zoom's
	// 3 s. The order holds across chunks: each one's ids follow the last's.
	var n int64
	for chunk := range slices.Chunk(all, replayChunk) {
		var queued int64
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			queued = 0
			// The chunk's meetings at once, before queueing one event at a
			// time: locked one by one as queued, they would be taken out of
			// order.
			meetings := make([]string, 0, len(chunk))
			for _, r := range chunk {
				meetings = append(meetings, r.Meeting)
			}
			if err := s.lockMeetings(ctx, tx, meetings); err != nil {
				return err
			}
			// One at a time, in that order: the ids give the delivery order.
			for _, r := range chunk {
				for _, route := range routes {
					if !route.Wants(r.Type) {
						continue
					}
					if err := s.insertForward(ctx, tx, []forwardRef{r.forwardRef}, r.reconstructed, true, []ForwardRoute{route}, now); err != nil {
						return err
					}
					queued++
				}
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("queue replay: %w", err)
		}
		n += queued
	}
	return n, nil
}

// replayChunk is how many stored events a replay queues per transaction.
const replayChunk = 256

// ReplayProgress counts the deliveries a replay queued at queuedAt, by
// status.
func (s *Store) ReplayProgress(ctx context.Context, queuedAt time.Time) (map[ForwardStatus]int64, error) {
	var rows []struct {
		Status ForwardStatus `db:"status"`
		N      int64         `db:"n"`
	}
	err := s.db.SelectContext(ctx, &rows, s.q(`
SELECT status, COUNT(*) AS n FROM forward_deliveries WHERE replay AND created_at = ? GROUP BY status`), dbTime(queuedAt))
	if err != nil {
		return nil, fmt.Errorf("replay progress: %w", err)
	}
	out := map[ForwardStatus]int64{}
	for _, r := range rows {
		out[r.Status] = r.N
	}
	return out, nil
}
