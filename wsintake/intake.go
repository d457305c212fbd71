// Package wsintake receives Zoom's events over a WebSocket event subscription
// (zoom-platform.md §11): it connects out to Zoom with a Server-to-Server
// OAuth token, keeps the connection alive with heartbeats, hands every event
// to the same ingest path webhooks use, and reconnects with backoff when the
// connection ends.
//
// Zoom neither retries nor replays events sent while the connection is down,
// so every disconnection is recorded as a gap (store.WebSocketGap) that the
// reconciler fills from the REST API, and a long one raises an urgent alert.
// Zoom allows one connection per subscription: among replicas, only the one
// holding the subscription's lease in the database connects.
package wsintake

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/store"
)

// Tokens gives the access token a connection is opened with.
type Tokens interface {
	// AccessToken returns a valid S2S OAuth access token and when it is
	// due for renewal.
	AccessToken(ctx context.Context) (string, time.Time, error)
	// ForgetAccessToken drops token, which Zoom refused, from any cache.
	ForgetAccessToken(token string)
}

// Ingester stores an event durably, deduplicated, with its state.
type Ingester interface {
	// Ingest returns once body is committed, reporting whether it was new.
	Ingest(ctx context.Context, body []byte, receivedAt time.Time) (bool, error)
}

// Ledger records who holds the subscription and when it was not connected
// (store.Store).
type Ledger interface {
	HoldWebSocket(ctx context.Context, sub string, by int64, now time.Time, lease time.Duration) (bool, error)
	ReleaseWebSocket(ctx context.Context, sub string, by int64) error
	WebSocketDown(ctx context.Context, sub string, by int64, at time.Time, cause string) (store.WebSocketGap, error)
	WebSocketUp(ctx context.Context, sub string, by int64, at time.Time) (*store.WebSocketGap, error)
	RaiseWebSocketDisconnected(ctx context.Context, gap store.WebSocketGap, detail string, now time.Time, alert *store.OutboxMessage) (bool, error)
}

// Config tunes the intake. Zero values mean the defaults.
type Config struct {
	// URL is Zoom's WebSocket host, without query. Default wss://ws.zoom.us/ws.
	URL string
	// SubscriptionID is the event subscription's ID; required.
	SubscriptionID string
	// RunID is the serve run (store uptime ID) that holds the subscription
	// while this intake is connected.
	RunID int64
	// HeartbeatInterval is how often a heartbeat is sent; Zoom drops a
	// connection without one every 30 s (§11). Default 25s, inside Zoom's 30.
	HeartbeatInterval time.Duration
	// Lease is how long a claim on the subscription lasts without renewal;
	// it is renewed at every heartbeat, and another replica takes over once
	// it runs out. Default 3 heartbeats, at least 30s.
	Lease time.Duration
	// AlertAfter is how long a disconnection lasts, counted from when this
	// intake began trying, before it raises websocket_disconnected. Default 5m.
	AlertAfter time.Duration
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
	// OnConnected, if set, is called after every connection that ended a
	// gap, with the gap: the reconciler checks its window at once.
	OnConnected func(gap store.WebSocketGap)
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// DefaultURL is Zoom's WebSocket host (§11).
const DefaultURL = "wss://ws.zoom.us/ws"

// Causes of a gap, as recorded.
const (
	causeStarted = "zoomrecon started"
	causeStopped = "zoomrecon stopped"
)

// RefusedError is a build_connection answered with success:false.
type RefusedError struct {
	// Message is Zoom's text.
	Message string
}

func (e *RefusedError) Error() string {
	return "zoom refused the websocket connection: " + cmp.Or(e.Message, "no reason given") +
		"; check ZOOM_WEBSOCKET_SUBSCRIPTION_ID and the app's S2S credentials"
}

// errLostHold ends a connection whose claim another replica took.
var errLostHold = errors.New("another zoomrecon holds the websocket subscription now")

// Intake is the WebSocket event receiver.
type Intake struct {
	cfg     Config
	tokens  Tokens
	ingest  Ingester
	ledger  Ledger
	logger  *slog.Logger
	metrics *metrics

	// heldAt is when the claim was last renewed; touched by Run's goroutine only.
	heldAt time.Time
	// gap is the open gap as recorded, nil while connected or not recorded.
	gap *store.WebSocketGap
	// pending is the earliest moment the next gap must cover: set when the
	// database could not record a gap, or when an event could not be
	// stored (the gap must include it).
	pending *time.Time
	// trying is when this intake began trying to connect in the current gap.
	trying time.Time
	// lastErr is why the last attempt or connection failed.
	lastErr error
}

type metrics struct {
	connected  prometheus.Gauge
	holder     prometheus.Gauge
	reconnects prometheus.Counter
	// disconnections counts connections that were up and then ended, which
	// the reconnects (every failed attempt too) cannot tell from one long
	// outage: many in an hour is a flapping link, or another app instance
	// on the same subscription taking Zoom's one connection in turns.
	disconnections prometheus.Counter
	gapSeconds     prometheus.Counter
	events         prometheus.Counter
}

// New returns the intake; it registers its metrics on reg.
func New(cfg Config, tokens Tokens, ingest Ingester, ledger Ledger, logger *slog.Logger, reg prometheus.Registerer) *Intake {
	if cfg.SubscriptionID == "" {
		panic("wsintake: New without a SubscriptionID")
	}
	cfg.URL = cmp.Or(cfg.URL, DefaultURL)
	// The claim is renewed at each heartbeat, which is how the store knows
	// the connection was alive.
	cfg.HeartbeatInterval = min(cmp.Or(cfg.HeartbeatInterval, 25*time.Second), store.WebSocketSeenWithin/2)
	cfg.Lease = cmp.Or(cfg.Lease, max(3*cfg.HeartbeatInterval, 30*time.Second))
	cfg.AlertAfter = cmp.Or(cfg.AlertAfter, 5*time.Minute)
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
			Help: "1 while this replica's WebSocket event subscription is connected and answered, else 0.",
		}),
		holder: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "zoomrecon_websocket_holder",
			Help: "1 while this replica holds the WebSocket event subscription (Zoom allows one connection), else 0.",
		}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zoomrecon_websocket_reconnects_total",
			Help: "WebSocket connections that ended or failed and were retried; events sent meanwhile are lost.",
		}),
		disconnections: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zoomrecon_websocket_disconnections_total",
			Help: "WebSocket connections that were open and answered, then ended (not token renewals, takeovers or shutdown); each opens a gap.",
		}),
		gapSeconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zoomrecon_websocket_gap_seconds_total",
			Help: "Seconds the WebSocket event subscription was not connected, counted as each gap ends on this replica.",
		}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "zoomrecon_websocket_events_total",
			Help: "Events received over the WebSocket event subscription, duplicates included.",
		}),
	}
	reg.MustRegister(m.connected, m.holder, m.reconnects, m.disconnections, m.gapSeconds, m.events)
	return &Intake{cfg: cfg, tokens: tokens, ingest: ingest, ledger: ledger,
		logger: logger.With("component", "wsintake", "subscription_id", cfg.SubscriptionID), metrics: m}
}

// Run holds the subscription, connects and receives until ctx is cancelled,
// reconnecting with exponential backoff and jitter. It returns nil on
// cancellation, after recording that zoomrecon stopped and giving up its
// claim, so another replica may take over at once.
func (in *Intake) Run(ctx context.Context) error {
	defer in.stop()
	cause := causeStarted
	failures := 0
	for ctx.Err() == nil {
		if !in.hold(ctx) {
			in.metrics.holder.Set(0)
			in.gap, in.pending = nil, nil
			cause = causeStarted
			// A holder that stops releases its claim: notice soon.
			if !sleep(ctx, min(in.cfg.Lease/3, in.cfg.HeartbeatInterval, 5*time.Second)) {
				break
			}
			continue
		}
		in.metrics.holder.Set(1)
		if in.gap == nil {
			if in.pending == nil {
				in.trying = in.cfg.Now()
			}
			if !in.down(ctx, in.cfg.Now(), cause) {
				in.standBy(ctx)
				continue
			}
		}
		in.alertIfDue(ctx)

		began := in.cfg.Now()
		established, err := in.session(ctx)
		in.metrics.connected.Set(0)
		if ctx.Err() != nil {
			break
		}
		if errors.Is(err, errLostHold) {
			in.standBy(ctx)
			continue
		}
		in.lastErr = err
		if established {
			// Only a connection that lasted starts the backoff over: one
			// that Zoom accepts and drops at once (another app instance on
			// the same subscription, a token refused over the open socket)
			// would otherwise be redialled, and reconciled, every second.
			if in.cfg.Now().Sub(began) >= in.cfg.MaxBackoff {
				failures = 0
			}
			cause = errorText(err)
			in.trying = in.cfg.Now()
			if !in.down(ctx, in.trying, cause) {
				// Zoom closed it because another zoomrecon connected.
				in.standBy(ctx)
				continue
			}
			in.metrics.disconnections.Inc()
		}
		delay := in.backoff(failures)
		failures++
		in.metrics.reconnects.Inc()
		in.logger.WarnContext(ctx, "websocket event subscription disconnected; events Zoom sends until it reconnects are lost",
			slog.Any("error", err), slog.Duration("retry_in", delay))
		if !in.wait(ctx, delay) {
			break
		}
	}
	return nil
}

// hold claims or renews the subscription. A database failure keeps a claim
// until its lease would have run out: by then another replica may hold it.
func (in *Intake) hold(ctx context.Context) bool {
	now := in.cfg.Now()
	hctx, cancel := context.WithTimeout(ctx, in.cfg.Lease/3)
	held, err := in.ledger.HoldWebSocket(hctx, in.cfg.SubscriptionID, in.cfg.RunID, now, in.cfg.Lease)
	cancel()
	switch {
	case err != nil && ctx.Err() == nil:
		in.logger.WarnContext(ctx, "could not renew the claim on the websocket subscription", slog.Any("error", err))
		return !in.heldAt.IsZero() && now.Before(in.heldAt.Add(in.cfg.Lease))
	case err != nil:
		return false
	case held:
		in.heldAt = now
	default:
		in.heldAt = time.Time{}
	}
	return held
}

// standBy gives up this run's view of the subscription: another run holds
// it, and records its connection and gaps.
func (in *Intake) standBy(ctx context.Context) {
	in.logger.WarnContext(ctx, "websocket subscription taken over by another zoomrecon; this one stands by")
	in.heldAt = time.Time{}
	in.gap, in.pending = nil, nil
	in.metrics.holder.Set(0)
}

// down records that the subscription is not connected since at (or since
// pending, if earlier), keeping a gap already open. If the database fails,
// the start is kept in pending and recorded by the next down or up. It
// reports false if this run no longer holds the subscription.
func (in *Intake) down(ctx context.Context, at time.Time, cause string) bool {
	if in.pending != nil && in.pending.Before(at) {
		at = *in.pending
	}
	gap, err := in.ledger.WebSocketDown(ctx, in.cfg.SubscriptionID, in.cfg.RunID, at, cause)
	if errors.Is(err, store.ErrNotHolder) {
		return false
	}
	if err != nil {
		if ctx.Err() == nil {
			in.logger.ErrorContext(ctx, "could not record the websocket disconnection; will retry", slog.Any("error", err))
		}
		in.pending = &at
		return true
	}
	in.gap, in.pending = &gap, nil
	return true
}

// up records that the subscription connected at at, ending the open gap.
// While the database fails, the gap stays open here and the session tries
// again at each heartbeat. It reports false if this run no longer holds the
// subscription.
func (in *Intake) up(ctx context.Context, at time.Time) bool {
	if in.gap == nil {
		// A gap the database did not take yet: record it first, or the
		// disconnection would go unrecorded.
		if !in.down(ctx, at, causeStarted) {
			return false
		}
		if in.gap == nil {
			return true
		}
	}
	closed, err := in.ledger.WebSocketUp(ctx, in.cfg.SubscriptionID, in.cfg.RunID, at)
	if errors.Is(err, store.ErrNotHolder) {
		return false
	}
	if err != nil {
		if ctx.Err() == nil {
			in.logger.ErrorContext(ctx, "could not record the websocket connection; will retry", slog.Any("error", err))
		}
		return true
	}
	in.gap, in.pending, in.lastErr = nil, nil, nil
	if closed == nil {
		return true
	}
	length := closed.EndedAt.Sub(closed.StartedAt)
	in.metrics.gapSeconds.Add(max(0, length.Seconds()))
	in.logger.InfoContext(ctx, "websocket event subscription connected; the reconciler checks the gap",
		slog.Time("gap_from", closed.StartedAt), slog.Duration("gap", length.Round(time.Millisecond)), slog.String("gap_cause", closed.Cause))
	if in.cfg.OnConnected != nil {
		in.cfg.OnConnected(*closed)
	}
	return true
}

// alertIfDue raises websocket_disconnected when the open gap has lasted
// AlertAfter since this intake began trying. A restart of zoomrecon itself
// is not counted: its own monitoring says it was down.
func (in *Intake) alertIfDue(ctx context.Context) {
	due := in.alertDue()
	now := in.cfg.Now()
	if due.IsZero() || now.Before(due) {
		return
	}
	detail := "not connected since " + in.gap.StartedAt.UTC().Format(time.RFC3339) + ": " + in.gap.Cause
	if in.lastErr != nil && in.lastErr.Error() != in.gap.Cause {
		detail += "; last attempt: " + in.lastErr.Error()
	}
	payload, _ := json.Marshal(struct {
		Kind       store.Kind `json:"kind"`
		Detail     string     `json:"detail"`
		DetectedAt time.Time  `json:"detected_at"`
	}{store.KindWebSocketDisconnected, detail, now.UTC()})
	raised, err := in.ledger.RaiseWebSocketDisconnected(ctx, *in.gap, detail, now,
		&store.OutboxMessage{Kind: store.KindWebSocketDisconnected, Payload: string(payload), CreatedAt: now})
	switch {
	case err != nil && ctx.Err() == nil:
		in.logger.ErrorContext(ctx, "could not raise the websocket_disconnected alert", slog.Any("error", err))
	case raised:
		in.logger.ErrorContext(ctx, "websocket event subscription disconnected for too long; alert raised",
			slog.Time("since", in.gap.StartedAt), slog.Duration("alert_after", in.cfg.AlertAfter))
	}
}

// alertDue is when the open gap calls for the alert; zero when no gap is
// open.
func (in *Intake) alertDue() time.Time {
	if in.gap == nil {
		return time.Time{}
	}
	since := in.gap.StartedAt
	if in.trying.After(since) {
		since = in.trying
	}
	return since.Add(in.cfg.AlertAfter)
}

// wait sleeps d before the next attempt, renewing the claim and raising the
// alert when due meanwhile. It reports false if ctx ended.
func (in *Intake) wait(ctx context.Context, d time.Duration) bool {
	end := in.cfg.Now().Add(d)
	for {
		step := end.Sub(in.cfg.Now())
		if step <= 0 {
			return true
		}
		step = min(step, in.cfg.Lease/3)
		if due := in.alertDue(); !due.IsZero() && due.After(in.cfg.Now()) {
			step = min(step, due.Sub(in.cfg.Now()))
		}
		if !sleep(ctx, step) {
			return false
		}
		in.hold(ctx)
		in.alertIfDue(ctx)
	}
}

// stop records that zoomrecon stopped (a gap that begins now, known
// exactly) and gives up the claim.
func (in *Intake) stop() {
	in.metrics.connected.Set(0)
	in.metrics.holder.Set(0)
	if in.heldAt.IsZero() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if in.gap == nil {
		_ = in.down(ctx, in.cfg.Now(), causeStopped) // not the holder: nothing of ours to record
	}
	if err := in.ledger.ReleaseWebSocket(ctx, in.cfg.SubscriptionID, in.cfg.RunID); err != nil {
		in.logger.WarnContext(ctx, "could not release the websocket subscription; another replica takes it when the lease ends", slog.Any("error", err))
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

// sleep waits d or until ctx ends, and reports whether ctx is still live.
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

// errorText is err's text for a gap's cause.
func errorText(err error) string {
	if err == nil {
		return "closed"
	}
	return fmt.Sprint(err)
}
