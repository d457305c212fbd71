package webhook

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

type metrics struct {
	requests       *prometheus.CounterVec
	skewed         *prometheus.CounterVec
	lastValidation prometheus.Gauge
	events         *prometheus.CounterVec
	unapplied      prometheus.Counter
	lag            prometheus.Histogram
	lastEvent      prometheus.Gauge
	batchSize      prometheus.Histogram
	commitTime     prometheus.Histogram
	commitFails    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	f := promauto.With(reg)
	m := &metrics{
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_webhook_requests_total",
			Help: "Webhook requests by outcome: accepted, duplicate, url_validation, bad_signature, stale_timestamp, bad_request, too_large, store_error.",
		}, []string{"outcome"}),
		skewed: f.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_webhook_skewed_timestamps_total",
			Help: "Authentic deliveries accepted whose x-zm-request-timestamp was more than 5 minutes in the past or future: retries Zoom signed with their first attempt's timestamp, or a clock off.",
		}, []string{"direction"}),
		lastValidation: f.NewGauge(prometheus.GaugeOpts{
			Name: "zoomrecon_webhook_last_url_validation_timestamp_seconds",
			Help: "Unix time at which Zoom's URL validation was last answered; Zoom revalidates every 72 hours.",
		}),
		events: f.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_webhook_events_total",
			Help: "New events stored, by Zoom event type (other for types zoomrecon does not track).",
		}, []string{"event_type"}),
		unapplied: f.NewCounter(prometheus.CounterOpts{
			Name: "zoomrecon_webhook_events_unapplied_total",
			Help: "Events stored raw whose payload lacked what meeting or participant state needs.",
		}),
		lag: f.NewHistogram(prometheus.HistogramOpts{
			Name: "zoomrecon_webhook_delivery_lag_seconds",
			Help: "Time from Zoom's event_ts to our receipt. Zoom retries at about +5, +25 and +85 minutes.",
			// From a healthy few hundred milliseconds to Zoom's last retry.
			Buckets: []float64{0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 1800, 3600, 5400, 7200},
		}),
		lastEvent: f.NewGauge(prometheus.GaugeOpts{
			Name: "zoomrecon_webhook_last_event_timestamp_seconds",
			Help: "Unix time at which the most recent new event was accepted.",
		}),
		batchSize: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "zoomrecon_webhook_commit_batch_size",
			Help:    "Events committed together in one transaction (group commit).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128},
		}),
		commitTime: f.NewHistogram(prometheus.HistogramOpts{
			Name:    "zoomrecon_webhook_commit_duration_seconds",
			Help:    "Time to commit one batch of events.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		commitFails: f.NewCounter(prometheus.CounterOpts{
			Name: "zoomrecon_webhook_commit_errors_total",
			Help: "Batches the store failed to commit.",
		}),
	}
	for _, o := range []string{OutcomeAccepted, OutcomeDuplicate, OutcomeURLValidation, OutcomeBadSignature,
		OutcomeStaleTimestamp, OutcomeBadRequest, OutcomeTooLarge, OutcomeStoreError} {
		m.requests.WithLabelValues(o)
	}
	m.skewed.WithLabelValues("past")
	m.skewed.WithLabelValues("future")
	return m
}

// accepted records a new event.
func (m *metrics) accepted(eventType string, receivedAt time.Time, eventTS *time.Time) {
	m.requests.WithLabelValues(OutcomeAccepted).Inc()
	label := "other"
	if _, ok := trackedTypeOf(eventType); ok || eventType == eventRecordingCompleted {
		label = eventType
	}
	m.events.WithLabelValues(label).Inc()
	if eventTS != nil {
		m.lag.Observe(max(receivedAt.Sub(*eventTS).Seconds(), 0))
	}
	m.lastEvent.Set(float64(receivedAt.UnixNano()) / 1e9)
}

func (m *metrics) observeCommit(size int, took time.Duration, err error) {
	m.batchSize.Observe(float64(size))
	m.commitTime.Observe(took.Seconds())
	if err != nil {
		m.commitFails.Inc()
	}
}
