package reconciler

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
)

// LoopConfig tunes the scheduled sweep.
type LoopConfig struct {
	// Interval is the time between passes, ±10 % jitter. Default 5m.
	Interval time.Duration
	// Lookback is how far back a pass looks. Default 24h.
	Lookback time.Duration
	// FirstStart is when the daemon first ran against this database: the
	// sweep never reaches back past it, so history is not news. Required.
	FirstStart time.Time
	// NowFunc is the clock. Default time.Now.
	NowFunc func() time.Time
	// Logger receives failed passes. Default: discard.
	Logger *slog.Logger
	// AfterPassFunc, if set, is called after every pass; tests wait on it.
	AfterPassFunc func(Result, error)
}

// Loop runs scheduled passes.
type Loop struct {
	cfg  LoopConfig
	r    *Reconciler
	kick chan struct{}
}

// NewLoop returns a Loop that runs r's passes on cfg's schedule.
func NewLoop(cfg LoopConfig, r *Reconciler) *Loop {
	cfg.Interval = cmp.Or(cfg.Interval, 5*time.Minute)
	cfg.Lookback = cmp.Or(cfg.Lookback, 24*time.Hour)
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Logger = cfg.Logger.With("component", "reconcile_loop")
	return &Loop{cfg: cfg, r: r, kick: make(chan struct{}, 1)}
}

// Window is the span the next scheduled pass covers: the lookback, cut at
// the daemon's first start.
func (l *Loop) Window() Window {
	now := l.cfg.NowFunc()
	since := now.Add(-l.cfg.Lookback)
	if l.cfg.FirstStart.After(since) {
		since = l.cfg.FirstStart
	}
	return Window{Since: since, Until: now}
}

// Kick asks for a pass now rather than at the next scheduled time: the
// WebSocket reconnected, and what it missed is known lost. A kick during a
// pass runs one more after it; kicks do not queue up beyond that.
func (l *Loop) Kick() {
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// Run runs a pass after a short random stagger, then every interval with
// jitter, and at once when kicked, one at a time, until ctx ends. A pass in progress stops between
// meetings when ctx ends. A failed pass is logged and the loop goes on.
func (l *Loop) Run(ctx context.Context) error {
	// Replicas started together should not ask Zoom at the same instant.
	timer := time.NewTimer(jitter(min(l.cfg.Interval/10, 5*time.Second)))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-l.kick:
			timer.Stop()
		}
		// A listing that does not fit three quarters of the interval goes on
		// in the next pass.
		deadline := l.cfg.NowFunc().Add(l.cfg.Interval * 3 / 4)
		// The pass logs how it went.
		res, err := l.r.Pass(ctx, PassOptions{Window: l.Window(), Trigger: store.TriggerSchedule, Deadline: deadline})
		if errors.Is(err, ErrLocked) {
			l.cfg.Logger.Debug("another replica is reconciling; skipped this pass")
		}
		if l.cfg.AfterPassFunc != nil {
			l.cfg.AfterPassFunc(res, err)
		}
		if ctx.Err() != nil {
			return nil
		}
		timer.Reset(l.cfg.Interval - l.cfg.Interval/10 + jitter(l.cfg.Interval/5))
	}
}

// jitter returns a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
