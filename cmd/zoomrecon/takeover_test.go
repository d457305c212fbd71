package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// hangingSlack is a Slack Web API whose chat.postMessage hangs while hang is
// set, as a Slack that received the request but has not answered yet, and
// accepts it otherwise.
type hangingSlack struct {
	*httptest.Server
	mu       sync.Mutex
	hang     bool
	received int      // postMessage requests received, hung ones included
	accepted []string // texts answered ok
}

func newHangingSlack(t *testing.T) *hangingSlack {
	t.Helper()
	f := &hangingSlack{hang: true}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if !strings.HasSuffix(r.URL.Path, "/chat.postMessage") {
			_, _ = w.Write([]byte(`{"ok":false,"error":"unknown_method"}`))
			return
		}
		f.mu.Lock()
		f.received++
		hang := f.hang
		if !hang {
			f.accepted = append(f.accepted, r.Form.Get("text"))
		}
		n := len(f.accepted)
		f.mu.Unlock()
		if hang {
			<-r.Context().Done() // until the daemon is killed
			return
		}
		fmt.Fprintf(w, `{"ok":true,"channel":"C0KILL","ts":"1700000000.%06d"}`, n)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *hangingSlack) counts() (received, accepted int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.received, len(f.accepted)
}

// TestRestartTakesUpTheKilledRunsClaims kills serve with SIGKILL while Slack
// holds its request for an alert, so the alert stays claimed for the default
// 5-minute lease. The restarted serve on the same host knows its predecessor
// is dead and sends the alert at once.
func TestRestartTakesUpTheKilledRunsClaims(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dbURL := b.URL(t)
			st := storetest.Open(t, dbURL)
			now := time.Now()
			_, created, err := st.RecordDiscrepancy(ctx, store.Discrepancy{Kind: store.KindMissedMeetingEnded, MeetingUUID: "kill-meeting==",
				Detail: "meeting.ended never arrived", DetectedAt: now},
				&store.OutboxMessage{Kind: store.KindMissedMeetingEnded, Payload: "{}", CreatedAt: now})
			require.NoError(t, err)
			require.True(t, created)

			slack := newHangingSlack(t)
			env := []string{"SLACK_BOT_TOKEN=xoxb-kill-test", "SLACK_CHANNEL=C0KILL", "SLACK_API_URL=" + slack.URL + "/api/"}
			d := startDaemon(t, dbURL, env...)
			require.Eventually(t, func() bool { r, _ := slack.counts(); return r == 1 }, 30*time.Second, 5*time.Millisecond,
				"the daemon claims the alert and calls Slack")
			// Killed mid-request, well inside the 10 s request timeout: the
			// alert is still claimed, and nothing marked it failed or sent.
			require.NoError(t, d.cmd.Process.Signal(syscall.SIGKILL))
			<-d.exited
			msgs := outbox(t, st)
			require.Equal(t, store.OutboxPending, msgs[0].Status)
			require.NotNil(t, msgs[0].ClaimedBy, "claimed by the killed run")
			killedRun := *msgs[0].ClaimedBy
			require.True(t, msgs[0].NextAttemptAt.After(time.Now().Add(4*time.Minute)), "leased for 5 minutes: %v", msgs[0].NextAttemptAt)

			slack.mu.Lock()
			slack.hang = false
			slack.mu.Unlock()
			restarted := time.Now()
			startDaemon(t, dbURL, env...)
			require.Eventually(t, func() bool { _, a := slack.counts(); return a == 1 }, 60*time.Second, 10*time.Millisecond,
				"the restarted daemon sends the alert without waiting out the lease")
			require.Less(t, time.Since(restarted), 4*time.Minute)
			require.Eventually(t, func() bool { return outbox(t, st)[0].Status == store.OutboxSent }, 30*time.Second, 10*time.Millisecond)
			msgs = outbox(t, st)
			require.NotEqual(t, killedRun, *msgs[0].ClaimedBy, "sent by the new run")
			_, accepted := slack.counts()
			require.Equal(t, 1, accepted, "sent once")
		})
	}
}

// outbox returns every alert in the outbox, oldest first.
func outbox(t *testing.T, st *store.Store) []store.OutboxMessage {
	t.Helper()
	var msgs []store.OutboxMessage
	require.NoError(t, st.DB().SelectContext(context.Background(), &msgs, `SELECT * FROM alert_outbox ORDER BY id`))
	require.NotEmpty(t, msgs)
	return msgs
}
