package main

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
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

// TestMetricsTellTheTruth scrapes /metrics as Prometheus would, and checks
// that deploy/prometheus/zoomrecon.rules.yml's alerts can fire when they should and only then: a pass that
// could not reach Zoom counts as failed, every result series exists from the
// start, and the gauges of history (the last webhook, the last successful
// pass) survive a restart instead of starting at 0.
func TestMetricsTellTheTruth(t *testing.T) {
	t.Parallel()
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			testMetricsTellTheTruth(t, be.URL(t))
		})
	}
}

func testMetricsTellTheTruth(t *testing.T, dbURL string) {
	ctx := context.Background()
	zoom := zoomtest.New()
	t.Cleanup(zoom.Close)
	creds := zoom.Credentials()
	vars := func(secret string) map[string]string {
		return map[string]string{
			"ZOOMRECON_DATABASE_URL": dbURL, "ZOOM_WEBHOOK_SECRET_TOKEN": crashSecret,
			"ZOOM_ACCOUNT_ID": creds.AccountID, "ZOOM_CLIENT_ID": creds.ClientID, "ZOOM_CLIENT_SECRET": secret,
			"ZOOM_API_BASE_URL": zoom.APIURL(), "ZOOM_OAUTH_TOKEN_URL": zoom.TokenURL(),
			"ZOOMRECON_RECONCILE_INTERVAL": "200ms", "ZOOMRECON_MISSED_GRACE": "1s",
			"ZOOM_RESOURCE_INTENSIVE_PER_MINUTE": "6000",
		}
	}

	// A daemon that works: a webhook arrives, a pass checks everything.
	passes := &passLog{}
	srv := startServe(t, vars(creds.ClientSecret), passes.hook)
	zoom.SetWebhookTarget(srv.baseURL+"/webhooks/zoom", crashSecret)
	zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Heard", HostID: "hostSignals"})
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, zoom.WaitDelivered(waitCtx, 1))
	passes.waitFor(t, store.RunOK)
	m := scrape(t, srv.baseURL)
	require.Positive(t, m[`zoomrecon_webhook_last_event_timestamp_seconds`])
	require.Positive(t, m[`zoomrecon_reconcile_last_success_timestamp_seconds`])
	require.Equal(t, 0, srv.stop())

	st := storetest.Open(t, dbURL)
	lastEvent, err := st.LastEventReceivedAt(ctx)
	require.NoError(t, err)
	lastSuccess, err := st.LastSuccess(ctx)
	require.NoError(t, err)

	// The same daemon restarted with a client secret Zoom refuses: its
	// passes fail, and the history it already had is still there.
	passes = &passLog{}
	srv = startServe(t, vars("rotated-away"), passes.hook)
	passes.waitFor(t, store.RunFailed)
	m = scrape(t, srv.baseURL)
	require.GreaterOrEqual(t, m[`zoomrecon_reconcile_passes_total{result="failed"}`], 1.0)
	for _, r := range []string{"ok", "partial", "locked"} {
		v, ok := m[`zoomrecon_reconcile_passes_total{result="`+r+`"}`]
		require.True(t, ok, "the %s series exists from the start, so an alert can compare against it", r)
		require.Zero(t, v, r)
	}
	require.InDelta(t, float64(lastEvent.UnixMilli())/1000, m[`zoomrecon_webhook_last_event_timestamp_seconds`], 0.001,
		"the last webhook is seeded from the database: the no-webhooks alert must not fire on a deploy")
	require.InDelta(t, float64(lastSuccess.UnixMilli())/1000, m[`zoomrecon_reconcile_last_success_timestamp_seconds`], 0.001,
		"a failed pass is no success, and the last one is remembered across the restart")

	logs := srv.stderr.String()
	require.Contains(t, logs, `"level":"ERROR","msg":"reconcile pass failed: nothing could be checked against Zoom"`)
	require.Contains(t, logs, "Invalid client_id or client_secret", "the log says what to fix")
	require.NotContains(t, logs, "<nil>")
	require.NotContains(t, logs, "rotated-away", "the secret never appears")
	require.Equal(t, 0, srv.stop())
}

// passLog collects the outcomes of serve's scheduled passes.
type passLog struct {
	mu       sync.Mutex
	outcomes []store.RunResult
}

func (p *passLog) hook(e *env) {
	e.afterPass = func(res reconciler.Result, err error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		if err == nil {
			p.outcomes = append(p.outcomes, res.Outcome)
		}
	}
}

// waitFor waits until a pass ended with want.
func (p *passLog) waitFor(t *testing.T, want store.RunResult) {
	t.Helper()
	require.Eventually(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, o := range p.outcomes {
			if o == want {
				return true
			}
		}
		return false
	}, 30*time.Second, 10*time.Millisecond, "no pass ended %s; passes: %v", want, p.snapshot())
}

func (p *passLog) snapshot() []store.RunResult {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]store.RunResult(nil), p.outcomes...)
}

// scrape reads /metrics into series → value, series written as in the
// exposition format (name{labels}).
func scrape(t *testing.T, baseURL string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(baseURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		out[line[:i]] = v
	}
	require.NoError(t, sc.Err())
	return out
}
