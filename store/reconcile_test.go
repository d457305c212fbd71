package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// TestReconcileStore runs the reconciler's store cases on every backend.
func TestReconcileStore(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, st *store.Store){
		"BackfillRecordsStateAndDiscrepancyOnce": testBackfill,
		"LateWebhookResolvesItsDiscrepancy":      testLateWebhookResolves,
		"AnyEventEndsSilence":                    testEventEndsSilence,
		"VerifiedMeetingsAreNotListedAgain":      testVerified,
		"ListsDiscrepanciesOfAWindow":            testDiscrepanciesSince,
	}
	runOnEveryBackend(t, cases)
}

func startedEvent(uuid, key string, at time.Time) store.Ingest {
	return store.Ingest{
		Event:   store.Event{DedupKey: key, Type: "meeting.started", EventTS: &at, ReceivedAt: at, MeetingUUID: uuid, Body: []byte("{}")},
		Meeting: &store.MeetingUpdate{UUID: uuid, StartTime: at, Started: true, Source: store.SourceWebhook},
	}
}

func testBackfill(t *testing.T, st *store.Store) {
	ctx := context.Background()
	_, err := st.IngestBatch(ctx, []store.Ingest{startedEvent("m1", "s1", t0)}, t0)
	require.NoError(t, err)
	ann := store.Participant{UserID: "100", UserName: "Ann"}
	require.NoError(t, st.ApplyParticipant(ctx, store.ParticipantUpdate{MeetingUUID: "m1", Participant: ann, JoinTime: t0.Add(time.Minute), Source: store.SourceWebhook}, t0))

	end := t0.Add(time.Hour)
	b := store.Backfill{
		Meeting:      &store.MeetingUpdate{UUID: "m1", EndTime: end, Ended: true, Source: store.SourceReconciled},
		Participants: []store.ParticipantUpdate{{MeetingUUID: "m1", Participant: ann, LeaveTime: end, Source: store.SourceReconciled}},
		Discrepancy:  &store.Discrepancy{Kind: store.KindMissedMeetingEnded, MeetingUUID: "m1", DetectedAt: end, Backfilled: true},
		Resolve:      []store.Resolution{{Kind: store.KindStaleMeeting, MeetingUUID: "m1", Reason: store.ResolvedEnded}},
	}
	_, _, err = st.RecordDiscrepancy(ctx, store.Discrepancy{Kind: store.KindStaleMeeting, MeetingUUID: "m1", DetectedAt: t0}, nil)
	require.NoError(t, err)

	d, created, err := st.ApplyBackfill(ctx, b, end)
	require.NoError(t, err)
	require.True(t, created)
	require.True(t, d.Backfilled)

	m, err := st.Meeting(ctx, "m1")
	require.NoError(t, err)
	require.Equal(t, store.StatusEnded, m.Status)
	require.Equal(t, store.SourceReconciled, m.EndSource)
	require.Equal(t, store.SourceWebhook, m.StartSource)
	sessions, err := st.Sessions(ctx, "m1")
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	require.Equal(t, store.SourceWebhook, sessions[0].JoinSource)
	require.Equal(t, store.SourceReconciled, sessions[0].LeaveSource)
	stale, err := st.Discrepancy(ctx, store.KindStaleMeeting, "m1", "")
	require.NoError(t, err)
	require.NotNil(t, stale.ResolvedAt)
	require.Equal(t, store.ResolvedEnded, stale.Resolution)

	_, created, err = st.ApplyBackfill(ctx, b, end.Add(time.Minute))
	require.NoError(t, err)
	require.False(t, created, "a second pass records nothing new")
	sessions, err = st.Sessions(ctx, "m1")
	require.NoError(t, err)
	require.Len(t, sessions, 1, "backfilling the same leave twice changes nothing")
}

func testLateWebhookResolves(t *testing.T, st *store.Store) {
	ctx := context.Background()
	at := t0.Add(2 * time.Hour)
	for _, d := range []store.Discrepancy{
		{Kind: store.KindMissedMeetingEnded, MeetingUUID: "m1", DetectedAt: t0},
		{Kind: store.KindMissedParticipantLeft, MeetingUUID: "m1", Subject: "uid:7", DetectedAt: t0},
		{Kind: store.KindMissedParticipantLeft, MeetingUUID: "m1", Subject: "uid:8", DetectedAt: t0},
		{Kind: store.KindMissedMeetingEnded, MeetingUUID: "m2", DetectedAt: t0},
	} {
		_, _, err := st.RecordDiscrepancy(ctx, d, nil)
		require.NoError(t, err)
	}
	ended := store.Ingest{
		Event:   store.Event{DedupKey: "e1", Type: "meeting.ended", EventTS: &t0, ReceivedAt: at, MeetingUUID: "m1", Body: []byte("{}")},
		Meeting: &store.MeetingUpdate{UUID: "m1", EndTime: t0, Ended: true, Source: store.SourceWebhook},
	}
	left := store.Ingest{
		Event: store.Event{DedupKey: "l7", Type: "meeting.participant_left", EventTS: &t0, ReceivedAt: at, MeetingUUID: "m1", Body: []byte("{}")},
		Participant: &store.ParticipantUpdate{MeetingUUID: "m1", Participant: store.Participant{UserID: "7"},
			LeaveTime: t0, Source: store.SourceWebhook},
	}
	_, err := st.IngestBatch(ctx, []store.Ingest{ended, left}, at)
	require.NoError(t, err)

	open, err := st.OpenDiscrepancies(ctx)
	require.NoError(t, err)
	var still []string
	for _, d := range open {
		still = append(still, string(d.Kind)+"/"+d.MeetingUUID+"/"+d.Subject)
	}
	require.ElementsMatch(t, []string{"missed_participant_left/m1/uid:8", "missed_meeting_ended/m2/"}, still)
	d, err := st.Discrepancy(ctx, store.KindMissedMeetingEnded, "m1", "")
	require.NoError(t, err)
	require.Equal(t, store.ResolvedLateWebhook, d.Resolution)
	require.WithinDuration(t, at, *d.ResolvedAt, time.Millisecond)
}

func testEventEndsSilence(t *testing.T, st *store.Store) {
	ctx := context.Background()
	_, _, err := st.RecordDiscrepancy(ctx, store.Discrepancy{Kind: store.KindWebhookSilence, Subject: t0.Format(time.RFC3339), DetectedAt: t0}, nil)
	require.NoError(t, err)
	// A redelivery of something already stored proves nothing about flow.
	_, err = st.IngestBatch(ctx, []store.Ingest{startedEvent("m1", "s1", t0)}, t0)
	require.NoError(t, err)
	_, _, err = st.RecordDiscrepancy(ctx, store.Discrepancy{Kind: store.KindWebhookSilence, Subject: t0.Add(time.Hour).Format(time.RFC3339), DetectedAt: t0.Add(time.Hour)}, nil)
	require.NoError(t, err)
	_, err = st.IngestBatch(ctx, []store.Ingest{startedEvent("m1", "s1", t0)}, t0.Add(time.Hour))
	require.NoError(t, err)
	open, err := st.OpenDiscrepancies(ctx)
	require.NoError(t, err)
	require.Len(t, open, 1, "a duplicate delivery does not end the silence")

	_, err = st.IngestBatch(ctx, []store.Ingest{startedEvent("m2", "s2", t0)}, t0.Add(2*time.Hour))
	require.NoError(t, err)
	open, err = st.OpenDiscrepancies(ctx)
	require.NoError(t, err)
	require.Empty(t, open)
	d, err := st.Discrepancy(ctx, store.KindWebhookSilence, "", t0.Add(time.Hour).Format(time.RFC3339))
	require.NoError(t, err)
	require.Equal(t, store.ResolvedEventsFlowing, d.Resolution)
}

func testVerified(t *testing.T, st *store.Store) {
	ctx := context.Background()
	for i, uuid := range []string{"a", "b", "c"} {
		require.NoError(t, st.ApplyMeeting(ctx, store.MeetingUpdate{UUID: uuid, StartTime: t0, Started: true,
			EndTime: t0.Add(time.Duration(i+1) * time.Hour), Ended: true, Source: store.SourceWebhook}, t0))
	}
	require.NoError(t, st.ApplyMeeting(ctx, store.MeetingUpdate{UUID: "open", StartTime: t0, Started: true, Source: store.SourceWebhook}, t0))

	got, err := st.EndedUnverified(ctx, t0.Add(2*time.Hour), t0)
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, uuids(got))
	require.NoError(t, st.MarkVerified(ctx, t0, "a"))
	// b's data is not out yet: asked again in an hour.
	require.NoError(t, st.DeferChecks(ctx, map[string]time.Time{"b": t0.Add(time.Hour)}))
	got, err = st.EndedUnverified(ctx, t0.Add(3*time.Hour), t0)
	require.NoError(t, err)
	require.Equal(t, []string{"c"}, uuids(got), "b is held back")
	got, err = st.EndedUnverified(ctx, t0.Add(3*time.Hour), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Equal(t, []string{"b", "c"}, uuids(got), "until its time")
	require.NoError(t, st.MarkVerified(ctx, t0, "b", "c"))
	got, err = st.EndedUnverified(ctx, t0.Add(3*time.Hour), t0.Add(time.Hour))
	require.NoError(t, err)
	require.Empty(t, got, "several meetings confirmed at once")

	open, err := st.OpenMeetings(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"open"}, uuids(open))

	byUUID, err := st.MeetingsByUUID(ctx, []string{"a", "open", "missing"})
	require.NoError(t, err)
	require.Len(t, byUUID, 2)
	require.Contains(t, byUUID, "open")
}

func uuids(ms []store.Meeting) []string {
	out := make([]string, 0, len(ms))
	for _, m := range ms {
		out = append(out, m.UUID)
	}
	return out
}

func testDiscrepanciesSince(t *testing.T, st *store.Store) {
	ctx := context.Background()
	old := store.Discrepancy{Kind: store.KindMissedMeetingEnded, MeetingUUID: "old", DetectedAt: t0.Add(-48 * time.Hour)}
	oldOpen := store.Discrepancy{Kind: store.KindStaleMeeting, MeetingUUID: "old-open", DetectedAt: t0.Add(-48 * time.Hour)}
	recent := store.Discrepancy{Kind: store.KindMissedMeetingEnded, MeetingUUID: "new", DetectedAt: t0}
	for _, d := range []store.Discrepancy{old, oldOpen, recent} {
		_, _, err := st.RecordDiscrepancy(ctx, d, nil)
		require.NoError(t, err)
	}
	_, err := st.ResolveDiscrepancy(ctx, old.Kind, old.MeetingUUID, "", store.ResolvedLateWebhook, t0.Add(-47*time.Hour), nil)
	require.NoError(t, err)
	got, err := st.DiscrepanciesSince(ctx, t0.Add(-time.Hour))
	require.NoError(t, err)
	var names []string
	for _, d := range got {
		names = append(names, d.MeetingUUID)
	}
	require.Equal(t, []string{"new", "old-open"}, names)
}

// TestOneReplicaReconcilesAtATime holds the reconcile lock through one pool
// and asks for it through another, as a second replica would.
func TestOneReplicaReconcilesAtATime(t *testing.T) {
	t.Parallel()
	u := storetest.PostgresURL(t)
	a, b := storetest.Open(t, u), storetest.Open(t, u)
	ctx := context.Background()
	unlock, ok, err := a.TryReconcileLock(ctx)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = b.TryReconcileLock(ctx)
	require.NoError(t, err)
	require.False(t, ok, "a second replica must not reconcile while the first does")
	unlock()
	unlockB, ok, err := b.TryReconcileLock(ctx)
	require.NoError(t, err)
	require.True(t, ok, "the lock is free again once released")
	unlockB()
}
