package store

import (
	"context"
	"fmt"
	"time"
)

// State keys the daemon remembers across restarts.
const (
	// StateFirstStart is when serve first ran against this database, in
	// RFC 3339; the scheduled sweep never reaches back past it.
	StateFirstStart = "first_start"
)

// InitState stores value under key unless the key is set, and returns the
// value that is stored afterwards (the earlier one if there was one).
func (s *Store) InitState(ctx context.Context, key, value string, now time.Time) (string, error) {
	_, err := s.db.ExecContext(ctx, s.q(`
INSERT INTO daemon_state (key, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO NOTHING`), key, value, dbTime(now))
	if err != nil {
		return "", fmt.Errorf("init state %s: %w", key, err)
	}
	return s.State(ctx, key)
}

// SetState stores value under key, replacing what was there.
func (s *Store) SetState(ctx context.Context, key, value string, now time.Time) error {
	_, err := s.db.ExecContext(ctx, s.q(`
INSERT INTO daemon_state (key, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`), key, value, dbTime(now))
	if err != nil {
		return fmt.Errorf("set state %s: %w", key, err)
	}
	return nil
}

// State returns the value stored under key, or ErrNotFound.
func (s *Store) State(ctx context.Context, key string) (string, error) {
	var v string
	if err := s.db.GetContext(ctx, &v, s.q(`SELECT value FROM daemon_state WHERE key = ?`), key); err != nil {
		return "", fmt.Errorf("state %s: %w", key, interpretError(err))
	}
	return v, nil
}
