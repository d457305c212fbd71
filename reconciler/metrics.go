package reconciler

import (
	"context"
	"errors"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/zoomrecon/zoomrecon/store"
)

// resultLocked labels a pass that did not run: another replica held the
// reconcile lock.
const resultLocked = "locked"

type metrics struct {
	passes        *prometheus.CounterVec
	duration      prometheus.Histogram
	discrepancies *prometheus.CounterVec
	apiCalls      prometheus.Gauge
	checked       prometheus.Gauge
	lastSuccess   prometheus.Gauge
	path          *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		passes: f.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_reconcile_passes_total",
			Help: "Reconcile passes by result: ok, partial (some meetings could not be checked), failed, locked (another replica was reconciling).",
		}, []string{"result"}),
		duration: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "zoomrecon_reconcile_pass_duration_seconds",
			Help:    "How long a reconcile pass took.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2.5, 10),
		}),
		discrepancies: f.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_reconcile_discrepancies_total",
			Help: "New discrepancies found, by kind.",
		}, []string{"kind"}),
		apiCalls: f.NewGauge(prometheus.GaugeOpts{
			Name: "zoomrecon_reconcile_last_pass_api_calls",
			Help: "Zoom API requests the last pass made.",
		}),
		checked: f.NewGauge(prometheus.GaugeOpts{
			Name: "zoomrecon_reconcile_last_pass_meetings_checked",
			Help: "Meetings the last pass checked.",
		}),
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{
			Name: "zoomrecon_reconcile_last_success_timestamp_seconds",
			Help: "Unix time at which the last scheduled pass that checked every meeting finished.",
		}),
		path: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zoomrecon_reconcile_listing_path",
			Help: "1 for the listing in use: dashboard (Business plans) or report (per-user report API).",
		}, []string{"path"}),
	}
	for _, k := range store.Kinds() {
		m.discrepancies.WithLabelValues(string(k))
	}
	// Every result exists from the start, so an alert on the rate of
	// failed passes has a series to compare against.
	for _, r := range []string{string(store.RunOK), string(store.RunPartial), string(store.RunFailed), resultLocked} {
		m.passes.WithLabelValues(r)
	}
	return m
}

func (m *metrics) observe(res Result, scheduled bool, err error) {
	switch {
	case errors.Is(err, ErrLocked):
		m.passes.WithLabelValues(resultLocked).Inc()
		return
	case errors.Is(err, context.Canceled):
		return // stopped by shutdown: neither a failure nor a pass
	}
	m.passes.WithLabelValues(string(res.Outcome)).Inc()
	// As store.LastSuccess: a pass over a chosen window (a WebSocket gap's)
	// says nothing of the schedule's.
	if res.Outcome == store.RunOK && !res.DryRun && scheduled {
		m.lastSuccess.SetToCurrentTime()
	}
	m.duration.Observe(res.Duration.Seconds())
	m.apiCalls.Set(float64(res.APICalls))
	m.checked.Set(float64(res.MeetingsChecked))
	for _, p := range []string{PathDashboard, PathReport} {
		v := 0.0
		if p == res.Path {
			v = 1
		}
		m.path.WithLabelValues(p).Set(v)
	}
}
