package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zoomrecon/zoomrecon/cmd/internal/loadgen"
	"github.com/zoomrecon/zoomrecon/store"
)

// timedQueue is the real store, timing the queue statements the relay runs
// once per batch, so the report can say where a batch's time goes.
type timedQueue struct {
	*store.Store
	claim, mark, resolve timing
	claimed              atomic.Int64 // deliveries claimed
}

type timing struct {
	n     atomic.Int64
	total atomic.Int64 // nanoseconds
}

func (t *timing) observe(start time.Time) {
	t.n.Add(1)
	t.total.Add(int64(time.Since(start)))
}

func (t *timing) reset() { t.n.Store(0); t.total.Store(0) }

// mean is the average time of one statement.
func (t *timing) mean() time.Duration {
	n := t.n.Load()
	if n == 0 {
		return 0
	}
	return time.Duration(t.total.Load() / n)
}

func (q *timedQueue) ClaimForward(ctx context.Context, destination string, by int64, now time.Time, lease time.Duration, limit int) ([]store.ForwardDelivery, error) {
	defer q.claim.observe(time.Now())
	ds, err := q.Store.ClaimForward(ctx, destination, by, now, lease, limit)
	q.claimed.Add(int64(len(ds)))
	return ds, err
}

func (q *timedQueue) MarkForwardDelivered(ctx context.Context, ids []int64, at time.Time) error {
	defer q.mark.observe(time.Now())
	return q.Store.MarkForwardDelivered(ctx, ids, at)
}

func (q *timedQueue) ResolveForwardDead(ctx context.Context, destination string, at time.Time) error {
	defer q.resolve.observe(time.Now())
	return q.Store.ResolveForwardDead(ctx, destination, at)
}

func (q *timedQueue) reset() {
	q.claim.reset()
	q.mark.reset()
	q.resolve.reset()
	q.claimed.Store(0)
}

// batches summarises the claims: how many, deliveries per claim, and the
// mean time of each statement.
func (q *timedQueue) batches() string {
	n := q.claim.n.Load()
	if n == 0 {
		return "no claims"
	}
	return fmt.Sprintf("%d claims, %.1f deliveries each; claim %s, mark delivered %s, resolve alarm %s",
		n, float64(q.claimed.Load())/float64(n), loadgen.Ms(q.claim.mean()), loadgen.Ms(q.mark.mean()), loadgen.Ms(q.resolve.mean()))
}

// warnings counts the warnings and errors logged (a locked database, a
// refused delivery) and keeps the first, which the report prints: a figure
// must not hide that the run went wrong.
type warnings struct {
	n     atomic.Int64
	mu    sync.Mutex
	first string
}

func (w *warnings) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }

func (w *warnings) Handle(_ context.Context, r slog.Record) error {
	if w.n.Add(1) > 1 {
		return nil
	}
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	w.mu.Lock()
	w.first = msg
	w.mu.Unlock()
	return nil
}

func (w *warnings) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnings) WithGroup(string) slog.Handler      { return w }

func (w *warnings) String() string {
	n := w.n.Load()
	if n == 0 {
		return "none"
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return fmt.Sprintf("%d, the first: %s", n, w.first)
}
