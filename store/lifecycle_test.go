package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
)

// TestLifecycleStore runs the acknowledgement and mute cases on every backend.
func TestLifecycleStore(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, st *store.Store){
		"BackfilledIsRecordedResolved":        testRecordBackfilledResolved,
		"AcknowledgesOpenOnly":                testAcknowledge,
		"AckQueuesEditsOfSentBotMessages":     testAckQueuesEdits,
		"MutesMatchMeetingHostIDAndEmail":     testMutesMatch,
		"MuteValidatesAndUnmuteEnds":          testMuteUnmute,
		"MutedAlertsAreDeadAndNotCounted":     testMarkAlertsMuted,
		"StatePrefersResolvedThenAckThenMute": testDiscrepancyState,
	}
	runOnEveryBackend(t, cases)
}

func testRecordBackfilledResolved(t *testing.T, st *store.Store) {
	ctx := context.Background()
	d := missedEnd(1)
	d.Backfilled = true
	at := t0
	d.ResolvedAt, d.Resolution = &at, store.ResolvedBackfilled
	id, _ := recordAlerted(t, st, d)
	got, err := st.DiscrepancyByID(ctx, id)
	require.NoError(t, err)
	require.Equal(t, store.ResolvedBackfilled, got.Resolution)
	require.NotNil(t, got.ResolvedAt)
	require.True(t, t0.Equal(*got.ResolvedAt))
	open, err := st.OpenDiscrepancies(ctx)
	require.NoError(t, err)
	require.Empty(t, open)

	// Resolving it again (a late webhook) is a no-op.
	ok, err := st.ResolveDiscrepancy(ctx, d.Kind, d.MeetingUUID, "", store.ResolvedLateWebhook, t0.Add(time.Hour), nil)
	require.NoError(t, err)
	require.False(t, ok)
	again, err := st.DiscrepancyByID(ctx, id)
	require.NoError(t, err)
	require.Equal(t, got, again)

	bad := missedEnd(2)
	bad.Resolution = store.ResolvedBackfilled
	_, _, err = st.RecordDiscrepancy(ctx, bad, nil)
	require.Error(t, err, "a resolution without a time is refused")
}

func testAcknowledge(t *testing.T, st *store.Store) {
	ctx := context.Background()
	id, _ := recordAlerted(t, st, missedEnd(1))
	d, err := st.Acknowledge(ctx, id, "ana", "calling Zoom", t0.Add(time.Minute))
	require.NoError(t, err)
	require.Equal(t, "ana", d.AcknowledgedBy)
	got, err := st.DiscrepancyByID(ctx, id)
	require.NoError(t, err)
	require.NotNil(t, got.AcknowledgedAt)
	require.True(t, t0.Add(time.Minute).Equal(*got.AcknowledgedAt))
	require.Equal(t, "calling Zoom", got.AckNote)
	require.Nil(t, got.ResolvedAt, "acknowledged is still open")
	require.Equal(t, store.StateAcknowledged, got.State(false))

	_, err = st.Acknowledge(ctx, 9999, "ana", "", t0)
	require.ErrorIs(t, err, store.ErrNotFound)

	_, err = st.ResolveDiscrepancy(ctx, store.KindMissedMeetingEnded, "m1", "", store.ResolvedLateWebhook, t0.Add(time.Hour), nil)
	require.NoError(t, err)
	_, err = st.Acknowledge(ctx, id, "ana", "", t0.Add(2*time.Hour))
	require.ErrorIs(t, err, store.ErrResolved)
}

// sendAlert claims the alert outboxID and marks it delivered to channel/ts.
func sendAlert(t *testing.T, st *store.Store, outboxID int64, channel, ts string) {
	t.Helper()
	ctx := context.Background()
	_, err := st.ClaimAlerts(ctx, 0, t0, time.Minute, 100)
	require.NoError(t, err)
	require.NoError(t, st.MarkAlertsSent(ctx, store.AlertDelivery{IDs: []int64{outboxID}, SentAt: t0, Channel: channel, TS: ts}))
}

func testAckQueuesEdits(t *testing.T, st *store.Store) {
	ctx := context.Background()
	botID, botMsg := recordAlerted(t, st, missedEnd(1))
	sendAlert(t, st, botMsg, "C1", "111.1")
	hookID, hookMsg := recordAlerted(t, st, missedEnd(2))
	sendAlert(t, st, hookMsg, "", "") // an incoming webhook: no ts, no edit
	unsentID, _ := recordAlerted(t, st, missedEnd(3))

	for _, id := range []int64{botID, hookID, unsentID} {
		_, err := st.Acknowledge(ctx, id, "ana", "", t0.Add(time.Minute))
		require.NoError(t, err)
	}
	n, err := st.PendingEdits(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n, "only the bot's delivered message can be edited")

	claimed, err := st.ClaimEdits(ctx, 0, t0.Add(time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.Equal(t, botMsg, claimed[0].ID)
	require.Equal(t, "111.1", claimed[0].SlackTS)
	again, err := st.ClaimEdits(ctx, 0, t0.Add(time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Empty(t, again, "leased")
	require.NoError(t, st.MarkEdited(ctx, []int64{botMsg}, t0.Add(time.Minute)))
	n, err = st.PendingEdits(ctx)
	require.NoError(t, err)
	require.Zero(t, n)

	// A second ack queues the edit again: the note changed.
	_, err = st.Acknowledge(ctx, botID, "bob", "taking over", t0.Add(2*time.Minute))
	require.NoError(t, err)
	claimed, err = st.ClaimEdits(ctx, 0, t0.Add(2*time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
}

func testMutesMatch(t *testing.T, st *store.Store) {
	ctx := context.Background()
	meeting := func(uuid string, id int64, host string) {
		require.NoError(t, st.ApplyMeeting(ctx, store.MeetingUpdate{UUID: uuid, MeetingID: id, HostID: host, Topic: uuid,
			StartTime: t0.Add(-time.Hour), Started: true, Source: store.SourceWebhook}, t0))
	}
	meeting("m1", 111, "host-ana")
	meeting("m2", 222, "host-bob")
	meeting("m3", 333, "host-cy")
	// Ana joined a meeting as herself: that is how her email is known.
	require.NoError(t, st.ApplyParticipant(ctx, store.ParticipantUpdate{MeetingUUID: "m1",
		Participant: store.Participant{UserID: "1", ParticipantUserID: "host-ana", UserName: "Ana", Email: "Ana@Example.com"},
		JoinTime:    t0.Add(-time.Hour), Source: store.SourceWebhook}, t0))
	d1, _ := recordAlerted(t, st, missedEnd(1))
	d2, _ := recordAlerted(t, st, missedEnd(2))
	d3, _ := recordAlerted(t, st, missedEnd(3))
	silence, _ := recordAlerted(t, st, store.Discrepancy{Kind: store.KindWebhookSilence, Subject: t0.Format(time.RFC3339), DetectedAt: t0})
	ids := []int64{d1, d2, d3, silence}

	byEmail, err := st.AddMute(ctx, store.Mute{Host: "ana@example.com", Reason: "test account", CreatedAt: t0, Until: t0.Add(time.Hour)})
	require.NoError(t, err)
	byID, err := st.AddMute(ctx, store.Mute{Host: "host-bob", Reason: "Bob's lab", CreatedAt: t0, Until: t0.Add(2 * time.Hour)})
	require.NoError(t, err)
	byMeeting, err := st.AddMute(ctx, store.Mute{MeetingID: 333, Reason: "load test", CreatedAt: t0, Until: t0.Add(time.Hour)})
	require.NoError(t, err)

	cases := []struct {
		name string
		at   time.Time
		want map[int64]int64 // discrepancy -> mute
	}{
		{"AllActive", t0.Add(time.Minute), map[int64]int64{d1: byEmail.ID, d2: byID.ID, d3: byMeeting.ID}},
		{"ShortOnesRanOut", t0.Add(90 * time.Minute), map[int64]int64{d2: byID.ID}},
		{"AllRanOut", t0.Add(3 * time.Hour), map[int64]int64{}},
	}
	for _, c := range cases {
		got, err := st.MutesFor(ctx, ids, c.at)
		require.NoError(t, err, c.name)
		gotIDs := map[int64]int64{}
		for d, m := range got {
			gotIDs[d] = m.ID
		}
		require.Equal(t, c.want, gotIDs, c.name)
	}

	active, err := st.ActiveMutes(ctx, t0.Add(time.Minute))
	require.NoError(t, err)
	require.Len(t, active, 3)
	require.Equal(t, byID.ID, active[2].ID, "soonest to end first")
}

func testMuteUnmute(t *testing.T, st *store.Store) {
	ctx := context.Background()
	for name, m := range map[string]store.Mute{
		"Neither":     {Reason: "x", CreatedAt: t0, Until: t0.Add(time.Hour)},
		"Both":        {Host: "a@b.c", MeetingID: 1, Reason: "x", CreatedAt: t0, Until: t0.Add(time.Hour)},
		"NoReason":    {Host: "a@b.c", Reason: " ", CreatedAt: t0, Until: t0.Add(time.Hour)},
		"EndsAtStart": {Host: "a@b.c", Reason: "x", CreatedAt: t0, Until: t0},
	} {
		_, err := st.AddMute(ctx, m)
		require.ErrorIs(t, err, store.ErrInvalidMute, name)
	}

	// A muted discrepancy whose alert went out gets its message edited, on
	// mute and on unmute.
	require.NoError(t, st.ApplyMeeting(ctx, store.MeetingUpdate{UUID: "m1", MeetingID: 111, HostID: "h", Topic: "t",
		StartTime: t0, Started: true, Source: store.SourceWebhook}, t0))
	_, msg := recordAlerted(t, st, missedEnd(1))
	sendAlert(t, st, msg, "C1", "1.1")

	m, err := st.AddMute(ctx, store.Mute{MeetingID: 111, Reason: "drill", CreatedBy: "ana", CreatedAt: t0, Until: t0.Add(time.Hour)})
	require.NoError(t, err)
	claimed, err := st.ClaimEdits(ctx, 0, t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1, "muting edits the delivered message")
	require.NoError(t, st.MarkEdited(ctx, []int64{msg}, t0))

	got, err := st.Unmute(ctx, m.ID, t0.Add(time.Minute))
	require.NoError(t, err)
	require.NotNil(t, got.EndedAt)
	claimed, err = st.ClaimEdits(ctx, 0, t0.Add(time.Minute), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1, "unmuting edits it back")
	active, err := st.ActiveMutes(ctx, t0.Add(time.Minute))
	require.NoError(t, err)
	require.Empty(t, active)

	_, err = st.Unmute(ctx, m.ID, t0.Add(2*time.Minute))
	require.ErrorIs(t, err, store.ErrMuteEnded)
	_, err = st.Unmute(ctx, 9999, t0)
	require.ErrorIs(t, err, store.ErrNotFound)

	expired, err := st.AddMute(ctx, store.Mute{Host: "x@y.z", Reason: "r", CreatedAt: t0, Until: t0.Add(time.Minute)})
	require.NoError(t, err)
	_, err = st.Unmute(ctx, expired.ID, t0.Add(time.Hour))
	require.ErrorIs(t, err, store.ErrMuteEnded, "a mute that ran out cannot be lifted")
}

func testMarkAlertsMuted(t *testing.T, st *store.Store) {
	ctx := context.Background()
	did, msg := recordAlerted(t, st, missedEnd(1))
	m, err := st.AddMute(ctx, store.Mute{Host: "h", Reason: "r", CreatedAt: t0, Until: t0.Add(time.Hour)})
	require.NoError(t, err)
	claimed, err := st.ClaimAlerts(ctx, 0, t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	require.NoError(t, st.MarkAlertsMuted(ctx, []int64{msg}, m.ID, t0))

	claimed, err = st.ClaimAlerts(ctx, 0, t0.Add(24*time.Hour), time.Minute, 10)
	require.NoError(t, err)
	require.Empty(t, claimed, "a muted alert is never tried again")
	msgs, err := st.AlertsFor(ctx, did)
	require.NoError(t, err)
	require.Equal(t, store.OutboxDead, msgs[0].Status)
	require.Equal(t, &m.ID, msgs[0].MutedBy)
	stats, err := st.AlertOutboxStats(ctx)
	require.NoError(t, err)
	require.Zero(t, stats.Dead, "muted is not a delivery failure")
	require.Zero(t, stats.Pending)
}

func testDiscrepancyState(t *testing.T, _ *store.Store) {
	at := t0
	cases := []struct {
		name  string
		d     store.Discrepancy
		muted bool
		want  store.State
	}{
		{"Open", store.Discrepancy{}, false, store.StateOpen},
		{"Muted", store.Discrepancy{}, true, store.StateMuted},
		{"AcknowledgedBeatsMuted", store.Discrepancy{AcknowledgedAt: &at}, true, store.StateAcknowledged},
		{"ResolvedBeatsAll", store.Discrepancy{AcknowledgedAt: &at, ResolvedAt: &at}, true, store.StateResolved},
	}
	for _, c := range cases {
		require.Equal(t, c.want, c.d.State(c.muted), c.name)
	}
}
