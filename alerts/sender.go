package alerts

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/slack-go/slack"

	"github.com/zoomrecon/zoomrecon/store"
)

// Store is what the sender reads and writes; *store.Store implements it.
type Store interface {
	ClaimAlerts(ctx context.Context, by int64, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error)
	MarkAlertsSent(ctx context.Context, d store.AlertDelivery) error
	MarkAlertsFailed(ctx context.Context, ids []int64, next time.Time, errText string, dead bool) error
	ReleaseAlerts(ctx context.Context, ids []int64, next time.Time) error
	AlertDetails(ctx context.Context, ids []int64) (map[int64]store.AlertDetail, error)
	OpenCauseAlerts(ctx context.Context) ([]store.CauseAlert, error)
	AlertsInMessage(ctx context.Context, channel, ts string) ([]store.OutboxMessage, error)
	ClaimAnnouncements(ctx context.Context, by int64, now, since time.Time, lease time.Duration, limit int) ([]store.Announcement, error)
	MarkAnnounced(ctx context.Context, outboxIDs []int64, at time.Time) error
	MarkAnnouncementsFailed(ctx context.Context, outboxIDs []int64, next time.Time, errText string, dead bool) error
	ReleaseAnnouncements(ctx context.Context, outboxIDs []int64, next time.Time) error
	AlertStatus(ctx context.Context) (store.AlertStatus, error)
	MutesFor(ctx context.Context, ids []int64, now time.Time) (map[int64]store.Mute, error)
	MarkAlertsMuted(ctx context.Context, ids []int64, muteID int64, at time.Time) error
	ClaimEdits(ctx context.Context, by int64, now time.Time, lease time.Duration, limit int) ([]store.OutboxMessage, error)
	MarkEdited(ctx context.Context, outboxIDs []int64, at time.Time) error
	MarkEditsFailed(ctx context.Context, outboxIDs []int64, next time.Time, errText string, dead bool) error
	ReleaseEdits(ctx context.Context, outboxIDs []int64, next time.Time) error
}

// Config tunes a Sender. Zero values take the defaults. Set WebhookURL, or
// BotToken with Channel, or neither to only log alerts.
type Config struct {
	// WebhookURL is a Slack incoming-webhook URL. It is a secret: it never
	// appears in logs, errors or metrics.
	WebhookURL string
	// BotToken is a bot token (xoxb-...) with the chat:write scope, used with
	// Channel. A secret too.
	BotToken string
	// Channel is where the bot posts: "#zoom-alerts" or "C0123456789". The
	// bot must be a member.
	Channel string
	// APIURL is the Web API root. Default "https://slack.com/api/".
	APIURL string
	// HTTPClient makes the requests to Slack. Default: http.DefaultTransport
	// with no client timeout (RequestTimeout bounds each request).
	HTTPClient *http.Client
	// RequestTimeout bounds one request to Slack. Default 10s.
	RequestTimeout time.Duration
	// PollInterval is the time between passes over the outbox, ±10 % jitter.
	// Default 5s.
	PollInterval time.Duration
	// MinInterval is the least time between two requests to Slack: Slack
	// allows about one message a second per channel. Default 1s.
	MinInterval time.Duration
	// BackoffBase is the wait after a first failed try; it doubles with each
	// try, with jitter, up to BackoffMax. Default 5s.
	BackoffBase time.Duration
	// BackoffMax caps the wait between tries. Default 10m.
	BackoffMax time.Duration
	// Lease is how long a claimed alert stays invisible to other senders; a
	// pass must finish well within it. Default 5m.
	Lease time.Duration
	// RunID is the serve run (store.StartUptime) this sender works for: the
	// alerts it claims are recorded as that run's, so once the run is marked
	// ended another sender takes them up without waiting out the lease.
	// 0 (no run) leaves them to the lease alone.
	RunID int64
	// BatchSize is how many alerts a pass claims. Default 100.
	BatchSize int
	// DigestThreshold: when a pass finds more than this many alerts of one
	// kind due, they go out as one digest. Default 5.
	DigestThreshold int
	// DigestLines caps the alerts a digest or a silence lists one by one;
	// the rest are counted. Default 10.
	DigestLines int
	// AnnounceWithin is how long after a discrepancy resolved its resolution
	// is still announced. Default 168h (7 days).
	AnnounceWithin time.Duration
	// NowFunc is the clock for what is written to the database and for
	// Slack's Retry-After. Default time.Now.
	NowFunc func() time.Time
	// Logger receives delivery failures and, without Slack, the alerts.
	// Default: discard.
	Logger *slog.Logger
	// Registerer receives the sender's metrics. Default: none.
	Registerer prometheus.Registerer
	// AfterPassFunc, if set, is called after every pass Run makes; tests
	// wait on it.
	AfterPassFunc func(PassResult, error)
}

// Sender delivers alerts from the outbox to Slack. It is safe for concurrent
// use; passes run one at a time.
type Sender struct {
	cfg      Config
	st       Store
	mode     string
	poster   poster
	redactor redactor
	logger   *slog.Logger
	metrics  *metrics

	mu sync.Mutex // one pass at a time; guards the fields below
	// pausedUntil is when Slack's last Retry-After ends.
	pausedUntil time.Time
	// lastCall is when the last request to Slack was made, for pacing.
	lastCall time.Time
	// lastFailure is the text of the last failure logged, so a failure that
	// repeats is logged once.
	lastFailure string
}

// PassResult is what one pass did.
type PassResult struct {
	// Claimed counts the alerts taken from the outbox.
	Claimed int
	// Sent counts the alerts Slack accepted (a digest counts each alert).
	Sent int
	// Messages counts the Slack messages posted or edited.
	Messages int
	// Failed counts the alerts and announcements whose delivery failed.
	Failed int
	// Announced counts the resolutions announced.
	Announced int
	// Muted counts the alerts a mute kept from Slack.
	Muted int
	// Edited counts the alerts whose message was edited to show an
	// acknowledgement or a mute.
	Edited int
	// Paused reports that Slack's Retry-After kept the pass from calling it.
	Paused bool
	// More reports that the outbox held more due alerts than one pass takes.
	More bool
	// LastError is the last delivery failure, free of secrets.
	LastError string
}

// New returns a Sender that delivers st's outbox as cfg says. It fails only
// when cfg is contradictory.
func New(cfg Config, st Store) (*Sender, error) {
	switch {
	case cfg.WebhookURL != "" && cfg.BotToken != "":
		return nil, errors.New("alerts: set either a webhook URL or a bot token, not both")
	case cfg.BotToken != "" && cfg.Channel == "":
		return nil, errors.New("alerts: a bot token needs a channel")
	}
	cfg.APIURL = strings.TrimSuffix(cmp.Or(cfg.APIURL, slack.APIURL), "/") + "/"
	cfg.RequestTimeout = cmp.Or(cfg.RequestTimeout, 10*time.Second)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, 5*time.Second)
	cfg.MinInterval = cmp.Or(cfg.MinInterval, time.Second)
	cfg.BackoffBase = cmp.Or(cfg.BackoffBase, 5*time.Second)
	cfg.BackoffMax = max(cmp.Or(cfg.BackoffMax, 10*time.Minute), cfg.BackoffBase)
	cfg.Lease = cmp.Or(cfg.Lease, 5*time.Minute)
	cfg.BatchSize = cmp.Or(cfg.BatchSize, 100)
	cfg.DigestThreshold = cmp.Or(cfg.DigestThreshold, 5)
	cfg.DigestLines = cmp.Or(cfg.DigestLines, 10)
	cfg.AnnounceWithin = cmp.Or(cfg.AnnounceWithin, 7*24*time.Hour)
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "alerts")

	client := &http.Client{}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		client = &c
	}
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	client.Transport = codeTransport{base: base}

	s := &Sender{
		cfg: cfg, st: st, logger: logger,
		redactor: newRedactor(cfg.WebhookURL, cfg.BotToken),
	}
	switch {
	case cfg.WebhookURL != "":
		s.mode, s.poster = ModeWebhook, &webhookPoster{url: cfg.WebhookURL, client: client}
	case cfg.BotToken != "":
		api := slack.New(cfg.BotToken, slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(client))
		s.mode, s.poster = ModeBot, &botPoster{api: api, channel: cfg.Channel}
	default:
		s.mode, s.poster = ModeLog, &logPoster{logger: logger}
	}
	s.metrics = newMetrics(cfg.Registerer, s.mode)
	return s, nil
}

// SeedMetrics sets the gauges from the database, so that a scrape before the
// first pass, and the first after a restart, sees when Slack last accepted an
// alert rather than never.
func (s *Sender) SeedMetrics(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.observe(ctx); err != nil {
		return fmt.Errorf("seed alert metrics: %w", err)
	}
	return nil
}

// Mode reports how alerts are delivered: ModeWebhook, ModeBot or ModeLog.
func (s *Sender) Mode() string { return s.mode }

// Run logs how alerts are delivered, then makes a pass after a short random
// stagger and every PollInterval (with jitter) after that, sooner while the
// outbox holds more than a pass takes and later while Slack asks us to wait,
// until ctx ends. A failed pass is logged and the loop goes on.
func (s *Sender) Run(ctx context.Context) error {
	switch s.mode {
	case ModeWebhook:
		s.logger.InfoContext(ctx, "alerts go to Slack through an incoming webhook; resolutions of urgent alerts are posted as follow-ups")
	case ModeBot:
		s.logger.InfoContext(ctx, "alerts go to Slack with a bot token; messages are edited when their discrepancy resolves",
			"channel", s.cfg.Channel)
	default:
		// Why this is a problem, and what to set, is the caller's to say: it
		// knows the configuration (serve warns at start).
		s.logger.InfoContext(ctx, "alerts go to the log only")
	}
	timer := time.NewTimer(jitter(min(s.cfg.PollInterval/10, time.Second)))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		res, err := s.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			s.mu.Lock()
			s.logFailure(ctx, "alert pass failed", err.Error())
			s.mu.Unlock()
		}
		if s.cfg.AfterPassFunc != nil {
			s.cfg.AfterPassFunc(res, err)
		}
		if ctx.Err() != nil {
			return nil
		}
		wait := s.cfg.PollInterval - s.cfg.PollInterval/10 + jitter(s.cfg.PollInterval/5)
		if res.More && err == nil && res.Failed == 0 {
			wait = s.cfg.MinInterval
		}
		if paused := s.pausedFor(); paused > wait {
			wait = paused
		}
		timer.Reset(wait)
	}
}

// Pass delivers the alerts due now and announces the resolutions due now.
// Slack's failures are recorded on the alerts, logged and counted, not
// returned: an error means the database failed. When ctx ends mid-pass, what
// was claimed and not sent is released and Pass returns nil. `serve` calls it
// once more, on a fresh bounded ctx, at shutdown.
func (s *Sender) Pass(ctx context.Context) (PassResult, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res PassResult
	err := s.deliver(ctx, &res)
	if err == nil {
		err = s.announce(ctx, &res)
	}
	if err == nil {
		err = s.edit(ctx, &res)
	}
	if oerr := s.observe(ctx); err == nil {
		err = oerr
	}
	if err != nil && ctx.Err() != nil {
		err = nil // shutting down: what was claimed was released
	}
	return res, err
}

// pausedFor is how long Slack's last Retry-After still runs.
func (s *Sender) pausedFor() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pausedUntil.Sub(s.cfg.NowFunc())
}

// observe refreshes the gauges that describe the outbox. The caller holds
// s.mu.
func (s *Sender) observe(ctx context.Context) error {
	st, err := s.st.AlertStatus(ctx)
	if err != nil {
		return err
	}
	s.metrics.observe(st, s.cfg.NowFunc())
	return nil
}

// pace waits until MinInterval has passed since the last request to Slack.
// The log needs no pacing.
func (s *Sender) pace(ctx context.Context) error {
	if s.mode == ModeLog {
		return nil
	}
	if wait := time.Until(s.lastCall.Add(s.cfg.MinInterval)); wait > 0 {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// call makes one request to Slack with its own deadline, paced, and
// classifies its failure.
func (s *Sender) call(ctx context.Context, method string, fn func(ctx context.Context) error) *sendError {
	if err := s.pace(ctx); err != nil {
		return &sendError{class: classCanceled, text: "canceled: zoomrecon is stopping"}
	}
	rctx, cancel := context.WithTimeoutCause(ctx, s.cfg.RequestTimeout, errors.New("slack request timeout"))
	defer cancel()
	err := fn(rctx)
	s.lastCall = time.Now()
	if err == nil {
		s.metrics.requests.WithLabelValues(method, "ok").Inc()
		return nil
	}
	serr := classify(ctx, err, s.cfg.RequestTimeout, s.redactor)
	if serr.class != classCanceled {
		s.metrics.requests.WithLabelValues(method, serr.reason()).Inc()
	}
	return serr
}

// backoff is the wait before try number tries+1: BackoffBase doubled per
// try, capped at BackoffMax, with "equal jitter" (half fixed, half random) so
// replicas that failed together do not retry together.
func (s *Sender) backoff(tries int) time.Duration {
	d := s.cfg.BackoffBase
	for i := 1; i < tries && d < s.cfg.BackoffMax; i++ {
		d *= 2
	}
	d = min(d, s.cfg.BackoffMax)
	return d/2 + jitter(d/2+1)
}

// retryAt is when to try again after serr.
func (s *Sender) retryAt(now time.Time, serr *sendError, tries int) time.Time {
	if serr.class == classRateLimited && serr.retryAfter > 0 {
		// Never sooner than Slack asked; a little later spreads replicas.
		wait := max(serr.retryAfter, s.cfg.MinInterval)
		return now.Add(wait + jitter(wait/10+1))
	}
	return now.Add(s.backoff(tries))
}

// failed handles a failed call: it pauses on a rate limit, logs the failure
// once and counts it.
func (s *Sender) failed(ctx context.Context, res *PassResult, serr *sendError, next time.Time, n int) {
	res.Failed += n
	res.LastError = serr.text
	if serr.class == classRateLimited {
		s.pausedUntil = next
	}
	s.metrics.failed.WithLabelValues(serr.reason()).Add(float64(n))
	s.logFailure(ctx, "Slack did not accept an alert", serr.text, "retry_at", next.UTC())
}

// logFailure logs a failure once; the same failure again is logged at debug.
// A failure a person must fix says how in its text (configHint). The caller
// holds s.mu.
func (s *Sender) logFailure(ctx context.Context, msg, text string, args ...any) {
	level := slog.LevelWarn
	if text == s.lastFailure {
		level = slog.LevelDebug
	}
	s.lastFailure = text
	s.logger.Log(ctx, level, msg, append([]any{"error", text}, args...)...)
}

// succeeded notes that Slack accepts requests again.
func (s *Sender) succeeded(ctx context.Context) {
	if s.lastFailure != "" {
		s.logger.InfoContext(ctx, "Slack accepts alerts again")
		s.lastFailure = ""
	}
	s.metrics.succeeded(s.cfg.NowFunc())
}

// detached is a context for recording what already happened at Slack: it
// outlives a canceled pass, so an accepted message is always marked sent.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// jitter returns a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}
