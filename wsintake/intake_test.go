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

// countingIngester counts the events the intake finished ingesting. After
// holdNext, the next event waits for the gate before it is stored, as one
// does behind a slow commit.
type countingIngester struct {
	next    wsintake.Ingester
	done    atomic.Int64
	gate    atomic.Pointer[chan struct{}]
	holding atomic.Bool
}

func (c *countingIngester) holdNext(gate chan struct{}) { c.gate.Store(&gate) }

func (c *countingIngester) Ingest(ctx context.Context, body []byte, at time.Time) (bool, error) {
	if gate := c.gate.Swap(nil); gate != nil {
		c.holding.Store(true)
		<-*gate
	}
	ok, err := c.next.Ingest(ctx, body, at)
	if err == nil {
		c.done.Add(1)
	}
	return ok, err
}

type bundle struct {
	zoom   *zoomtest.Server
	store  *store.Store
	ingest *countingIngester
	client *zoomapi.Client
	logger *slog.Logger
	logs   *lockedBuffer
	url    string
	// The first intake's, as run by start.
	reg         *prometheus.Registry
	connected   chan store.WebSocketGap
	stopped     chan struct{}
	cancelFirst context.CancelFunc
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
	b := &bundle{zoom: zoom, store: st, ingest: &countingIngester{next: h}, client: client, logger: logger, logs: logs,
		url: u[:strings.Index(u, "?")], connected: make(chan store.WebSocketGap, 16)}
	b.reg, b.stopped, b.cancelFirst = b.run(t, cfg)
	return b
}

// run starts one more intake, as another serve run would, and returns its
// registry, a channel closed when Run returned, and a function that stops it.
func (b *bundle) run(t *testing.T, cfg wsintake.Config) (*prometheus.Registry, chan struct{}, context.CancelFunc) {
	t.Helper()
	runID, err := b.store.StartUptime(context.Background(), store.RunIdentity{}, nil, time.Now(), time.Hour)
	require.NoError(t, err)
	cfg.URL = b.url
	cfg.RunID = runID
	if cfg.SubscriptionID == "" {
		cfg.SubscriptionID = subscription
	}
	cfg.MinBackoff = max(cfg.MinBackoff, 10*time.Millisecond)
	cfg.MaxBackoff = max(cfg.MaxBackoff, 100*time.Millisecond)
	if cfg.OnConnected == nil {
		cfg.OnConnected = func(g store.WebSocketGap) { b.connected <- g }
	}
	reg := prometheus.NewRegistry()
	in := wsintake.New(cfg, b.client, b.ingest, b.store, b.logger, reg)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		require.NoError(t, in.Run(ctx))
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancellation")
		}
	})
	return reg, stopped, cancel
}

// gaps returns the subscription's gaps as of now.
func (b *bundle) gaps(t *testing.T) []store.Span {
	t.Helper()
	spans, err := b.store.WebSocketGaps(context.Background(), subscription, time.Now().Add(-time.Hour), time.Now())
	require.NoError(t, err)
	return spans
}

// nextGap waits for OnConnected.
func (b *bundle) nextGap(t *testing.T) store.WebSocketGap {
	t.Helper()
	select {
	case g := <-b.connected:
		return g
	case <-time.After(15 * time.Second):
		t.Fatal("no connection ended a gap within the deadline")
	}
	return store.WebSocketGap{}
}

// stopFirst stops the intake start ran.
func (b *bundle) stopFirst(t *testing.T) {
	t.Helper()
	b.cancelFirst()
	select {
	case <-b.stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancellation")
	}
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

func (b *bundle) metric(name string) float64 { return metric(b.reg, name) }

func metric(reg *prometheus.Registry, name string) float64 {
	mfs, _ := reg.Gather()
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
				require.Equal(t, 1.0, b.metric("zoomrecon_websocket_disconnections_total"))
				b.zoom.StartMeeting(zoomtest.MeetingSpec{Start: time.Now().UTC().Truncate(time.Second)})
				waitFor(t, "the later event stored", func() bool { return b.ingest.done.Load() == 1 })
				require.Equal(t, int64(1), b.events(t))
			})

			t.Run("AnEventBeingStoredAsItStopsIsStored", func(t *testing.T) {
				t.Parallel()
				b := start(t, be.URL(t), wsintake.Config{})
				b.nextGap(t)
				gate := make(chan struct{})
				b.ingest.holdNext(gate)
				b.zoom.StartMeeting(zoomtest.MeetingSpec{Start: time.Now().UTC().Truncate(time.Second)})
				waitFor(t, "the event on its way to the database", b.ingest.holding.Load)
				b.cancelFirst() // zoomrecon stops meanwhile
				close(gate)
				b.stopFirst(t)
				require.Equal(t, int64(1), b.events(t), "Zoom never sends it again\n%s", b.logs)
			})

			t.Run("RecordsEveryGapAndReportsItsEnd", func(t *testing.T) {
				t.Parallel()
				before := time.Now()
				b := start(t, be.URL(t), wsintake.Config{})
				first := b.nextGap(t)
				require.Equal(t, "zoomrecon started", first.Cause, "the time before the first connection is a gap too")
				require.False(t, first.StartedAt.Before(before.Truncate(time.Microsecond)))

				dropped := time.Now()
				require.True(t, b.zoom.DropWebSocket())
				g := b.nextGap(t)
				require.Contains(t, g.Cause, "read websocket")
				require.False(t, g.StartedAt.Before(dropped.Truncate(time.Microsecond)), "the gap starts at the drop")
				require.True(t, g.EndedAt.After(g.StartedAt))
				spans := b.gaps(t)
				require.Len(t, spans, 2)
				require.True(t, spans[1].From.Equal(g.StartedAt) && spans[1].To.Equal(*g.EndedAt))
				require.Positive(t, b.metric("zoomrecon_websocket_gap_seconds_total"))
			})

			t.Run("ALongDisconnectionRaisesAnAlertResolvedOnReconnect", func(t *testing.T) {
				t.Parallel()
				b := start(t, be.URL(t), wsintake.Config{AlertAfter: 200 * time.Millisecond})
				b.nextGap(t)
				b.zoom.SetWebSocketOutage(true)
				open := func() []store.Discrepancy {
					ds, err := b.store.OpenDiscrepancies(context.Background())
					require.NoError(t, err)
					return ds
				}
				waitFor(t, "the alert", func() bool { return len(open()) == 1 })
				d := open()[0]
				require.Equal(t, store.KindWebSocketDisconnected, d.Kind)
				require.Contains(t, d.Detail, "read websocket")
				require.Contains(t, d.Detail, "last attempt", "the detail says why reconnecting fails")
				require.Equal(t, 1, strings.Count(b.logs.String(), "alert raised"), "one alert per gap")

				b.zoom.SetWebSocketOutage(false)
				g := b.nextGap(t)
				require.Equal(t, d.Subject, g.StartedAt.UTC().Format(time.RFC3339Nano), "the alert names its gap")
				require.Empty(t, open(), "reconnecting resolves it")
			})

			t.Run("AShortDisconnectionRaisesNoAlert", func(t *testing.T) {
				t.Parallel()
				b := start(t, be.URL(t), wsintake.Config{AlertAfter: time.Minute})
				b.nextGap(t)
				require.True(t, b.zoom.DropWebSocket())
				b.nextGap(t)
				ds, err := b.store.OpenDiscrepancies(context.Background())
				require.NoError(t, err)
				require.Empty(t, ds)
			})

			t.Run("OneReplicaHoldsTheSubscription", func(t *testing.T) {
				t.Parallel()
				b := start(t, be.URL(t), wsintake.Config{HeartbeatInterval: 50 * time.Millisecond})
				b.nextGap(t)
				reg2, stopped2, _ := b.run(t, wsintake.Config{HeartbeatInterval: 50 * time.Millisecond})
				waitFor(t, "the second stands by", func() bool { return metric(reg2, "zoomrecon_websocket_holder") == 0 })
				require.Equal(t, 1.0, b.metric("zoomrecon_websocket_holder"))
				// Several leases' worth of heartbeats: the second never connects.
				waitFor(t, "heartbeats", func() bool { return strings.Count(b.logs.String(), "websocket heartbeat answered") >= 10 })
				require.Len(t, b.zoom.WebSocketConnections(), 1)
				require.Equal(t, 0.0, metric(reg2, "zoomrecon_websocket_connected"))
				select {
				case <-stopped2:
					t.Fatal("the standby stopped")
				default:
				}
			})

			t.Run("AStoppedHolderHandsOverAtOnce", func(t *testing.T) {
				t.Parallel()
				// A long lease: the handover must not wait for it.
				b := start(t, be.URL(t), wsintake.Config{HeartbeatInterval: 50 * time.Millisecond, Lease: time.Hour})
				b.nextGap(t)
				reg2, _, _ := b.run(t, wsintake.Config{HeartbeatInterval: 50 * time.Millisecond})
				waitFor(t, "the second stands by", func() bool { return metric(reg2, "zoomrecon_websocket_holder") == 0 })

				// A holder that stops records when and gives up its claim.
				b.stopFirst(t)
				g := b.nextGap(t)
				require.Equal(t, "zoomrecon stopped", g.Cause)
				waitFor(t, "the second holds and is connected", func() bool {
					return metric(reg2, "zoomrecon_websocket_holder") == 1 && metric(reg2, "zoomrecon_websocket_connected") == 1
				})
			})

			t.Run("AHolderTakenOverRecordsNoGap", func(t *testing.T) {
				t.Parallel()
				// The first's heartbeats are far apart: it learns of the
				// takeover from Zoom closing its connection, not its claim.
				b := start(t, be.URL(t), wsintake.Config{HeartbeatInterval: time.Hour, Lease: time.Hour})
				b.nextGap(t)
				reg2, _, _ := b.run(t, wsintake.Config{HeartbeatInterval: 50 * time.Millisecond})
				waitFor(t, "the second stands by", func() bool { return metric(reg2, "zoomrecon_websocket_holder") == 0 })
				// The first stalls past its lease: a third run's claim
				// breaks it, as the second's would, and is given up.
				ctx := context.Background()
				third, err := b.store.StartUptime(ctx, store.RunIdentity{}, nil, time.Now(), time.Hour)
				require.NoError(t, err)
				held, err := b.store.HoldWebSocket(ctx, subscription, third, time.Now().Add(2*time.Hour), time.Minute)
				require.NoError(t, err)
				require.True(t, held)
				require.NoError(t, b.store.ReleaseWebSocket(ctx, subscription, third))

				waitFor(t, "the second holds and is connected", func() bool {
					return metric(reg2, "zoomrecon_websocket_holder") == 1 && metric(reg2, "zoomrecon_websocket_connected") == 1
				})
				waitFor(t, "the first replaced and standing by", func() bool {
					return b.zoom.WebSocketConnections()[0].Ended == zoomtest.WSEndedReplaced && b.metric("zoomrecon_websocket_holder") == 0
				})
				g := b.nextGap(t) // the second's connection closes the gap it opened on taking over
				require.Equal(t, "zoomrecon started", g.Cause)
				r, err := b.store.WebSocketStatus(ctx, subscription, time.Now().Add(-time.Hour), time.Now())
				require.NoError(t, err)
				require.Nil(t, r.Open, "the first's closed connection is no gap: the second is connected\n%s", b.logs)
				require.Zero(t, b.metric("zoomrecon_websocket_disconnections_total"), "a takeover is no disconnection")
				require.NotNil(t, r.ConnectedSince)
			})

			t.Run("ASecondConnectionIsAnsweredByReconnecting", func(t *testing.T) {
				t.Parallel()
				b := start(t, be.URL(t), wsintake.Config{})
				b.nextGap(t)
				// Someone else (another app instance) opens the subscription.
				other, stopOther, err := b.zoom.ConnectElsewhere(context.Background())
				require.NoError(t, err)
				t.Cleanup(stopOther)
				waitFor(t, "ours replaced", func() bool { return b.zoom.WebSocketConnections()[0].Ended == zoomtest.WSEndedReplaced })
				g := b.nextGap(t)
				require.Contains(t, g.Cause, "read websocket")
				<-other // ours took it back
				// The fake records why a connection ended once its
				// server side returns, which may be after the client saw it.
				waitFor(t, "the other recorded as replaced", func() bool {
					cs := b.zoom.WebSocketConnections()
					return len(cs) == 3 && cs[1].Ended == zoomtest.WSEndedReplaced
				})
			})

			t.Run("AMissedHeartbeatIsAGap", func(t *testing.T) {
				t.Parallel()
				// Zoom's deadline passes before our heartbeat: dropped.
				b := start(t, be.URL(t), wsintake.Config{HeartbeatInterval: time.Hour}, zoomtest.WithWebSocketHeartbeatTimeout(100*time.Millisecond))
				b.nextGap(t)
				g := b.nextGap(t)
				require.Contains(t, g.Cause, "read websocket")
				require.Equal(t, zoomtest.WSEndedHeartbeat, b.zoom.WebSocketConnections()[0].Ended)
			})

			t.Run("AnExpiredTokenIsReplacedAfterZoomRefusesIt", func(t *testing.T) {
				t.Parallel()
				b := start(t, be.URL(t), wsintake.Config{HeartbeatInterval: 50 * time.Millisecond})
				b.nextGap(t)
				b.zoom.ExpireTokens()
				g := b.nextGap(t)
				require.Contains(t, g.Cause, "refused")
				cs := b.zoom.WebSocketConnections()
				require.Equal(t, zoomtest.WSEndedTokenExpired, cs[0].Ended)
				require.True(t, cs[len(cs)-1].Accepted, "the next connection has a new token")
			})

			t.Run("RenewsTheTokenWithoutAGap", func(t *testing.T) {
				t.Parallel()
				// Tokens of 2 s are renewed at 90 % of their life; the fake
				// checks a connection's token at every heartbeat.
				b := start(t, be.URL(t), wsintake.Config{HeartbeatInterval: 50 * time.Millisecond}, zoomtest.WithTokenLifetime(2*time.Second))
				b.nextGap(t)
				waitFor(t, "two renewals", func() bool {
					cs := b.zoom.WebSocketConnections()
					return len(cs) >= 3 && cs[0].Ended != "" && cs[1].Ended != ""
				})
				for _, c := range b.zoom.WebSocketConnections()[:2] {
					require.True(t, c.Accepted)
					require.Equal(t, zoomtest.WSEndedReplaced, c.Ended, "replaced by the renewal, never expired: %+v\n%s", b.zoom.WebSocketConnections(), b.logs.String())
				}
				require.Len(t, b.gaps(t), 1, "only the start's gap")
				require.Zero(t, b.metric("zoomrecon_websocket_disconnections_total"), "a renewal is no disconnection")
				b.zoom.StartMeeting(zoomtest.MeetingSpec{Start: time.Now().UTC().Truncate(time.Second)})
				waitFor(t, "an event after renewals stored", func() bool { return b.ingest.done.Load() == 1 })
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
				require.Zero(t, b.metric("zoomrecon_websocket_disconnections_total"), "never connected, so never disconnected")
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
