package alerts_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/alerts"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

var _ alerts.Store = (*store.Store)(nil)

// t0 is the instant the cases build their times from.
var t0 = time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)

// clock is a settable clock for NowFunc.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// logBuffer keeps what the sender logged, for leak checks, and shows it in
// the test's log.
type logBuffer struct {
	t  testing.TB
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Write(p)
	l.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testBundle is what a sender test works with.
type testBundle struct {
	dbURL string
	st    *store.Store
	slack *fakeSlack
	clock *clock
	logs  *logBuffer
	reg   *prometheus.Registry
	cfg   alerts.Config
}

// modes are the two ways of reaching Slack, by subtest name.
var modes = []struct{ name, mode string }{{"Webhook", alerts.ModeWebhook}, {"Bot", alerts.ModeBot}}

// eachBackendAndMode runs fn for every database backend and way of reaching
// Slack, in parallel.
func eachBackendAndMode(t *testing.T, fn func(t *testing.T, dbURL, mode string)) {
	t.Helper()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for _, m := range modes {
				t.Run(m.name, func(t *testing.T) {
					t.Parallel()
					fn(t, b.URL(t), m.mode)
				})
			}
		})
	}
}

// setup opens the database at dbURL, starts a fake Slack and builds a sender
// that reaches it in mode (alerts.ModeLog: not at all).
func setup(t *testing.T, dbURL, mode string, tweaks ...func(*alerts.Config)) (*alerts.Sender, *testBundle) {
	t.Helper()
	b := &testBundle{
		dbURL: dbURL,
		st:    storetest.Open(t, dbURL),
		slack: newFakeSlack(t),
		clock: &clock{now: t0},
		logs:  &logBuffer{t: t},
		reg:   prometheus.NewRegistry(),
	}
	b.cfg = alerts.Config{
		RequestTimeout: 5 * time.Second,
		PollInterval:   5 * time.Millisecond,
		MinInterval:    time.Millisecond,
		BackoffBase:    time.Second,
		BackoffMax:     time.Minute,
		NowFunc:        b.clock.Now,
		Logger:         slog.New(slog.NewTextHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registerer:     b.reg,
	}
	switch mode {
	case alerts.ModeWebhook:
		b.cfg.WebhookURL = b.slack.WebhookURL()
	case alerts.ModeBot:
		b.cfg.BotToken, b.cfg.Channel, b.cfg.APIURL = b.slack.token, b.slack.channelName, b.slack.APIURL()
	}
	for _, tw := range tweaks {
		tw(&b.cfg)
	}
	return b.build(t, b.reg), b
}

// build builds a sender on the bundle's config: another replica, or the same
// process restarted, when reg is a new registry.
func (b *testBundle) build(t *testing.T, reg *prometheus.Registry) *alerts.Sender {
	t.Helper()
	cfg := b.cfg
	cfg.Registerer = reg
	s, err := alerts.New(cfg, b.st)
	require.NoError(t, err)
	return s
}

// seed is a discrepancy to record, with its meeting and its alert.
type seed struct {
	Kind      store.Kind
	UUID      string
	MeetingID int64
	Topic     string
	Type      store.MeetingType // empty: a meeting
	Host      string
	// HostName is how the reconciler's finding names the host of a host kind.
	HostName    string
	Start, End  time.Time
	Subject     string
	Participant string
	Detail      string
	DetectedAt  time.Time
	Backfilled  bool
}

// meeting returns a seed of kind about meeting n.
func meeting(kind store.Kind, n int) seed {
	s := seed{
		Kind: kind, UUID: fmt.Sprintf("uuid-%d==", n), MeetingID: 81234567890 + int64(n),
		Topic: fmt.Sprintf("Weekly sync %d", n), Host: "host-ana",
		Start: t0.Add(-time.Hour), End: t0.Add(-15 * time.Minute),
		DetectedAt: t0, Backfilled: true,
	}
	switch kind {
	case store.KindMissedMeetingStarted:
		s.Detail = "Zoom reports it ran from 2026-11-23 14:00:00 UTC to 2026-11-23 14:45:00 UTC; no webhook ever mentioned it"
	case store.KindMissedMeetingEnded:
		s.Detail = "Zoom reports it ended at 2026-11-23 14:45:00 UTC; meeting.ended never arrived"
	case store.KindMissedParticipantJoined:
		s.Subject, s.Participant = "uid:1677824"+fmt.Sprint(n), "Ana Lima <ana@example.com>"
		s.Detail = "Zoom reports Ana Lima <ana@example.com> joined at 2026-11-23 14:01:00 UTC; participant_joined never arrived"
	case store.KindMissedParticipantLeft:
		s.Subject, s.Participant = "uid:1677824"+fmt.Sprint(n), "Ana Lima <ana@example.com>"
		s.Detail = "Zoom reports Ana Lima <ana@example.com> left at 2026-11-23 14:40:00 UTC; participant_left never arrived"
	case store.KindStaleMeeting:
		s.Start, s.End = t0.Add(-4*time.Hour), time.Time{}
		s.Detail = "in progress since 2026-11-23 11:00:00 UTC (4h0m0s); Zoom reports it still in progress"
		s.Backfilled = false
	case store.KindWebhookSilence:
		return silence(t0.Add(-40 * time.Minute))
	case store.KindURLValidationRefused:
		return validationRefused(t0.Add(-2 * time.Minute))
	case store.KindWebSocketDisconnected:
		return webSocketDisconnected(t0.Add(-7 * time.Minute))
	}
	return s
}

// webinar returns a seed of kind about webinar n.
func webinar(kind store.Kind, n int) seed {
	s := meeting(kind, n)
	s.Type, s.Topic = store.TypeWebinar, fmt.Sprintf("Product launch %d", n)
	s.Detail = strings.ReplaceAll(s.Detail, "meeting.", "webinar.")
	return s
}

// validationRefused returns a seed of a refused URL validation at at, as the
// receiver records it.
func validationRefused(at time.Time) seed {
	return seed{
		Kind: store.KindURLValidationRefused, Subject: at.UTC().Format(time.RFC3339Nano),
		Detail:     "Zoom's URL validation at " + at.UTC().Format("2006-01-02 15:04:05 UTC") + " was refused with 401: signature matches no configured secret token",
		DetectedAt: t0,
	}
}

// webSocketDisconnected returns a seed of a WebSocket event subscription
// disconnected since since, as the intake records it: its detail is the
// error that ended the connection.
func webSocketDisconnected(since time.Time) seed {
	return seed{
		Kind: store.KindWebSocketDisconnected, Subject: since.UTC().Format(time.RFC3339Nano),
		Detail:     "failed to get reader: failed to read frame header: EOF",
		DetectedAt: t0,
	}
}

// silence returns a seed of a webhook silence that began at since.
func silence(since time.Time) seed {
	return seed{
		Kind: store.KindWebhookSilence, Subject: since.UTC().Format(time.RFC3339Nano),
		Detail:     "the last webhook was received at " + since.UTC().Format("2006-01-02 15:04:05 UTC") + "; since then Zoom's API shows 3 meetings starting or ending",
		DetectedAt: t0,
	}
}

// seed records s and queues its alert as the reconciler does, and returns
// the discrepancy's ID.
func (b *testBundle) seed(t *testing.T, s seed) int64 {
	t.Helper()
	ctx := context.Background()
	if s.UUID != "" {
		require.NoError(t, b.st.ApplyMeeting(ctx, store.MeetingUpdate{
			UUID: s.UUID, MeetingID: s.MeetingID, HostID: s.Host, Topic: s.Topic, Type: s.Type,
			StartTime: s.Start, Started: !s.Start.IsZero(), EndTime: s.End, Ended: !s.End.IsZero(),
			Source: store.SourceReconciled,
		}, s.DetectedAt))
	}
	// The reconciler's Finding, as JSON.
	payload, err := json.Marshal(map[string]any{
		"kind": s.Kind, "meeting_uuid": s.UUID, "meeting_id": s.MeetingID, "topic": s.Topic,
		"participant": s.Participant, "host": s.HostName, "detail": s.Detail, "detected_at": s.DetectedAt, "backfilled": s.Backfilled,
	})
	require.NoError(t, err)
	d, created, err := b.st.RecordDiscrepancy(ctx, store.Discrepancy{
		Kind: s.Kind, MeetingUUID: s.UUID, Subject: s.Subject, Detail: s.Detail,
		DetectedAt: s.DetectedAt, Backfilled: s.Backfilled,
	}, &store.OutboxMessage{Kind: s.Kind, Payload: string(payload), CreatedAt: s.DetectedAt})
	require.NoError(t, err)
	require.True(t, created, "seed %s %s %s twice", s.Kind, s.UUID, s.Subject)
	return d.ID
}

// resolve closes a seeded discrepancy as the store or reconciler would.
func (b *testBundle) resolve(t *testing.T, s seed, resolution store.ResolutionReason, at time.Time) {
	t.Helper()
	ok, err := b.st.ResolveDiscrepancy(context.Background(), s.Kind, s.UUID, s.Subject, resolution, at, nil)
	require.NoError(t, err)
	require.True(t, ok)
}

// outbox returns every outbox row, oldest first.
func (b *testBundle) outbox(t *testing.T) []store.OutboxMessage {
	t.Helper()
	var out []store.OutboxMessage
	require.NoError(t, b.st.DB().SelectContext(context.Background(), &out, `SELECT * FROM alert_outbox ORDER BY id`))
	return out
}

// pass runs one pass and fails the test on error.
func pass(t *testing.T, s *alerts.Sender) alerts.PassResult {
	t.Helper()
	res, err := s.Pass(context.Background())
	require.NoError(t, err)
	return res
}

// metric returns the value of the sample of name whose labels include
// labels (name=value pairs), or fails.
func metric(t *testing.T, reg prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if hasLabels(m, labels) {
				switch {
				case m.Counter != nil:
					return m.Counter.GetValue()
				case m.Gauge != nil:
					return m.Gauge.GetValue()
				}
			}
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return 0
}

func hasLabels(m *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, lp := range m.GetLabel() {
			if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// waitFor polls cond until it holds, failing after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-deadline.C:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
