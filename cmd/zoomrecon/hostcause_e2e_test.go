package main

import (
	"bytes"
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// TestHostCauseEndToEnd runs serve against the fake Zoom while Zoom withholds
// one host's meeting.ended (a host who never authorized the app): the host is
// named once on Slack, another host's single loss is alerted on its own, and
// the host's next meeting.ended closes the cause.
func TestHostCauseEndToEnd(t *testing.T) {
	endToEnd(t, runHostCauseEndToEnd)
}

func runHostCauseEndToEnd(t *testing.T, dbURL string) {
	ctx := context.Background()
	zoom := zoomtest.New()
	t.Cleanup(zoom.Close)
	zoom.SetRetrySchedule(200*time.Millisecond, 400*time.Millisecond, 800*time.Millisecond)
	alice := zoomtest.User{ID: "AliceHartUserID0000001", FirstName: "Alice", LastName: "Hart", Email: "alice@example.org"}
	bob := zoomtest.User{ID: "BobStoneUserID00000002", FirstName: "Bob", LastName: "Stone", Email: "bob@example.org"}
	carol := zoomtest.User{ID: "CarolDiazUserID0000003", FirstName: "Carol", LastName: "Diaz", Email: "carol@example.org"}
	for _, u := range []zoomtest.User{alice, bob, carol} {
		zoom.AddUser(u)
	}

	slack := newFakeSlack(t)
	creds := zoom.Credentials()
	d := startDaemon(t, dbURL,
		"SLACK_BOT_TOKEN=xoxb-e2e-secret-token", "SLACK_CHANNEL=C0E2E", "SLACK_API_URL="+slack.URL+"/api/",
		"ZOOM_ACCOUNT_ID="+creds.AccountID, "ZOOM_CLIENT_ID="+creds.ClientID, "ZOOM_CLIENT_SECRET="+creds.ClientSecret,
		"ZOOM_API_BASE_URL="+zoom.APIURL(), "ZOOM_OAUTH_TOKEN_URL="+zoom.TokenURL(),
		"ZOOMRECON_RECONCILE_INTERVAL=1s", "ZOOMRECON_MISSED_GRACE=2s",
		"ZOOMRECON_STALE_AFTER=1m", "ZOOMRECON_SILENCE_AFTER=1m", "ZOOMRECON_RECONCILE_LOOKBACK=1h",
		"ZOOMRECON_HOST_CAUSE_MIN_MEETINGS=3", "ZOOMRECON_HOST_CAUSE_WINDOW=1h",
		"ZOOM_RESOURCE_INTENSIVE_PER_MINUTE=6000", "ZOOM_MINUTE_LIMIT_WAIT=200ms",
	)
	zoom.SetWebhookTarget(d.baseURL+"/webhooks/zoom", crashSecret)
	require.NoError(t, zoom.ValidateURL(ctx), "Zoom's URL validation")
	st := storetest.Open(t, dbURL)

	// Zoom withholds Alice's meeting.ended until she authorizes the app; it
	// loses one of Carol's by bad luck.
	var authorized atomic.Bool
	carolsLost := "e2eCarolLost000000000A=="
	zoom.AddRule(func(event string, body []byte, _ int) zoomtest.Action {
		aliceEnd := event == "meeting.ended" && bytes.Contains(body, []byte(`"host_id":"`+alice.ID+`"`)) && !authorized.Load()
		carolEnd := event == "meeting.ended" && bytes.Contains(body, jsonString(carolsLost))
		return zoomtest.Action{Drop: aliceEnd || carolEnd}
	})
	play := func(host zoomtest.User, uuid, topic string) {
		uuid = zoom.StartMeeting(zoomtest.MeetingSpec{UUID: uuid, HostID: host.ID, Topic: topic})
		p := zoom.Join(uuid, zoomtest.Person{Name: "Guest of " + topic}, time.Time{})
		zoom.Leave(uuid, p.UserID, time.Time{}, "")
		zoom.EndMeeting(uuid, time.Time{})
	}
	for i, topic := range []string{"Alice one", "Alice two", "Alice three"} {
		play(alice, "", topic)
		play(bob, "", []string{"Bob one", "Bob two", "Bob three"}[i])
	}
	play(carol, carolsLost, "Carol lost")

	cause := func() (store.Discrepancy, error) {
		return st.OpenHostCause(ctx, store.KindHostEndedMissing, alice.ID)
	}
	require.Eventually(t, func() bool { _, err := cause(); return err == nil }, 60*time.Second, 50*time.Millisecond,
		"Alice is named as the cause")
	// The fake keeps the text as sent: mrkdwn escapes <>.
	seen := &lastSeen{}
	require.Eventually(t, func() bool {
		seen.set(slack.texts())
		return slack.posted("Zoom sends no meeting.ended for Alice Hart &lt;alice@example.org&gt;'s meetings while other hosts' arrive") &&
			slack.posted("Zoom never sent meeting.ended for “Carol lost”")
	}, 60*time.Second, 50*time.Millisecond, "Slack hears of Alice once and of Carol's loss on its own: %v", seen)
	_, err := st.OpenHostCause(ctx, store.KindHostEndedMissing, carol.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "one loss is no pattern")
	_, err = st.OpenHostCause(ctx, store.KindHostEndedMissing, bob.ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	// Alice authorizes the app: her next meeting.ended arrives and closes it.
	authorized.Store(true)
	play(alice, "", "Alice after consent")
	require.Eventually(t, func() bool { _, err := cause(); return errors.Is(err, store.ErrNotFound) }, 30*time.Second, 50*time.Millisecond,
		"her meeting.ended closes the cause")
	ds, err := st.DiscrepanciesSince(ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	var causes int
	for _, d := range ds {
		if d.Kind == store.KindHostEndedMissing {
			causes++
			require.Equal(t, store.ResolvedHostEventsFlowing, d.Resolution)
		}
	}
	require.Equal(t, 1, causes, "raised once")
}
