package main

import (
	"context"
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/relay"
	"github.com/zoomrecon/zoomrecon/store"
)

// forwardRoutes are the relay's destinations as the store queues for them.
func forwardRoutes(cfg *config.Config) []store.ForwardRoute {
	out := make([]store.ForwardRoute, 0, len(cfg.Forward))
	for _, d := range cfg.Forward {
		out = append(out, store.ForwardRoute{Name: d.Name, Match: d.Matches})
	}
	return out
}

// newRelay builds the relay's sender, or nil when nothing is forwarded. It
// warns of deliveries still pending for a destination no longer configured.
func newRelay(ctx context.Context, cfg *config.Config, e env, st *store.Store, runID int64, logger *slog.Logger, reg prometheus.Registerer) *relay.Relay {
	if stats, err := st.ForwardQueueStats(ctx); err == nil {
		for _, s := range stats {
			if s.Pending > 0 && !slices.ContainsFunc(cfg.Forward, func(d config.ForwardDestination) bool { return d.Name == s.Destination }) {
				logger.WarnContext(ctx, "deliveries are pending for a relay destination that is no longer configured: nothing delivers them, "+
					"and their events are kept from pruning; configure it again to deliver them",
					"destination", s.Destination, "pending", s.Pending)
			}
		}
	}
	if len(cfg.Forward) == 0 {
		return nil
	}
	dests := make([]relay.Destination, 0, len(cfg.Forward))
	for _, d := range cfg.Forward {
		dests = append(dests, relay.Destination{Name: d.Name, URL: d.URL, SecretToken: d.SecretToken.Reveal()})
	}
	rc := relay.Config{
		Destinations: dests, RunID: runID, Timeout: cfg.ForwardTimeout, GiveUpAfter: cfg.ForwardGiveUpAfter, Now: e.now,
	}
	if e.relayBackoff > 0 {
		rc.MinBackoff, rc.MaxBackoff, rc.Poll = e.relayBackoff, 10*e.relayBackoff, e.relayBackoff
	}
	reg.MustRegister(newForwardQueue(st, cfg, e.now, logger))
	return relay.New(rc, st, logger, reg)
}

// forwardQueue exports each destination's queue, read from the database at
// scrape time: what every replica queued, not only this one.
type forwardQueue struct {
	st      *store.Store
	names   []string
	now     func() time.Time
	logger  *slog.Logger
	pending *prometheus.Desc
	oldest  *prometheus.Desc
	failing *prometheus.Desc
	dead    *prometheus.Desc
	warned  atomic.Bool
}

func newForwardQueue(st *store.Store, cfg *config.Config, now func() time.Time, logger *slog.Logger) *forwardQueue {
	q := &forwardQueue{st: st, now: now, logger: logger}
	for _, d := range cfg.Forward {
		q.names = append(q.names, d.Name)
	}
	labels := []string{"destination"}
	q.pending = prometheus.NewDesc("zoomrecon_forward_pending", "Deliveries not yet accepted by the destination, retries included.", labels, nil)
	q.oldest = prometheus.NewDesc("zoomrecon_forward_oldest_pending_age_seconds", "Age of the oldest pending delivery; 0 when none.", labels, nil)
	q.failing = prometheus.NewDesc("zoomrecon_forward_failing", "Pending deliveries whose last try failed.", labels, nil)
	q.dead = prometheus.NewDesc("zoomrecon_forward_dead", "Dead deliveries (refused with a 4xx, or given up): zoomrecon replay sends them again.", labels, nil)
	return q
}

// Describe implements prometheus.Collector.
func (q *forwardQueue) Describe(ch chan<- *prometheus.Desc) {
	ch <- q.pending
	ch <- q.oldest
	ch <- q.failing
	ch <- q.dead
}

// Collect implements prometheus.Collector. When the database does not answer
// within 2 s the series are left out, so a query sees a gap, not a false 0.
func (q *forwardQueue) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	stats, err := q.st.ForwardQueueStats(ctx)
	if err != nil {
		if !q.warned.Swap(true) {
			q.logger.Warn("could not read the relay's queue for /metrics", slog.Any("error", err))
		}
		return
	}
	q.warned.Store(false)
	by := map[string]store.ForwardStats{}
	for _, s := range stats {
		by[s.Destination] = s
	}
	now := q.now()
	for _, name := range q.names {
		s := by[name]
		age := 0.0
		if s.OldestPending != nil {
			age = max(0, now.Sub(*s.OldestPending).Seconds())
		}
		ch <- prometheus.MustNewConstMetric(q.pending, prometheus.GaugeValue, float64(s.Pending), name)
		ch <- prometheus.MustNewConstMetric(q.oldest, prometheus.GaugeValue, age, name)
		ch <- prometheus.MustNewConstMetric(q.failing, prometheus.GaugeValue, float64(s.Failing), name)
		ch <- prometheus.MustNewConstMetric(q.dead, prometheus.GaugeValue, float64(s.Dead), name)
	}
}

// runRelay runs r until ctx ends; a nil r does nothing.
func runRelay(ctx context.Context, r *relay.Relay) {
	if r != nil {
		_ = r.Run(ctx)
	}
}
