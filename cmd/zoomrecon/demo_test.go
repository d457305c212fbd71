package main

import (
	"context"
	"database/sql"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// firstAlertBudget is how soon after its start the demo must show its first
// discrepancy: a newcomer watching it gives it no longer.
const firstAlertBudget = 30 * time.Second

type demoBundle struct {
	path           string // the demo's SQLite file
	stdout, stderr *syncBuffer
	stop           func() int // cancels the demo and returns its exit code
}

// startDemo runs the demo command in-process on path, with debug logs so a
// test sees every line it might log. zoomReady, when not nil, is handed the
// fake Zoom (the command has no flag for that, so the demo is then started
// below the command line).
func startDemo(t *testing.T, path string, zoomReady func(*zoomtest.Server)) demoBundle {
	t.Helper()
	return startDemoArgs(t, path, zoomReady)
}

// startDemoArgs is startDemo with more of the command's flags.
func startDemoArgs(t *testing.T, path string, zoomReady func(*zoomtest.Server), args ...string) demoBundle {
	t.Helper()
	vars := map[string]string{"ZOOMRECON_LISTEN_ADDR": "127.0.0.1:0", "ZOOMRECON_LOG_LEVEL": "debug"}
	e, stdout, stderr := testEnv(vars)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	if zoomReady == nil {
		go func() { done <- run(ctx, append([]string{"demo", "--database-url", "sqlite:" + path}, args...), e) }()
	} else {
		cfg, err := config.Load("", e.lookupEnv)
		require.NoError(t, err)
		go func() {
			code := 0
			if err := runDemo(ctx, cfg, e, demoOptions{database: "sqlite:" + path, zoomReadyFunc: zoomReady}); err != nil {
				printError(e.stderr, err)
				code = 1
			}
			done <- code
		}()
	}
	stopped := false
	stop := func() int {
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatalf("the demo did not stop within 30s; stderr:\n%s", stderr.String())
			return -1
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return demoBundle{path: path, stdout: stdout, stderr: stderr, stop: stop}
}

// waitUntil polls cond until it holds or deadline passes, then fails with
// what the demo printed.
func (d demoBundle) waitUntil(t *testing.T, deadline time.Time, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within the deadline\nstdout:\n%s\nstderr:\n%s", what, d.stdout.String(), d.stderr.String())
		}
		<-tick.C
	}
}

// waitServing waits until the demo serves with its fake Zoom validated, so
// its database exists and is migrated.
func (d demoBundle) waitServing(t *testing.T) {
	t.Helper()
	d.waitUntil(t, time.Now().Add(30*time.Second), "the demo serving", func() bool {
		return strings.Contains(d.stdout.String(), "demo: fake Zoom at ")
	})
}

// query runs one query on the demo's database, which must exist.
func (d demoBundle) query(t *testing.T, dest any, query string, args ...any) {
	t.Helper()
	require.FileExists(t, d.path, "opening it would create it")
	db, err := sql.Open("sqlite", "file:"+d.path+"?_pragma=busy_timeout(5000)")
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.QueryRow(query, args...).Scan(dest), query)
}

// slackMessages returns the messages the Slack stand-in printed, each its
// label line and its rendered text.
func slackMessages(stdout string) []string {
	var out []string
	for _, part := range strings.Split(stdout, "\nslack ")[1:] {
		var b strings.Builder
		for i, l := range strings.Split(part, "\n") {
			if i > 0 && !strings.HasPrefix(l, "  ") {
				break
			}
			b.WriteString(l + "\n")
		}
		out = append(out, b.String())
	}
	return out
}

// messageWith returns the first printed Slack message containing every one
// of subs.
func messageWith(stdout string, subs ...string) (string, bool) {
	for _, m := range slackMessages(stdout) {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(m, s)
		}
		if all {
			return m, true
		}
	}
	return "", false
}

func TestDemo(t *testing.T) {
	t.Parallel()

	t.Run("PrintsAnAlertForEachLossOfTheFirstCycle", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		d := startDemo(t, filepath.Join(t.TempDir(), "demo.db"), nil)

		d.waitUntil(t, start.Add(firstAlertBudget), "the first alert, within 30s of the start", func() bool {
			return len(slackMessages(d.stdout.String())) > 0
		})

		// Each loss of the first cycle, as the support team reads it. Alice
		// Hart's meetings are checked by topic and host, which her
		// root-cause alert will carry too.
		losses := []struct {
			name string
			subs []string
		}{
			{"MeetingEndedLost", []string{"Missed meeting.ended: Support onboarding", "Zoom never sent meeting.ended for “Support onboarding”"}},
			{"ParticipantLeaveLost", []string{"Missed meeting.participant_left: Design review", "Participant: Ann Lee <ann@example.org>"}},
			{"WholeMeetingLost", []string{"Missed meeting.started: Customer escalation call", "no webhook ever mentioned it"}},
			{"HostMeetingsNeverEnd1", []string{"Alice Hart: 1:1 with Sam", hostAlice.ID}},
			{"HostMeetingsNeverEnd2", []string{"Alice Hart: team standup", hostAlice.ID}},
			{"HostMeetingsNeverEnd3", []string{"Alice Hart: hiring panel", hostAlice.ID}},
		}
		deadline := start.Add(90 * time.Second)
		for _, l := range losses {
			d.waitUntil(t, deadline, l.name, func() bool {
				_, ok := messageWith(d.stdout.String(), l.subs...)
				return ok
			})
		}
		_, ok := messageWith(d.stdout.String(), "Release planning")
		require.False(t, ok, "the first cycle's complete meeting must raise no alert")

		// Rendered as plain text: no mrkdwn markers, entities or shortcodes.
		m, _ := messageWith(d.stdout.String(), "Design review")
		require.Contains(t, m, "\n  Backfilled: zoomrecon recorded the leave")
		require.Contains(t, m, "\n    Topic: Design review\n")
		for _, raw := range []string{"*Backfilled:*", "&lt;", "*Topic*", "`", ":warning:"} {
			require.NotContains(t, m, raw, "got:\n%s", m)
		}
		require.Equal(t, 0, d.stop())
		require.NotContains(t, d.stderr.String(), "level=ERROR")
	})

	t.Run("OverTheWebSocketAnOutageIsAlertedAndBackfilled", func(t *testing.T) {
		t.Parallel()
		start := time.Now()
		d := startDemoArgs(t, filepath.Join(t.TempDir(), "demo.db"), nil, "--websocket")
		deadline := start.Add(90 * time.Second)
		// The first outage (3 s to 11 s) takes the first cycle's leaves and
		// ends with it; zoomrecon alerts on it, then backfills them.
		d.waitUntil(t, deadline, "the outage's alert", func() bool {
			_, ok := messageWith(d.stdout.String(), "WebSocket event subscription disconnected")
			return ok
		})
		d.waitUntil(t, deadline, "its resolution", func() bool {
			_, ok := messageWith(d.stdout.String(), "Resolved: WebSocket event subscription disconnected")
			return ok
		})
		d.waitUntil(t, deadline, "a loss of the outage backfilled", func() bool {
			// Alone or in a digest, depending on how many the pass found.
			_, ok := messageWith(d.stdout.String(), "“Support onboarding”", "meeting.ended never arrived",
				"while the WebSocket event subscription was disconnected")
			return ok
		})
		require.Contains(t, d.stdout.String(), "demo: Zoom's WebSocket host is unreachable")
		var webhooks int
		d.query(t, &webhooks, `SELECT COUNT(*) FROM events`)
		require.Positive(t, webhooks, "events arrived over the WebSocket")
		require.Equal(t, 0, d.stop())
	})

	t.Run("StartsFromAFreshDatabaseEachTime", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "demo.db")
		first := startDemo(t, path, nil)
		first.waitServing(t)
		var uuid string
		first.waitUntil(t, time.Now().Add(30*time.Second), "a meeting recorded", func() bool {
			var n int
			first.query(t, &n, `SELECT COUNT(*) FROM meetings`)
			return n > 0
		})
		first.query(t, &uuid, `SELECT uuid FROM meetings LIMIT 1`)
		require.Equal(t, 0, first.stop())
		// What a crash would leave beside the file.
		for _, p := range []string{path + "-wal", path + "-shm"} {
			require.NoError(t, os.WriteFile(p, []byte("left over"), 0o600))
		}

		second := startDemo(t, path, nil)
		second.waitServing(t)
		require.Contains(t, second.stdout.String(), "demo: starting from a fresh database: "+path)
		var n int
		second.query(t, &n, `SELECT COUNT(*) FROM meetings WHERE uuid = ?`, uuid)
		require.Zero(t, n, "the first start's meeting %s is still in the database", uuid)
		for _, p := range []string{path + "-wal", path + "-shm"} {
			b, err := os.ReadFile(p)
			if err == nil {
				require.NotEqual(t, "left over", string(b), p)
			}
		}
		require.Equal(t, 0, second.stop())
	})

	t.Run("StopsMidPassWithoutAnError", func(t *testing.T) {
		t.Parallel()
		zoomCh := make(chan *zoomtest.Server, 1)
		d := startDemo(t, filepath.Join(t.TempDir(), "demo.db"), func(z *zoomtest.Server) { zoomCh <- z })
		zoom := <-zoomCh
		d.waitServing(t)
		// The next pass's first call to Zoom takes 2s: long enough to stop
		// the demo while it runs.
		zoom.Inject(zoomtest.Fault{Times: 1, Delay: 2 * time.Second})
		d.waitUntil(t, time.Now().Add(30*time.Second), "a pass in progress", func() bool {
			var n int
			d.query(t, &n, `SELECT COUNT(*) FROM reconcile_runs WHERE finished_at IS NULL`)
			return n > 0
		})

		require.Equal(t, 0, d.stop())
		require.Contains(t, d.stdout.String(), "demo: stopping")
		require.NotContains(t, d.stderr.String(), "level=ERROR")
		require.NotContains(t, d.stderr.String(), "level=WARN")
		var unfinished, failed, interrupted int
		d.query(t, &unfinished, `SELECT COUNT(*) FROM reconcile_runs WHERE finished_at IS NULL`)
		d.query(t, &failed, `SELECT COUNT(*) FROM reconcile_runs WHERE result = 'failed' OR error <> ''`)
		d.query(t, &interrupted, `SELECT COUNT(*) FROM reconcile_runs WHERE result = 'interrupted'`)
		require.Zero(t, unfinished, "a run left unfinished")
		require.Zero(t, failed, "a run recorded as failed")
		require.Equal(t, 1, interrupted, "the pass in progress was cut short, and says so")
	})
}

// TestDemoSlackStandIn drives the stand-in with slack-go, the client the
// alerts package uses, and reads what it prints.
func TestDemoSlackStandIn(t *testing.T) {
	t.Parallel()
	stdout := &syncBuffer{}
	s := newSlackStandIn(&terminal{w: stdout})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { defer close(done); s.serve(ln) }()
	t.Cleanup(func() { s.close(); <-done })
	ctx := context.Background()

	api := slack.New(s.token, slack.OptionAPIURL(s.apiURL(ln.Addr())))
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, ":rotating_light: Missed meeting.ended: Q&A", true, false)),
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "Zoom never sent it for “Q&amp;A &lt;all&gt;”.", false, false), nil, nil),
		slack.NewSectionBlock(nil, []*slack.TextBlockObject{
			slack.NewTextBlockObject(slack.MarkdownType, "*Meeting UUID*\n`abc==`", false, false),
		}, nil),
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, "*Check next:* see <https://zoom.us/logs|the _webhook_ logs>.\n_…and 2 more_", false, false), nil, nil),
		slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, "zoomrecon · missed_meeting_ended · discrepancy 7", false, false)),
	}
	channel, ts, err := api.PostMessageContext(ctx, slackChannelName, slack.MsgOptionText("fallback", false), slack.MsgOptionBlocks(blocks...))
	require.NoError(t, err)
	require.Equal(t, slackChannelID, channel)
	require.Equal(t, "\nslack #zoom-alerts:\n"+
		"  🚨 Missed meeting.ended: Q&A\n"+
		"  Zoom never sent it for “Q&A <all>”.\n"+
		"    Meeting UUID: abc==\n"+
		"  Check next: see the webhook logs (https://zoom.us/logs).\n"+
		"  …and 2 more\n"+
		"  zoomrecon · missed_meeting_ended · discrepancy 7\n", stdout.String())

	_, _, _, err = api.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionText("*Resolved:* meeting.ended arrived", false))
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(stdout.String(), "\nslack #zoom-alerts, edited:\n  Resolved: meeting.ended arrived\n"), "got:\n%s", stdout.String())

	_, _, err = slack.New("xoxb-wrong", slack.OptionAPIURL(s.apiURL(ln.Addr()))).PostMessageContext(ctx, slackChannelName, slack.MsgOptionText("x", false))
	require.ErrorContains(t, err, "invalid_auth")
	_, _, _, err = api.UpdateMessageContext(ctx, channel, "1.000099", slack.MsgOptionText("x", false))
	require.ErrorContains(t, err, "message_not_found")
}
