// Package wsintake receives Zoom's events over a WebSocket event
// subscription (zoom-platform.md §11): it connects out to Zoom with a
// Server-to-Server OAuth token, keeps the connection alive with heartbeats,
// hands every event to the same ingest path webhooks use, and reconnects with
// backoff when the connection ends. Zoom neither retries nor replays events
// sent while the connection is down.
package wsintake

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
)

// Tokens gives the access token a connection is opened with.
type Tokens interface {
	// AccessToken returns a valid S2S OAuth access token.
	AccessToken(ctx context.Context) (string, error)
}

// Ingester stores an event durably, deduplicated, with its state.
type Ingester interface {
	// Ingest returns once body is committed, reporting whether it was new.
	Ingest(ctx context.Context, body []byte, receivedAt time.Time) (bool, error)
}

// Config tunes the intake. Zero values mean the defaults.
type Config struct {
	// URL is Zoom's WebSocket host, without query. Default wss://ws.zoom.us/ws.
	URL string
	// SubscriptionID is the event subscription's ID; required.
	SubscriptionID string
	// HeartbeatInterval is how often a heartbeat is sent; Zoom drops a
	// connection without one every 30 s (§11). Default 30s.
	HeartbeatInterval time.Duration
	// ConnectTimeout bounds dialling and waiting for build_connection.
	// Default 15s.
	ConnectTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a reconnection, which
	// doubles from MinBackoff after each failed attempt, with jitter.
	// Defaults 1s and 2m.
	MinBackoff, MaxBackoff time.Duration
	// MaxMessageBytes caps one message; events can pass 32 KiB (§11).
	// Default 1 MiB, the webhook body limit.
	MaxMessageBytes int64
	// IngestTimeout bounds storing one event. Default 10s.
	IngestTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// DefaultURL is Zoom's WebSocket host (§11).
const DefaultURL = "wss://ws.zoom.us/ws"

// RefusedError is a build_connection answered with success:false.
type RefusedError struct {
	// Message is Zoom's text.
	Message string
}

func (e *RefusedError) Error() string {
	return "zoom refused the websocket connection: " + cmp.Or(e.Message, "no reason given") +
		"; check ZOOM_WEBSOCKET_SUBSCRIPTION_ID and the app's S2S credentials"
}

// Intake is the WebSocket event receiver.
type Intake struct {
	cfg     Config
	tokens  Tokens
	ingest  Ingester
	logger  *slog.Logger
	metrics *metrics
}

type metrics struct {
	connected  prometheus.Gauge
	reconnects prometheus.Counter
	events     prometheus.Counter
}

// New returns the intake; it registers its metrics on reg.
func New(cfg Config, tokens Tokens, ingest Ingester, logger *slog.Logger, reg prometheus.Registerer) *Intake {
	if cfg.SubscriptionID == "" {
		panic("wsintake: New without a SubscriptionID")
	}
	cfg.URL = cmp.Or(cfg.URL, DefaultURL)
	cfg.HeartbeatInterval = cmp.Or(cfg.HeartbeatInterval, 30*time.Second)
	cfg.ConnectTimeout = cmp.Or(cfg.ConnectTimeout, 15*time.Second)
	cfg.MinBackoff = cmp.Or(cfg.MinBackoff, time.Second)
	cfg.MaxBackoff = max(cmp.Or(cfg.MaxBackoff, 2*time.Minute), cfg.MinBackoff)
	cfg.MaxMessageBytes = cmp.Or(cfg.MaxMessageBytes, 1<<20)
	cfg.IngestTimeout = cmp.Or(cfg.IngestTimeout, 10*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &metrics{
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zoomrecon_websocket_connected",
			Help: "1 while the WebSocket event subscription is connected and answered, else 0.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zoomrecon_websocket_reconnects_total",
			Help: "WebSocket connections that ended or failed and were retried; events sent meanwhile are lost.",
		}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zoomrecon_websocket_events_total",
			Help: "Events received over the WebSocket event subscription, duplicates included.",
		}),
	}
	reg.MustRegister(m.connected, m.reconnects, m.events)
	return &Intake{cfg: cfg, tokens: tokens, ingest: ingest, logger: logger.With("component", "wsintake"), metrics: m}
}

// Run connects and receives until ctx is cancelled, reconnecting with
// exponential backoff and jitter. It returns nil on cancellation.
func (in *Intake) Run(ctx context.Context) error {
	failures := 0
	for {
		established, err := in.session(ctx)
		in.metrics.connected.Set(0)
		if ctx.Err() != nil {
			return nil
		}
		if established {
			failures = 0
		}
		delay := in.backoff(failures)
		failures++
		in.metrics.reconnects.Inc()
		in.logger.WarnContext(ctx, "websocket event subscription disconnected; events Zoom sends until it reconnects are lost",
			slog.Any("error", err), slog.Duration("retry_in", delay))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// backoff is the wait after failures failed attempts in a row: MinBackoff
// doubled per failure, capped at MaxBackoff, then jittered down by up to half.
func (in *Intake) backoff(failures int) time.Duration {
	d := in.cfg.MinBackoff
	for range min(failures, 30) {
		d *= 2
		if d >= in.cfg.MaxBackoff {
			d = in.cfg.MaxBackoff
			break
		}
	}
	return d/2 + rand.N(d/2+1)
}

// frame is one message from Zoom (§11).
type frame struct {
	Module  string `json:"module"`
	Success *bool  `json:"success"`
	Content string `json:"content"`
}

// session runs one connection until it ends; established reports whether
// Zoom accepted it.
func (in *Intake) session(ctx context.Context) (established bool, err error) {
	token, err := in.tokens.AccessToken(ctx)
	if err != nil {
		return false, err
	}
	u, err := url.Parse(in.cfg.URL)
	if err != nil {
		return false, fmt.Errorf("websocket url: %w", err)
	}
	q := u.Query()
	q.Set("subscriptionId", in.cfg.SubscriptionID)
	q.Set("access_token", token)
	u.RawQuery = q.Encode()

	dialCtx, cancel := context.WithTimeoutCause(ctx, in.cfg.ConnectTimeout, errors.New("websocket connect timed out"))
	defer cancel()
	conn, _, err := websocket.Dial(dialCtx, u.String(), nil)
	if err != nil {
		return false, redact(fmt.Errorf("dial websocket: %w", err), token)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(in.cfg.MaxMessageBytes)

	f, err := readFrame(dialCtx, conn)
	if err != nil {
		if dialCtx.Err() != nil {
			err = context.Cause(dialCtx)
		}
		return false, fmt.Errorf("waiting for build_connection: %w", err)
	}
	if f.Module != "build_connection" {
		return false, fmt.Errorf("websocket: first message is %q, not build_connection", f.Module)
	}
	if f.Success == nil || !*f.Success {
		return false, &RefusedError{Message: f.Content}
	}
	in.metrics.connected.Set(1)
	in.logger.InfoContext(ctx, "websocket event subscription connected", "subscription_id", in.cfg.SubscriptionID)

	ctx, stop := context.WithCancel(ctx)
	defer stop()
	beatErr := make(chan error, 1)
	go func() { beatErr <- in.heartbeat(ctx, conn) }()
	err = in.receive(ctx, conn)
	stop()
	if berr := <-beatErr; berr != nil && ctx.Err() == nil {
		err = errors.Join(err, berr)
	}
	return true, err
}

// heartbeat sends {"module":"heartbeat"} every HeartbeatInterval until ctx
// ends or a write fails.
func (in *Intake) heartbeat(ctx context.Context, conn *websocket.Conn) error {
	t := time.NewTicker(in.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		wctx, cancel := context.WithTimeout(ctx, in.cfg.HeartbeatInterval)
		err := conn.Write(wctx, websocket.MessageText, []byte(`{"module":"heartbeat"}`))
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				// Unblock the reader: the connection is unusable.
				conn.CloseNow()
			}
			return fmt.Errorf("send heartbeat: %w", err)
		}
	}
}

// receive reads messages until the connection ends.
func (in *Intake) receive(ctx context.Context, conn *websocket.Conn) error {
	for {
		f, err := readFrame(ctx, conn)
		if err != nil {
			return fmt.Errorf("read websocket: %w", err)
		}
		switch f.Module {
		case "message":
			in.metrics.events.Inc()
			in.store(ctx, []byte(f.Content))
		case "build_connection":
			if f.Success != nil && !*f.Success {
				return &RefusedError{Message: f.Content}
			}
		case "heartbeat":
			in.logger.DebugContext(ctx, "websocket heartbeat answered")
		default:
			in.logger.DebugContext(ctx, "unknown websocket message", "module", f.Module)
		}
	}
}

// store hands one event to the ingest path, retrying a few times: Zoom will
// not send it again.
func (in *Intake) store(ctx context.Context, body []byte) {
	receivedAt := in.cfg.Now()
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			t := time.NewTimer(in.backoff(attempt - 1))
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
			}
		}
		ictx, cancel := context.WithTimeout(ctx, in.cfg.IngestTimeout)
		_, err = in.ingest.Ingest(ictx, body, receivedAt)
		cancel()
		if err == nil || ctx.Err() != nil {
			return
		}
	}
	in.logger.ErrorContext(ctx, "websocket event not stored; Zoom does not resend it", slog.Any("error", err))
}

func readFrame(ctx context.Context, conn *websocket.Conn) (frame, error) {
	_, data, err := conn.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return frame{}, fmt.Errorf("websocket message is not JSON: %w", err)
	}
	return f, nil
}

// redact removes the token, which travels in the URL, from an error.
func redact(err error, token string) error {
	if token == "" {
		return err
	}
	s := err.Error()
	for _, t := range []string{token, url.QueryEscape(token)} {
		s = strings.ReplaceAll(s, t, "<redacted>")
	}
	return errors.New(s)
}
