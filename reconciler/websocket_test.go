package reconciler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/reconciler"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi"
)

const wsSub = "wsSub1"

// TestWebSocketGaps: with the WebSocket the only route, what happened while
// it was disconnected is certainly lost (zoom-platform.md §11): no grace and
// no retry horizon hold the verdict back.
func TestWebSocketGaps(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, dbURL string){
		"WhatHappenedInAGapIsMissedAtOnce":         testGapMissedAtOnce,
		"OutsideAGapTheGraceStillHolds":            testGraceOutsideGap,
		"NoRetryHorizonForZoomrecon'sOwnDowntime":  testNoRetryHorizonOverWebSocket,
		"AnOpenGapAndADeadHoldersSilenceCountToo":  testOpenAndStaleGaps,
		"WithWebhooksToo,AGapIsNoLoss":             testGapWithWebhooksIsNoLoss,
		"TheGapIsNotZoom'sSilenceButTheReceiver's": testGapIsNotSilence,
		"ASilenceWhileConnectedSaysSo":             testSilenceOverWebSocket,
	}
	runOnEveryBackend(t, cases)
}

// setupWS is setup with the WebSocket as the only route.
func setupWS(t *testing.T, dbURL string) *testBundle {
	t.Helper()
	return setupWith(t, dbURL, func(_ *clock, _ *zoomapi.Config, rc *reconciler.Config) { rc.WebSocketOnly = wsSub })
}

// connectedAt records a holder run connected at now and returns its ID.
func (b *testBundle) connectedAt(t *testing.T) int64 {
	t.Helper()
	ctx := context.Background()
	id := b.run(t)
	_, err := b.st.HoldWebSocket(ctx, wsSub, id, b.clk.Now(), time.Minute)
	require.NoError(t, err)
	_, err = b.st.WebSocketUp(ctx, wsSub, id, b.clk.Now())
	require.NoError(t, err)
	return id
}

// alive renews the holder's claim, confirming the connection at now.
func (b *testBundle) alive(t *testing.T, id int64) {
	t.Helper()
	_, err := b.st.HoldWebSocket(context.Background(), wsSub, id, b.clk.Now(), time.Minute)
	require.NoError(t, err)
}

func (b *testBundle) wsDown(t *testing.T, id int64) {
	t.Helper()
	_, err := b.st.WebSocketDown(context.Background(), wsSub, id, b.clk.Now(), "read websocket: EOF")
	require.NoError(t, err)
}

func (b *testBundle) wsUp(t *testing.T, id int64) {
	t.Helper()
	_, err := b.st.WebSocketUp(context.Background(), wsSub, id, b.clk.Now())
	require.NoError(t, err)
}

func testGapMissedAtOnce(t *testing.T, dbURL string) {
	b := setupWS(t, dbURL)
	id := b.connectedAt(t)
	uuid, _, bob := b.meeting(t, "In the gap", false)
	b.clk.Advance(19 * time.Minute)
	b.alive(t, id)
	b.wsDown(t, id) // Bob leaves at +20 and the meeting ends at +30, both in the gap
	b.deliver(t, uuid, lost{ended: true, leaves: map[string]bool{bob: true}})
	b.clk.Advance(12 * time.Minute)
	b.wsUp(t, id)
	b.clk.Advance(time.Second)
	res := b.pass(t)
	require.Equal(t, []string{"missed_meeting_ended In the gap "}, kinds(res),
		"the pass right after reconnecting finds it, the grace not yet passed")
	require.Contains(t, res.Discrepancies[0].Detail, "it happened while the WebSocket event subscription was disconnected (2026-11-23 09:19:00 UTC to 2026-11-23 09:31:00 UTC)")
	require.Empty(t, kinds(b.pass(t)), "once")
	// Bob's leave, lost with the end, is backfilled without an alert of its own.
	sessions, err := b.st.Sessions(context.Background(), uuid)
	require.NoError(t, err)
	var bobs []store.Source
	for _, s := range sessions {
		if strings.HasPrefix(s.Participant.Display(), "Bob") && s.LeaveTime != nil {
			bobs = append(bobs, s.LeaveSource)
		}
	}
	require.Equal(t, []store.Source{store.SourceReconciled}, bobs, "%+v", sessions)
}

func testGraceOutsideGap(t *testing.T, dbURL string) {
	b := setupWS(t, dbURL)
	id := b.connectedAt(t)
	uuid, _, _ := b.meeting(t, "Connected", false)
	b.deliver(t, uuid, lost{ended: true}) // Zoom lost it while connected
	b.clk.Advance(31 * time.Minute)
	b.alive(t, id)
	require.Empty(t, kinds(b.pass(t)), "it may still be on its way: the grace holds")
	b.clk.Advance(grace)
	b.alive(t, id)
	res := b.pass(t)
	require.Equal(t, []string{"missed_meeting_ended Connected "}, kinds(res))
	require.NotContains(t, res.Discrepancies[0].Detail, "WebSocket", "Zoom lost it while connected")
}

func testNoRetryHorizonOverWebSocket(t *testing.T, dbURL string) {
	b := setupWS(t, dbURL)
	first := b.connectedAt(t)
	uuid, _, _ := b.meeting(t, "While stopped", false)
	b.clk.Advance(time.Minute)
	b.alive(t, first)
	b.beat(t, first)
	// zoomrecon stops for 40 minutes: Zoom would retry webhooks for 90,
	// but it never resends over a WebSocket.
	b.wsDown(t, first)
	require.NoError(t, b.st.EndUptime(context.Background(), first, b.clk.Now()))
	b.deliver(t, uuid, lost{ended: true})
	b.clk.Advance(40 * time.Minute)
	second := b.connectedAt(t)
	require.Equal(t, []string{"missed_meeting_ended While stopped "}, b.passUp(t, second))
}

func testOpenAndStaleGaps(t *testing.T, dbURL string) {
	b := setupWS(t, dbURL)
	id := b.connectedAt(t)
	uuid, _, _ := b.meeting(t, "Still disconnected", false)
	b.clk.Advance(time.Minute)
	b.alive(t, id)
	b.wsDown(t, id) // and still down when the pass runs
	b.deliver(t, uuid, lost{ended: true})
	b.clk.Advance(31 * time.Minute)
	require.Equal(t, []string{"missed_meeting_ended Still disconnected "}, kinds(b.pass(t)), "an open gap is lost time too")

	// A holder that died connected: nobody recorded a gap, but its silence
	// since it last confirmed the connection is one.
	other := b.connectedAt(t)
	uuid, _, _ = b.meeting(t, "Holder died", false)
	b.deliver(t, uuid, lost{ended: true})
	b.clk.Advance(10 * time.Minute)
	b.alive(t, other) // its last sign of life, 20 minutes before the end
	b.clk.Advance(21 * time.Minute)
	require.Equal(t, []string{"missed_meeting_ended Holder died "}, kinds(b.pass(t)), "the grace has not passed, but the holder is gone")
}

func testGapWithWebhooksIsNoLoss(t *testing.T, dbURL string) {
	b := setup(t, dbURL) // webhooks received: WebSocketOnly is empty
	run := b.run(t)
	_, err := b.st.HoldWebSocket(context.Background(), wsSub, run, b.clk.Now(), time.Minute)
	require.NoError(t, err)
	b.wsUp(t, run)
	uuid, _, _ := b.meeting(t, "Webhooks too", false)
	b.clk.Advance(time.Minute)
	b.wsDown(t, run)
	b.deliver(t, uuid, lost{ended: true})
	b.clk.Advance(30 * time.Minute)
	b.wsUp(t, run)
	require.Empty(t, b.passUp(t, run), "the webhook may still come: the grace holds")
}

func testGapIsNotSilence(t *testing.T, dbURL string) {
	b := setupWS(t, dbURL)
	id := b.connectedAt(t)
	b.heartbeat(t)
	b.clk.Advance(time.Minute)
	b.alive(t, id)
	b.wsDown(t, id)
	// Disconnected for two hours while meetings run: nothing arrives, which
	// is the disconnection's doing, not Zoom's.
	b.clk.Advance(10 * time.Minute)
	b.meeting(t, "While disconnected", false)
	b.clk.Advance(2 * time.Hour)
	b.wsUp(t, id)
	require.Equal(t, []string{"missed_meeting_started While disconnected "}, kinds(b.pass(t)))
}

// testSilenceOverWebSocket: connected, yet Zoom sends nothing while its API
// shows meetings (a subscription switched off): Zoom's silence, told in the
// WebSocket's terms, not the webhooks'.
func testSilenceOverWebSocket(t *testing.T, dbURL string) {
	b := setupWS(t, dbURL)
	id := b.connectedAt(t)
	b.heartbeat(t)
	b.clk.Advance(45 * time.Minute)
	b.alive(t, id)
	b.meeting(t, "Unsent", false)
	b.clk.Advance(40 * time.Minute)
	b.alive(t, id)
	res := b.pass(t)
	require.ElementsMatch(t, []string{"webhook_silence  ", "missed_meeting_started Unsent "}, kinds(res))
	for _, d := range res.Discrepancies {
		if d.Kind == store.KindWebhookSilence {
			require.Contains(t, d.Detail, "no event over the WebSocket reported, while it was connected")
			require.NotContains(t, d.Detail, "webhook")
		}
	}
}
