package store

import (
	"context"
	"fmt"
	"time"
)

// StartRun records the start of a reconcile run and returns its ID.
func (s *Store) StartRun(ctx context.Context, r ReconcileRun) (int64, error) {
	var id int64
	err := s.db.GetContext(ctx, &id, s.q(`
INSERT INTO reconcile_runs (triggered_by, window_start, window_end, dry_run, started_at)
VALUES (?, ?, ?, ?, ?)
RETURNING id`), r.TriggeredBy, dbTime(r.WindowStart), dbTime(r.WindowEnd), r.DryRun, dbTime(r.StartedAt))
	if err != nil {
		return 0, fmt.Errorf("start run: %w", err)
	}
	return id, nil
}

// FinishRun records a run's counts, result, error and end time.
func (s *Store) FinishRun(ctx context.Context, r ReconcileRun, finishedAt time.Time) error {
	res, err := s.db.ExecContext(ctx, s.q(`
UPDATE reconcile_runs SET finished_at = ?, meetings_checked = ?, discrepancies_found = ?,
    backfilled = ?, api_calls = ?, error = ?, result = ?
WHERE id = ?`), dbTime(finishedAt), r.MeetingsChecked, r.DiscrepanciesFound, r.Backfilled, r.APICalls, dbText(r.Error), r.Result, r.ID)
	if err != nil {
		return fmt.Errorf("finish run: %w", err)
	}
	if n, err := res.RowsAffected(); err == nil && n == 0 {
		return fmt.Errorf("finish run %d: %w", r.ID, ErrNotFound)
	}
	return nil
}

// LastRun returns the most recently started run, or ErrNotFound.
func (s *Store) LastRun(ctx context.Context) (ReconcileRun, error) {
	var r ReconcileRun
	err := s.db.GetContext(ctx, &r, `SELECT * FROM reconcile_runs ORDER BY started_at DESC, id DESC LIMIT 1`)
	if err != nil {
		return ReconcileRun{}, fmt.Errorf("last run: %w", interpretError(err))
	}
	return r, nil
}

// LastSuccess returns when the last scheduled run that checked every meeting
// finished, or ErrNotFound. Runs recorded before results were (migration 7)
// count when they finished without an error.
func (s *Store) LastSuccess(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := s.db.GetContext(ctx, &t, s.q(`
SELECT finished_at FROM reconcile_runs
WHERE triggered_by = ? AND NOT dry_run AND finished_at IS NOT NULL
  AND (result = ? OR (result = '' AND error = ''))
ORDER BY finished_at DESC, id DESC LIMIT 1`), TriggerSchedule, RunOK)
	if err != nil {
		return time.Time{}, fmt.Errorf("last successful run: %w", interpretError(err))
	}
	return t, nil
}
