package zoomapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// Test settings: retries in milliseconds so a test never waits long.
const (
	testRetryMax     = 3
	testRetryWaitMin = 5 * time.Millisecond
	testRetryWaitMax = 40 * time.Millisecond
	// testMinuteLimitWait stands for the minute a per-minute 429 holds
	// Resource-intensive calls.
	testMinuteLimitWait = 10 * time.Millisecond
)

// testBundle is one fake Zoom and a client pointed at it.
type testBundle struct {
	zoom   *zoomtest.Server
	client *zoomapi.Client
	cfg    zoomapi.Config
	reg    *prometheus.Registry
	logs   *syncBuffer
	clock  *testClock // nil unless setupOpts.clock
	slept  *sleeps    // nil unless setupOpts.clock
}

type setupOpts struct {
	zoom []zoomtest.Option
	cfg  func(*zoomapi.Config)
	// clock shares a manual clock between the fake and the client, and
	// makes the client's pacing waits advance it instead of sleeping.
	clock bool
}

// sleeps records the waits of a client's SleepFunc and advances a manual
// clock by each, so minutes of pacing pass at once.
type sleeps struct {
	clock *testClock
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	s.waits = append(s.waits, d)
	s.mu.Unlock()
	s.clock.Advance(d)
	return nil
}

// all returns the waits so far.
func (s *sleeps) all() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.waits)
}

// total returns the sum of the waits so far.
func (s *sleeps) total() time.Duration {
	var sum time.Duration
	for _, d := range s.all() {
		sum += d
	}
	return sum
}

// setup starts a fake Zoom and a client with fast retries, unlimited
// client-side rate, metrics in a fresh registry and logs to t.Log and a buffer.
func setup(t *testing.T, o setupOpts) *testBundle {
	t.Helper()
	b := &testBundle{reg: prometheus.NewRegistry(), logs: &syncBuffer{}}
	zopts := o.zoom
	if o.clock {
		b.clock = newTestClock(time.Now().UTC().Truncate(time.Second))
		zopts = append([]zoomtest.Option{zoomtest.WithClock(b.clock.Now)}, zopts...)
	}
	b.zoom = zoomtest.New(zopts...)
	t.Cleanup(b.zoom.Close)
	creds := b.zoom.Credentials()
	b.cfg = zoomapi.Config{
		AccountID:         creds.AccountID,
		ClientID:          creds.ClientID,
		ClientSecret:      creds.ClientSecret,
		TokenURL:          b.zoom.TokenURL(),
		APIURL:            b.zoom.APIURL(),
		RequestsPerSecond: -1,
		Timeout:           5 * time.Second,
		RetryMax:          testRetryMax,
		RetryWaitMin:      testRetryWaitMin,
		RetryWaitMax:      testRetryWaitMax,
		MinuteLimitWait:   testMinuteLimitWait,
		Logger:            testLogger(t, b.logs),
		Registerer:        b.reg,
	}
	if b.clock != nil {
		b.slept = &sleeps{clock: b.clock}
		b.cfg.Now = b.clock.Now
		b.cfg.SleepFunc = b.slept.sleep
	}
	if o.cfg != nil {
		o.cfg(&b.cfg)
	}
	c, err := zoomapi.New(b.cfg)
	require.NoError(t, err)
	b.client = c
	return b
}

// testLogger logs at debug level to t.Log and to buf.
func testLogger(t *testing.T, buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.MultiWriter(buf, tWriter{t}), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testClock is a manual clock shared by the fake and the client.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock(t time.Time) *testClock { return &testClock{t: t} }

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// collect drains an iterator, failing the test on an error.
func collect[T any](t *testing.T, seq iter.Seq2[T, error]) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

// collectErr drains an iterator and returns what came before the error,
// checking that an error is yielded at most once and ends the iteration.
func collectErr[T any](t *testing.T, seq iter.Seq2[T, error]) ([]T, error) {
	t.Helper()
	var (
		out  []T
		errs []error
	)
	for v, err := range seq {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		require.Empty(t, errs, "item yielded after an error")
		out = append(out, v)
	}
	require.LessOrEqual(t, len(errs), 1, "errors yielded: %v", errs)
	if len(errs) == 1 {
		return out, errs[0]
	}
	return out, nil
}

// metricValue returns the value of a counter (or a histogram's sample
// count) with exactly these labels, 0 if absent.
func metricValue(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	families, err := reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if !labelsMatch(m, labels) {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetHistogram() != nil:
				return float64(m.GetHistogram().GetSampleCount())
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

func labelsMatch(m *dto.Metric, want map[string]string) bool {
	if len(m.GetLabel()) != len(want) {
		return false
	}
	for _, l := range m.GetLabel() {
		if want[l.GetName()] != l.GetValue() {
			return false
		}
	}
	return true
}

// requests returns the fake's request log once it holds every request the
// client has sent. The fake records a request after answering it, so a
// client can see the answer a moment before the log shows the request.
func (b *testBundle) requests(t *testing.T) []zoomtest.Request {
	t.Helper()
	var reqs []zoomtest.Request
	require.Eventually(t, func() bool {
		reqs = b.zoom.Requests()
		return int64(len(reqs)) >= b.client.Calls()
	}, 5*time.Second, time.Millisecond, "the fake never recorded all %d requests the client sent", b.client.Calls())
	return reqs
}

// statuses lists the statuses of the requests to endpoint (a zoomtest
// template; "" for all).
func (b *testBundle) statuses(t *testing.T, endpoint string) []int {
	t.Helper()
	var out []int
	for _, r := range b.requests(t) {
		if endpoint == "" || r.Endpoint == endpoint {
			out = append(out, r.Status)
		}
	}
	return out
}

// callCount counts the requests to endpoint (a zoomtest template; "" for all).
func (b *testBundle) callCount(t *testing.T, endpoint string) int {
	t.Helper()
	return len(b.statuses(t, endpoint))
}

// endedMeeting starts a meeting, lets n people join and leave ten minutes
// later, and ends it; it returns the instance UUID. start is the meeting's
// start; people join one second apart.
func endedMeeting(s *zoomtest.Server, spec zoomtest.MeetingSpec, n int) string {
	uuid := s.StartMeeting(spec)
	for i := range n {
		at := spec.Start.Add(time.Duration(i) * time.Second)
		p := s.Join(uuid, zoomtest.Person{Name: fmt.Sprintf("Person %d", i), Email: fmt.Sprintf("p%d@example.org", i)}, at)
		s.Leave(uuid, p.UserID, at.Add(10*time.Minute), "")
	}
	s.EndMeeting(uuid, spec.Start.Add(45*time.Minute))
	return uuid
}

// sentinels are every sentinel the package exports.
var sentinels = []error{
	zoomapi.ErrNotFound, zoomapi.ErrNotReady, zoomapi.ErrUnauthorized, zoomapi.ErrMissingScope,
	zoomapi.ErrPlan, zoomapi.ErrRateLimited, zoomapi.ErrDailyQuota, zoomapi.ErrBudgetExhausted,
}

// requireOnly checks that err matches want (nil: none) and no other sentinel.
func requireOnly(t *testing.T, err error, want error) {
	t.Helper()
	require.Error(t, err)
	for _, s := range sentinels {
		if s == want {
			require.ErrorIs(t, err, s)
		} else {
			require.NotErrorIs(t, err, s, "error %q", err)
		}
	}
}
