package main

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// TestLifecycleEndToEnd runs the support team's loop against a real serve:
// what zoomrecon backfilled is history (resolved at once), a muted meeting's
// loss is recorded but not posted, and an acknowledged stale meeting's
// message is edited to say who is on it; status shows each state.
func TestLifecycleEndToEnd(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("runs a daemon for several seconds")
	}
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			testLifecycleEndToEnd(t, be.URL(t))
		})
	}
}

func testLifecycleEndToEnd(t *testing.T, dbURL string) {
	ctx := context.Background()
	zoom := zoomtest.New()
	t.Cleanup(zoom.Close)
	slack := newFakeSlack(t)
	creds := zoom.Credentials()
	vars := map[string]string{
		"ZOOMRECON_DATABASE_URL": dbURL, "ZOOM_WEBHOOK_SECRET_TOKEN": crashSecret,
		"ZOOM_ACCOUNT_ID": creds.AccountID, "ZOOM_CLIENT_ID": creds.ClientID, "ZOOM_CLIENT_SECRET": creds.ClientSecret,
		"ZOOM_API_BASE_URL": zoom.APIURL(), "ZOOM_OAUTH_TOKEN_URL": zoom.TokenURL(),
		"SLACK_BOT_TOKEN": "xoxb-e2e-secret-token", "SLACK_CHANNEL": "C0E2E", "SLACK_API_URL": slack.URL + "/api/",
		"ZOOMRECON_RECONCILE_INTERVAL": "300ms", "ZOOMRECON_MISSED_GRACE": "1s", "ZOOMRECON_STALE_AFTER": "3s",
		"ZOOM_RESOURCE_INTENSIVE_PER_MINUTE": "6000",
	}
	srv := startServe(t, vars)
	zoom.SetWebhookTarget(srv.baseURL+"/webhooks/zoom", crashSecret)
	require.NoError(t, zoom.ValidateURL(ctx))

	// Two meetings lose their end, and two run too long; one host's are
	// muted before it happens.
	backfilled := zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Backfilled end", HostID: "hostLifeA"})
	muted := zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Muted end", HostID: "hostLifeB"})
	zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Muted marathon", HostID: "hostLifeB"})
	zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Runs too long", HostID: "hostLifeC"})
	res := runCLI(t, vars, "mute", "--host", "hostLifeB", "--for", "1h", "--reason", "training host, known flaky")
	require.Equal(t, 0, res.code, res.stderr)
	zoom.AddRule(func(event string, body []byte, _ int) zoomtest.Action {
		lost := event == "meeting.ended" && (containsJSONString(body, backfilled) || containsJSONString(body, muted))
		return zoomtest.Action{Drop: lost}
	})
	zoom.EndMeeting(backfilled, time.Time{})
	zoom.EndMeeting(muted, time.Time{})
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, zoom.WaitDelivered(waitCtx, len(zoom.Deliveries())))

	byTopic := func() map[string]lifecycleView {
		res := runCLI(t, vars, "status", "--output", "json")
		require.Equal(t, 0, res.code, res.stderr)
		var rep struct {
			Alerts struct {
				Pending int `json:"pending"`
			} `json:"alerts"`
			Discrepancies []lifecycleView `json:"discrepancies"`
		}
		require.NoError(t, json.Unmarshal([]byte(res.stdout), &rep), res.stdout)
		out := map[string]lifecycleView{}
		for _, d := range rep.Discrepancies {
			d.pending = rep.Alerts.Pending
			out[string(d.Kind)+" "+d.Topic] = d
		}
		return out
	}
	var seen map[string]lifecycleView
	require.Eventually(t, func() bool {
		seen = byTopic()
		_, a := seen["missed_meeting_ended Backfilled end"]
		_, b := seen["missed_meeting_ended Muted end"]
		_, c := seen["stale_meeting Muted marathon"]
		_, d := seen["stale_meeting Runs too long"]
		return a && b && c && d && seen["stale_meeting Runs too long"].pending == 0 && slack.posted("Runs too long")
	}, 60*time.Second, 50*time.Millisecond, "discrepancies: %v", seen)

	d := seen["missed_meeting_ended Backfilled end"]
	require.Equal(t, store.State("resolved"), d.State, "what zoomrecon backfilled is history, not a task")
	require.Equal(t, store.ResolutionReason("backfilled"), d.Resolution)
	require.True(t, slack.posted("Backfilled end"), "the team still learns what was missed")
	require.Equal(t, store.State("resolved"), seen["missed_meeting_ended Muted end"].State)
	require.Equal(t, store.State("muted"), seen["stale_meeting Muted marathon"].State)
	require.False(t, slack.posted("Muted end"), "a muted host's loss is recorded, not posted")
	require.False(t, slack.posted("Muted marathon"), "a muted host's loss is recorded, not posted")
	require.Equal(t, store.State("open"), seen["stale_meeting Runs too long"].State, "a stale meeting needs a person")

	// Someone takes the stale meeting: its message says so, and status too.
	res = runCLI(t, vars, "ack", strconv.FormatInt(seen["stale_meeting Runs too long"].ID, 10), "--note", "calling the host", "--by", "ana")
	require.Equal(t, 0, res.code, res.stderr)
	require.Eventually(t, func() bool { return slack.editedTo("calling the host") }, 30*time.Second, 20*time.Millisecond,
		"the stale meeting's Slack message was not edited to show the acknowledgement")
	ack := byTopic()["stale_meeting Runs too long"]
	require.Equal(t, store.State("acknowledged"), ack.State)
	require.Equal(t, "calling the host", ack.AckNote)
	text := runCLI(t, vars, "status")
	require.Regexp(t, `, 0 open, 1 acknowledged, 1 muted`, text.stdout)
}

// lifecycleView is what the test reads of a discrepancy in status's JSON.
type lifecycleView struct {
	ID         int64                  `json:"id"`
	Kind       store.Kind             `json:"kind"`
	Topic      string                 `json:"topic"`
	State      store.State            `json:"state"`
	Resolution store.ResolutionReason `json:"resolution"`
	AckNote    string                 `json:"ack_note"`
	pending    int
}
