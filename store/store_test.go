package store_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// t0 is a fixed instant the cases build their times from.
var t0 = time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)

// TestStore runs every store case on every backend.
func TestStore(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, st *store.Store){
		"DedupesEvents":                      testDedupesEvents,
		"IngestAppliesStateOnlyForNewEvents": testIngestAppliesStateOnlyForNewEvents,
		"MergesMeetingUpdates":               testMergesMeetingUpdates,
		"KeepsFirstSourceOfStartAndEnd":      testKeepsFirstSourceOfStartAndEnd,
		"PairsParticipantSessions":           testPairsParticipantSessions,
		"PairsParticipantSessionsInOneBatch": testPairsParticipantSessionsInOneBatch,
		"DiscrepanciesAreUniqueWithAlert":    testDiscrepanciesAreUnique,
		"RefusesUnknownKinds":                testRefusesUnknownKinds,
		"ResolvesDiscrepancyOnce":            testResolvesDiscrepancyOnce,
		"ClaimsOutboxByDueTimeAndLease":      testClaimsOutbox,
		"ConcurrentClaimsNeverShareARow":     testConcurrentClaims,
		"RecordsReconcileRuns":               testRecordsRuns,
		"KeepsFirstStartState":               testInitState,
		"MigratingTwiceIsANoOp":              testMigrateTwice,
	}
	runOnEveryBackend(t, cases)
}

// runOnEveryBackend runs each case, in parallel, on a fresh store of every
// backend.
func runOnEveryBackend(t *testing.T, cases map[string]func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for name, fn := range cases {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					fn(t, storetest.Open(t, b.URL(t)))
				})
			}
		})
	}
}

// claimConcurrently runs claim from four goroutines until it comes back
// empty and returns every ID claimed, sorted, duplicates kept.
func claimConcurrently(t *testing.T, claim func() ([]int64, error)) []int64 {
	t.Helper()
	var (
		mu  sync.Mutex
		got []int64
		wg  sync.WaitGroup
	)
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for {
				ids, err := claim()
				if err != nil {
					errs <- err
					return
				}
				if len(ids) == 0 {
					return
				}
				mu.Lock()
				got = append(got, ids...)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	slices.Sort(got)
	return got
}

func ptr[T any](v T) *T { return &v }

func testDedupesEvents(t *testing.T, st *store.Store) {
	ctx := context.Background()
	eventTS := t0.Add(123 * time.Millisecond)
	ev := store.Event{
		DedupKey: "meeting.started|m1", Type: "meeting.started",
		EventTS: &eventTS, ReceivedAt: t0.Add(time.Second),
		MeetingUUID: "m1", Body: []byte(`{"event":"meeting.started"}`),
	}
	_, err := st.LastEventReceivedAt(ctx)
	require.ErrorIs(t, err, store.ErrNotFound)

	for i, want := range []bool{true, false, false} {
		got, err := st.InsertEvent(ctx, store.Ingest{Event: ev}, t0)
		require.NoError(t, err)
		require.Equal(t, want, got, "delivery %d", i+1)
	}
	n, err := st.CountEvents(ctx)
	require.NoError(t, err)
	require.EqualValues(t, 1, n)

	got, err := st.Event(ctx, ev.DedupKey)
	require.NoError(t, err)
	require.Equal(t, ev.Body, got.Body)
	require.True(t, got.EventTS.Equal(eventTS), "event_ts: got %v want %v", got.EventTS, eventTS)

	last, err := st.LastEventReceivedAt(ctx)
	require.NoError(t, err)
	require.True(t, last.Equal(ev.ReceivedAt), "got %v want %v", last, ev.ReceivedAt)

	_, err = st.Event(ctx, "nope")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testIngestAppliesStateOnlyForNewEvents(t *testing.T, st *store.Store) {
	ctx := context.Background()
	join := func(key string, at time.Time) store.Ingest {
		return store.Ingest{
			Event:   store.Event{DedupKey: key, Type: "meeting.participant_joined", EventTS: &at, ReceivedAt: at, MeetingUUID: "m1", Body: []byte("{}")},
			Meeting: &store.MeetingUpdate{UUID: "m1", MeetingID: 81234567890, Topic: "Weekly sync", StartTime: t0},
			Participant: &store.ParticipantUpdate{
				MeetingUUID: "m1", Participant: store.Participant{UserID: "16778240", UserName: "Ana"},
				JoinTime: at, Source: store.SourceWebhook,
			},
		}
	}
	a, b := join("j1", t0.Add(time.Minute)), join("j2", t0.Add(20*time.Minute))
	res, err := st.IngestBatch(ctx, []store.Ingest{a, b, a}, t0)
	require.NoError(t, err)
	require.Equal(t, []bool{true, true, false}, res)

	res, err = st.IngestBatch(ctx, []store.Ingest{b}, t0)
	require.NoError(t, err)
	require.Equal(t, []bool{false}, res)

	sessions, err := st.Sessions(ctx, "m1")
	require.NoError(t, err)
	require.Len(t, sessions, 2, "a duplicate join must not open a session")

	m, err := st.Meeting(ctx, "m1")
	require.NoError(t, err)
	require.Equal(t, int64(81234567890), m.MeetingID)
	require.Equal(t, store.SourceUnknown, m.StartSource, "a participant event's start time is only a hint")
	require.True(t, m.StartTime.Equal(t0))
}

func testMergesMeetingUpdates(t *testing.T, st *store.Store) {
	ctx := context.Background()
	_, err := st.Meeting(ctx, "m1")
	require.ErrorIs(t, err, store.ErrNotFound)

	// The end arrives before the start, and a later update knows less.
	require.NoError(t, st.ApplyMeeting(ctx, store.MeetingUpdate{
		UUID: "m1", MeetingID: 81234567890, Topic: "Weekly sync", HostID: "h1", Type: store.TypeWebinar, ZoomType: 5,
		StartTime: t0, EndTime: t0.Add(time.Hour), Ended: true, Source: store.SourceWebhook,
	}, t0.Add(time.Hour)))
	require.NoError(t, st.ApplyMeeting(ctx, store.MeetingUpdate{
		UUID: "m1", StartTime: t0, Started: true, Source: store.SourceWebhook,
	}, t0.Add(2*time.Hour)))

	m, err := st.Meeting(ctx, "m1")
	require.NoError(t, err)
	want := store.Meeting{
		UUID: "m1", MeetingID: 81234567890, HostID: "h1", Topic: "Weekly sync", Type: store.TypeWebinar, ZoomType: 5,
		Status: store.StatusEnded, StartTime: ptr(t0), StartSource: store.SourceWebhook,
		EndTime: ptr(t0.Add(time.Hour)), EndSource: store.SourceWebhook,
		FirstSeenAt: t0.Add(time.Hour), UpdatedAt: t0.Add(2 * time.Hour),
	}
	require.Equal(t, normalizeMeeting(want), normalizeMeeting(m))
}

// normalizeMeeting puts times in UTC so require.Equal compares instants.
func normalizeMeeting(m store.Meeting) store.Meeting {
	utc := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		return ptr(t.UTC())
	}
	m.StartTime, m.EndTime, m.VerifiedAt = utc(m.StartTime), utc(m.EndTime), utc(m.VerifiedAt)
	m.FirstSeenAt, m.UpdatedAt = m.FirstSeenAt.UTC(), m.UpdatedAt.UTC()
	return m
}

func testKeepsFirstSourceOfStartAndEnd(t *testing.T, st *store.Store) {
	ctx := context.Background()
	require.NoError(t, st.ApplyMeeting(ctx, store.MeetingUpdate{
		UUID: "m1", StartTime: t0, Started: true, EndTime: t0.Add(time.Hour), Ended: true, Source: store.SourceReconciled,
	}, t0))
	// The webhook arrives late with slightly different times; the backfilled
	// record stands.
	require.NoError(t, st.ApplyMeeting(ctx, store.MeetingUpdate{
		UUID: "m1", EndTime: t0.Add(time.Hour + time.Second), Ended: true, Source: store.SourceWebhook,
	}, t0))
	m, err := st.Meeting(ctx, "m1")
	require.NoError(t, err)
	require.Equal(t, store.SourceReconciled, m.StartSource)
	require.Equal(t, store.SourceReconciled, m.EndSource)
	require.True(t, m.EndTime.Equal(t0.Add(time.Hour)), "end: got %v", m.EndTime)
	require.Equal(t, store.StatusEnded, m.Status)
}

func testPairsParticipantSessions(t *testing.T, st *store.Store) {
	ctx := context.Background()
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	ana := store.Participant{ParticipantUUID: "6F1E", UserName: "Ana"}
	bob := store.Participant{UserID: "1001", UserName: "Bob"}
	steps := []store.ParticipantUpdate{
		// Ana: left before joined, then a rejoin whose leave comes before the
		// first session's leave.
		{Participant: ana, LeaveTime: at(10), LeaveReason: "left"},
		{Participant: ana, JoinTime: at(1)},
		{Participant: ana, JoinTime: at(20)},
		{Participant: ana, LeaveTime: at(30)},
		{Participant: ana, JoinTime: at(20)}, // a redelivered join changes nothing
		// Bob joined and never left.
		{Participant: bob, JoinTime: at(5)},
	}
	for i, u := range steps {
		u.MeetingUUID, u.Source = "m1", store.SourceWebhook
		err := st.ApplyParticipant(ctx, u, t0)
		require.NoError(t, err, "step %d", i)
	}
	// A reconciled leave closes Bob's open session.
	err := st.ApplyParticipant(ctx, store.ParticipantUpdate{
		MeetingUUID: "m1", Participant: store.Participant{UserID: "1001", Email: "bob@example.org"},
		LeaveTime: at(40), Source: store.SourceReconciled,
	}, t0)
	require.NoError(t, err)

	sessions, err := st.Sessions(ctx, "m1")
	require.NoError(t, err)
	type row struct {
		key                     string
		join, leave             time.Time
		joinSource, leaveSource store.Source
		email, reason           string
	}
	var got []row
	for _, s := range sessions {
		got = append(got, row{s.ParticipantKey, s.JoinTime.UTC(), s.LeaveTime.UTC(), s.JoinSource, s.LeaveSource, s.Email, s.LeaveReason})
	}
	want := []row{
		{"puuid:6F1E", at(1), at(10), store.SourceWebhook, store.SourceWebhook, "", "left"},
		{"uid:1001", at(5), at(40), store.SourceWebhook, store.SourceReconciled, "bob@example.org", ""},
		{"puuid:6F1E", at(20), at(30), store.SourceWebhook, store.SourceWebhook, "", ""},
	}
	require.Equal(t, want, got)

	err = st.ApplyParticipant(ctx, store.ParticipantUpdate{MeetingUUID: "m1", JoinTime: at(1)}, t0)
	require.Error(t, err, "a participant without identity must be refused")
}

// testPairsParticipantSessionsInOneBatch sends a whole out-of-order story in
// one IngestBatch, so pairing happens within the batch, not across commits.
func testPairsParticipantSessionsInOneBatch(t *testing.T, st *store.Store) {
	ctx := context.Background()
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	ana := store.Participant{ParticipantUUID: "6F1E", UserName: "Ana"}
	steps := []struct {
		join, leave time.Time
	}{
		{leave: at(10)}, {join: at(1)}, {join: at(20)}, {leave: at(30)}, {join: at(40)},
	}
	var items []store.Ingest
	for i, s := range steps {
		items = append(items, store.Ingest{
			Event:       store.Event{DedupKey: fmt.Sprint("k", i), Type: "meeting.participant_joined", EventTS: &t0, ReceivedAt: t0, MeetingUUID: "m1", Body: []byte("{}")},
			Participant: &store.ParticipantUpdate{MeetingUUID: "m1", Participant: ana, JoinTime: s.join, LeaveTime: s.leave, Source: store.SourceWebhook},
		})
	}
	_, err := st.IngestBatch(ctx, items, t0)
	require.NoError(t, err)
	// A leave in a later batch closes the session opened in the first.
	err = st.ApplyParticipant(ctx, store.ParticipantUpdate{MeetingUUID: "m1", Participant: ana, LeaveTime: at(50), Source: store.SourceReconciled}, t0)
	require.NoError(t, err)

	sessions, err := st.Sessions(ctx, "m1")
	require.NoError(t, err)
	var got [][2]time.Time
	for _, s := range sessions {
		got = append(got, [2]time.Time{s.JoinTime.UTC(), s.LeaveTime.UTC()})
	}
	require.Equal(t, [][2]time.Time{{at(1), at(10)}, {at(20), at(30)}, {at(40), at(50)}}, got)
}

func testDiscrepanciesAreUnique(t *testing.T, st *store.Store) {
	ctx := context.Background()
	d := store.Discrepancy{
		Kind: store.KindMissedMeetingEnded, MeetingUUID: "m1", Detail: "ended 14:45 per Zoom",
		DetectedAt: t0, Backfilled: true,
	}
	alert := func() *store.OutboxMessage {
		return &store.OutboxMessage{Kind: store.KindMissedMeetingEnded, Payload: `{"kind":"missed_meeting_ended"}`, CreatedAt: t0}
	}
	first, created, err := st.RecordDiscrepancy(ctx, d, alert())
	require.NoError(t, err)
	require.True(t, created)

	second, created, err := st.RecordDiscrepancy(ctx, store.Discrepancy{
		Kind: store.KindMissedMeetingEnded, MeetingUUID: "m1", Detail: "other", DetectedAt: t0.Add(time.Hour),
	}, alert())
	require.NoError(t, err)
	require.False(t, created, "same kind, meeting and subject must not make a second discrepancy")
	require.Equal(t, first.ID, second.ID)
	require.Equal(t, "ended 14:45 per Zoom", second.Detail)

	// Another subject or kind is another discrepancy.
	_, created, err = st.RecordDiscrepancy(ctx, store.Discrepancy{Kind: store.KindMissedMeetingEnded, MeetingUUID: "m1", Subject: "uid:1", DetectedAt: t0}, nil)
	require.NoError(t, err)
	require.True(t, created)

	alerts, err := st.AlertsFor(ctx, first.ID)
	require.NoError(t, err)
	require.Len(t, alerts, 1, "one alert per discrepancy")
	require.Equal(t, store.OutboxPending, alerts[0].Status)

	open, err := st.OpenDiscrepancies(ctx)
	require.NoError(t, err)
	require.Len(t, open, 2)
}

func testResolvesDiscrepancyOnce(t *testing.T, st *store.Store) {
	ctx := context.Background()
	d, _, err := st.RecordDiscrepancy(ctx, store.Discrepancy{Kind: store.KindWebhookSilence, DetectedAt: t0}, nil)
	require.NoError(t, err)
	resolved, err := st.ResolveDiscrepancy(ctx, store.KindWebhookSilence, "", "", store.ResolvedEventsFlowing, t0.Add(time.Hour),
		&store.OutboxMessage{Kind: store.KindWebhookSilence, Payload: "{}", CreatedAt: t0.Add(time.Hour)})
	require.NoError(t, err)
	require.True(t, resolved)
	resolved, err = st.ResolveDiscrepancy(ctx, store.KindWebhookSilence, "", "", store.ResolvedEventsFlowing, t0.Add(2*time.Hour), nil)
	require.NoError(t, err)
	require.False(t, resolved)

	got, err := st.Discrepancy(ctx, store.KindWebhookSilence, "", "")
	require.NoError(t, err)
	require.Equal(t, store.ResolvedEventsFlowing, got.Resolution)
	require.True(t, got.ResolvedAt.Equal(t0.Add(time.Hour)))
	alerts, err := st.AlertsFor(ctx, d.ID)
	require.NoError(t, err)
	require.Len(t, alerts, 1)

	_, err = st.Discrepancy(ctx, store.KindStaleMeeting, "x", "")
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testClaimsOutbox(t *testing.T, st *store.Store) {
	ctx := context.Background()
	for i, due := range []time.Time{t0.Add(time.Minute), t0, t0.Add(time.Hour)} {
		_, err := st.EnqueueAlert(ctx, store.OutboxMessage{Kind: store.KindMissedMeetingEnded, Payload: fmt.Sprint(i), CreatedAt: t0, NextAttemptAt: due})
		require.NoError(t, err)
	}
	now := t0.Add(2 * time.Minute)
	claimed, err := st.ClaimAlerts(ctx, 0, now, time.Minute, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"0", "1"}, payloads(claimed), "only due messages")
	require.Equal(t, 1, claimed[0].Tries)

	again, err := st.ClaimAlerts(ctx, 0, now, time.Minute, 10)
	require.NoError(t, err)
	require.Empty(t, again, "leased messages must not be claimed again during the lease")

	require.NoError(t, st.MarkAlertsSent(ctx, store.AlertDelivery{IDs: []int64{claimed[0].ID}, SentAt: now, Channel: "C123", TS: "1700000000.000100"}))
	require.NoError(t, st.MarkAlertsFailed(ctx, []int64{claimed[1].ID}, now.Add(30*time.Second), "slack: 500", false))

	later, err := st.ClaimAlerts(ctx, 0, now.Add(5*time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Equal(t, []string{"1"}, payloads(later), "the failed one is due again; the sent one never")
	require.Equal(t, 2, later[0].Tries)

	require.NoError(t, st.MarkAlertsFailed(ctx, []int64{later[0].ID}, now, "invalid_blocks", true))
	stats, err := st.AlertOutboxStats(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, stats.Pending)
	require.Equal(t, 1, stats.Dead)
	require.NotNil(t, stats.OldestPending)

	require.ErrorIs(t, st.MarkAlertsSent(ctx, store.AlertDelivery{IDs: []int64{999999}, SentAt: now}), store.ErrNotFound)
}

func payloads(msgs []store.OutboxMessage) []string {
	var out []string
	for _, m := range msgs {
		out = append(out, m.Payload)
	}
	return out
}

func testConcurrentClaims(t *testing.T, st *store.Store) {
	ctx := context.Background()
	const total = 60
	for i := range total {
		_, err := st.EnqueueAlert(ctx, store.OutboxMessage{Kind: store.KindMissedMeetingEnded, Payload: fmt.Sprint(i), CreatedAt: t0})
		require.NoError(t, err)
	}
	got := claimConcurrently(t, func() ([]int64, error) {
		claimed, err := st.ClaimAlerts(ctx, 0, t0, time.Hour, 3)
		ids := make([]int64, len(claimed))
		for i, m := range claimed {
			ids[i] = m.ID
		}
		return ids, err
	})
	require.Len(t, got, total, "every message claimed")
	require.Len(t, slices.Compact(got), total, "no message claimed twice")
}

func testRecordsRuns(t *testing.T, st *store.Store) {
	ctx := context.Background()
	_, err := st.LastRun(ctx)
	require.ErrorIs(t, err, store.ErrNotFound)
	run := store.ReconcileRun{TriggeredBy: store.TriggerManual, WindowStart: t0.Add(-72 * time.Hour), WindowEnd: t0, StartedAt: t0}
	run.ID, err = st.StartRun(ctx, run)
	require.NoError(t, err)
	run.MeetingsChecked, run.APICalls, run.DiscrepanciesFound, run.Error = 12, 30, 2, "zoom: 429"
	require.NoError(t, st.FinishRun(ctx, run, t0.Add(time.Minute)))

	got, err := st.LastRun(ctx)
	require.NoError(t, err)
	require.Equal(t, run.ID, got.ID)
	require.Equal(t, 12, got.MeetingsChecked)
	require.Equal(t, 30, got.APICalls)
	require.Equal(t, "zoom: 429", got.Error)
	require.True(t, got.FinishedAt.Equal(t0.Add(time.Minute)))
	require.True(t, got.WindowStart.Equal(t0.Add(-72*time.Hour)))
}

func testInitState(t *testing.T, st *store.Store) {
	ctx := context.Background()
	_, err := st.State(ctx, store.StateFirstStart)
	require.ErrorIs(t, err, store.ErrNotFound)
	v, err := st.InitState(ctx, store.StateFirstStart, "a", t0)
	require.NoError(t, err)
	require.Equal(t, "a", v)
	v, err = st.InitState(ctx, store.StateFirstStart, "b", t0)
	require.NoError(t, err)
	require.Equal(t, "a", v, "the first value stays")
}

func testMigrateTwice(t *testing.T, st *store.Store) {
	ctx := context.Background()
	n, err := st.Migrate(ctx)
	require.NoError(t, err)
	require.Zero(t, n, "an up-to-date schema applies nothing")
	require.NoError(t, st.Ready(ctx))
}

func TestOpen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("RejectsUnknownScheme", func(t *testing.T) {
		t.Parallel()
		_, err := store.Open(ctx, "mysql://u:p@h/db", store.Options{})
		require.ErrorIs(t, err, store.ErrUnknownScheme)
		require.EqualError(t, err, `unknown database URL scheme "mysql": use sqlite:PATH or postgres://USER@HOST:5432/DB`)
	})

	t.Run("ReadyFailsUntilMigrated", func(t *testing.T) {
		t.Parallel()
		st, err := store.Open(ctx, storetest.SQLiteURL(t), store.Options{})
		require.NoError(t, err)
		defer st.Close()
		require.ErrorIs(t, st.Ready(ctx), store.ErrNotMigrated)
		n, err := st.Migrate(ctx)
		require.NoError(t, err)
		require.Positive(t, n)
		require.NoError(t, st.Ready(ctx))
	})

	t.Run("ReadyFailsWhenDatabaseIsClosed", func(t *testing.T) {
		t.Parallel()
		st := storetest.Open(t, storetest.SQLiteURL(t))
		require.NoError(t, st.Close())
		require.Error(t, st.Ready(ctx))
	})

	t.Run("ReadyFailsWhenSQLiteFileIsRemoved", func(t *testing.T) {
		t.Parallel()
		u := storetest.SQLiteURL(t)
		st := storetest.Open(t, u)
		require.NoError(t, st.Ready(ctx))
		require.NoError(t, os.Remove(strings.TrimPrefix(u, "sqlite:")))
		require.ErrorContains(t, st.Ready(ctx), "removed or replaced")
	})

	t.Run("UnreachablePostgresNamesNoPassword", func(t *testing.T) {
		t.Parallel()
		// Port 1 on loopback refuses at once.
		_, err := store.Open(ctx, "postgres://zoomrecon:s3cretPassw0rd@127.0.0.1:1/db?sslmode=disable&connect_timeout=2", store.Options{})
		require.Error(t, err)
		require.Contains(t, err.Error(), "connect to postgres")
		require.NotContains(t, err.Error(), "s3cretPassw0rd")
	})

	t.Run("SQLiteAcceptsAbsoluteAndSlashedPaths", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		for _, u := range []string{"sqlite:" + dir + "/a.db", "sqlite://" + dir + "/b.db"} {
			st, err := store.Open(ctx, u, store.Options{})
			require.NoError(t, err, u)
			_, err = st.Migrate(ctx)
			require.NoError(t, err, u)
			require.NoError(t, st.Close())
		}
		_, err := store.Open(ctx, "sqlite:", store.Options{})
		require.ErrorContains(t, err, "needs a file path")
	})
}

// TestReplicasPairSessionsOnce ingests the joins through one pool and the
// leaves through another, as two replicas on one PostgreSQL would, all at
// once: every participant must still end with one whole session.
func TestReplicasPairSessionsOnce(t *testing.T) {
	t.Parallel()
	u := storetest.PostgresURL(t)
	a, b := storetest.Open(t, u), storetest.Open(t, u)
	ctx := context.Background()
	const n = 60
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		p := store.Participant{UserID: fmt.Sprint(i)}
		ingest := func(st *store.Store, kind string, u store.ParticipantUpdate) {
			wg.Go(func() {
				u.MeetingUUID, u.Participant, u.Source = "m1", p, store.SourceWebhook
				_, err := st.IngestBatch(ctx, []store.Ingest{{
					Event:       store.Event{DedupKey: fmt.Sprint(kind, i), Type: kind, EventTS: &t0, ReceivedAt: t0, MeetingUUID: "m1", Body: []byte("{}")},
					Meeting:     &store.MeetingUpdate{UUID: "m1"},
					Participant: &u,
				}}, t0)
				errs <- err
			})
		}
		ingest(a, "joined", store.ParticipantUpdate{JoinTime: t0.Add(time.Minute)})
		ingest(b, "left", store.ParticipantUpdate{LeaveTime: t0.Add(time.Hour)})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	sessions, err := a.Sessions(ctx, "m1")
	require.NoError(t, err)
	require.Len(t, sessions, n, "one session per participant, never two halves")
	for _, s := range sessions {
		require.NotNil(t, s.JoinTime, s.UserID)
		require.NotNil(t, s.LeaveTime, s.UserID)
	}
}
