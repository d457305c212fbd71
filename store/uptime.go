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

// RunIdentity says which process a serve run is, so that a later run on the
// same host can tell whether it is still alive, and what it runs with.
type RunIdentity struct {
	// Host is the machine's host name; empty when unknown, and then no
	// predecessor is ever judged dead by this run.
	Host string
	// PID is the process ID on Host.
	PID int
	// BootID is the kernel's boot ID (/proc/sys/kernel/random/boot_id), which
	// changes at every boot; empty when unreadable.
	BootID string
	// Facts is a JSON object describing the run's effective settings, for
	// status; empty when none.
	Facts []byte
}

// StartUptime records that a zoomrecon serve process, run, started at now and
// returns the row its heartbeats update. Rows of runs that ended more than
// keep ago are deleted, except the one that ended last before this start: it
// marks when zoomrecon stopped.
//
// Runs on run's host that are known dead are marked ended at now, so that the
// alerts they had claimed are due at once instead of when their lease ends.
// A run is dead when it was started in an earlier boot (both boot IDs known
// and different), when it had this very PID (two live processes cannot share
// one, so the recorded one is gone), or when aliveFunc says its PID is not
// alive. aliveFunc may be nil: then only the first two rules apply. A run
// whose PID was reused by another process looks alive and keeps its lease.
func (s *Store) StartUptime(ctx context.Context, run RunIdentity, aliveFunc func(pid int) bool, now time.Time, keep time.Duration) (int64, error) {
	var id int64
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &id, s.q(`
INSERT INTO uptime (started_at, beat_at, host, pid, boot_id, facts) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`),
			dbTime(now), dbTime(now), run.Host, run.PID, run.BootID, string(run.Facts)); err != nil {
			return err
		}
		if err := s.endDeadPredecessors(ctx, tx, id, run, aliveFunc, now); err != nil {
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

// endDeadPredecessors marks ended the unended runs on run's host, other than
// self, that StartUptime's rules call dead.
func (s *Store) endDeadPredecessors(ctx context.Context, tx *sqlx.Tx, self int64, run RunIdentity, aliveFunc func(pid int) bool, now time.Time) error {
	if run.Host == "" {
		// Without a host name, a row's PID could be any machine's.
		return nil
	}
	var others []struct {
		ID     int64  `db:"id"`
		PID    int    `db:"pid"`
		BootID string `db:"boot_id"`
	}
	err := tx.SelectContext(ctx, &others, s.q(`
SELECT id, pid, boot_id FROM uptime WHERE host = ? AND ended_at IS NULL AND id <> ?`), run.Host, self)
	if err != nil {
		return err
	}
	var dead []int64
	for _, o := range others {
		switch {
		case run.BootID != "" && o.BootID != "" && o.BootID != run.BootID:
			dead = append(dead, o.ID) // the machine rebooted since
		case o.PID == run.PID:
			dead = append(dead, o.ID)
		case aliveFunc != nil && !aliveFunc(o.PID):
			dead = append(dead, o.ID)
		}
	}
	_, err = s.execIn(ctx, tx, `UPDATE uptime SET ended_at = ? WHERE id IN (?)`, dead, dbTime(now))
	return err
}

// EndUptime records that the run id stopped at now: the alerts it still
// claims are due to other runs at once.
func (s *Store) EndUptime(ctx context.Context, id int64, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`UPDATE uptime SET ended_at = ? WHERE id = ? AND ended_at IS NULL`), dbTime(now), id)
	if err != nil {
		return fmt.Errorf("end uptime: %w", err)
	}
	return nil
}

// RunInfo is a serve run as its uptime row records it.
type RunInfo struct {
	ID        int64      `db:"id"`
	Host      string     `db:"host"`
	PID       int        `db:"pid"`
	StartedAt time.Time  `db:"started_at"`
	BeatAt    time.Time  `db:"beat_at"`
	EndedAt   *time.Time `db:"ended_at"`
	// Facts is what the run recorded of its settings (RunIdentity.Facts).
	Facts []byte `db:"facts"`
}

// LatestRun returns the serve run started last (not a reconcile run: that is
// LastRun), or ErrNotFound when no serve ever ran against this database.
func (s *Store) LatestRun(ctx context.Context) (RunInfo, error) {
	var r RunInfo
	err := s.db.GetContext(ctx, &r, `
SELECT id, host, pid, started_at, beat_at, ended_at, facts FROM uptime ORDER BY started_at DESC, id DESC LIMIT 1`)
	if err != nil {
		return RunInfo{}, fmt.Errorf("latest serve run: %w", interpretError(err))
	}
	if len(r.Facts) == 0 {
		r.Facts = nil
	}
	return r, nil
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
	var runs []struct {
		Span
		Ended bool `db:"ended"`
	}
	err := s.db.SelectContext(ctx, &runs, `
SELECT started_at AS "from", beat_at AS "to", ended_at IS NOT NULL AS ended FROM uptime ORDER BY started_at, id`)
	if err != nil {
		return nil, fmt.Errorf("retry windows: %w", err)
	}
	var out []Span
	// Runs may overlap (several replicas, a restart before the old process
	// ended): merge them, and the gaps between are the windows.
	var end time.Time
	// going says a run beat within alive of now and has not said it ended:
	// only then is the time since the last heartbeat no window.
	going := false
	for i, r := range runs {
		going = going || (!r.Ended && now.Sub(r.To) <= alive)
		if i > 0 && r.From.After(end) {
			out = append(out, Span{From: end, To: r.From})
		}
		if r.To.After(end) {
			end = r.To
		}
	}
	if len(runs) > 0 && !going && now.After(end) {
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
