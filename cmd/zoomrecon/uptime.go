package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"syscall"
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

// startUptime records this run, with who it is and the facts status shows.
// Runs on this host that died without ending (kill -9, a crash, a reboot) are
// marked ended, so the alerts they had claimed go out now, not when their
// lease runs out.
func startUptime(ctx context.Context, st *store.Store, e env, cfg *config.Config, logger *slog.Logger) (*uptime, error) {
	facts, err := json.Marshal(newDaemonFacts(cfg, string(st.Dialect())))
	if err != nil {
		return nil, fmt.Errorf("record daemon facts: %w", err)
	}
	run := runIdentity()
	run.Facts = facts
	id, err := st.StartUptime(ctx, run, pidAlive, e.now(), uptimeKeep)
	if err != nil {
		return nil, err
	}
	return &uptime{st: st, id: id, now: e.now, every: heartbeatInterval(cfg), logger: logger.With("component", "uptime")}, nil
}

// runIdentity says which process this is: host name, PID and boot ID.
// Unknown parts stay empty, which makes StartUptime judge less, never wrongly.
func runIdentity() store.RunIdentity {
	host, _ := os.Hostname()
	return store.RunIdentity{Host: host, PID: os.Getpid(), BootID: bootID()}
}

// bootID is the kernel's boot ID, which changes at every boot, or "" where
// there is none (not Linux, /proc not mounted).
func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// pidAlive reports whether a process with pid exists on this machine. Signal
// 0 checks without sending anything; EPERM means it exists but is not ours.
// A PID in another PID namespace (another container with the same host name)
// looks dead, so replicas must not share a host name.
func pidAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// end records that this run stopped: the alerts it still holds are due to
// other runs at once.
func (u *uptime) end(ctx context.Context) error {
	return u.st.EndUptime(ctx, u.id, u.now())
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
