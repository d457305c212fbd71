package reconciler_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/reconciler"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// TestOutcome: a pass says ok only when every meeting in its window was
// checked, partial when some could not be, and failed when it could not check
// at all; the run recorded in the database and the metric say the same.
func TestOutcome(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		tune func(*zoomapi.Config)
		// break_ makes Zoom misbehave once the meetings are played.
		break_  func(*zoomtest.Server)
		want    store.RunResult
		level   string // of the line that says how the pass went
		failure string // part of Result.Failure
		errors  int    // how many meetings could not be checked, at least
	}{
		"EverythingCheckedIsOK": {want: store.RunOK, level: "INFO"},
		"WrongClientSecretFails": {
			tune:    func(c *zoomapi.Config) { c.ClientSecret = "not-the-secret" },
			want:    store.RunFailed,
			level:   "ERROR",
			failure: "check the Account ID, Client ID and Client Secret",
		},
		"UnreachableTokenEndpointFails": {
			tune:    func(c *zoomapi.Config) { c.TokenURL = "http://127.0.0.1:1/oauth/token" },
			want:    store.RunFailed,
			level:   "ERROR",
			failure: "ZOOM_OAUTH_TOKEN_URL",
		},
		"ListingAnswering500Fails": {
			break_: func(z *zoomtest.Server) {
				z.Inject(zoomtest.Fault{Path: zoomapi.EndpointDashboardMeetings, Status: 500})
			},
			want:    store.RunFailed,
			level:   "ERROR",
			failure: "listing meetings",
		},
		"OneMeetingUncheckableIsPartial": {
			break_: func(z *zoomtest.Server) {
				// The fake names endpoints by Zoom's own templates.
				for _, path := range []string{"/past_meetings/{meetingId}", "/past_meetings/{meetingId}/participants",
					"/report/meetings/{meetingId}/participants", "/metrics/meetings/{meetingId}/participants"} {
					z.Inject(zoomtest.Fault{Path: path, Status: 500})
				}
			},
			want:   store.RunPartial,
			level:  "WARN",
			errors: 1,
		},
	}
	fns := map[string]func(t *testing.T, dbURL string){}
	for name, tc := range cases {
		fns[name] = func(t *testing.T, dbURL string) {
			reg := prometheus.NewRegistry()
			var logs lockedBuffer
			b := setupWith(t, dbURL, func(_ *clock, zc *zoomapi.Config, rc *reconciler.Config) {
				rc.Registerer = reg
				rc.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				if tc.tune != nil {
					tc.tune(zc)
				}
			})
			for _, r := range []string{"ok", "partial", "failed", "locked"} {
				require.Zero(t, passes(t, reg, r), "every result exists from the start at 0: %s", r)
			}
			uuid, _, bob := b.meeting(t, "Lost leave", false)
			b.deliver(t, uuid, lost{leaves: map[string]bool{bob: true}})
			b.clk.Advance(30*time.Minute + grace + time.Minute)
			b.heartbeat(t)
			if tc.break_ != nil {
				tc.break_(b.zoom)
			}
			res := b.pass(t)
			require.Equal(t, tc.want, res.Outcome, "failure %q, errors %q", res.Failure, res.Errors)
			require.Contains(t, res.Failure, tc.failure)
			if tc.want != store.RunFailed {
				require.Empty(t, res.Failure)
			}
			require.GreaterOrEqual(t, len(res.Errors), tc.errors)
			if tc.want == store.RunOK {
				require.Empty(t, res.Errors)
			}

			require.Equal(t, tc.level, finishedLevel(t, logs.String()), "logs:\n%s", logs.String())
			require.NotContains(t, logs.String(), "<nil>")

			run, err := b.st.LastRun(context.Background())
			require.NoError(t, err)
			require.Equal(t, tc.want, run.Result, "the recorded run says the same")
			for _, r := range []store.RunResult{store.RunOK, store.RunPartial, store.RunFailed} {
				want := 0.0
				if r == tc.want {
					want = 1
				}
				require.Equal(t, want, passes(t, reg, string(r)), "passes_total{result=%q}", r)
			}
			last, err := b.st.LastSuccess(context.Background())
			if tc.want == store.RunOK {
				require.NoError(t, err)
				require.True(t, last.Equal(b.clk.Now()), "last success %v, want %v", last, b.clk.Now())
			} else {
				require.ErrorIs(t, err, store.ErrNotFound, "only a pass that checked everything is a success")
			}
			if tc.want == store.RunOK {
				// Nothing new, nothing wrong: nothing an operator needs to read.
				logs.Reset()
				b.pass(t)
				require.Equal(t, "DEBUG", finishedLevel(t, logs.String()), "logs:\n%s", logs.String())
			}
		}
	}
	runOnEveryBackend(t, fns)
}

// finishedLevel is the level of the one line that says how a pass went.
func finishedLevel(t *testing.T, logs string) string {
	t.Helper()
	level := ""
	for line := range strings.SplitSeq(logs, "\n") {
		if !strings.Contains(line, `msg="reconcile pass `) {
			continue
		}
		require.Empty(t, level, "one line per pass")
		_, rest, _ := strings.Cut(line, "level=")
		level, _, _ = strings.Cut(rest, " ")
	}
	require.NotEmpty(t, level, "no line says how the pass went")
	return level
}

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

func (l *lockedBuffer) Reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b.Reset()
}

// passes is the value of zoomrecon_reconcile_passes_total{result=...} as a
// scrape shows it; a series the registry does not expose fails the test.
func passes(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != "zoomrecon_reconcile_passes_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no zoomrecon_reconcile_passes_total{result=%q} series", result)
	return 0
}

// TestInterruptedPass: a pass that shutdown stops part-way is no failure.
// It is recorded as interrupted, with no error, counted in no result, and
// logged without a warning or an error: a deploy must not look like an
// outage.
func TestInterruptedPass(t *testing.T) {
	t.Parallel()
	runOnEveryBackend(t, map[string]func(t *testing.T, dbURL string){
		"RecordedAsInterrupted": func(t *testing.T, dbURL string) {
			reg := prometheus.NewRegistry()
			var logs lockedBuffer
			b := setupWith(t, dbURL, func(_ *clock, _ *zoomapi.Config, rc *reconciler.Config) {
				rc.Registerer = reg
				rc.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			})
			b.clk.Advance(time.Minute)
			b.meeting(t, "Unheard", false)
			b.clk.Advance(30*time.Minute + grace + time.Minute)
			b.heartbeat(t)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			// Shutdown comes as the pass starts on its first meeting.
			_, err := b.r.Pass(ctx, reconciler.PassOptions{
				Window: reconciler.Window{Since: b.since, Until: b.clk.Now()}, Trigger: store.TriggerSchedule,
				ProgressFunc: func(reconciler.Progress) { cancel() },
			})
			require.ErrorIs(t, err, context.Canceled)

			run, err := b.st.LastRun(context.Background())
			require.NoError(t, err)
			require.Equal(t, store.RunInterrupted, run.Result)
			require.Empty(t, run.Error, "an interrupted pass records no error")
			require.NotNil(t, run.FinishedAt)
			for _, r := range []string{"ok", "partial", "failed", "locked"} {
				require.Zero(t, passes(t, reg, r), r)
			}
			require.NotContains(t, logs.String(), "level=WARN")
			require.NotContains(t, logs.String(), "level=ERROR")
			require.Contains(t, logs.String(), `msg="reconcile pass interrupted`)
		},
	})
}
