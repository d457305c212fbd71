package relay

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/webhook"
)

// Headers a delivery carries besides Zoom's own.
const (
	// HeaderDeliveryID names the event, the same for every delivery of it
	// (retries, replays): the application deduplicates by it.
	HeaderDeliveryID = "X-Zoomrecon-Delivery-Id"
	// HeaderReconstructed is "true" on an event Zoom never sent, which
	// zoomrecon rebuilt from Zoom's API.
	HeaderReconstructed = "X-Zoomrecon-Reconstructed"
	// HeaderReplay is "true" on a delivery `zoomrecon replay` asked for.
	HeaderReplay = "X-Zoomrecon-Replay"
)

// Destination is one application events are delivered to.
type Destination struct {
	Name string
	URL  string
	// SecretToken signs deliveries as Zoom signs webhooks.
	SecretToken string
}

// Queue is the store's relay queue.
type Queue interface {
	ClaimForward(ctx context.Context, destination string, by int64, now time.Time, lease time.Duration, limit int) ([]store.ForwardDelivery, error)
	MarkForwardDelivered(ctx context.Context, ids []int64, at time.Time) error
	MarkForwardFailed(ctx context.Context, f store.ForwardFailure) error
	ReleaseForward(ctx context.Context, ids []int64, next time.Time) error
	ResolveForwardDead(ctx context.Context, destination string, at time.Time) error
	RaiseForwardAlarm(ctx context.Context, a store.ForwardAlarm) (bool, error)
	// SetState records where a destination's validation stands, for status.
	SetState(ctx context.Context, key, value string, now time.Time) error
}

// ValidationStateKey is the daemon_state key under which the relay records
// how destination's last URL validation went: "ok", or why it failed.
func ValidationStateKey(destination string) string { return "forward_validation:" + destination }

// Config tunes the relay. Zero values mean the defaults.
type Config struct {
	Destinations []Destination
	// RunID is the serve run holding the claims (store uptime ID).
	RunID int64
	// Timeout bounds one delivery. Default 10s.
	Timeout time.Duration
	// GiveUpAfter is how long a delivery is retried before it is dead.
	// Default 72h.
	GiveUpAfter time.Duration
	// Poll is how often each destination looks for due deliveries. Default 500ms.
	Poll time.Duration
	// Batch is how many deliveries a destination claims at once, each of a
	// different meeting, sent concurrently. Default 16.
	Batch int
	// MinBackoff and MaxBackoff bound the wait after a failed try, doubling
	// per try. Defaults 1s and 10m.
	MinBackoff, MaxBackoff time.Duration
	// HTTPClient sends the deliveries; its redirects are not followed.
	// Default: a client with Timeout.
	HTTPClient *http.Client
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Relay delivers every destination's queue.
type Relay struct {
	cfg     Config
	q       Queue
	client  *http.Client
	logger  *slog.Logger
	metrics *metrics

	mu sync.Mutex
	// mayAlarm says, per destination, whether a forward_dead alarm may be
	// open: true at start (an earlier run may have raised one) and after
	// this run raised one.
	mayAlarm map[string]bool
}

// alarmed reports whether destination may have an open alarm and sets it to
// set: alarmed(d, false) takes the answer and clears it.
func (r *Relay) alarmed(destination string, set bool) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	was, ok := r.mayAlarm[destination]
	r.mayAlarm[destination] = set
	return was || !ok
}

type metrics struct {
	delivered *prometheus.CounterVec
	failures  *prometheus.CounterVec
	validated *prometheus.GaugeVec
	latency   *prometheus.HistogramVec
}

// New returns the relay; it registers its metrics on reg.
func New(cfg Config, q Queue, logger *slog.Logger, reg prometheus.Registerer) *Relay {
	cfg.Timeout = cmp.Or(cfg.Timeout, 10*time.Second)
	cfg.GiveUpAfter = cmp.Or(cfg.GiveUpAfter, 72*time.Hour)
	cfg.Poll = cmp.Or(cfg.Poll, 500*time.Millisecond)
	cfg.Batch = cmp.Or(cfg.Batch, 16)
	cfg.MinBackoff = cmp.Or(cfg.MinBackoff, time.Second)
	cfg.MaxBackoff = max(cmp.Or(cfg.MaxBackoff, 10*time.Minute), cfg.MinBackoff)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	client := cfg.HTTPClient
	if client == nil {
		// A batch's deliveries go out at once: keep a connection for each
		// (the default keeps two per host, so most would open a new TCP
		// and TLS connection every time).
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = cfg.Batch
		client = &http.Client{Timeout: cfg.Timeout, Transport: tr}
	}
	// A redirect would turn the POST into a GET: it is the answer, as is.
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	m := &metrics{
		delivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_forward_delivered_total",
			Help: "Events a relay destination accepted (2xx), by destination.",
		}, []string{"destination"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "zoomrecon_forward_failures_total",
			Help: "Failed delivery tries, by destination and outcome: retry (5xx, 429, network) or dead (4xx, or retried past the give-up time).",
		}, []string{"destination", "outcome"}),
		validated: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "zoomrecon_forward_validated",
			Help: "1 once a relay destination answered Zoom's URL validation with its Secret Token; nothing is delivered before.",
		}, []string{"destination"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "zoomrecon_forward_delivery_seconds",
			Help:    "How long a relay destination took to answer a delivery.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12),
		}, []string{"destination"}),
	}
	reg.MustRegister(m.delivered, m.failures, m.validated, m.latency)
	for _, d := range cfg.Destinations {
		m.delivered.WithLabelValues(d.Name)
		m.failures.WithLabelValues(d.Name, "retry")
		m.failures.WithLabelValues(d.Name, "dead")
		m.validated.WithLabelValues(d.Name).Set(0)
	}
	return &Relay{cfg: cfg, q: q, client: &c, logger: logger.With("component", "relay"), metrics: m, mayAlarm: map[string]bool{}}
}

// Run validates and then delivers to every destination until ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, d := range r.cfg.Destinations {
		wg.Go(func() { r.runDestination(ctx, d) })
	}
	wg.Wait()
	return nil
}

// runDestination validates d, then claims and delivers its due deliveries
// every Poll.
func (r *Relay) runDestination(ctx context.Context, d Destination) {
	logger := r.logger.With("destination", d.Name)
	failingSince := time.Time{}
	for wait := r.cfg.MinBackoff; ; wait = min(2*wait, r.cfg.MaxBackoff) {
		err := r.Validate(ctx, d)
		if ctx.Err() != nil {
			return
		}
		state := "ok"
		if err != nil {
			state = err.Error()
		}
		if serr := r.q.SetState(ctx, ValidationStateKey(d.Name), state, r.cfg.Now()); serr != nil && ctx.Err() == nil {
			logger.WarnContext(ctx, "could not record the destination's validation for status", slog.Any("error", serr))
		}
		if err == nil {
			break
		}
		if failingSince.IsZero() {
			failingSince = r.cfg.Now()
		}
		// Nothing is delivered meanwhile, so nothing dies and no dead
		// letter alerts: the validation itself does, at once for another
		// secret (a person must fix it), after a while for the rest.
		if errors.Is(err, ErrWrongSecret) || r.cfg.Now().Sub(failingSince) >= min(r.cfg.GiveUpAfter, validationAlarmAfter) {
			r.raiseValidation(ctx, d, err, logger)
		}
		level := slog.LevelWarn
		if errors.Is(err, ErrWrongSecret) {
			level = slog.LevelError
		}
		logger.Log(ctx, level, "relay destination not validated; nothing is delivered to it until it is", slog.Any("error", err), slog.Duration("retry_in", wait))
		if !sleep(ctx, wait) {
			return
		}
	}
	r.metrics.validated.WithLabelValues(d.Name).Set(1)
	logger.InfoContext(ctx, "relay destination validated; delivering")
	// It answered as Zoom's endpoint must: an alarm that it could not be
	// validated, or that it refused, is over, even with nothing to deliver.
	r.resolveAlarm(ctx, d, logger)
	t := time.NewTicker(r.cfg.Poll)
	defer t.Stop()
	recheck := r.cfg.Now()
	for {
		for r.deliverDue(ctx, d, logger) {
			// Delivering a meeting's delivery makes its next one due.
		}
		// Another replica may have raised an alarm since (and died): look
		// again now and then whether one is open, for the next delivery
		// to resolve.
		if now := r.cfg.Now(); now.Sub(recheck) >= alarmRecheck {
			recheck = now
			r.alarmed(d.Name, true)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// alarmRecheck is how often a destination's deliveries look whether a
// forward_dead alarm is open that this run did not raise.
const alarmRecheck = 5 * time.Minute

// resolveAlarm resolves d's forward_dead alarm, if one may be open.
func (r *Relay) resolveAlarm(ctx context.Context, d Destination, logger *slog.Logger) {
	if !r.alarmed(d.Name, false) {
		return
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.q.ResolveForwardDead(mctx, d.Name, r.cfg.Now()); err != nil {
		logger.WarnContext(ctx, "could not resolve the destination's alarm", slog.Any("error", err))
		r.alarmed(d.Name, true)
	}
}

// validationAlarmAfter is how long a destination may fail its URL
// validation for reasons other than its secret before that alarms.
const validationAlarmAfter = 15 * time.Minute

// raiseValidation raises forward_dead for a destination that cannot be
// validated, unless one about it is open.
func (r *Relay) raiseValidation(ctx context.Context, d Destination, err error, logger *slog.Logger) {
	now := r.cfg.Now()
	detail := "not validated, so nothing is delivered to it: " + clip(err.Error(), 300)
	payload, _ := json.Marshal(struct {
		Kind       store.Kind `json:"kind"`
		Detail     string     `json:"detail"`
		DetectedAt time.Time  `json:"detected_at"`
	}{store.KindForwardDead, "destination " + d.Name + ": " + detail, now.UTC()})
	r.alarmed(d.Name, true)
	if _, rerr := r.q.RaiseForwardAlarm(ctx, store.ForwardAlarm{Destination: d.Name, Detail: detail, At: now,
		Alert: &store.OutboxMessage{Kind: store.KindForwardDead, Payload: string(payload), CreatedAt: now}}); rerr != nil && ctx.Err() == nil {
		logger.ErrorContext(ctx, "could not raise the forward_dead alert", slog.Any("error", rerr))
	}
}

// deliverDue claims a batch of d's due deliveries and sends them, each of a
// different meeting, at once. It reports whether it claimed any: then the
// next of their meetings may be due at once.
func (r *Relay) deliverDue(ctx context.Context, d Destination, logger *slog.Logger) bool {
	lease := 2*r.cfg.Timeout + time.Minute
	ds, err := r.q.ClaimForward(ctx, d.Name, r.cfg.RunID, r.cfg.Now(), lease, r.cfg.Batch)
	if err != nil {
		if ctx.Err() == nil {
			logger.WarnContext(ctx, "could not claim deliveries; trying again", slog.Any("error", err))
		}
		return false
	}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		delivered []int64
	)
	for _, fd := range ds {
		wg.Go(func() {
			if r.deliverOne(ctx, d, fd, logger) {
				mu.Lock()
				delivered = append(delivered, fd.ID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(delivered) > 0 {
		now := r.cfg.Now()
		// The lease covers a failed write: the deliveries are claimed until
		// it ends, then sent again, which the delivery ID makes harmless.
		mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := r.q.MarkForwardDelivered(mctx, delivered, now); err != nil {
			logger.ErrorContext(ctx, "could not record deliveries; they will be sent again", slog.Any("error", err))
		} else {
			r.metrics.delivered.WithLabelValues(d.Name).Add(float64(len(delivered)))
			// Only when every delivery of the batch was accepted: one that
			// died beside them has just alarmed.
			if len(delivered) == len(ds) {
				r.resolveAlarm(ctx, d, logger)
			}
		}
	}
	return len(ds) > 0
}

// deliverOne sends fd and records a failure; it reports success, which the
// caller records with the batch's.
func (r *Relay) deliverOne(ctx context.Context, d Destination, fd store.ForwardDelivery, logger *slog.Logger) bool {
	start := r.cfg.Now()
	res := r.send(ctx, d, fd)
	r.metrics.latency.WithLabelValues(d.Name).Observe(r.cfg.Now().Sub(start).Seconds())
	if res.err == nil {
		return true
	}
	if ctx.Err() != nil {
		// Shutdown interrupted it: not a try.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = r.q.ReleaseForward(rctx, []int64{fd.ID}, r.cfg.Now())
		return false
	}
	now := r.cfg.Now()
	f := store.ForwardFailure{ID: fd.ID, Err: res.err.Error(), AnswerStatus: res.status, AnswerBody: res.body}
	switch {
	case !res.retry:
		f.Dead = true
	case now.Sub(fd.CreatedAt) >= r.cfg.GiveUpAfter:
		f.Dead = true
		f.Err = "gave up after " + r.cfg.GiveUpAfter.String() + ": " + f.Err
	default:
		f.Next = now.Add(max(res.retryAfter, r.backoff(fd.Tries)))
	}
	if f.Dead {
		f.Alarm = deadAlarm(d, fd, f.Err, now)
		r.alarmed(d.Name, true)
	}
	mctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := r.q.MarkForwardFailed(mctx, f); err != nil {
		logger.ErrorContext(ctx, "could not record a failed delivery; it is tried again when its lease ends", slog.Any("error", err))
		return false
	}
	if !f.Dead {
		r.metrics.failures.WithLabelValues(d.Name, "retry").Inc()
		logger.WarnContext(ctx, "delivery failed; retrying", "delivery_id", fd.DeliveryID(), "event", fd.EventType,
			slog.Any("error", res.err), slog.Time("next", f.Next))
		return false
	}
	r.metrics.failures.WithLabelValues(d.Name, "dead").Inc()
	logger.ErrorContext(ctx, "delivery dead: the application did not get this event; zoomrecon replay can send it again",
		"delivery_id", fd.DeliveryID(), "event", fd.EventType, slog.String("error", clip(f.Err, 200)))
	return false
}

// deadAlarm is the forward_dead alarm a dead delivery raises, unless one
// about d is open: in the transaction that marks it dead.
func deadAlarm(d Destination, fd store.ForwardDelivery, why string, now time.Time) *store.ForwardAlarm {
	detail := strings.Join(strings.Fields(fmt.Sprintf("%s %s (delivery %s) is dead: %s", fd.EventType, meetingText(fd.MeetingUUID), fd.DeliveryID(), why)), " ")
	payload, _ := json.Marshal(struct {
		Kind       store.Kind `json:"kind"`
		Detail     string     `json:"detail"`
		DetectedAt time.Time  `json:"detected_at"`
	}{store.KindForwardDead, "destination " + d.Name + ": " + detail, now.UTC()})
	return &store.ForwardAlarm{Destination: d.Name, Detail: detail, At: now,
		Alert: &store.OutboxMessage{Kind: store.KindForwardDead, Payload: string(payload), CreatedAt: now}}
}

// clip keeps a log line short: an application's answer may run to 2 KiB,
// which the dead letter keeps whole.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func meetingText(uuid string) string {
	if uuid == "" {
		return ""
	}
	return "of meeting " + uuid
}

// result is how one try went.
type result struct {
	err        error // nil when delivered
	retry      bool  // 5xx, 429 or a network error: try again
	retryAfter time.Duration
	status     int
	body       string // the answer's start, kept with a dead letter
}

// maxAnswer is how much of a refusal's body is kept.
const maxAnswer = 2048

// send posts fd to d as Zoom posts a webhook.
func (r *Relay) send(ctx context.Context, d Destination, fd store.ForwardDelivery) result {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, strings.NewReader(string(fd.Body)))
	if err != nil {
		return result{err: fmt.Errorf("build request: %w", err)}
	}
	ts := strconv.FormatInt(r.cfg.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "zoomrecon-relay")
	req.Header.Set("x-zm-request-timestamp", ts)
	req.Header.Set("x-zm-signature", webhook.Sign(d.SecretToken, ts, fd.Body))
	req.Header.Set(HeaderDeliveryID, fd.DeliveryID())
	if fd.Reconstructed {
		req.Header.Set(HeaderReconstructed, "true")
	}
	if fd.Replay {
		req.Header.Set(HeaderReplay, "true")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return result{err: fmt.Errorf("post to %s: %w", d.Name, redactURL(err)), retry: true}
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return result{status: code}
	case code == http.StatusTooManyRequests || code >= 500:
		return result{err: fmt.Errorf("HTTP %d", code), retry: true, status: code, body: string(answer),
			retryAfter: retryAfter(resp.Header.Get("Retry-After"), r.cfg.Now())}
	default:
		return result{err: fmt.Errorf("HTTP %d: %s", code, strings.TrimSpace(string(answer))), status: code, body: string(answer)}
	}
}

// retryAfter reads Retry-After, in seconds or as an HTTP date; zero when
// absent or unreadable. It is capped at a day.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s > 0 {
		return min(time.Duration(s)*time.Second, 24*time.Hour)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(t.Sub(now), 0), 24*time.Hour)
	}
	return 0
}

// backoff is the wait after tries tries: MinBackoff doubled per try, capped,
// jittered down by up to a fifth.
func (r *Relay) backoff(tries int) time.Duration {
	d := r.cfg.MinBackoff
	for range min(max(tries-1, 0), 30) {
		d *= 2
		if d >= r.cfg.MaxBackoff {
			d = r.cfg.MaxBackoff
			break
		}
	}
	return d - rand.N(d/5+1)
}

// redactURL keeps a destination URL, whose query may carry a token, out of
// an error: net/http's *url.Error repeats it.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
