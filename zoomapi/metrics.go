package zoomapi

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Retry reasons, the values of the "reason" label of
// zoomrecon_zoomapi_retries_total.
const (
	reasonServerError = "server_error" // 5xx
	reasonNetwork     = "network"      // connection failure
	reasonTimeout     = "timeout"      // the per-attempt timeout fired
	reasonRateLimit   = "rate_limit"   // a QPS 429
	reasonToken       = "token"        // any 401: renewed the token once
)

// Rate-limit wait types, the values of the "type" label of
// zoomrecon_zoomapi_rate_limit_waits_total.
const (
	waitQPS    = "qps"    // Zoom answered a per-second 429 and we waited
	waitMinute = "minute" // Zoom answered a per-minute 429 (Resource-intensive) and we held that label
	waitClient = "client" // our own limiter or pacing delayed a request
)

type metrics struct {
	requests      *prometheus.CounterVec
	retries       *prometheus.CounterVec
	waits         *prometheus.CounterVec
	waitSeconds   prometheus.Counter
	tokens        prometheus.Counter
	tokenErrors   prometheus.Counter
	duration      *prometheus.HistogramVec
	quotaRejected *prometheus.CounterVec
	refusals      *prometheus.CounterVec
	usage         *usageCollector
}

// newMetrics builds the client's collectors and registers them with reg
// when it is not nil. A collector already registered (a second client on the
// same registry) is shared rather than being an error.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_zoomapi_requests_total",
			Help: "HTTP requests sent to Zoom's REST API (every attempt), by endpoint template and HTTP status (\"error\" when no response arrived).",
		}, []string{"endpoint", "status"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_zoomapi_retries_total",
			Help: "Retried requests by endpoint template and reason: server_error, network, timeout, rate_limit, token.",
		}, []string{"endpoint", "reason"}),
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_zoomapi_rate_limit_waits_total",
			Help: "Waits caused by rate limits: qps (Zoom answered a per-second 429), minute (Zoom answered a Resource-intensive endpoint's per-minute 429), client (our own limiter or Resource-intensive pacing delayed a request).",
		}, []string{"type"}),
		waitSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zoomrecon_zoomapi_rate_limit_wait_seconds_total",
			Help: "Seconds spent waiting on rate limits, both types together.",
		}),
		tokens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zoomrecon_zoomapi_token_refreshes_total",
			Help: "Access tokens obtained from Zoom's OAuth token endpoint.",
		}),
		tokenErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zoomrecon_zoomapi_token_errors_total",
			Help: "Failed attempts to obtain an access token.",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "zoomrecon_zoomapi_request_duration_seconds",
			Help: "Duration of one HTTP attempt to Zoom's REST API, up to the response headers, by endpoint template.",
			// From a fast Light call to the 30 s per-attempt timeout.
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30},
		}, []string{"endpoint"}),
		quotaRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_zoomapi_daily_quota_rejections_total",
			Help: "Calls refused because Zoom's daily quota for their rate-limit category was used up, by category (all when Zoom named none).",
		}, []string{"category"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_zoomapi_budget_refusals_total",
			Help: "Calls refused without a request because the daily budget of Heavy and Resource-intensive calls was spent, by label.",
		}, []string{"label"}),
		usage: newUsageCollector(),
	}
	if reg != nil {
		var errs []error
		m.requests = register(reg, m.requests, &errs)
		m.retries = register(reg, m.retries, &errs)
		m.waits = register(reg, m.waits, &errs)
		m.waitSeconds = register(reg, m.waitSeconds, &errs)
		m.tokens = register(reg, m.tokens, &errs)
		m.tokenErrors = register(reg, m.tokenErrors, &errs)
		m.duration = register(reg, m.duration, &errs)
		m.quotaRejected = register(reg, m.quotaRejected, &errs)
		m.refusals = register(reg, m.refusals, &errs)
		m.usage = register(reg, m.usage, &errs)
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
	}
	for _, ep := range endpoints() {
		for _, r := range []string{reasonServerError, reasonNetwork, reasonTimeout, reasonRateLimit, reasonToken} {
			m.retries.WithLabelValues(ep, r)
		}
	}
	for _, typ := range []string{waitQPS, waitMinute, waitClient} {
		m.waits.WithLabelValues(typ)
	}
	for _, l := range Labels() {
		if l.Budgeted() {
			m.refusals.WithLabelValues(string(l))
		}
	}
	return m, nil
}

// usageCollector exports the day's calls per label and the daily budget
// from the clients' counts at scrape time, so the gauges fall to zero at
// 00:00 UTC even when no call follows. Clients sharing a registry add up;
// the budget shown is the first client's.
type usageCollector struct {
	calls, budget *prometheus.Desc

	mu      sync.Mutex
	sources []*budget
}

func newUsageCollector() *usageCollector {
	return &usageCollector{
		calls: prometheus.NewDesc("zoomrecon_zoomapi_calls_today",
			"Requests sent to Zoom's REST API since 00:00 UTC (every attempt, as Zoom counts them), by rate-limit label; it restarts at 00:00 UTC.",
			[]string{"label"}, nil),
		budget: prometheus.NewDesc("zoomrecon_zoomapi_daily_budget",
			"The most Heavy and Resource-intensive requests the client sends per UTC day; 0 means no budget.",
			nil, nil),
	}
}

func (u *usageCollector) add(b *budget) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.sources = append(u.sources, b)
}

// Describe implements prometheus.Collector.
func (u *usageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- u.calls
	ch <- u.budget
}

// Collect implements prometheus.Collector.
func (u *usageCollector) Collect(ch chan<- prometheus.Metric) {
	u.mu.Lock()
	sources := append([]*budget(nil), u.sources...)
	u.mu.Unlock()
	var total [4]int
	for _, b := range sources {
		for i, n := range b.spent().counts() {
			total[i] += n
		}
	}
	for i, l := range Labels() {
		ch <- prometheus.MustNewConstMetric(u.calls, prometheus.GaugeValue, float64(total[i]), string(l))
	}
	limit := 0
	if len(sources) > 0 {
		limit = sources[0].getLimit()
	}
	ch <- prometheus.MustNewConstMetric(u.budget, prometheus.GaugeValue, float64(limit))
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C, errs *[]error) C {
	err := reg.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	*errs = append(*errs, err)
	return c
}
