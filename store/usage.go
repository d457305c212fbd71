package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// APIDay names a UTC day as Zoom's daily quotas count them: they reset at
// 00:00 UTC (zoom-platform.md §6).
func APIDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// SaveAPIUsage records the calls made on day, per Zoom rate-limit label. A
// count never goes down: the larger of the stored and the given one stays.
func (s *Store) SaveAPIUsage(ctx context.Context, day string, calls map[string]int64) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for label, n := range calls {
			_, err := s.txExec(ctx, tx, `
INSERT INTO api_usage (day, label, calls) VALUES (?, ?, ?)
ON CONFLICT (day, label) DO UPDATE SET
    calls = CASE WHEN excluded.calls > api_usage.calls THEN excluded.calls ELSE api_usage.calls END`, day, label, n)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save api usage: %w", err)
	}
	return nil
}

// APIUsage returns the calls recorded for day, per label.
func (s *Store) APIUsage(ctx context.Context, day string) (map[string]int64, error) {
	var rows []struct {
		Label string `db:"label"`
		Calls int64  `db:"calls"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT label, calls FROM api_usage WHERE day = ?`), day); err != nil {
		return nil, fmt.Errorf("api usage: %w", err)
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.Label] = r.Calls
	}
	return out, nil
}
