package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// routes are two destinations: one wants everything, one meeting events
// only.
var routes = []store.ForwardRoute{
	{Name: "all"},
	{Name: "meetings", Match: func(t string) bool { return strings.HasPrefix(t, "meeting.") }},
}

// TestForwardQueue runs the cases about the relay's queue on every backend.
func TestForwardQueue(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, u string){
		"NewEventsAreQueuedForTheDestinationsThatWantThem": testQueuedOnIngest,
		"OneMeetingsDeliveriesGoOutInOrder":                testForwardOrder,
		"AFailureBacksOffADeadLetterStops":                 testForwardFailures,
		"AMeetingBehindALongOneIsFound":                    testForwardHeadsBeyond,
		"RebuiltEventsAreStoredOnceAndQueued":              testReconstructedQueued,
		"ReplayQueuesAWindowAgain":                         testReplayQueues,
		"ReplayGoesInTheOrderEventsHappened":               testReplayOrder,
		"AReplayOfManyEventsKeepsTheirOrder":               testReplayManyInOrder,
		"PendingDeliveriesKeepTheirEvents":                 testPruneKeepsPending,
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for name, fn := range cases {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					fn(t, b.URL(t))
				})
			}
		})
	}
}

func openRouted(t *testing.T, u string) *store.Store {
	t.Helper()
	return storetest.OpenWith(t, u, store.Options{Forward: routes})
}

// ingest stores events of type typ for meeting, each at t0 plus its index.
func ingest(t *testing.T, st *store.Store, meeting string, types ...string) {
	t.Helper()
	var items []store.Ingest
	for i, typ := range types {
		at := t0.Add(time.Duration(i) * time.Second)
		items = append(items, store.Ingest{Event: store.Event{
			DedupKey: fmt.Sprintf("%s|%s|%d", meeting, typ, i), Type: typ, EventTS: &at, ReceivedAt: at,
			MeetingUUID: meeting, Body: []byte(`{"event":"` + typ + `","n":` + fmt.Sprint(i) + `}`),
		}})
	}
	_, err := st.IngestBatch(context.Background(), items, t0)
	require.NoError(t, err)
}

func claimAll(t *testing.T, st *store.Store, dest string, now time.Time) []store.ForwardDelivery {
	t.Helper()
	ds, err := st.ClaimForward(context.Background(), dest, 0, now, time.Minute, 100)
	require.NoError(t, err)
	return ds
}

func bodies(ds []store.ForwardDelivery) []string {
	out := []string{}
	for _, d := range ds {
		out = append(out, string(d.Body))
	}
	return out
}

func testQueuedOnIngest(t *testing.T, u string) {
	st := openRouted(t, u)
	ingest(t, st, "m1", "meeting.started")
	ingest(t, st, "", "recording.completed")
	ingest(t, st, "m1", "meeting.started") // a duplicate: not queued again
	require.Equal(t, []string{`{"event":"meeting.started","n":0}`, `{"event":"recording.completed","n":0}`}, bodies(claimAll(t, st, "all", t0)))
	require.Equal(t, []string{`{"event":"meeting.started","n":0}`}, bodies(claimAll(t, st, "meetings", t0)), "the filter")

	plain := storetest.Open(t, u)
	ingest(t, plain, "m2", "meeting.started")
	require.Empty(t, claimAll(t, plain, "all", t0), "no routes, nothing queued")
}

func testForwardOrder(t *testing.T, u string) {
	ctx := context.Background()
	st := openRouted(t, u)
	ingest(t, st, "m1", "meeting.started", "meeting.participant_joined", "meeting.ended")
	ingest(t, st, "m2", "meeting.started")
	first := claimAll(t, st, "all", t0)
	require.Equal(t, []string{`{"event":"meeting.started","n":0}`, `{"event":"meeting.started","n":0}`}, bodies(first),
		"one per meeting: m1's next waits for its first")
	require.Empty(t, claimAll(t, st, "all", t0.Add(30*time.Second)), "claimed ones are leased; the rest wait behind them")
	require.NoError(t, st.MarkForwardDelivered(ctx, []int64{first[0].ID, first[1].ID}, t0))
	second := claimAll(t, st, "all", t0)
	require.Equal(t, []string{`{"event":"meeting.participant_joined","n":1}`}, bodies(second))
	require.Equal(t, "m1", second[0].MeetingUUID)
	require.NoError(t, st.MarkForwardDelivered(ctx, []int64{second[0].ID}, t0))
	require.Equal(t, []string{`{"event":"meeting.ended","n":2}`}, bodies(claimAll(t, st, "all", t0)))
}

// testForwardHeadsBeyond: a claim looks for heads among the earliest due
// rows first; a meeting whose head lies behind a long meeting's backlog is
// found all the same, and the claims follow due order.
func testForwardHeadsBeyond(t *testing.T, u string) {
	ctx := context.Background()
	st := openRouted(t, u)
	long := make([]string, 30)
	for i := range long {
		long[i] = "meeting.participant_joined"
	}
	ingest(t, st, "long", long...)
	ingest(t, st, "short", "meeting.started", "meeting.ended")
	claim := func(limit int) []store.ForwardDelivery {
		ds, err := st.ClaimForward(ctx, "all", 0, t0, time.Minute, limit)
		require.NoError(t, err)
		return ds
	}
	first := claim(1)
	require.Len(t, first, 1)
	require.Equal(t, "long", first[0].MeetingUUID, "due order: the long meeting's head came first")
	second := claim(1)
	require.Len(t, second, 1, "the short meeting's head, behind the long one's 29 waiting rows")
	require.Equal(t, "short", second[0].MeetingUUID)
	require.Equal(t, `{"event":"meeting.started","n":0}`, string(second[0].Body))
	require.Empty(t, claim(5), "both heads are out")
	require.NoError(t, st.MarkForwardDelivered(ctx, []int64{first[0].ID, second[0].ID}, t0))
	both := claim(5)
	require.Equal(t, []string{`{"event":"meeting.participant_joined","n":1}`, `{"event":"meeting.ended","n":1}`}, bodies(both))
}

func testForwardFailures(t *testing.T, u string) {
	ctx := context.Background()
	st := openRouted(t, u)
	ingest(t, st, "m1", "meeting.started", "meeting.ended")
	d := claimAll(t, st, "meetings", t0)[0]
	require.NoError(t, st.MarkForwardFailed(ctx, store.ForwardFailure{ID: d.ID, Next: t0.Add(time.Minute), Err: "HTTP 503"}))
	require.Empty(t, claimAll(t, st, "meetings", t0.Add(30*time.Second)), "backing off, and the next waits behind it")
	stats, err := st.ForwardQueueStats(ctx)
	require.NoError(t, err)
	meetings := stats[1]
	require.Equal(t, "meetings", meetings.Destination)
	require.EqualValues(t, 2, meetings.Pending)
	require.EqualValues(t, 1, meetings.Failing)
	require.Equal(t, "HTTP 503", meetings.LastError)
	require.True(t, meetings.OldestPending.Equal(t0))

	again := claimAll(t, st, "meetings", t0.Add(time.Minute))
	require.Len(t, again, 1)
	require.Equal(t, 2, again[0].Tries)
	require.NoError(t, st.MarkForwardFailed(ctx, store.ForwardFailure{ID: d.ID, Err: "HTTP 400", AnswerStatus: 400, AnswerBody: "bad", Dead: true}))
	next := claimAll(t, st, "meetings", t0.Add(time.Minute))
	require.Equal(t, []string{`{"event":"meeting.ended","n":1}`}, bodies(next), "a dead letter no longer holds its meeting back")
	stats, err = st.ForwardQueueStats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, stats[1].Dead)
	require.Equal(t, "HTTP 400 (answer 400: bad)", stats[1].LastDead)

	// A replay delivers it: the dead letter is superseded.
	n, err := st.QueueReplay(ctx, routes[1:], store.ReplayFilter{Since: t0, Until: t0.Add(time.Second)}, t0)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)
	require.NoError(t, st.MarkForwardDelivered(ctx, []int64{next[0].ID}, t0))
	replayed := claimAll(t, st, "meetings", t0.Add(time.Minute))
	require.Len(t, replayed, 1)
	require.True(t, replayed[0].Replay)
	require.NoError(t, st.MarkForwardDelivered(ctx, []int64{replayed[0].ID}, t0))
	stats, err = st.ForwardQueueStats(ctx)
	require.NoError(t, err)
	require.Equal(t, "meetings", stats[1].Destination, "listed with nothing open: it has delivered")
	require.Zero(t, stats[1].Dead, "nothing left that the application lacks")
	require.Empty(t, stats[1].LastDead)
	require.Zero(t, stats[1].Pending)
	require.EqualValues(t, 2, stats[1].Delivered, "the end, and the replayed start")
}

func testReconstructedQueued(t *testing.T, u string) {
	ctx := context.Background()
	st := openRouted(t, u)
	ev := store.ReconstructedEvent{DedupKey: "rebuilt|meeting.ended|m1", Type: "meeting.ended", MeetingUUID: "m1", EventTS: t0,
		Body: []byte(`{"event":"meeting.ended"}`)}
	for range 2 {
		_, _, err := st.ApplyBackfill(ctx, store.Backfill{
			Meeting: &store.MeetingUpdate{UUID: "m1", EndTime: t0, Ended: true, Source: store.SourceReconciled},
			Events:  []store.ReconstructedEvent{ev},
		}, t0)
		require.NoError(t, err)
	}
	ds := claimAll(t, st, "meetings", t0)
	require.Len(t, ds, 1, "stored and queued once")
	require.True(t, ds[0].Reconstructed)
	require.Equal(t, `{"event":"meeting.ended"}`, string(ds[0].Body))
}

func testReplayQueues(t *testing.T, u string) {
	ctx := context.Background()
	st := openRouted(t, u)
	ingest(t, st, "m1", "meeting.started", "meeting.ended")
	ids := []int64{}
	for _, d := range claimAll(t, st, "meetings", t0) {
		ids = append(ids, d.ID)
	}
	require.NoError(t, st.MarkForwardDelivered(ctx, ids, t0))
	for _, d := range claimAll(t, st, "meetings", t0) {
		require.NoError(t, st.MarkForwardDelivered(ctx, []int64{d.ID}, t0))
	}
	n, err := st.QueueReplay(ctx, routes[1:], store.ReplayFilter{Since: t0.Add(time.Second), Until: t0.Add(time.Hour)}, t0)
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "only what happened in the window")
	ds := claimAll(t, st, "meetings", t0)
	require.Equal(t, []string{`{"event":"meeting.ended","n":1}`}, bodies(ds))
	require.True(t, ds[0].Replay)
	n, err = st.QueueReplay(ctx, routes, store.ReplayFilter{Since: t0, Until: t0.Add(time.Hour), EventType: "meeting.started"}, t0)
	require.NoError(t, err)
	require.EqualValues(t, 2, n, "one event, two destinations")
}

func testReplayOrder(t *testing.T, u string) {
	ctx := context.Background()
	st := openRouted(t, u)
	ingest(t, st, "m1", "meeting.started", "meeting.participant_joined", "meeting.ended") // at t0, +1s, +2s
	// A leave Zoom lost, rebuilt later, happened between the join and the end.
	_, _, err := st.ApplyBackfill(ctx, store.Backfill{
		Meeting: &store.MeetingUpdate{UUID: "m1"},
		Events: []store.ReconstructedEvent{{DedupKey: "rebuilt|left", Type: "meeting.participant_left", MeetingUUID: "m1",
			EventTS: t0.Add(1500 * time.Millisecond), Body: []byte(`{"event":"meeting.participant_left"}`)}},
	}, t0.Add(time.Hour))
	require.NoError(t, err)
	n, err := st.QueueReplay(ctx, []store.ForwardRoute{{Name: "again"}}, store.ReplayFilter{Since: t0, Until: t0.Add(time.Hour)}, t0)
	require.NoError(t, err)
	require.EqualValues(t, 4, n)
	var order []string
	for {
		ds := claimAll(t, st, "again", t0)
		if len(ds) == 0 {
			break
		}
		order = append(order, ds[0].EventType)
		require.NoError(t, st.MarkForwardDelivered(ctx, []int64{ds[0].ID}, t0))
	}
	require.Equal(t, []string{"meeting.started", "meeting.participant_joined", "meeting.participant_left", "meeting.ended"}, order,
		"in the order they happened, rebuilt or received")
}

// testReplayManyInOrder: a replay queues in transactions of a few hundred
// events; across them a meeting's events keep the order they happened in.
func testReplayManyInOrder(t *testing.T, u string) {
	ctx := context.Background()
	st := openRouted(t, u)
	types := make([]string, 600) // more than two transactions' worth
	for i := range types {
		types[i] = "meeting.participant_joined"
	}
	ingest(t, st, "m1", types...) // event i at t0 + i seconds
	n, err := st.QueueReplay(ctx, []store.ForwardRoute{{Name: "again"}}, store.ReplayFilter{Since: t0, Until: t0.Add(time.Hour)}, t0)
	require.NoError(t, err)
	require.EqualValues(t, len(types), n)
	for i := range types {
		ds := claimAll(t, st, "again", t0)
		require.Len(t, ds, 1, "one meeting: one at a time")
		require.Equal(t, fmt.Sprintf(`{"event":"meeting.participant_joined","n":%d}`, i), string(ds[0].Body))
		require.NoError(t, st.MarkForwardDelivered(ctx, []int64{ds[0].ID}, t0))
	}
	require.Empty(t, claimAll(t, st, "again", t0))
}

func testPruneKeepsPending(t *testing.T, u string) {
	ctx := context.Background()
	st := openRouted(t, u)
	ingest(t, st, "m1", "meeting.started")
	n, err := st.PruneEvents(ctx, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Zero(t, n, "its deliveries are pending")
	ds := claimAll(t, st, "all", t0)
	require.NoError(t, st.MarkForwardDelivered(ctx, []int64{ds[0].ID}, t0))
	n, err = st.PruneEvents(ctx, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Zero(t, n, "still pending for the other destination")
	ds = claimAll(t, st, "meetings", t0)
	require.NoError(t, st.MarkForwardFailed(ctx, store.ForwardFailure{ID: ds[0].ID, Err: "HTTP 422", Dead: true}))
	stats, err := st.ForwardQueueStats(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, stats[1].Dead)
	n, err = st.PruneEvents(ctx, t0.Add(time.Hour), 10)
	require.NoError(t, err)
	require.Equal(t, 1, n, "a dead delivery does not keep its event")
	stats, err = st.ForwardQueueStats(ctx)
	require.NoError(t, err)
	require.Len(t, stats, 1, "nothing open for either, and only all has delivered")
	require.Equal(t, "all", stats[0].Destination)
	require.Zero(t, stats[0].Dead)
	// With the event gone, replay cannot send it: it no longer counts.
	n2, err := st.QueueReplay(ctx, routes, store.ReplayFilter{Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)}, t0)
	require.NoError(t, err)
	require.Zero(t, n2)
}

// TestForwardQueueingWaitsForTheMeeting: on PostgreSQL, queueing a
// meeting's deliveries waits for another transaction queueing for the same
// meeting, so a later delivery id never commits before an earlier one that
// the relay would then find missing and overtake.
func TestForwardQueueingWaitsForTheMeeting(t *testing.T) {
	t.Parallel()
	if os.Getenv("ZOOMRECON_TEST_POSTGRES_URL") == "" {
		t.Skip("PostgreSQL only: SQLite's writers take turns")
	}
	u := storetest.PostgresURL(t)
	st := openRouted(t, u)
	ctx := context.Background()
	meeting := fmt.Sprintf("lock-test-%d", time.Now().UnixNano())

	// Another transaction (a backfill) is queueing for the meeting.
	db, err := sql.Open("pgx", u)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	other, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	_, err = other.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('zoomrecon.' || current_schema() || '.meeting.' || $1, 0))", meeting)
	require.NoError(t, err)

	done := make(chan struct{})
	go func() {
		defer close(done)
		ingest(t, st, meeting, "meeting.started")
	}()
	// The ingest waits for the meeting's lock...
	require.Eventually(t, func() bool {
		var waiting int
		err := db.QueryRowContext(ctx, `
SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
    AND objid::bigint = (hashtextextended('zoomrecon.' || current_schema() || '.meeting.' || $1, 0) & 4294967295)`, meeting).Scan(&waiting)
		return err == nil && waiting > 0
	}, 10*time.Second, 5*time.Millisecond, "the ingest waits for the meeting")
	select {
	case <-done:
		t.Fatal("the ingest queued while another transaction held the meeting")
	default:
	}
	// ...and goes on once the other commits.
	require.NoError(t, other.Commit())
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the ingest did not go on after the other transaction committed")
	}
	require.Len(t, claimAll(t, st, "all", t0), 1)
}
