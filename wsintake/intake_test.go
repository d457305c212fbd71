package wsintake_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/webhook"
	"github.com/zoomrecon/zoomrecon/wsintake"
	"github.com/zoomrecon/zoomrecon/zoomapi"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

const (
	subscription = "wsSubTest01"
	secret       = "webhook-secret-token"
)

var (
	_ wsintake.Tokens   = (*zoomapi.Client)(nil)
	_ wsintake.Ingester = (*webhook.Handler)(nil)
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// countingIngester counts the events the intake finished ingesting.
type countingIngester struct {
	next wsintake.Ingester
	done atomic.Int64
}

func (c *countingIngester) Ingest(ctx context.Context, body []byte, at time.Time) (bool, error) {
	ok, err := c.next.Ingest(ctx, body, at)
	if err == nil {
		c.done.Add(1)
	}
	return ok, err
}

type bundle struct {
	zoom    *zoomtest.Server
	store   *store.Store
	ingest  *countingIngester
	reg     *prometheus.Registry
	logs    *lockedBuffer
	stopped chan struct{}
}

// start runs an intake against a fake Zoom, storing into a real webhook
// handler whose HTTP route the fake's webhooks reach too.
func start(t *testing.T, dbURL string, cfg wsintake.Config, opts ...zoomtest.Option) *bundle {
	t.Helper()
	zoom := zoomtest.New(append([]zoomtest.Option{zoomtest.WithWebSocketSubscription(subscription)}, opts...)...)
	t.Cleanup(zoom.Close)
	st := storetest.Open(t, dbURL)
	logs := &lockedBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := webhook.NewHandler(webhook.Config{SecretTokens: []string{secret}, AnswerWithin: 30 * time.Second, CommitTimeout: 30 * time.Second},
		st, logger, prometheus.NewRegistry())
	hooks := httptest.NewServer(h)
	t.Cleanup(hooks.Close)
	zoom.SetWebhookTarget(hooks.URL, secret)

	creds := zoom.Credentials()
	client, err := zoomapi.New(zoomapi.Config{AccountID: creds.AccountID, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret,
		TokenURL: zoom.TokenURL(), APIURL: zoom.APIURL(), Logger: logger})
	require.NoError(t, err)

	u := zoom.WebSocketURL()
	cfg.URL = u[:strings.Index(u, "?")]
	if cfg.SubscriptionID == "" {
		cfg.SubscriptionID = subscription
	}
	cfg.MinBackoff = max(cfg.MinBackoff, 10*time.Millisecond)
	cfg.MaxBackoff = max(cfg.MaxBackoff, 100*time.Millisecond)
	ci := &countingIngester{next: h}
	reg := prometheus.NewRegistry()
	in := wsintake.New(cfg, client, ci, logger, reg)
	ctx, cancel := context.WithCancel(context.Background())
	b := &bundle{zoom: zoom, store: st, ingest: ci, reg: reg, logs: logs, stopped: make(chan struct{})}
	go func() {
		defer close(b.stopped)
		require.NoError(t, in.Run(ctx))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-b.stopped:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancellation")
		}
	})
	return b
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond) // polling a condition, not waiting out time
	}
}

func (b *bundle) events(t *testing.T) int64 {
	t.Helper()
	n, err := b.store.CountEvents(context.Background())
	require.NoError(t, err)
	return n
}

func (b *bundle) metric(name string) float64 {
	mfs, _ := b.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

func TestIntake(t *testing.T) {
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()

			t.Run("StoresEventsOnceEvenWhenAlsoDeliveredAsWebhooks", func(t *testing.T) {
				t.Parallel()
				b := start(t, be.URL(t), wsintake.Config{})
				// The gauge is set once the client has read build_connection's
				// answer, a moment after the server counts the connection.
				waitFor(t, "connected", func() bool {
					return b.zoom.WebSocketConnected() && b.metric("zoomrecon_websocket_connected") == 1
				})

				at := time.Now().UTC().Truncate(time.Second)
				uuid := b.zoom.StartMeeting(zoomtest.MeetingSpec{Start: at})
				waitFor(t, "the start stored", func() bool { return b.ingest.done.Load() == 1 })
				require.Equal(t, int64(1), b.events(t), b.logs.String())

				b.zoom.SetDeliveryMode(zoomtest.DeliverBoth)
				b.zoom.Join(uuid, zoomtest.Person{Name: "Ana Ruiz"}, at.Add(time.Minute))
				b.zoom.EndMeeting(uuid, at.Add(2*time.Minute))
				n := len(b.zoom.WebSocketDeliveries()) // the end brings a participant_left too
				require.GreaterOrEqual(t, n, 3)
				require.NoError(t, b.zoom.WaitDelivered(context.Background(), n-1))
				waitFor(t, "both routes stored", func() bool { return b.ingest.done.Load() == int64(n) })
				require.Equal(t, int64(n), b.events(t), "each event once, whichever route came first")
				require.Equal(t, float64(n), b.metric("zoomrecon_websocket_events_total"))
				m, err := b.store.Meeting(context.Background(), uuid)
				require.NoError(t, err)
				require.Equal(t, store.StatusEnded, m.Status, "the state is applied")
			})

			t.Run("ReconnectsAfterADrop", func(t *testing.T) {
				t.Parallel()
				b := start(t, be.URL(t), wsintake.Config{})
				waitFor(t, "connected", b.zoom.WebSocketConnected)
				require.True(t, b.zoom.DropWebSocket())
				waitFor(t, "reconnected", func() bool {
					return len(b.zoom.WebSocketConnections()) == 2 && b.zoom.WebSocketConnected()
				})
				waitFor(t, "the reconnect counted", func() bool { return b.metric("zoomrecon_websocket_reconnects_total") == 1 })
				b.zoom.StartMeeting(zoomtest.MeetingSpec{Start: time.Now().UTC().Truncate(time.Second)})
				waitFor(t, "the later event stored", func() bool { return b.ingest.done.Load() == 1 })
				require.Equal(t, int64(1), b.events(t))
			})

			t.Run("RetriesARefusalAndLogsZoomsMessage", func(t *testing.T) {
				t.Parallel()
				b := start(t, be.URL(t), wsintake.Config{SubscriptionID: "wrongSubscription", MinBackoff: 20 * time.Millisecond})
				waitFor(t, "three refused attempts", func() bool { return len(b.zoom.WebSocketConnections()) >= 3 })
				cs := b.zoom.WebSocketConnections()
				for _, c := range cs {
					require.False(t, c.Accepted)
					require.Equal(t, zoomtest.WSEndedRefused, c.Ended)
				}
				// Backoff doubles from 20ms, jittered down by at most half:
				// the second wait is at least 20ms.
				require.GreaterOrEqual(t, cs[2].At.Sub(cs[1].At), 20*time.Millisecond)
				waitFor(t, "the refusal logged", func() bool { return strings.Contains(b.logs.String(), cs[0].Refusal) })
				require.NotEmpty(t, cs[0].Refusal)
				require.Equal(t, 0.0, b.metric("zoomrecon_websocket_connected"))
			})

			t.Run("HeartbeatsKeepTheConnection", func(t *testing.T) {
				t.Parallel()
				timeout := 100 * time.Millisecond
				b := start(t, be.URL(t), wsintake.Config{HeartbeatInterval: 20 * time.Millisecond}, zoomtest.WithWebSocketHeartbeatTimeout(timeout))
				waitFor(t, "connected", b.zoom.WebSocketConnected)
				// 20 answered heartbeats span 400ms, four heartbeat timeouts.
				waitFor(t, "20 heartbeats answered", func() bool {
					return strings.Count(b.logs.String(), "websocket heartbeat answered") >= 20
				})
				cs := b.zoom.WebSocketConnections()
				require.Len(t, cs, 1)
				require.Empty(t, cs[0].Ended)
				require.True(t, b.zoom.WebSocketConnected())
			})
		})
	}
}
