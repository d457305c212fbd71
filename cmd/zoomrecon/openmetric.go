package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/store"
)

// openDiscrepancies exports the unresolved discrepancies by kind, read from
// the database at scrape time: a counter of those found cannot say how many
// are still open, and the dashboard and alerts want exactly that.
type openDiscrepancies struct {
	st     *store.Store
	logger *slog.Logger
	desc   *prometheus.Desc
	warned atomic.Bool // a failing database is logged once, not per scrape
}

func newOpenDiscrepancies(st *store.Store, logger *slog.Logger) *openDiscrepancies {
	return &openDiscrepancies{st: st, logger: logger, desc: prometheus.NewDesc("zoomrecon_open_discrepancies",
		"Discrepancies not resolved yet (acknowledged and muted ones included), by kind; read from the database at scrape time.",
		[]string{"kind"}, nil)}
}

// Describe implements prometheus.Collector.
func (o *openDiscrepancies) Describe(ch chan<- *prometheus.Desc) { ch <- o.desc }

// Collect implements prometheus.Collector. When the database does not answer
// within 2 s the series are left out, so a query sees a gap, not a false 0.
func (o *openDiscrepancies) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	open, err := o.st.OpenDiscrepancies(ctx)
	if err != nil {
		if !o.warned.Swap(true) {
			o.logger.Warn("could not count open discrepancies for /metrics", slog.Any("error", err))
		}
		return
	}
	o.warned.Store(false)
	counts := map[store.Kind]int{}
	for _, k := range store.Kinds() {
		counts[k] = 0
	}
	for _, d := range open {
		counts[d.Kind]++
	}
	for k, n := range counts {
		ch <- prometheus.MustNewConstMetric(o.desc, prometheus.GaugeValue, float64(n), string(k))
	}
}
