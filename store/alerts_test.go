package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
)

// TestAlertStore runs the alert sender's store cases on every backend.
func TestAlertStore(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, st *store.Store){
		"AlertDetailsJoinMeetingAndParticipant":  testAlertDetails,
		"MarksAlertsSentTogether":                testMarkAlertsSent,
		"FailsAndReleasesAlerts":                 testFailAndReleaseAlerts,
		"ListsOpenSilencesWithTheirAlert":        testOpenSilenceAlerts,
		"ListsAlertsInOneMessage":                testAlertsInMessage,
		"ClaimsEachAnnouncementOnce":             testClaimAnnouncements,
		"ConcurrentAnnouncementClaimsNeverShare": testConcurrentAnnouncementClaims,
		"ReportsAlertStatus":                     testAlertStatus,
	}
	runOnEveryBackend(t, cases)
}

// recordAlerted records a discrepancy with its alert, as the reconciler
// does, and returns the discrepancy's and the alert's IDs.
func recordAlerted(t *testing.T, st *store.Store, d store.Discrepancy) (int64, int64) {
	t.Helper()
	ctx := context.Background()
	if d.DetectedAt.IsZero() {
		d.DetectedAt = t0
	}
	got, created, err := st.RecordDiscrepancy(ctx, d, &store.OutboxMessage{Kind: d.Kind, Payload: "{}", CreatedAt: d.DetectedAt})
	require.NoError(t, err)
	require.True(t, created)
	msgs, err := st.AlertsFor(ctx, got.ID)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	return got.ID, msgs[0].ID
}

func missedEnd(n int) store.Discrepancy {
	return store.Discrepancy{Kind: store.KindMissedMeetingEnded, MeetingUUID: fmt.Sprintf("m%d", n), Detail: "meeting.ended never arrived", DetectedAt: t0}
}

func testAlertDetails(t *testing.T, st *store.Store) {
	ctx := context.Background()
	require.NoError(t, st.ApplyMeeting(ctx, store.MeetingUpdate{
		UUID: "m1", MeetingID: 81234567890, HostID: "host-ana", Topic: "Weekly sync",
		StartTime: t0.Add(-time.Hour), Started: true, EndTime: t0.Add(-time.Minute), Ended: true, Source: store.SourceWebhook,
	}, t0))
	ana := store.Participant{UserID: "16778240", UserName: "Ana", Email: "ana@example.com"}
	require.NoError(t, st.ApplyParticipant(ctx, store.ParticipantUpdate{MeetingUUID: "m1", Participant: ana,
		JoinTime: t0.Add(-50 * time.Minute), Source: store.SourceReconciled}, t0))

	joined, _ := recordAlerted(t, st, store.Discrepancy{Kind: store.KindMissedParticipantJoined, MeetingUUID: "m1", Subject: ana.Key(), Backfilled: true})
	ended, _ := recordAlerted(t, st, store.Discrepancy{Kind: store.KindMissedMeetingEnded, MeetingUUID: "m1"})
	silence, _ := recordAlerted(t, st, store.Discrepancy{Kind: store.KindWebhookSilence, Subject: t0.Add(-time.Hour).Format(time.RFC3339Nano)})

	got, err := st.AlertDetails(ctx, []int64{joined, ended, silence, 999999})
	require.NoError(t, err)
	require.Len(t, got, 3, "a missing ID is left out")

	j := got[joined]
	require.Equal(t, store.KindMissedParticipantJoined, j.Kind)
	require.Equal(t, int64(81234567890), j.MeetingID)
	require.Equal(t, "Weekly sync", j.Topic)
	require.Equal(t, "host-ana", j.HostID)
	require.Equal(t, "Ana", j.ParticipantName)
	require.Equal(t, "ana@example.com", j.ParticipantEmail)
	require.True(t, j.Backfilled)
	require.NotNil(t, j.StartTime)
	require.True(t, j.StartTime.Equal(t0.Add(-time.Hour)), "start: got %v", j.StartTime)
	require.NotNil(t, j.EndTime)
	require.True(t, j.EndTime.Equal(t0.Add(-time.Minute)), "end: got %v", j.EndTime)

	require.Empty(t, got[ended].ParticipantName, "a meeting-level discrepancy names no participant")
	s := got[silence]
	require.Zero(t, s.MeetingID)
	require.Nil(t, s.StartTime)
	require.Empty(t, s.Topic)
}

func testMarkAlertsSent(t *testing.T, st *store.Store) {
	ctx := context.Background()
	var ids, ds []int64
	for i := range 3 {
		d, id := recordAlerted(t, st, missedEnd(i))
		ds, ids = append(ds, d), append(ids, id)
	}
	claimed, err := st.ClaimAlerts(ctx, 0, t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 3)

	err = st.MarkAlertsSent(ctx, store.AlertDelivery{IDs: append(slices.Clone(ids), 999999), SentAt: t0, Channel: "C1", TS: "1.1"})
	require.ErrorIs(t, err, store.ErrNotFound)
	msgs, err := st.AlertsFor(ctx, ds[0])
	require.NoError(t, err)
	require.Equal(t, store.OutboxPending, msgs[0].Status, "nothing is marked when one ID is wrong")

	// The first one's discrepancy resolved before the message went out, and
	// the message said so.
	_, err = st.ResolveDiscrepancy(ctx, store.KindMissedMeetingEnded, "m0", "", store.ResolvedLateWebhook, t0, nil)
	require.NoError(t, err)
	require.NoError(t, st.MarkAlertsSent(ctx, store.AlertDelivery{IDs: ids, SentAt: t0.Add(time.Second), Channel: "C1", TS: "1.1", Announced: ids[:1]}))
	for _, d := range ds {
		msgs, err := st.AlertsFor(ctx, d)
		require.NoError(t, err)
		m := msgs[0]
		require.Equal(t, store.OutboxSent, m.Status)
		require.Equal(t, "C1", m.SlackChannel)
		require.Equal(t, "1.1", m.SlackTS)
		require.NotNil(t, m.SentAt)
		require.True(t, m.SentAt.Equal(t0.Add(time.Second)))
	}
	anns, err := st.ClaimAnnouncements(ctx, 0, t0.Add(time.Minute), t0.Add(-time.Hour), time.Minute, 10)
	require.NoError(t, err)
	require.Empty(t, anns, "a resolution the message showed is not announced again")

	again, err := st.ClaimAlerts(ctx, 0, t0.Add(time.Hour), time.Minute, 10)
	require.NoError(t, err)
	require.Empty(t, again, "sent alerts are never claimed again")
}

func testFailAndReleaseAlerts(t *testing.T, st *store.Store) {
	ctx := context.Background()
	var ds []int64
	for i := range 3 {
		d, _ := recordAlerted(t, st, missedEnd(i))
		ds = append(ds, d)
	}
	claimed, err := st.ClaimAlerts(ctx, 0, t0, time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, claimed, 3)
	require.NoError(t, st.MarkAlertsFailed(ctx, []int64{claimed[0].ID}, t0.Add(time.Hour), "slack: 500", false))
	require.NoError(t, st.MarkAlertsFailed(ctx, []int64{claimed[1].ID}, t0, "invalid_blocks", true))
	require.NoError(t, st.ReleaseAlerts(ctx, []int64{claimed[2].ID, claimed[1].ID}, t0.Add(10*time.Second)))

	due, err := st.ClaimAlerts(ctx, 0, t0.Add(10*time.Second), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, due, 1, "only the released one is due; the dead one stays dead")
	require.Equal(t, claimed[2].ID, due[0].ID)
	require.Equal(t, 1, due[0].Tries, "a release does not count as a try")
	require.NoError(t, st.MarkAlertsSent(ctx, store.AlertDelivery{IDs: []int64{due[0].ID}, SentAt: t0}))

	due, err = st.ClaimAlerts(ctx, 0, t0.Add(time.Hour), time.Minute, 10)
	require.NoError(t, err)
	require.Len(t, due, 1)
	require.Equal(t, claimed[0].ID, due[0].ID)
	require.Equal(t, 2, due[0].Tries)
	require.Equal(t, "slack: 500", due[0].LastError)

	msgs, err := st.AlertsFor(ctx, ds[1])
	require.NoError(t, err)
	require.Equal(t, store.OutboxDead, msgs[0].Status)
}

func testOpenSilenceAlerts(t *testing.T, st *store.Store) {
	ctx := context.Background()
	got, err := st.OpenCauseAlerts(ctx)
	require.NoError(t, err)
	require.Empty(t, got)

	old := store.Discrepancy{Kind: store.KindWebhookSilence, Subject: t0.Add(-3 * time.Hour).Format(time.RFC3339Nano), DetectedAt: t0.Add(-2 * time.Hour)}
	recordAlerted(t, st, old)
	_, err = st.ResolveDiscrepancy(ctx, old.Kind, "", old.Subject, store.ResolvedEventsFlowing, t0.Add(-time.Hour), nil)
	require.NoError(t, err)
	openID, alertID := recordAlerted(t, st, store.Discrepancy{Kind: store.KindWebhookSilence, Subject: t0.Add(-40 * time.Minute).Format(time.RFC3339Nano)})
	quiet, _, err := st.RecordDiscrepancy(ctx, store.Discrepancy{Kind: store.KindWebhookSilence, Subject: "no-alert", DetectedAt: t0.Add(time.Minute)}, nil)
	require.NoError(t, err)
	recordAlerted(t, st, missedEnd(1))

	got, err = st.OpenCauseAlerts(ctx)
	require.NoError(t, err)
	require.Len(t, got, 2, "open silences only")
	require.Equal(t, openID, got[0].ID)
	require.NotNil(t, got[0].Alert)
	require.Equal(t, alertID, got[0].Alert.ID)
	require.Equal(t, store.OutboxPending, got[0].Alert.Status)
	require.Equal(t, quiet.ID, got[1].ID)
	require.Nil(t, got[1].Alert, "queued without an alert")
}

func testAlertsInMessage(t *testing.T, st *store.Store) {
	ctx := context.Background()
	var ids []int64
	for i := range 4 {
		_, id := recordAlerted(t, st, missedEnd(i))
		ids = append(ids, id)
	}
	require.NoError(t, st.MarkAlertsSent(ctx, store.AlertDelivery{IDs: ids[:3], SentAt: t0, Channel: "C1", TS: "1.1"}))
	require.NoError(t, st.MarkAlertsSent(ctx, store.AlertDelivery{IDs: ids[3:], SentAt: t0, Channel: "C1", TS: "1.2"}))
	got, err := st.AlertsInMessage(ctx, "C1", "1.1")
	require.NoError(t, err)
	var gotIDs []int64
	for _, m := range got {
		gotIDs = append(gotIDs, m.ID)
	}
	require.Equal(t, ids[:3], gotIDs)
	got, err = st.AlertsInMessage(ctx, "C2", "1.1")
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = st.AlertsInMessage(ctx, "", "")
	require.Error(t, err, "incoming webhooks leave ts empty; that is not one message")
}

func testClaimAnnouncements(t *testing.T, st *store.Store) {
	ctx := context.Background()
	var ids []int64
	for i := range 4 {
		_, id := recordAlerted(t, st, missedEnd(i))
		ids = append(ids, id)
	}
	// m0..m2 delivered; m3 still pending.
	require.NoError(t, st.MarkAlertsSent(ctx, store.AlertDelivery{IDs: ids[:3], SentAt: t0, Channel: "C1", TS: "1.1"}))
	resolve := func(n int, at time.Time) {
		t.Helper()
		ok, err := st.ResolveDiscrepancy(ctx, store.KindMissedMeetingEnded, fmt.Sprintf("m%d", n), "", store.ResolvedLateWebhook, at, nil)
		require.NoError(t, err)
		require.True(t, ok)
	}
	claimIDs := func(now, since time.Time) ([]int64, []int) {
		t.Helper()
		anns, err := st.ClaimAnnouncements(ctx, 0, now, since, time.Minute, 10)
		require.NoError(t, err)
		var ids []int64
		var tries []int
		for _, a := range anns {
			// The sender edits the message the alert went out in.
			require.Equal(t, store.OutboxSent, a.Alert.Status, "alert %d", a.Alert.ID)
			require.Equal(t, "C1", a.Alert.SlackChannel, "alert %d", a.Alert.ID)
			require.NotEmpty(t, a.Alert.SlackTS, "alert %d", a.Alert.ID)
			ids, tries = append(ids, a.Alert.ID), append(tries, a.Tries)
		}
		return ids, tries
	}

	now := t0.Add(time.Hour)
	got, _ := claimIDs(now, now.Add(-24*time.Hour))
	require.Empty(t, got, "nothing resolved yet")

	resolve(0, now.Add(-48*time.Hour)) // before the horizon
	resolve(1, now.Add(-time.Minute))
	resolve(2, now.Add(-time.Minute))
	resolve(3, now.Add(-time.Minute)) // its alert is not delivered yet
	got, tries := claimIDs(now, now.Add(-24*time.Hour))
	require.Equal(t, ids[1:3], got, "delivered, resolved within the horizon")
	require.Equal(t, []int{1, 1}, tries)

	again, _ := claimIDs(now, now.Add(-24*time.Hour))
	require.Empty(t, again, "leased")

	require.NoError(t, st.MarkAnnounced(ctx, ids[1:2], now))
	require.NoError(t, st.MarkAnnouncementsFailed(ctx, ids[2:3], now.Add(time.Hour), "chat.update: internal_error", false))
	got, _ = claimIDs(now.Add(30*time.Minute), now.Add(-24*time.Hour))
	require.Empty(t, got, "the failed one waits for its retry")
	got, tries = claimIDs(now.Add(time.Hour), now.Add(-24*time.Hour))
	require.Equal(t, ids[2:3], got)
	require.Equal(t, []int{2}, tries)

	require.NoError(t, st.ReleaseAnnouncements(ctx, ids[2:3], now.Add(time.Hour)))
	got, tries = claimIDs(now.Add(time.Hour), now.Add(-24*time.Hour))
	require.Equal(t, ids[2:3], got)
	require.Equal(t, []int{2}, tries, "a release does not count as a try")
	require.NoError(t, st.MarkAnnouncementsFailed(ctx, ids[2:3], now, "message_not_found", true))

	// The pending one is delivered later; its resolution is then due.
	require.NoError(t, st.MarkAlertsSent(ctx, store.AlertDelivery{IDs: ids[3:], SentAt: now.Add(2 * time.Hour), Channel: "C1", TS: "1.2"}))
	got, _ = claimIDs(now.Add(2*time.Hour), now.Add(-24*time.Hour))
	require.Equal(t, ids[3:], got)
	require.NoError(t, st.MarkAnnounced(ctx, ids[3:], now.Add(2*time.Hour)))

	// A release only gives back what is pending.
	require.NoError(t, st.ReleaseAnnouncements(ctx, ids[1:], now))
	got, _ = claimIDs(now.Add(24*time.Hour), now.Add(-24*time.Hour))
	require.Empty(t, got, "announced or dead: never again")
}

func testConcurrentAnnouncementClaims(t *testing.T, st *store.Store) {
	ctx := context.Background()
	const total = 30
	var ids []int64
	for i := range total {
		_, id := recordAlerted(t, st, missedEnd(i))
		ids = append(ids, id)
	}
	require.NoError(t, st.MarkAlertsSent(ctx, store.AlertDelivery{IDs: ids, SentAt: t0, Channel: "C1", TS: "1.1"}))
	for i := range total {
		_, err := st.ResolveDiscrepancy(ctx, store.KindMissedMeetingEnded, fmt.Sprintf("m%d", i), "", store.ResolvedLateWebhook, t0, nil)
		require.NoError(t, err)
	}
	got := claimConcurrently(t, func() ([]int64, error) {
		anns, err := st.ClaimAnnouncements(ctx, 0, t0.Add(time.Minute), t0.Add(-time.Hour), time.Hour, 3)
		var ids []int64
		for _, a := range anns {
			ids = append(ids, a.Alert.ID)
		}
		return ids, err
	})
	require.Len(t, got, total, "every announcement claimed")
	require.Len(t, slices.Compact(got), total, "none claimed twice")
}

func testAlertStatus(t *testing.T, st *store.Store) {
	ctx := context.Background()
	status, err := st.AlertStatus(ctx)
	require.NoError(t, err)
	require.Equal(t, store.AlertStatus{}, status)

	var ids []int64
	for i := range 4 {
		_, id := recordAlerted(t, st, missedEnd(i))
		ids = append(ids, id)
	}
	require.NoError(t, st.MarkAlertsSent(ctx, store.AlertDelivery{IDs: ids[:1], SentAt: t0.Add(time.Minute), Channel: "C1", TS: "1.1"}))
	require.NoError(t, st.MarkAlertsFailed(ctx, ids[1:2], t0.Add(time.Minute), "chat.postMessage: Slack refused it: not_in_channel", false))
	require.NoError(t, st.MarkAlertsFailed(ctx, ids[2:3], t0.Add(time.Hour), "chat.postMessage: Slack refused it: channel_not_found", false))
	_, err = st.ResolveDiscrepancy(ctx, store.KindMissedMeetingEnded, "m0", "", store.ResolvedLateWebhook, t0.Add(2*time.Minute), nil)
	require.NoError(t, err)
	_, err = st.ClaimAnnouncements(ctx, 0, t0.Add(3*time.Minute), t0, time.Minute, 10)
	require.NoError(t, err)

	status, err = st.AlertStatus(ctx)
	require.NoError(t, err)
	require.Equal(t, 3, status.Pending)
	require.Equal(t, 2, status.Failing)
	require.Equal(t, "chat.postMessage: Slack refused it: channel_not_found", status.LastError, "the one retried last")
	require.NotNil(t, status.LastSentAt)
	require.True(t, status.LastSentAt.Equal(t0.Add(time.Minute)), "got %v", status.LastSentAt)
	require.Zero(t, status.Dead)
	require.NotNil(t, status.OldestPending)
	require.True(t, status.OldestPending.Equal(t0), "oldest pending: got %v want %v", status.OldestPending, t0)
	require.Equal(t, 1, status.AnnouncementsPending)

	// A dead message is neither pending nor failing; the failing one left
	// gives the last error.
	require.NoError(t, st.MarkAlertsFailed(ctx, ids[2:3], t0.Add(time.Hour), "chat.postMessage: Slack refused it: invalid_blocks", true))
	status, err = st.AlertStatus(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, status.Pending)
	require.Equal(t, 1, status.Dead)
	require.Equal(t, 1, status.Failing)
	require.Equal(t, "chat.postMessage: Slack refused it: not_in_channel", status.LastError)
}
