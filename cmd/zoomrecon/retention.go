package main

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/store"
)

// retentionInterval is the time between prunes. A day of a big account is
// ~600k events; every 10 minutes that is ~4k rows a run, a few batches.
const retentionInterval = 10 * time.Minute

// reclaimPages and reclaimSteps bound what one run hands back to the file
// system on SQLite: 1000 pages (4 MB) per short write, at most 400 MB a run;
// the rest waits for the next run.
const (
	reclaimPages = 1000
	reclaimSteps = 100
)

// retentionTables are the tables pruning counts, the label values of
// zoomrecon_retention_deleted_total.
var retentionTables = []string{"events", "meetings", "participant_sessions", "discrepancies", "alert_outbox", "reconcile_runs", "websocket_gaps", "forward_deliveries", "reconstructed_events"}

// retention deletes what is older than the configured retentions. Its
// deletes are batched and idempotent, so replicas may each run it.
type retention struct {
	st      *store.Store
	now     func() time.Time
	events  time.Duration // 0: keep events for ever
	history time.Duration // 0: keep history for ever
	logger  *slog.Logger

	deleted *prometheus.CounterVec
	lastRun prometheus.Gauge
}

// newRetention returns the pruner, or nil when both retentions are forever.
func newRetention(cfg *config.Config, e env, st *store.Store, logger *slog.Logger, reg prometheus.Registerer) *retention {
	if cfg.EventRetention == 0 && cfg.HistoryRetention == 0 {
		return nil
	}
	r := &retention{
		st: st, now: e.now, events: cfg.EventRetention, history: cfg.HistoryRetention,
		logger: logger.With("component", "retention"),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_retention_deleted_total",
			Help: "Rows deleted because they were older than ZOOMRECON_EVENT_RETENTION or ZOOMRECON_HISTORY_RETENTION, by table.",
		}, []string{"table"}),
		lastRun: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zoomrecon_retention_last_run_timestamp_seconds",
			Help: "When pruning last completed without error, as a Unix time; 0 before the first run.",
		}),
	}
	for _, t := range retentionTables {
		r.deleted.WithLabelValues(t)
	}
	reg.MustRegister(r.deleted, r.lastRun)
	return r
}

// prune runs once: events, then history, then (SQLite) hands the freed pages
// back to the file system. It reports the rows deleted by table.
func (r *retention) prune(ctx context.Context) (store.Pruned, error) {
	start := r.now()
	out := store.Pruned{}
	if r.events > 0 {
		n, err := r.st.PruneEvents(ctx, start.Add(-r.events), store.DefaultPruneBatch)
		out["events"] = n
		r.deleted.WithLabelValues("events").Add(float64(n))
		if err != nil {
			return out, err
		}
	}
	if r.history > 0 {
		got, err := r.st.PruneHistory(ctx, start.Add(-r.history), store.DefaultPruneBatch)
		for t, n := range got {
			out[t] = n
			r.deleted.WithLabelValues(t).Add(float64(n))
		}
		if err != nil {
			return out, err
		}
	}
	freed, err := r.st.ReclaimSpace(ctx, reclaimPages, reclaimSteps)
	if err != nil {
		return out, err
	}
	r.lastRun.Set(float64(r.now().Unix()))
	total := 0
	for _, n := range out {
		total += n
	}
	level := slog.LevelDebug
	if total > 0 {
		level = slog.LevelInfo
	}
	args := []any{"took", r.now().Sub(start).Round(time.Millisecond).String(), "pages_freed", freed}
	for _, t := range retentionTables {
		args = append(args, t, out[t])
	}
	r.logger.Log(ctx, level, "pruned old rows", args...)
	return out, nil
}

// run prunes every retentionInterval ± 10% until ctx ends, first after a
// random stagger of up to a minute so replicas started together do not
// prune in step. A failure is logged once until a run succeeds.
func (r *retention) run(ctx context.Context) {
	timer := time.NewTimer(rand.N(time.Minute))
	defer timer.Stop()
	failing := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		_, err := r.prune(ctx)
		switch {
		case err != nil && !failing && ctx.Err() == nil:
			r.logger.WarnContext(ctx, "pruning failed; old rows are kept until it succeeds", slog.Any("error", err))
			failing = true
		case err == nil && failing:
			r.logger.InfoContext(ctx, "pruning works again")
			failing = false
		}
		jitter := time.Duration(rand.Int64N(int64(retentionInterval/5))) - retentionInterval/10
		timer.Reset(retentionInterval + jitter)
	}
}
