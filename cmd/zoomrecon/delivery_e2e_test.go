package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// TestEndToEndZoomDelivery runs zoomrecon serve, as a user runs it, against a
// fake Zoom that delivers as Zoom does (zoom-platform.md §2–3): it retries
// only 5xx, timeouts and refused connections, at compressed +1s/+3s/+13s or
// so, never a 4xx, and revalidates the endpoint URL. Each scenario is one of
// issue 11's promises.
func TestEndToEndZoomDelivery(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts child processes and runs for several seconds")
	}
	scenarios := map[string]func(t *testing.T, dbURL string){
		// (a) and (b): zoomrecon is down longer than the grace while meetings
		// run; every event arrives through Zoom's retries, and nothing is
		// ever reported or alerted, whichever way Zoom signs its retries.
		"OutageInsideRetriesFreshTimestamps": func(t *testing.T, dbURL string) {
			testOutageInsideRetries(t, dbURL, zoomtest.RetryFreshTimestamp)
		},
		"OutageInsideRetriesFirstTimestamps": func(t *testing.T, dbURL string) {
			testOutageInsideRetries(t, dbURL, zoomtest.RetryFirstTimestamp)
		},
		// (c) an outage longer than Zoom retries: exactly what Zoom gave up
		// on is reported, once, after the horizon.
		"OutageLongerThanRetries": testOutageLongerThanRetries,
		// (d) a wrong Secret Token: the silence alert names the refusals.
		"WrongSecretToken": testWrongSecretToken,
		// (e) a refused revalidation raises its alert at once.
		"RefusedRevalidation": testRefusedRevalidation,
	}
	for _, b := range storetest.Backends() {
		for name, fn := range scenarios {
			t.Run(b.Name+"/"+name, func(t *testing.T) {
				t.Parallel()
				fn(t, b.URL(t))
			})
		}
	}
}

// deliveryRig is one scenario's fake Zoom, fake Slack and daemon settings.
type deliveryRig struct {
	zoom  *zoomtest.Server
	slack *fakeSlack
	st    *store.Store
	dbURL string
	env   []string
	hook  string // the webhook URL, the same across restarts
}

func newDeliveryRig(t *testing.T, dbURL string, horizon time.Duration, extraEnv ...string) *deliveryRig {
	t.Helper()
	zoom := zoomtest.New()
	t.Cleanup(zoom.Close)
	slack := newFakeSlack(t)
	creds := zoom.Credentials()
	// One port for every run of the daemon, as Zoom's endpoint URL is fixed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	env := append([]string{
		"ZOOMRECON_LISTEN_ADDR=" + addr,
		"SLACK_BOT_TOKEN=xoxb-e2e-secret-token", "SLACK_CHANNEL=C0E2E", "SLACK_API_URL=" + slack.URL + "/api/",
		"ZOOM_ACCOUNT_ID=" + creds.AccountID, "ZOOM_CLIENT_ID=" + creds.ClientID, "ZOOM_CLIENT_SECRET=" + creds.ClientSecret,
		"ZOOM_API_BASE_URL=" + zoom.APIURL(), "ZOOM_OAUTH_TOKEN_URL=" + zoom.TokenURL(),
		"ZOOMRECON_RECONCILE_INTERVAL=1s", "ZOOMRECON_MISSED_GRACE=2s", "ZOOMRECON_STALE_AFTER=5m",
		"ZOOMRECON_SILENCE_AFTER=4s", "ZOOMRECON_RECONCILE_LOOKBACK=1h",
		"ZOOMRECON_ZOOM_RETRY_HORIZON=" + horizon.String(),
		// Zoom's minute, compressed like the rest.
		"ZOOM_RESOURCE_INTENSIVE_PER_MINUTE=6000", "ZOOM_MINUTE_LIMIT_WAIT=200ms",
	}, extraEnv...)
	return &deliveryRig{zoom: zoom, slack: slack, dbURL: dbURL, env: env, hook: "http://" + addr + "/webhooks/zoom"}
}

func (r *deliveryRig) start(t *testing.T) *childDaemon {
	t.Helper()
	d := startDaemon(t, r.dbURL, r.env...)
	if r.st == nil {
		r.st = storetest.Open(t, r.dbURL)
	}
	return d
}

// stop stops the daemon as systemd does, and waits for it to exit.
func stop(t *testing.T, d *childDaemon) {
	t.Helper()
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case err := <-d.exited:
		require.NoError(t, err, "a SIGTERM'd daemon exits 0")
	case <-time.After(30 * time.Second):
		t.Fatal("daemon did not stop within 30s of SIGTERM")
	}
}

// found lists the discrepancies recorded, as "kind topic participant".
func (r *deliveryRig) found(t *testing.T) []string {
	t.Helper()
	ds, err := r.st.DiscrepanciesSince(context.Background(), time.Now().Add(-time.Hour))
	require.NoError(t, err)
	out := []string{}
	for _, d := range ds {
		who := ""
		if d.Kind == store.KindMissedParticipantJoined || d.Kind == store.KindMissedParticipantLeft {
			who = participantText(d.ParticipantName, d.ParticipantEmail, d.Subject)
		}
		out = append(out, strings.TrimSpace(fmt.Sprintf("%s %s %s", d.Kind, d.Topic, who)))
	}
	sort.Strings(out)
	return out
}

// waitPasses waits until n more reconcile passes have finished.
func (r *deliveryRig) waitPasses(t *testing.T, n int64) {
	t.Helper()
	runs := func() int64 {
		var c int64
		require.NoError(t, r.st.DB().GetContext(context.Background(), &c, `SELECT COUNT(*) FROM reconcile_runs WHERE finished_at IS NOT NULL`))
		return c
	}
	after := runs()
	require.Eventually(t, func() bool { return runs() >= after+n }, 60*time.Second, 20*time.Millisecond, "%d more passes", n)
}

// waitTries waits until every delivery after the first `after` has had at
// least n tries.
func waitTries(t *testing.T, zoom *zoomtest.Server, after, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, d := range zoom.Deliveries()[after:] {
			if d.Attempts < n {
				return false
			}
		}
		return true
	}, 60*time.Second, 10*time.Millisecond, "every delivery since the outage tried %d times", n)
}

func testOutageInsideRetries(t *testing.T, dbURL string, signing zoomtest.RetrySigning) {
	ctx := context.Background()
	r := newDeliveryRig(t, dbURL, 15*time.Second)
	// Tries at +0, +1s, +3s and +13s: the last lands after the restart.
	r.zoom.SetRetrySchedule(time.Second, 2*time.Second, 10*time.Second)
	r.zoom.SetRetrySigning(signing)
	d := r.start(t)
	r.zoom.SetWebhookTarget(r.hook, crashSecret)
	require.NoError(t, r.zoom.ValidateURL(ctx))

	// Before the outage: a meeting starts with two people.
	spans := r.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Spans the outage", HostID: "hostE2E"})
	r.zoom.Join(spans, zoomtest.Person{UserID: "201", Name: "Ann Lee", Email: "ann@example.org"}, time.Time{})
	bob := r.zoom.Join(spans, zoomtest.Person{UserID: "202", Name: "Bob Roe"}, time.Time{})
	require.NoError(t, r.zoom.WaitDelivered(ctx, len(r.zoom.Deliveries())))
	before := len(r.zoom.Deliveries())

	stop(t, d)
	// While zoomrecon is down: a leave, a whole meeting, and a meeting that
	// starts and goes on after the restart.
	r.zoom.Leave(spans, bob.UserID, time.Time{}, "")
	whole := r.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Ran while down", HostID: "hostE2E"})
	cat := r.zoom.Join(whole, zoomtest.Person{UserID: "203", Name: "Cat Poe"}, time.Time{})
	r.zoom.Join(whole, zoomtest.Person{UserID: "204", Name: "Dan Ode"}, time.Time{})
	r.zoom.Leave(whole, cat.UserID, time.Time{}, "")
	r.zoom.EndMeeting(whole, time.Time{})
	later := r.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Started while down", HostID: "hostE2E"})
	r.zoom.Join(later, zoomtest.Person{UserID: "205", Name: "Eve Ray"}, time.Time{})
	// Down for three tries, longer than the grace.
	waitTries(t, r.zoom, before, 3)

	r.start(t)
	r.zoom.EndMeeting(spans, time.Time{})
	r.zoom.EndMeeting(later, time.Time{})
	require.NoError(t, r.zoom.WaitDelivered(ctx, len(r.zoom.Deliveries())))
	lastEvent := time.Now()

	deliveries := r.zoom.Deliveries()
	var retried int
	for _, dl := range deliveries {
		require.True(t, dl.Delivered, "delivery %d (%s) ended without being delivered: %+v", dl.ID, dl.Event, dl)
		if dl.ID > before && dl.Attempts > 1 {
			retried++
			if signing == zoomtest.RetryFirstTimestamp {
				for _, try := range dl.Tries[1:] {
					require.Equal(t, dl.Tries[0].Timestamp, try.Timestamp, "retries repeat the first timestamp")
				}
			}
		}
	}
	require.Equal(t, 9, retried, "Bob's leave; a start, two joins, two leaves and an end; a start and a join: all came through retries")

	// Past Zoom's retry horizon and a few passes more: nothing was ever
	// reported, and Slack never heard of it.
	require.Eventually(t, func() bool { return time.Since(lastEvent) > 15*time.Second }, 60*time.Second, 50*time.Millisecond)
	r.waitPasses(t, 3)
	require.Empty(t, r.found(t))
	require.Empty(t, r.slack.texts())
	for _, m := range []*e2eMeeting{{topic: "Spans the outage", uuid: spans}, {topic: "Ran while down", uuid: whole}, {topic: "Started while down", uuid: later}} {
		requireStateIsTruth(t, r.st, r.zoom, m)
	}
}

func testOutageLongerThanRetries(t *testing.T, dbURL string) {
	ctx := context.Background()
	const horizon = 4 * time.Second
	r := newDeliveryRig(t, dbURL, horizon)
	// Tries at +0, +0.5s, +1.5s and +3s: all before the restart.
	r.zoom.SetRetrySchedule(500*time.Millisecond, time.Second, 1500*time.Millisecond)
	d := r.start(t)
	r.zoom.SetWebhookTarget(r.hook, crashSecret)
	require.NoError(t, r.zoom.ValidateURL(ctx))

	ended := r.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Ended while down", HostID: "hostE2E"})
	r.zoom.Join(ended, zoomtest.Person{UserID: "301", Name: "Ann Lee", Email: "ann@example.org"}, time.Time{})
	left := r.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Left while down", HostID: "hostE2E"})
	r.zoom.Join(left, zoomtest.Person{UserID: "302", Name: "Bob Roe"}, time.Time{})
	cat := r.zoom.Join(left, zoomtest.Person{UserID: "303", Name: "Cat Poe", Email: "cat@example.org"}, time.Time{})
	require.NoError(t, r.zoom.WaitDelivered(ctx, len(r.zoom.Deliveries())))
	before := len(r.zoom.Deliveries())

	stop(t, d)
	r.zoom.EndMeeting(ended, time.Time{})
	r.zoom.Leave(left, cat.UserID, time.Time{}, "")
	whole := r.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Ran while down", HostID: "hostE2E"})
	r.zoom.Join(whole, zoomtest.Person{UserID: "304", Name: "Dan Ode"}, time.Time{})
	r.zoom.Join(whole, zoomtest.Person{UserID: "305", Name: "Eve Ray"}, time.Time{})
	r.zoom.EndMeeting(whole, time.Time{})
	// Zoom gives up on every one of them before zoomrecon is back.
	require.NoError(t, r.zoom.WaitDelivered(ctx, len(r.zoom.Deliveries())))
	var gaveUp []string
	for _, dl := range r.zoom.Deliveries()[before:] {
		require.True(t, dl.GaveUp, "delivery %d (%s): %+v", dl.ID, dl.Event, dl)
		gaveUp = append(gaveUp, dl.Event)
	}
	require.Len(t, gaveUp, 9, "Ann's leave and the end; Cat's leave; a start, two joins, two leaves and an end: %v", gaveUp)

	r.start(t)
	r.zoom.EndMeeting(left, time.Time{})
	require.NoError(t, r.zoom.WaitDelivered(ctx, len(r.zoom.Deliveries())))

	// What Zoom gave up on, each reported once: the end (with Ann's final
	// leave), Cat's leave, and the meeting no webhook ever mentioned.
	want := []string{
		"missed_meeting_ended Ended while down",
		"missed_meeting_started Ran while down",
		"missed_participant_left Left while down Cat Poe <cat@example.org>",
	}
	seen := &lastSeen{}
	require.Eventually(t, func() bool { return slices.Equal(seen.set(r.found(t)), want) }, 60*time.Second, 50*time.Millisecond,
		"discrepancies: last seen %v, want %q", seen, want)
	r.waitPasses(t, 3)
	require.Equal(t, want, r.found(t), "once")

	// And none before Zoom's retries were over.
	truth := func(uuid string) zoomtest.Instance { in, ok := r.zoom.Truth(uuid); require.True(t, ok); return in }
	happened := map[string]time.Time{
		"missed_meeting_ended Ended while down":   truth(ended).End,
		"missed_meeting_started Ran while down":   truth(whole).Start,
		"missed_participant_left Left while down": truth(left).Sessions[1].LeaveTime,
	}
	ds, err := r.st.DiscrepanciesSince(ctx, time.Now().Add(-time.Hour))
	require.NoError(t, err)
	for _, dsc := range ds {
		at := happened[string(dsc.Kind)+" "+dsc.Topic]
		require.False(t, at.IsZero(), "%s %s", dsc.Kind, dsc.Topic)
		require.False(t, dsc.DetectedAt.Before(at.Add(horizon)), "%s %s detected at %v, before the horizon after %v", dsc.Kind, dsc.Topic, dsc.DetectedAt, at)
	}
	for _, m := range []*e2eMeeting{{topic: "Ended while down", uuid: ended}, {topic: "Left while down", uuid: left}, {topic: "Ran while down", uuid: whole}} {
		requireStateIsTruth(t, r.st, r.zoom, m)
	}
}

func testWrongSecretToken(t *testing.T, dbURL string) {
	ctx := context.Background()
	r := newDeliveryRig(t, dbURL, 8*time.Second)
	r.start(t)
	// The app's Secret Token was regenerated; zoomrecon still has the old one.
	r.zoom.SetWebhookTarget(r.hook, "regeneratedSecretToken")
	m := r.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Refused", HostID: "hostE2E"})
	r.zoom.Join(m, zoomtest.Person{UserID: "401", Name: "Ann Lee"}, time.Time{})
	r.zoom.Join(m, zoomtest.Person{UserID: "402", Name: "Bob Roe"}, time.Time{})
	r.zoom.EndMeeting(m, time.Time{})
	require.NoError(t, r.zoom.WaitDelivered(ctx, len(r.zoom.Deliveries())))
	for _, dl := range r.zoom.Deliveries() {
		require.True(t, dl.Refused, "a 401 is final: %+v", dl)
		require.Equal(t, 1, dl.Attempts, "Zoom never retries a 4xx")
	}

	require.Eventually(t, func() bool { return r.slack.posted("deliveries refused for a bad signature") }, 60*time.Second, 50*time.Millisecond,
		"the silence alert names the refusals: %q", r.slack.texts())
	require.True(t, r.slack.posted("is ZOOM_WEBHOOK_SECRET_TOKEN the app's current Secret Token?"), "%q", r.slack.texts())
	require.Contains(t, r.found(t), "webhook_silence")

	var out, errOut bytes.Buffer
	e := newEnv()
	e.stdout, e.stderr, e.stderrIsTerminal = &out, &errOut, false
	e.lookupEnv = func(k string) (string, bool) {
		if k == "ZOOMRECON_DATABASE_URL" {
			return r.dbURL, true
		}
		return "", false
	}
	require.Equal(t, 0, run(ctx, []string{"status"}, e), errOut.String())
	require.Contains(t, out.String(), fmt.Sprintf("Refused in 24 h:       %d deliveries refused for a bad signature", len(r.zoom.Deliveries())))
}

func testRefusedRevalidation(t *testing.T, dbURL string) {
	ctx := context.Background()
	r := newDeliveryRig(t, dbURL, 8*time.Second)
	r.start(t)
	r.zoom.SetWebhookTarget(r.hook, crashSecret)
	require.NoError(t, r.zoom.ValidateURL(ctx))

	r.zoom.SetWebhookTarget(r.hook, "regeneratedSecretToken")
	require.Error(t, r.zoom.Revalidate(ctx), "zoomrecon refuses a validation it cannot verify")
	require.Eventually(t, func() bool {
		return r.slack.posted("URGENT: zoomrecon refused Zoom's URL revalidation")
	}, 30*time.Second, 20*time.Millisecond, "the alert comes at once: %q", r.slack.texts())
	require.Equal(t, []string{"url_validation_refused"}, r.found(t))

	// Fixed: the next revalidation is answered, and the alert says so.
	r.zoom.SetWebhookTarget(r.hook, crashSecret)
	require.NoError(t, r.zoom.Revalidate(ctx))
	require.Eventually(t, func() bool {
		open, err := r.st.OpenDiscrepancies(ctx)
		require.NoError(t, err)
		return len(open) == 0
	}, 30*time.Second, 20*time.Millisecond, "the answered revalidation resolves it")
	require.Eventually(t, func() bool { return r.slack.updates() > 0 }, 30*time.Second, 20*time.Millisecond,
		"its Slack message is edited to resolved")
	require.False(t, r.zoom.SubscriptionDisabled())
}
