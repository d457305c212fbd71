package alerts

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/zoomrecon/zoomrecon/store"
)

type metrics struct {
	queued      *prometheus.CounterVec
	sent        *prometheus.CounterVec
	failed      *prometheus.CounterVec
	requests    *prometheus.CounterVec
	announced   *prometheus.CounterVec
	muted       *prometheus.CounterVec
	depth       *prometheus.GaugeVec
	failing     prometheus.Gauge
	oldest      prometheus.Gauge
	lastSuccess prometheus.Gauge
	// lastSuccessAt is the value lastSuccess was last set to, which a Gauge
	// does not give back.
	lastSuccessAt float64
}

func newMetrics(reg prometheus.Registerer, mode string) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		queued: f.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_alerts_queued_total",
			Help: "Alerts the sender took from the outbox and tried to deliver for the first time, by kind.",
		}, []string{"kind"}),
		sent: f.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_alerts_sent_total",
			Help: "Alerts Slack accepted (or, without Slack, logged), by kind; an alert in a digest counts once.",
		}, []string{"kind"}),
		failed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_alerts_failed_total",
			Help: "Failed deliveries of alerts and resolution announcements, by reason: rate_limited, unavailable (retried), config (Slack refused the token, webhook or channel; retried), refused (the message; given up).",
		}, []string{"reason"}),
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_alerts_slack_requests_total",
			Help: "Requests to Slack by method (webhook, chat.postMessage, chat.update, log) and result (ok or a failure reason).",
		}, []string{"method", "result"}),
		announced: f.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_alerts_resolutions_announced_total",
			Help: "Resolved discrepancies whose alert was followed up, by how: edited (the message), follow_up (a new message), none (not worth one).",
		}, []string{"how"}),
		muted: f.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_alerts_muted_total",
			Help: "Alerts a mute (zoomrecon mute) kept from Slack, by kind; their discrepancies stay recorded.",
		}, []string{"kind"}),
		depth: f.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zoomrecon_alerts_outbox_depth",
			Help: "Alerts in the outbox not delivered, by status: pending (to be tried) or dead (refused by Slack for good).",
		}, []string{"status"}),
		failing: f.NewGauge(prometheus.GaugeOpts{
			Name: "zoomrecon_alerts_failing",
			Help: "Pending alerts whose last delivery attempt failed; above zero while Slack is failing.",
		}),
		oldest: f.NewGauge(prometheus.GaugeOpts{
			Name: "zoomrecon_alerts_oldest_pending_age_seconds",
			Help: "Age of the oldest alert waiting for delivery; 0 when none is waiting.",
		}),
		lastSuccess: f.NewGauge(prometheus.GaugeOpts{
			Name: "zoomrecon_alerts_last_success_timestamp_seconds",
			Help: "Unix time at which Slack last accepted a request; at start, when it last accepted an alert, from the database.",
		}),
	}
	f.NewGaugeVec(prometheus.GaugeOpts{
		Name: "zoomrecon_alerts_mode",
		Help: "1 for how alerts are delivered: webhook, bot, or log (Slack not configured).",
	}, []string{"mode"}).WithLabelValues(mode).Set(1)
	for _, k := range store.Kinds() {
		m.queued.WithLabelValues(string(k))
		m.sent.WithLabelValues(string(k))
	}
	for _, r := range []string{"rate_limited", "unavailable", "config", "refused"} {
		m.failed.WithLabelValues(r)
	}
	return m
}

func (m *metrics) observe(st store.AlertStatus, now time.Time) {
	m.depth.WithLabelValues(string(store.OutboxPending)).Set(float64(st.Pending))
	m.depth.WithLabelValues(string(store.OutboxDead)).Set(float64(st.Dead))
	m.failing.Set(float64(st.Failing))
	age := 0.0
	if st.OldestPending != nil {
		age = max(now.Sub(*st.OldestPending).Seconds(), 0)
	}
	m.oldest.Set(age)
	// The database's last delivery carries the gauge over restarts; a
	// request Slack accepted since (an edit) may be later, and stays.
	if st.LastSentAt != nil {
		if at := float64(st.LastSentAt.Unix()); at > m.lastSuccessAt {
			m.lastSuccessAt = at
			m.lastSuccess.Set(at)
		}
	}
}

// succeeded records that Slack accepted a request at now.
func (m *metrics) succeeded(now time.Time) {
	m.lastSuccessAt = max(m.lastSuccessAt, float64(now.Unix()))
	m.lastSuccess.Set(m.lastSuccessAt)
}
