package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// Span is a stretch of time, From inclusive, To exclusive.
type Span struct {
	From time.Time `db:"from"`
	To   time.Time `db:"to"`
}

// StartUptime records that a zoomrecon serve process started at now and
// returns the row its heartbeats update. Rows of runs that ended more than
// keep ago are deleted, except the one that ended last before this start: it
// marks when zoomrecon stopped.
func (s *Store) StartUptime(ctx context.Context, now time.Time, keep time.Duration) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &id, s.q(`INSERT INTO uptime (started_at, beat_at) VALUES (?, ?) RETURNING id`),
			dbTime(now), dbTime(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.q(`
DELETE FROM uptime WHERE beat_at < ? AND beat_at < (SELECT MAX(beat_at) FROM uptime WHERE id <> ?)`), dbTime(now.Add(-keep)), id)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("start uptime: %w", err)
	}
	return id, nil
}

// Beat records that the run id is up at now and that the database commits.
func (s *Store) Beat(ctx context.Context, id int64, now time.Time) error {
	// A beat from an earlier clock reading (two beats racing) never moves
	// beat_at back.
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE uptime SET beat_at = CASE WHEN beat_at < ? THEN ? ELSE beat_at END WHERE id = ?`),
		dbTime(now), dbTime(now), id)
	if err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// RetryWindows returns the spans ending after after in which Zoom was told to
// retry its webhooks: the times no zoomrecon serve was up and committing (the
// gaps between runs, and the time since the last heartbeat, unless it is
// within alive of now and the run is still going) and the minutes in which
// the receiver answered 503. Time before the first run ever recorded is no
// window: nothing listened, so Zoom retried nothing to us.
func (s *Store) RetryWindows(ctx context.Context, after, now time.Time, alive time.Duration) ([]Span, error) {
	var runs []Span
	err := s.db.SelectContext(ctx, &runs, `SELECT started_at AS "from", beat_at AS "to" FROM uptime ORDER BY started_at, id`)
	if err != nil {
		return nil, fmt.Errorf("retry windows: %w", err)
	}
	var out []Span
	// Runs may overlap (several replicas, a restart before the old process
	// ended): merge them, and the gaps between are the windows.
	var end time.Time
	for i, r := range runs {
		if i > 0 && r.From.After(end) {
			out = append(out, Span{From: end, To: r.From})
		}
		if r.To.After(end) {
			end = r.To
		}
	}
	if len(runs) > 0 && now.Sub(end) > alive {
		out = append(out, Span{From: end, To: now})
	}

	var minutes []time.Time
	err = s.db.SelectContext(ctx, &minutes, s.q(`SELECT minute FROM webhook_tally WHERE reason = ? AND minute > ? ORDER BY minute`),
		RefusalUnavailable, dbTime(after.Add(-time.Minute)))
	if err != nil {
		return nil, fmt.Errorf("retry windows: %w", err)
	}
	for _, m := range minutes {
		out = append(out, Span{From: m, To: m.Add(time.Minute)})
	}
	out = slices.DeleteFunc(out, func(w Span) bool { return !w.To.After(after) })
	slices.SortFunc(out, func(a, b Span) int { return cmp.Or(a.From.Compare(b.From), a.To.Compare(b.To)) })
	return out, nil
}
