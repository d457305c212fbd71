package reconciler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
)

// horizon is Zoom's retry horizon, the reconciler's default: its last retry
// comes about 85 minutes after the event (zoom-platform.md §3).
const horizon = 90 * time.Minute

// TestRetryAwareGrace holds verdicts about events Zoom tried to deliver while
// zoomrecon was down or answering 503 until Zoom's retries are over, and no
// longer than that.
func TestRetryAwareGrace(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, dbURL string){
		"AnOutageHoldsTheVerdictUntilTheHorizon":    testOutageHoldsVerdict,
		"A503MinuteHoldsTheVerdictUntilTheHorizon":  test503HoldsVerdict,
		"WhatTheRetriesDeliverIsNeverReported":      testRetriesDeliver,
		"SilenceIsNotTheDaemonsOwnDowntime":         testSilenceNotOwnDowntime,
		"SilenceSaysWhatTheReceiverRefused":         testSilenceNamesRefusals,
		"AttendanceWaitsForRetriesOfItsJoinsLeaves": testAttendanceWaits,
	}
	runOnEveryBackend(t, cases)
}

// run records a zoomrecon serve that started now; beat extends it to now.
func (b *testBundle) run(t *testing.T) int64 {
	t.Helper()
	id, err := b.st.StartUptime(context.Background(), store.RunIdentity{}, nil, b.clk.Now(), 7*24*time.Hour)
	require.NoError(t, err)
	return id
}

func (b *testBundle) beat(t *testing.T, id int64) {
	t.Helper()
	require.NoError(t, b.st.Beat(context.Background(), id, b.clk.Now()))
}

// passUp runs a pass as the daemon does, its heartbeat current.
func (b *testBundle) passUp(t *testing.T, id int64) []string {
	t.Helper()
	b.beat(t, id)
	return kinds(b.pass(t))
}

func testOutageHoldsVerdict(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	first := b.run(t)
	// Two meetings lose meeting.ended: one ends while zoomrecon is up (a real
	// loss, reported after the grace), one while it is down for 20 minutes.
	up, _, _ := b.meeting(t, "Ended while up", false)
	b.deliver(t, up, lost{ended: true})
	b.clk.Advance(10 * time.Minute)
	down, _, _ := b.meeting(t, "Ended while down", false)
	b.deliver(t, down, lost{ended: true})
	b.clk.Advance(20 * time.Minute) // "Ended while up" ends
	b.clk.Advance(time.Minute)
	b.beat(t, first) // zoomrecon stops; "Ended while down" ends 9 minutes later
	b.clk.Advance(19 * time.Minute)
	second := b.run(t)

	b.clk.Advance(grace)
	require.Equal(t, []string{"missed_meeting_ended Ended while up "}, b.passUp(t, second),
		"the grace has passed for both, but Zoom is still retrying the one that ended during the outage")
	b.clk.Advance(horizon - grace - 11*time.Minute) // 90 min after the end, less a minute
	require.Empty(t, b.passUp(t, second), "Zoom's last retry may still come")
	b.clk.Advance(2 * time.Minute)
	require.Equal(t, []string{"missed_meeting_ended Ended while down "}, b.passUp(t, second), "the retries are over")
	require.Empty(t, b.passUp(t, second), "once")
}

func test503HoldsVerdict(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	id := b.run(t)
	uuid, _, _ := b.meeting(t, "Ended during 503s", false)
	b.deliver(t, uuid, lost{ended: true})
	b.clk.Advance(30 * time.Minute) // it ends now, and the receiver answers 503
	now := b.clk.Now()
	require.NoError(t, b.st.RecordWebhookReport(context.Background(), store.WebhookReport{Counts: []store.TallyCount{
		{Minute: now.Truncate(time.Minute), Reason: store.RefusalUnavailable, Count: 1, FirstAt: now, LastAt: now},
	}}, now))
	b.clk.Advance(grace + time.Minute)
	require.Empty(t, b.passUp(t, id), "Zoom was answered 503 when it sent meeting.ended: it is retrying")
	b.clk.Advance(horizon)
	require.Equal(t, []string{"missed_meeting_ended Ended during 503s "}, b.passUp(t, id))
}

func testRetriesDeliver(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	first := b.run(t)
	b.clk.Advance(time.Minute)
	b.beat(t, first)
	// zoomrecon is down while a whole meeting runs; Zoom's retries deliver
	// every webhook 25 minutes after the meeting, after zoomrecon restarted.
	uuid, _, _ := b.meeting(t, "Redelivered", false)
	b.clk.Advance(40 * time.Minute)
	second := b.run(t)
	require.Empty(t, b.passUp(t, second))
	b.clk.Advance(15 * time.Minute)
	require.Empty(t, b.passUp(t, second), "the grace has passed, but not Zoom's retries")
	b.deliver(t, uuid, lost{})
	for range 4 {
		b.clk.Advance(30 * time.Minute)
		require.Empty(t, b.passUp(t, second), "nothing is reported, before or after the horizon")
	}
}

func testSilenceNotOwnDowntime(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	first := b.run(t)
	b.heartbeat(t)
	b.clk.Advance(time.Minute)
	b.beat(t, first)
	// Down for two hours while a meeting runs; Zoom gives up on its webhooks.
	b.clk.Advance(10 * time.Minute)
	b.meeting(t, "While down", false)
	b.clk.Advance(2 * time.Hour)
	second := b.run(t)
	b.clk.Advance(5 * time.Minute)
	require.Equal(t, []string{"missed_meeting_started While down "}, b.passUp(t, second),
		"the meeting is reported, but zoomrecon's own downtime is not Zoom's silence")
}

func testSilenceNamesRefusals(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	id := b.run(t)
	b.clk.Advance(5 * time.Minute)
	// Every delivery is refused: the app's Secret Token was rotated.
	at := b.clk.Now()
	require.NoError(t, b.st.RecordWebhookReport(context.Background(), store.WebhookReport{Counts: []store.TallyCount{
		{Minute: at.Truncate(time.Minute), Reason: store.RefusalBadSignature, Count: 412, FirstAt: at, LastAt: at.Add(30 * time.Second)},
	}}, at))
	b.meeting(t, "Refused", false)
	b.clk.Advance(50 * time.Minute)
	b.beat(t, id)
	res := b.pass(t)
	require.ElementsMatch(t, []string{"webhook_silence  ", "missed_meeting_started Refused "}, kinds(res))
	for _, f := range res.Discrepancies {
		if f.Kind == store.KindWebhookSilence {
			require.True(t, strings.HasSuffix(f.Detail, "412 deliveries refused for a bad signature since 2026-11-23 09:05:00 UTC: "+
				"is ZOOM_WEBHOOK_SECRET_TOKEN the app's current Secret Token?"), f.Detail)
		}
	}
}

func testAttendanceWaits(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	first := b.run(t)
	// Bob's participant_left (at +20m) is lost while zoomrecon is down from
	// +15m to +25m; the meeting ends, delivered, at +30m.
	uuid, _, bob := b.meeting(t, "Left while down", false)
	b.deliver(t, uuid, lost{leaves: map[string]bool{bob: true}})
	b.clk.Advance(15 * time.Minute)
	b.beat(t, first)
	b.clk.Advance(10 * time.Minute)
	second := b.run(t)
	b.clk.Advance(21 * time.Minute) // past the end's grace
	b.clk.Advance(20 * time.Minute)
	require.Empty(t, b.passUp(t, second), "the leave may still be redelivered")
	b.clk.Advance(horizon)
	require.Equal(t, []string{"missed_participant_left Left while down Bob Left while down"}, b.passUp(t, second))
}
