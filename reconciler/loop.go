package reconciler

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
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

	mu     sync.Mutex
	kicked *time.Time // the earliest since of the kicks not yet run
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

// Kick asks for a pass over the window from since to now at once, rather
// than at the next scheduled time: the WebSocket reconnected, and what Zoom
// sent since then is lost. That pass lists its window itself, whatever the
// listing's schedule. Kicks during a pass are merged into one pass after it.
func (l *Loop) Kick(since time.Time) {
	l.mu.Lock()
	if l.kicked == nil || since.Before(*l.kicked) {
		l.kicked = &since
	}
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
}

// takeKick returns the window kicks asked for, cut at the lookback and the
// first start, and forgets them.
func (l *Loop) takeKick() (Window, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kicked == nil {
		return Window{}, false
	}
	w := l.Window()
	// What Zoom saw just before the drop may have been on its way, and its
	// listings give whole seconds.
	if since := l.kicked.Add(-deliveryLag - zoomTimeStep); since.After(w.Since) {
		w.Since = since
	}
	l.kicked = nil
	return w, true
}

// kickRetry is how soon a kicked pass that found another replica
// reconciling is tried again.
const kickRetry = 5 * time.Second

// Run runs a pass after a short random stagger, then every interval with
// jitter, and at once when kicked, one at a time, until ctx ends. A pass in
// progress stops between meetings when ctx ends. A failed pass is logged and
// the loop goes on.
func (l *Loop) Run(ctx context.Context) error {
	// Replicas started together should not ask Zoom at the same instant.
	timer := time.NewTimer(jitter(min(l.cfg.Interval/10, 5*time.Second)))
	defer timer.Stop()
	for {
		var (
			opts PassOptions
			gap  bool
		)
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
			// A listing that does not fit three quarters of the interval
			// goes on in the next pass.
			opts = PassOptions{Window: l.Window(), Trigger: store.TriggerSchedule,
				Deadline: l.cfg.NowFunc().Add(l.cfg.Interval * 3 / 4)}
		case <-l.kick:
			w, ok := l.takeKick()
			if !ok {
				continue
			}
			// Outside the schedule, as zoomrecon reconcile is: recorded as
			// manual, and it lists its own window.
			opts, gap = PassOptions{Window: w, Trigger: store.TriggerManual}, true
		}
		// The pass logs how it went.
		res, err := l.r.Pass(ctx, opts)
		if errors.Is(err, ErrLocked) {
			l.cfg.Logger.Debug("another replica is reconciling; skipped this pass")
			if gap {
				// The gap must still be checked: ask again shortly.
				since := opts.Window.Since
				time.AfterFunc(kickRetry, func() { l.Kick(since) })
			}
		}
		if l.cfg.AfterPassFunc != nil {
			l.cfg.AfterPassFunc(res, err)
		}
		if ctx.Err() != nil {
			return nil
		}
		if !gap {
			timer.Reset(l.cfg.Interval - l.cfg.Interval/10 + jitter(l.cfg.Interval/5))
		}
	}
}

// jitter returns a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
