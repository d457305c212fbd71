package main

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/reconciler"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

const wsE2ESubscription = "e2eWebSocketSub01"

// TestWebSocketEndToEnd runs serve with the WebSocket event subscription as
// the only route, against the fake Zoom's WebSocket host: no webhook
// listener, a disconnection while a meeting ends and people leave, a second
// connection to the subscription, missing heartbeats, both routes at once,
// and replicas sharing one subscription.
func TestWebSocketEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs serve for several seconds")
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("AGapIsBackfilledByThePassAfterReconnecting", func(t *testing.T) {
				t.Parallel()
				testWebSocketGapBackfilled(t, b.URL(t))
			})
			t.Run("MissingHeartbeatsAreGapsTheDaemonRecoversFrom", func(t *testing.T) {
				t.Parallel()
				testWebSocketMissingHeartbeats(t, b.URL(t))
			})
			t.Run("BothRoutesStoreEachEventOnce", func(t *testing.T) {
				t.Parallel()
				testWebSocketBothRoutes(t, b.URL(t))
			})
			t.Run("OneReplicaHoldsTheConnection", func(t *testing.T) {
				t.Parallel()
				testWebSocketReplicas(t, b.URL(t))
			})
		})
	}
}

// wsRig is serve receiving over the fake Zoom's WebSocket.
type wsRig struct {
	zoom   *zoomtest.Server
	slack  *fakeSlack
	st     *store.Store
	vars   map[string]string
	passes *wsPasses
}

// wsPasses records the reconcile passes serve ran, as the loop reports them.
type wsPasses struct {
	mu   sync.Mutex
	done []reconciler.Result
}

func (p *wsPasses) hook(e *env) {
	e.afterPass = func(res reconciler.Result, err error) {
		if err == nil {
			p.mu.Lock()
			p.done = append(p.done, res)
			p.mu.Unlock()
		}
	}
}

// firstStartedAfter waits for the first pass that began at or after t.
func (p *wsPasses) firstStartedAfter(t *testing.T, after time.Time) reconciler.Result {
	t.Helper()
	var got reconciler.Result
	require.Eventually(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, r := range p.done {
			if !r.Window.Until.Before(after) {
				got = r
				return true
			}
		}
		return false
	}, 30*time.Second, 10*time.Millisecond, "no reconcile pass began after %s", after)
	return got
}

// newWSRig starts the fake Zoom and Slack and the vars serve runs with:
// events only over the WebSocket, a grace and an interval of an hour, so that
// only a WebSocket gap can produce a verdict within the test, and only a
// reconnection a pass.
func newWSRig(t *testing.T, dbURL string, opts ...zoomtest.Option) *wsRig {
	t.Helper()
	zoom := zoomtest.New(append([]zoomtest.Option{zoomtest.WithWebSocketSubscription(wsE2ESubscription)}, opts...)...)
	t.Cleanup(zoom.Close)
	slack := newFakeSlack(t)
	creds := zoom.Credentials()
	vars := map[string]string{
		"ZOOMRECON_DATABASE_URL": dbURL,
		"ZOOM_ACCOUNT_ID":        creds.AccountID, "ZOOM_CLIENT_ID": creds.ClientID, "ZOOM_CLIENT_SECRET": creds.ClientSecret,
		"ZOOM_API_BASE_URL": zoom.APIURL(), "ZOOM_OAUTH_TOKEN_URL": zoom.TokenURL(),
		"ZOOM_WEBSOCKET_SUBSCRIPTION_ID": wsE2ESubscription, "ZOOM_WEBSOCKET_URL": strings.Split(zoom.WebSocketURL(), "?")[0],
		"ZOOMRECON_WEBSOCKET_ALERT_AFTER": "3s", // reconnecting takes up to 1 s
		"SLACK_BOT_TOKEN":                 "xoxb-e2e-secret-token", "SLACK_CHANNEL": "C0E2E", "SLACK_API_URL": slack.URL + "/api/",
		"ZOOMRECON_RECONCILE_INTERVAL": "1h", "ZOOMRECON_MISSED_GRACE": "1h", "ZOOMRECON_ZOOM_RETRY_HORIZON": "1h",
		"ZOOMRECON_STALE_AFTER": "3h", "ZOOMRECON_SILENCE_AFTER": "1h", "ZOOMRECON_RECONCILE_LOOKBACK": "1h",
		"ZOOM_RESOURCE_INTENSIVE_PER_MINUTE": "6000", "ZOOM_MINUTE_LIMIT_WAIT": "200ms",
	}
	return &wsRig{zoom: zoom, slack: slack, st: storetest.Open(t, dbURL), vars: vars, passes: &wsPasses{}}
}

func (r *wsRig) serve(t *testing.T, tune ...func(*env)) serveBundle {
	t.Helper()
	vars := make(map[string]string, len(r.vars))
	for k, v := range r.vars {
		vars[k] = v
	}
	srv := startServe(t, vars, append([]func(*env){r.passes.hook}, tune...)...)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log("serve's log:\n" + srv.stderr.String())
		}
	})
	require.Eventually(t, r.zoom.WebSocketConnected, 30*time.Second, 10*time.Millisecond, "serve connects: %s", srv.stderr)
	return srv
}

// waitStored waits until the events table holds n events.
func (r *wsRig) waitStored(t *testing.T, n int64) {
	t.Helper()
	var got int64
	require.Eventually(t, func() bool {
		var err error
		got, err = r.st.CountEvents(context.Background())
		require.NoError(t, err)
		return got == n
	}, 30*time.Second, 10*time.Millisecond, "want %d events stored", n)
}

func (r *wsRig) sent() int64 {
	var n int64
	for _, d := range r.zoom.WebSocketDeliveries() {
		if d.Sent {
			n++
		}
	}
	return n
}

func (r *wsRig) openOf(t *testing.T, k store.Kind) []store.Discrepancy {
	t.Helper()
	ds, err := r.st.OpenDiscrepancies(context.Background())
	require.NoError(t, err)
	var out []store.Discrepancy
	for _, d := range ds {
		if d.Kind == k {
			out = append(out, d)
		}
	}
	return out
}

func testWebSocketGapBackfilled(t *testing.T, dbURL string) {
	ctx := context.Background()
	r := newWSRig(t, dbURL)
	srv := r.serve(t)

	// No webhook listener: the path is not served at all.
	resp, err := http.Post(srv.baseURL+"/webhooks/zoom", "application/json", strings.NewReader(`{}`))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	// A meeting plays over the WebSocket.
	// Everything happens now, as Zoom tells it: in whole seconds.
	start := time.Now()
	uuid := r.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Over the socket"})
	ann := r.zoom.Join(uuid, zoomtest.Person{Name: "Ann Lee"}, time.Time{})
	bob := r.zoom.Join(uuid, zoomtest.Person{Name: "Bob Ray"}, time.Time{})
	r.zoom.Leave(uuid, bob.UserID, time.Time{}, "")
	r.waitStored(t, 4)
	require.Empty(t, r.zoom.Deliveries(), "nothing went as a webhook")

	// A second connection to the subscription closes ours (§11); serve
	// takes it back, and so short a gap raises no alert.
	other, stopOther, err := r.zoom.ConnectElsewhere(ctx)
	require.NoError(t, err)
	t.Cleanup(stopOther)
	require.Eventually(t, func() bool {
		cs := r.zoom.WebSocketConnections()
		return len(cs) >= 3 && cs[len(cs)-1].Accepted && r.zoom.WebSocketConnected()
	}, 30*time.Second, 10*time.Millisecond, "serve reconnects after the second connection")
	<-other
	require.Empty(t, r.openOf(t, store.KindWebSocketDisconnected))

	// Zoom's WebSocket host goes away while the meeting ends and Ann
	// leaves, and while a whole meeting runs: all of it is lost.
	r.zoom.SetWebSocketOutage(true)
	r.zoom.Leave(uuid, ann.UserID, time.Time{}, "")
	r.zoom.EndMeeting(uuid, time.Time{})
	whole := r.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Whole meeting in the gap"})
	cy := r.zoom.Join(whole, zoomtest.Person{Name: "Cy Moss"}, time.Time{})
	r.zoom.Leave(whole, cy.UserID, time.Time{}, "")
	r.zoom.EndMeeting(whole, time.Time{})
	var lost int
	for _, d := range r.zoom.WebSocketDeliveries() {
		if d.Lost {
			lost++
		}
	}
	require.Equal(t, 6, lost, "Ann's leave, the end, and the other meeting's four events")

	// A disconnection longer than ZOOMRECON_WEBSOCKET_ALERT_AFTER is urgent.
	require.Eventually(t, func() bool { return len(r.openOf(t, store.KindWebSocketDisconnected)) == 1 },
		30*time.Second, 10*time.Millisecond, "the gap alert opens: %s", srv.stderr)
	seen := &lastSeen{}
	require.Eventually(t, func() bool {
		seen.set(r.slack.texts())
		return r.slack.posted("URGENT: zoomrecon's WebSocket connection to Zoom's event subscription has stayed down")
	}, 30*time.Second, 10*time.Millisecond, "Slack hears of it: %v", seen)
	st := runCLI(t, r.vars, "status")
	require.Contains(t, st.stdout, "WebSocket:             DISCONNECTED since", st.stderr)

	back := time.Now()
	r.zoom.SetWebSocketOutage(false)
	require.Eventually(t, r.zoom.WebSocketConnected, 30*time.Second, 10*time.Millisecond)

	// The pass the reconnection starts finds and backfills every loss,
	// though the grace (an hour) is far from over.
	pass := r.passes.firstStartedAfter(t, back)
	require.Equal(t, store.RunOK, pass.Outcome, "%+v", pass)
	kinds := map[store.Kind][]string{}
	ds, err := r.st.DiscrepanciesSince(ctx, start.Add(-time.Minute))
	require.NoError(t, err)
	for _, d := range ds {
		kinds[d.Kind] = append(kinds[d.Kind], d.MeetingUUID)
	}
	// A meeting no event told of is one discrepancy, its start, with
	// everything else about it backfilled.
	require.Equal(t, []string{uuid}, kinds[store.KindMissedMeetingEnded], "%v", kinds)
	require.Equal(t, []string{whole}, kinds[store.KindMissedMeetingStarted], "%v", kinds)
	for _, u := range []string{uuid, whole} {
		m, err := r.st.Meeting(ctx, u)
		require.NoError(t, err)
		require.Equal(t, store.StatusEnded, m.Status, m.Topic)
		require.Equal(t, store.SourceReconciled, m.EndSource, m.Topic)
		requireStateIsTruth(t, r.st, r.zoom, &e2eMeeting{uuid: u})
	}

	// The gap alert resolved, and Slack is told.
	require.Empty(t, r.openOf(t, store.KindWebSocketDisconnected))
	require.Eventually(t, func() bool {
		seen.set(r.slack.texts())
		return r.slack.posted("RESOLVED") || r.slack.editedTo("RESOLVED")
	}, 30*time.Second, 10*time.Millisecond, "Slack hears it resolved: %v", seen)
	st = runCLI(t, r.vars, "status", "-o", "json")
	require.Contains(t, st.stdout, `"state": "connected"`)
	require.Contains(t, st.stdout, `"gaps_24h": 3`, "the start, the second connection and the outage")

	metrics := scrape(t, srv.baseURL)
	require.Equal(t, 1.0, metrics["zoomrecon_websocket_connected"])
	require.Equal(t, 1.0, metrics["zoomrecon_websocket_holder"])
	require.GreaterOrEqual(t, metrics["zoomrecon_websocket_reconnects_total"], 2.0)
	require.Greater(t, metrics["zoomrecon_websocket_gap_seconds_total"], 3.0, "the outage lasted past the alert")
	require.Equal(t, 0, srv.stop())
}

func testWebSocketMissingHeartbeats(t *testing.T, dbURL string) {
	// Zoom's deadline is 300 ms here; serve beats every 25 s: every
	// connection is dropped, and each drop is a gap serve recovers from.
	r := newWSRig(t, dbURL, zoomtest.WithWebSocketHeartbeatTimeout(300*time.Millisecond))
	srv := r.serve(t)
	require.Eventually(t, func() bool {
		cs := r.zoom.WebSocketConnections()
		return len(cs) >= 3 && cs[0].Ended == zoomtest.WSEndedHeartbeat && cs[1].Ended == zoomtest.WSEndedHeartbeat
	}, 30*time.Second, 10*time.Millisecond, "dropped for missing heartbeats, twice, and reconnected")
	gaps, err := r.st.WebSocketGaps(context.Background(), wsE2ESubscription, time.Now().Add(-time.Hour), time.Now())
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(gaps), 3, "the start's gap and one per drop")
	srv.stop()

	// With heartbeats inside the deadline, one connection stays up.
	r2 := newWSRig(t, storetest.SQLiteURL(t), zoomtest.WithWebSocketHeartbeatTimeout(300*time.Millisecond))
	r2.vars["ZOOMRECON_LOG_LEVEL"] = "debug"
	srv2 := r2.serve(t, func(e *env) { e.wsHeartbeat = 50 * time.Millisecond })
	uuid := r2.zoom.StartMeeting(zoomtest.MeetingSpec{})
	r2.zoom.EndMeeting(uuid, time.Time{})
	r2.waitStored(t, 2)
	// Twelve answered heartbeats span 600 ms, two of Zoom's deadlines.
	require.Eventually(t, func() bool { return strings.Count(srv2.stderr.String(), "websocket heartbeat answered") >= 12 },
		30*time.Second, 10*time.Millisecond)
	require.Len(t, r2.zoom.WebSocketConnections(), 1, "never dropped")
}

func testWebSocketBothRoutes(t *testing.T, dbURL string) {
	r := newWSRig(t, dbURL)
	r.vars["ZOOM_WEBHOOK_SECRET_TOKEN"] = crashSecret
	srv := r.serve(t)
	r.zoom.SetWebhookTarget(srv.baseURL+"/webhooks/zoom", crashSecret)
	r.zoom.SetDeliveryMode(zoomtest.DeliverBoth)
	uuid := r.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Both ways"})
	p := r.zoom.Join(uuid, zoomtest.Person{Name: "Di Fox"}, time.Time{})
	r.zoom.Leave(uuid, p.UserID, time.Time{}, "")
	r.zoom.EndMeeting(uuid, time.Time{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, r.zoom.WaitDelivered(ctx, 4))
	// The fake marks a frame sent once its write returns: wait for it.
	require.Eventually(t, func() bool { return r.sent() == 4 }, 30*time.Second, 10*time.Millisecond, "and over the socket")
	r.waitStored(t, 4)
	metrics := scrape(t, srv.baseURL)
	require.Equal(t, 4.0, metrics["zoomrecon_websocket_events_total"], "every event came over the socket too")
	requireStateIsTruth(t, r.st, r.zoom, &e2eMeeting{uuid: uuid})
}

func testWebSocketReplicas(t *testing.T, dbURL string) {
	// Two processes, as replicas are: in one process both runs would share
	// a PID, and each start ends the runs recorded with its own PID.
	r := newWSRig(t, dbURL)
	vars := []string{"ZOOM_WEBHOOK_SECRET_TOKEN=", "ZOOMRECON_LOG_LEVEL=debug", wsHeartbeatEnv + "=100ms"}
	for k, v := range r.vars {
		vars = append(vars, k+"="+v)
	}
	first := startDaemon(t, dbURL, vars...)
	require.Eventually(t, r.zoom.WebSocketConnected, 30*time.Second, 10*time.Millisecond)
	second := startDaemon(t, dbURL, vars...)
	beats := func(d *childDaemon) int {
		d.mu.Lock()
		defer d.mu.Unlock()
		n := 0
		for _, l := range d.logs {
			if strings.Contains(l, "websocket heartbeat answered") {
				n++
			}
		}
		return n
	}
	// Both up, the second standing by through many of the first's
	// heartbeats, each of which renews its claim.
	require.Eventually(t, func() bool {
		return scrape(t, second.baseURL)["zoomrecon_websocket_holder"] == 0 && beats(first) >= 10
	}, 30*time.Second, 10*time.Millisecond)
	require.Len(t, r.zoom.WebSocketConnections(), 1, "one connection for two replicas")
	require.Equal(t, 1.0, scrape(t, first.baseURL)["zoomrecon_websocket_holder"])

	// The holder stops: the other takes over at once, not after the lease.
	stop(t, first)
	require.Eventually(t, func() bool {
		m := scrape(t, second.baseURL)
		return m["zoomrecon_websocket_holder"] == 1 && m["zoomrecon_websocket_connected"] == 1
	}, 15*time.Second, 10*time.Millisecond, "the second holds and is connected")
	uuid := r.zoom.StartMeeting(zoomtest.MeetingSpec{})
	r.zoom.EndMeeting(uuid, time.Time{})
	r.waitStored(t, 2)
	gaps, err := r.st.WebSocketGaps(context.Background(), wsE2ESubscription, time.Now().Add(-time.Hour), time.Now())
	require.NoError(t, err)
	require.Len(t, gaps, 2, "the first start's and the handover's")
}
