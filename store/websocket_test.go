package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
)

// TestWebSocketRecord runs the cases about the WebSocket subscription's
// holder and gaps on every backend.
func TestWebSocketRecord(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, st *store.Store){
		"OneRunHoldsTheSubscription":             testOneHolder,
		"AGapRunsFromDisconnectToReconnect":      testGapFromDownToUp,
		"ADeadHoldersGapStartsAtItsLastSighting": testDeadHolderGap,
		"OnlyTheHolderRecordsTheConnection":      testOnlyHolderRecords,
		"TheFirstStartOpensAGap":                 testFirstStartGap,
		"TheAlarmIsRaisedOnceAndResolvedOnUp":    testWebSocketAlarm,
		"StatusCountsGapsAndTheirTime":           testWebSocketStatus,
	}
	runOnEveryBackend(t, cases)
}

const sub = "sub-1"

func hold(t *testing.T, st *store.Store, by int64, now time.Time) bool {
	t.Helper()
	held, err := st.HoldWebSocket(context.Background(), sub, by, now, time.Minute)
	require.NoError(t, err)
	return held
}

func testOneHolder(t *testing.T, st *store.Store) {
	ctx := context.Background()
	a, b := startRun(t, st, "a", 1), startRun(t, st, "b", 2)
	require.True(t, hold(t, st, a, t0))
	require.False(t, hold(t, st, b, t0.Add(time.Second)), "a holds it inside its lease")
	require.True(t, hold(t, st, a, t0.Add(50*time.Second)), "a renews its own claim")
	require.False(t, hold(t, st, b, t0.Add(100*time.Second)), "a's renewal moved its lease on")
	require.True(t, hold(t, st, b, t0.Add(111*time.Second)), "a's lease ran out")
	require.False(t, hold(t, st, a, t0.Add(112*time.Second)), "b holds it now")

	// A released subscription is free at once; so is one whose holder ended.
	require.NoError(t, st.ReleaseWebSocket(ctx, sub, b))
	require.True(t, hold(t, st, a, t0.Add(113*time.Second)))
	require.NoError(t, st.EndUptime(ctx, a, t0.Add(114*time.Second)))
	require.True(t, hold(t, st, b, t0.Add(115*time.Second)), "a ended: its claim goes with it")
}

func testGapFromDownToUp(t *testing.T, st *store.Store) {
	ctx := context.Background()
	a := startRun(t, st, "a", 1)
	require.True(t, hold(t, st, a, t0))
	first, err := st.WebSocketDown(ctx, sub, a, t0, "zoomrecon started")
	require.NoError(t, err)
	closed, err := st.WebSocketUp(ctx, sub, a, t0.Add(time.Second))
	require.NoError(t, err)
	require.NotNil(t, closed)
	require.Equal(t, first.ID, closed.ID)
	require.True(t, closed.EndedAt.Equal(t0.Add(time.Second)))

	// Connected and confirmed alive for a while, then the connection ends.
	require.True(t, hold(t, st, a, t0.Add(30*time.Second)))
	down := t0.Add(40 * time.Second)
	gap, err := st.WebSocketDown(ctx, sub, a, down, "read websocket: EOF")
	require.NoError(t, err)
	require.True(t, gap.StartedAt.Equal(down), "a saw its own connection end: the gap starts then, got %s", gap.StartedAt)
	again, err := st.WebSocketDown(ctx, sub, a, down.Add(5*time.Second), "dial: refused")
	require.NoError(t, err)
	require.Equal(t, gap.ID, again.ID, "a failed retry keeps the open gap")
	require.Equal(t, "read websocket: EOF", again.Cause)

	spans, err := st.WebSocketGaps(ctx, sub, t0.Add(-time.Hour), down.Add(10*time.Second))
	require.NoError(t, err)
	require.Len(t, spans, 2)
	require.True(t, spans[1].From.Equal(down) && spans[1].To.Equal(down.Add(10*time.Second)), "the open gap ends at now: %+v", spans[1])

	up := down.Add(20 * time.Second)
	closed, err = st.WebSocketUp(ctx, sub, a, up)
	require.NoError(t, err)
	require.Equal(t, gap.ID, closed.ID)
	spans, err = st.WebSocketGaps(ctx, sub, t0.Add(5*time.Second), up.Add(10*time.Second))
	require.NoError(t, err)
	require.Equal(t, []store.Span{{From: down, To: up}}, utcSpans(spans), "the first gap ended before after")
	again2, err := st.WebSocketUp(ctx, sub, a, up.Add(time.Second))
	require.NoError(t, err)
	require.Nil(t, again2, "no gap was open")
}

func testDeadHolderGap(t *testing.T, st *store.Store) {
	ctx := context.Background()
	a, b := startRun(t, st, "a", 1), startRun(t, st, "b", 2)
	require.True(t, hold(t, st, a, t0))
	_, err := st.WebSocketDown(ctx, sub, a, t0, "zoomrecon started")
	require.NoError(t, err)
	_, err = st.WebSocketUp(ctx, sub, a, t0)
	require.NoError(t, err)
	seen := t0.Add(30 * time.Second)
	require.True(t, hold(t, st, a, seen))

	// a dies connected. Until another run takes over, its silence is a gap.
	later := seen.Add(5 * time.Minute)
	spans, err := st.WebSocketGaps(ctx, sub, t0, later)
	require.NoError(t, err)
	require.Equal(t, []store.Span{{From: seen, To: later}}, utcSpans(spans))
	spans, err = st.WebSocketGaps(ctx, sub, t0, seen.Add(time.Minute))
	require.NoError(t, err)
	require.Empty(t, spans, "a confirmed the connection recently enough")

	require.True(t, hold(t, st, b, later))
	gap, err := st.WebSocketDown(ctx, sub, b, later, "zoomrecon started")
	require.NoError(t, err)
	require.True(t, gap.StartedAt.Equal(seen), "what came after a's last sighting is lost: %s", gap.StartedAt)
}

func testFirstStartGap(t *testing.T, st *store.Store) {
	ctx := context.Background()
	a := startRun(t, st, "a", 1)
	require.True(t, hold(t, st, a, t0))
	gap, err := st.WebSocketDown(ctx, sub, a, t0, "zoomrecon started")
	require.NoError(t, err)
	require.True(t, gap.StartedAt.Equal(t0))
	spans, err := st.WebSocketGaps(ctx, "another-subscription", t0.Add(-time.Hour), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Empty(t, spans, "gaps are per subscription")
}

func testWebSocketAlarm(t *testing.T, st *store.Store) {
	ctx := context.Background()
	a := startRun(t, st, "a", 1)
	require.True(t, hold(t, st, a, t0))
	gap, err := st.WebSocketDown(ctx, sub, a, t0, "dial: refused")
	require.NoError(t, err)
	alert := func() *store.OutboxMessage {
		return &store.OutboxMessage{Kind: store.KindWebSocketDisconnected, Payload: "{}", CreatedAt: t0}
	}
	raised, err := st.RaiseWebSocketDisconnected(ctx, gap, "dial: refused", t0.Add(5*time.Minute), alert())
	require.NoError(t, err)
	require.True(t, raised)
	raised, err = st.RaiseWebSocketDisconnected(ctx, gap, "dial: refused", t0.Add(6*time.Minute), alert())
	require.NoError(t, err)
	require.False(t, raised, "one alarm per gap")
	open := openOfKind(t, st, store.KindWebSocketDisconnected)
	require.Len(t, open, 1)

	_, err = st.WebSocketUp(ctx, sub, a, t0.Add(7*time.Minute))
	require.NoError(t, err)
	require.Empty(t, openOfKind(t, st, store.KindWebSocketDisconnected), "reconnecting resolves it")
	msgs, err := st.ClaimAlerts(ctx, 0, t0.Add(time.Hour), lease, 10)
	require.NoError(t, err)
	require.Len(t, msgs, 1, "the alarm's alert is queued with it")
}

func testWebSocketStatus(t *testing.T, st *store.Store) {
	ctx := context.Background()
	_, err := st.WebSocketStatus(ctx, sub, t0, t0)
	require.ErrorIs(t, err, store.ErrNotFound)
	a := startRun(t, st, "a", 1)
	require.True(t, hold(t, st, a, t0))
	_, err = st.WebSocketDown(ctx, sub, a, t0, "zoomrecon started")
	require.NoError(t, err)
	_, err = st.WebSocketUp(ctx, sub, a, t0.Add(2*time.Second))
	require.NoError(t, err)
	_, err = st.WebSocketDown(ctx, sub, a, t0.Add(10*time.Second), "EOF")
	require.NoError(t, err)
	_, err = st.WebSocketUp(ctx, sub, a, t0.Add(15*time.Second))
	require.NoError(t, err)
	require.True(t, hold(t, st, a, t0.Add(20*time.Second)))

	r, err := st.WebSocketStatus(ctx, sub, t0.Add(-time.Hour), t0.Add(20*time.Second))
	require.NoError(t, err)
	require.NotNil(t, r.Holder)
	require.Equal(t, a, r.Holder.ID)
	require.NotNil(t, r.ConnectedSince)
	require.True(t, r.ConnectedSince.Equal(t0.Add(15*time.Second)))
	require.Nil(t, r.Open)
	require.Equal(t, 2, r.Gaps)
	require.Equal(t, 7*time.Second, r.GapTime)
	require.Equal(t, "EOF", r.Last.Cause)

	_, err = st.WebSocketDown(ctx, sub, a, t0.Add(30*time.Second), "heartbeat")
	require.NoError(t, err)
	r, err = st.WebSocketStatus(ctx, sub, t0.Add(5*time.Second), t0.Add(40*time.Second))
	require.NoError(t, err)
	require.Nil(t, r.ConnectedSince)
	require.NotNil(t, r.Open)
	require.Equal(t, 2, r.Gaps, "the gaps that began since: the second and the open one")
	require.Equal(t, 15*time.Second, r.GapTime)
}

func utcSpans(spans []store.Span) []store.Span {
	out := make([]store.Span, len(spans))
	for i, s := range spans {
		out[i] = store.Span{From: s.From.UTC(), To: s.To.UTC()}
	}
	return out
}

func openOfKind(t *testing.T, st *store.Store, k store.Kind) []store.Discrepancy {
	t.Helper()
	all, err := st.OpenDiscrepancies(context.Background())
	require.NoError(t, err)
	var out []store.Discrepancy
	for _, d := range all {
		if d.Kind == k {
			out = append(out, d)
		}
	}
	return out
}

// testOnlyHolderRecords: a run whose lease another took over sees its
// connection closed (Zoom keeps one per subscription); that is no gap, and it
// must not mark the new holder's connection down or up.
func testOnlyHolderRecords(t *testing.T, st *store.Store) {
	ctx := context.Background()
	a, b := startRun(t, st, "a", 1), startRun(t, st, "b", 2)
	_, err := st.WebSocketDown(ctx, sub, a, t0, "zoomrecon started")
	require.ErrorIs(t, err, store.ErrNotHolder, "nobody holds it yet")
	require.True(t, hold(t, st, a, t0))
	_, err = st.WebSocketDown(ctx, sub, a, t0, "zoomrecon started")
	require.NoError(t, err)
	_, err = st.WebSocketUp(ctx, sub, a, t0.Add(time.Second))
	require.NoError(t, err)

	// a stalls past its lease; b takes over and connects.
	took := t0.Add(2 * time.Minute)
	require.True(t, hold(t, st, b, took))
	r, err := st.WebSocketStatus(ctx, sub, t0.Add(-time.Hour), took)
	require.NoError(t, err)
	require.Equal(t, b, r.Holder.ID)
	require.Nil(t, r.ConnectedSince, "b holds it but has not connected: a's connection is not b's")
	_, err = st.WebSocketDown(ctx, sub, b, took, "zoomrecon started")
	require.NoError(t, err)
	_, err = st.WebSocketUp(ctx, sub, b, took.Add(time.Second))
	require.NoError(t, err)

	// Zoom closes a's connection: a's report is refused.
	_, err = st.WebSocketDown(ctx, sub, a, took.Add(2*time.Second), "read websocket: going away")
	require.ErrorIs(t, err, store.ErrNotHolder)
	_, err = st.WebSocketUp(ctx, sub, a, took.Add(3*time.Second))
	require.ErrorIs(t, err, store.ErrNotHolder)
	r, err = st.WebSocketStatus(ctx, sub, t0.Add(-time.Hour), took.Add(4*time.Second))
	require.NoError(t, err)
	require.Nil(t, r.Open, "b's connection stays up")
	require.NotNil(t, r.ConnectedSince)
	require.True(t, r.ConnectedSince.Equal(took.Add(time.Second)))
}
