package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/store"
)

// uptimeKeep is how long the runs' heartbeats are kept: far longer than any
// retry horizon, and a week of restarts is still a handful of rows.
const uptimeKeep = 7 * 24 * time.Hour

// uptime is this serve process's row of the uptime table: when it started and
// when it last proved it could commit. The gaps between runs, and the time
// since the last heartbeat, are when Zoom was told to retry its webhooks.
type uptime struct {
	st     *store.Store
	id     int64
	now    func() time.Time
	every  time.Duration
	logger *slog.Logger
}

func startUptime(ctx context.Context, st *store.Store, e env, cfg *config.Config, logger *slog.Logger) (*uptime, error) {
	id, err := st.StartUptime(ctx, e.now(), uptimeKeep)
	if err != nil {
		return nil, err
	}
	return &uptime{st: st, id: id, now: e.now, every: heartbeatInterval(cfg), logger: logger.With("component", "uptime")}, nil
}

// heartbeatInterval is how often serve records that it is up: well inside the
// grace, since a verdict is due a grace after its event and by then the run's
// heartbeat must show zoomrecon was up.
func heartbeatInterval(cfg *config.Config) time.Duration {
	return min(15*time.Second, cfg.Reconcile.MissedGrace/4)
}

// beat records a heartbeat now.
func (u *uptime) beat(ctx context.Context) error {
	return u.st.Beat(ctx, u.id, u.now())
}

// run beats every interval until ctx ends. A failed beat is logged once until
// one succeeds: it means the database is not committing, and Zoom is being
// answered 503.
func (u *uptime) run(ctx context.Context) {
	t := time.NewTicker(u.every)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, u.every)
		err := u.beat(bctx)
		cancel()
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			u.logger.Warn("heartbeat not recorded: the database is not committing", slog.Any("error", err))
			failing = true
		case err == nil && failing:
			u.logger.Info("heartbeat recorded again")
			failing = false
		}
	}
}
