package relay_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/relay"
	"github.com/zoomrecon/zoomrecon/relay/relaytest"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

var _ relay.Queue = (*store.Store)(nil)

const appSecret = "app-secret-token"

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

type rig struct {
	st    *store.Store
	app   *relaytest.App
	reg   *prometheus.Registry
	logs  *lockedBuffer
	relay *relay.Relay
	stop  func() // stops the relay and waits for it
}

// start runs a relay to one application over a store routing every event
// to it.
func startRelay(t *testing.T, u string, secret string, tune func(*relay.Config)) *rig {
	t.Helper()
	app := relaytest.New(appSecret)
	t.Cleanup(app.Close)
	st := storetest.OpenWith(t, u, store.Options{Forward: []store.ForwardRoute{{Name: "app"}}})
	logs := &lockedBuffer{}
	cfg := relay.Config{
		Destinations: []relay.Destination{{Name: "app", URL: app.URL + "/zoom", SecretToken: secret}},
		Poll:         10 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}
	if tune != nil {
		tune(&cfg)
	}
	r := &rig{st: st, app: app, reg: prometheus.NewRegistry(), logs: logs}
	r.relay = relay.New(cfg, st, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), r.reg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.relay.Run(ctx) }()
	r.stop = func() { cancel(); <-done }
	t.Cleanup(r.stop)
	return r
}

// ingest stores one event of meeting per type, as the receiver would.
func (r *rig) ingest(t *testing.T, meeting string, types ...string) {
	t.Helper()
	now := time.Now()
	var items []store.Ingest
	for i, typ := range types {
		items = append(items, store.Ingest{Event: store.Event{
			DedupKey: fmt.Sprintf("%s|%s|%d|%d", meeting, typ, i, now.UnixNano()), Type: typ, ReceivedAt: now, MeetingUUID: meeting,
			Body: []byte(fmt.Sprintf(`{"event":%q,"event_ts":%d,"payload":{"object":{"uuid":%q,"n":%d}}}`, typ, now.UnixMilli(), meeting, i)),
		}})
	}
	_, err := r.st.IngestBatch(context.Background(), items, now)
	require.NoError(t, err)
}

func (r *rig) waitDelivered(t *testing.T, n int) []relaytest.Delivery {
	t.Helper()
	require.Eventually(t, func() bool { return len(r.app.Deliveries()) >= n }, 15*time.Second, 5*time.Millisecond,
		"want %d deliveries; logs:\n%s", n, r.logs)
	return r.app.Deliveries()
}

func metric(t *testing.T, reg *prometheus.Registry, name string, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label || label == "" {
					if m.GetCounter() != nil {
						return m.GetCounter().GetValue()
					}
					return m.GetGauge().GetValue()
				}
			}
		}
	}
	return -1
}

func TestRelay(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, u string){
		"ValidatesThenDeliversSignedInOrder":      testDeliversInOrder,
		"AWrongSecretDeliversNothing":             testWrongSecret,
		"ServerErrorsAreRetriedRetryAfterHonored": testRetries,
		"AClientErrorIsDeadAndAlerted":            testDeadLetter,
		"GivesUpAfterTheConfiguredTime":           testGiveUp,
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for name, fn := range cases {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					fn(t, b.URL(t))
				})
			}
		})
	}
}

func testDeliversInOrder(t *testing.T, u string) {
	r := startRelay(t, u, appSecret, nil)
	r.ingest(t, "m1", "meeting.started", "meeting.participant_joined", "meeting.participant_left", "meeting.ended")
	r.ingest(t, "m2", "meeting.started", "meeting.ended")
	got := r.waitDelivered(t, 6)
	require.Equal(t, 1, r.app.Validated(), "validated before the first delivery")
	var m1 []string
	for _, d := range got {
		require.True(t, strings.HasPrefix(d.ID, "e"), d.ID)
		if d.MeetingUUID == "m1" {
			m1 = append(m1, d.Event)
		}
	}
	require.Equal(t, []string{"meeting.started", "meeting.participant_joined", "meeting.participant_left", "meeting.ended"}, m1, "in order per meeting")
	require.Zero(t, r.app.Refused(), "every signature verified")
	require.Eventually(t, func() bool { return metric(t, r.reg, "zoomrecon_forward_delivered_total", "app") == 6 }, 5*time.Second, 5*time.Millisecond)
	require.Equal(t, 1.0, metric(t, r.reg, "zoomrecon_forward_validated", "app"))
}

func testWrongSecret(t *testing.T, u string) {
	r := startRelay(t, u, "another-secret", nil)
	r.ingest(t, "m1", "meeting.started")
	require.Eventually(t, func() bool { return strings.Contains(r.logs.String(), relay.ErrWrongSecret.Error()) }, 10*time.Second, 5*time.Millisecond)
	require.Empty(t, r.app.Deliveries())
	require.Equal(t, 0.0, metric(t, r.reg, "zoomrecon_forward_validated", "app"))
	require.Contains(t, r.logs.String(), "level=ERROR")
	state, err := r.st.State(context.Background(), relay.ValidationStateKey("app"))
	require.NoError(t, err)
	require.Contains(t, state, relay.ErrWrongSecret.Error(), "recorded for status")
	// Nothing is delivered, so nothing dies: the validation itself alarms.
	require.Eventually(t, func() bool {
		open, err := r.st.OpenDiscrepancies(context.Background())
		require.NoError(t, err)
		return len(open) == 1 && strings.Contains(open[0].Detail, "destination app: not validated, so nothing is delivered to it")
	}, 10*time.Second, 5*time.Millisecond)

	// The secret fixed and zoomrecon restarted, with nothing to deliver
	// (the event was delivered by hand, say): passing the validation ends
	// the alarm.
	r.stop()
	pending, err := r.st.ClaimForward(context.Background(), "app", 0, time.Now(), time.Hour, 10)
	require.NoError(t, err)
	ids := []int64{}
	for _, d := range pending {
		ids = append(ids, d.ID)
	}
	require.NoError(t, r.st.MarkForwardDelivered(context.Background(), ids, time.Now()))
	fixed := relay.New(relay.Config{
		Destinations: []relay.Destination{{Name: "app", URL: r.app.URL + "/zoom", SecretToken: appSecret}},
		Poll:         10 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
	}, r.st, slog.New(slog.NewTextHandler(r.logs, nil)), prometheus.NewRegistry())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = fixed.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, func() bool {
		open, err := r.st.OpenDiscrepancies(context.Background())
		require.NoError(t, err)
		return len(open) == 0
	}, 10*time.Second, 5*time.Millisecond, "validated: the alarm resolves with nothing delivered")
	require.Empty(t, r.app.Deliveries())
}

func testRetries(t *testing.T, u string) {
	r := startRelay(t, u, appSecret, nil)
	require.Eventually(t, func() bool { return r.app.Validated() == 1 }, 10*time.Second, 5*time.Millisecond)
	r.app.Answer(relaytest.Answer{Status: 503, Body: "down"}, 2)
	r.ingest(t, "m1", "meeting.started", "meeting.ended")
	got := r.waitDelivered(t, 2)
	require.Equal(t, "meeting.started", got[0].Event, "the retried one first: its meeting waits for it")
	require.Equal(t, 2.0, metric(t, r.reg, "zoomrecon_forward_failures_total", "retry"))

	r.app.Answer(relaytest.Answer{Status: 429, RetryAfter: "1"}, 1)
	asked := time.Now()
	r.ingest(t, "m2", "meeting.started")
	got = r.waitDelivered(t, 3)
	require.GreaterOrEqual(t, got[2].At.Sub(asked), time.Second, "Retry-After: 1 is waited out")
}

func testDeadLetter(t *testing.T, u string) {
	ctx := context.Background()
	r := startRelay(t, u, appSecret, nil)
	require.Eventually(t, func() bool { return r.app.Validated() == 1 }, 10*time.Second, 5*time.Millisecond)
	r.app.Answer(relaytest.Answer{Status: 422, Body: `{"error":"unknown meeting"}`}, 1)
	r.ingest(t, "m1", "meeting.started", "meeting.ended")
	got := r.waitDelivered(t, 1)
	require.Equal(t, "meeting.ended", got[0].Event, "a dead letter does not hold its meeting back")
	stats, err := r.st.ForwardQueueStats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, stats[0].Dead)
	require.Equal(t, 1.0, metric(t, r.reg, "zoomrecon_forward_failures_total", "dead"))
	// The alarm was raised, then resolved by the next delivery accepted.
	ds, err := r.st.DiscrepanciesSince(ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	require.Len(t, ds, 1)
	require.Equal(t, store.KindForwardDead, ds[0].Kind)
	require.Contains(t, ds[0].Detail, `destination app: meeting.started of meeting m1`)
	require.Contains(t, ds[0].Detail, `HTTP 422: {"error":"unknown meeting"}`)
	require.Eventually(t, func() bool {
		open, err := r.st.OpenDiscrepancies(ctx)
		require.NoError(t, err)
		return len(open) == 0
	}, 5*time.Second, 5*time.Millisecond, "resolved once the destination accepts again")
}

func testGiveUp(t *testing.T, u string) {
	ctx := context.Background()
	r := startRelay(t, u, appSecret, func(c *relay.Config) { c.GiveUpAfter = 300 * time.Millisecond })
	require.Eventually(t, func() bool { return r.app.Validated() == 1 }, 10*time.Second, 5*time.Millisecond)
	r.app.Answer(relaytest.Answer{Status: 503}, -1)
	r.ingest(t, "m1", "meeting.started")
	require.Eventually(t, func() bool {
		stats, err := r.st.ForwardQueueStats(ctx)
		require.NoError(t, err)
		return len(stats) == 1 && stats[0].Dead == 1
	}, 10*time.Second, 5*time.Millisecond)
	// Marked dead and alarmed in one transaction.
	open, err := r.st.OpenDiscrepancies(ctx)
	require.NoError(t, err)
	require.Len(t, open, 1, r.logs.String())
	require.Contains(t, open[0].Detail, "gave up after 300ms: HTTP 503")
}
