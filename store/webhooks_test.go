package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
)

// TestDeliveryHistory runs the cases about what the receiver remembers of its
// deliveries (refusals, validations, uptime) on every backend.
func TestDeliveryHistory(t *testing.T) {
	t.Parallel()
	runOnEveryBackend(t, map[string]func(t *testing.T, st *store.Store){
		"TalliesRefusalsByReason":         testTalliesRefusals,
		"RefusedValidationRaisesOneAlarm": testValidationAlarm,
		"RetryWindowsAreGapsAnd503s":      testRetryWindows,
		"StoresTextPostgreSQLRefuses":     testStoresAnyText,
	})
}

func testTalliesRefusals(t *testing.T, st *store.Store) {
	ctx := context.Background()
	m := t0.Truncate(time.Minute)
	report := func(counts ...store.TallyCount) {
		t.Helper()
		require.NoError(t, st.RecordWebhookReport(ctx, store.WebhookReport{Counts: counts}, t0))
	}
	report(
		store.TallyCount{Minute: m, Reason: store.RefusalBadSignature, Count: 400, FirstAt: m.Add(14 * time.Second), LastAt: m.Add(50 * time.Second)},
		store.TallyCount{Minute: m, Reason: store.RefusalTooLarge, Count: 1, FirstAt: m.Add(3 * time.Second), LastAt: m.Add(3 * time.Second)},
	)
	// A second report of the same minute adds up; a later minute is its own row.
	report(
		store.TallyCount{Minute: m, Reason: store.RefusalBadSignature, Count: 12, FirstAt: m.Add(2 * time.Second), LastAt: m.Add(55 * time.Second)},
		store.TallyCount{Minute: m.Add(time.Hour), Reason: store.RefusalBadSignature, Count: 5, FirstAt: m.Add(time.Hour), LastAt: m.Add(time.Hour + time.Second)},
	)

	got, err := st.RefusalsSince(ctx, m)
	require.NoError(t, err)
	require.Equal(t, []store.RefusalSummary{
		{Reason: store.RefusalBadSignature, Count: 417, FirstAt: m.Add(2 * time.Second), LastAt: m.Add(time.Hour + time.Second)},
		{Reason: store.RefusalTooLarge, Count: 1, FirstAt: m.Add(3 * time.Second), LastAt: m.Add(3 * time.Second)},
	}, utcSummaries(got))

	require.Equal(t, "417 deliveries refused for a bad signature since 2026-11-23 14:00:02 UTC: is ZOOM_WEBHOOK_SECRET_TOKEN the app's current Secret Token?",
		got[0].Sentence())
	require.Equal(t, "1 delivery refused as larger than the body limit since 2026-11-23 14:00:03 UTC: is something other than Zoom posting to the webhook path?",
		got[1].Sentence())

	got, err = st.RefusalsSince(ctx, m.Add(30*time.Minute))
	require.NoError(t, err)
	require.Equal(t, []store.RefusalSummary{
		{Reason: store.RefusalBadSignature, Count: 5, FirstAt: m.Add(time.Hour), LastAt: m.Add(time.Hour + time.Second)},
	}, utcSummaries(got), "only what came after")

	require.NoError(t, st.PruneWebhookTally(ctx, m.Add(time.Minute)))
	got, err = st.RefusalsSince(ctx, m)
	require.NoError(t, err)
	require.Len(t, got, 1, "pruned minutes are gone")
	require.EqualValues(t, 5, got[0].Count)
}

func utcSummaries(in []store.RefusalSummary) []store.RefusalSummary {
	for i := range in {
		in[i].FirstAt, in[i].LastAt = in[i].FirstAt.UTC(), in[i].LastAt.UTC()
	}
	return in
}

func testValidationAlarm(t *testing.T, st *store.Store) {
	ctx := context.Background()
	refused := func(at time.Time) store.Validation {
		return store.Validation{At: at, Detail: "refused: bad signature",
			Alert: &store.OutboxMessage{Kind: store.KindURLValidationRefused, Payload: `{}`, CreatedAt: at}}
	}
	open := func() []store.Discrepancy {
		t.Helper()
		ds, err := st.OpenDiscrepancies(ctx)
		require.NoError(t, err)
		return ds
	}
	_, err := st.LastURLValidationAnswered(ctx)
	require.ErrorIs(t, err, store.ErrNotFound)

	// Two refusals in a row: one alarm, one alert.
	require.NoError(t, st.RecordWebhookReport(ctx, store.WebhookReport{Validations: []store.Validation{refused(t0)}}, t0))
	require.NoError(t, st.RecordWebhookReport(ctx, store.WebhookReport{Validations: []store.Validation{refused(t0.Add(time.Hour))}}, t0))
	ds := open()
	require.Len(t, ds, 1)
	require.Equal(t, store.KindURLValidationRefused, ds[0].Kind)
	require.Equal(t, "refused: bad signature", ds[0].Detail)
	alerts, err := st.AlertsFor(ctx, ds[0].ID)
	require.NoError(t, err)
	require.Len(t, alerts, 1)

	// An answered one resolves it and is remembered.
	require.NoError(t, st.RecordWebhookReport(ctx, store.WebhookReport{Validations: []store.Validation{{At: t0.Add(2 * time.Hour), Answered: true}}}, t0))
	require.Empty(t, open())
	d, err := st.Discrepancy(ctx, store.KindURLValidationRefused, "", ds[0].Subject)
	require.NoError(t, err)
	require.Equal(t, store.ResolvedValidationAnswered, d.Resolution)
	last, err := st.LastURLValidationAnswered(ctx)
	require.NoError(t, err)
	require.True(t, last.Equal(t0.Add(2*time.Hour)), "last answered %v", last)

	// A later refusal is a new alarm; in one report, order is by time.
	require.NoError(t, st.RecordWebhookReport(ctx, store.WebhookReport{Validations: []store.Validation{
		{At: t0.Add(5 * time.Hour), Answered: true}, refused(t0.Add(4 * time.Hour)),
	}}, t0))
	require.Empty(t, open(), "refused at 4h, answered at 5h: resolved")
	require.NoError(t, st.RecordWebhookReport(ctx, store.WebhookReport{Validations: []store.Validation{refused(t0.Add(6 * time.Hour))}}, t0))
	require.Len(t, open(), 1)
}

func testRetryWindows(t *testing.T, st *store.Store) {
	ctx := context.Background()
	h := func(n float64) time.Time { return t0.Add(time.Duration(n * float64(time.Hour))) }
	windows := func(after, now time.Time) []store.Span {
		t.Helper()
		ws, err := st.RetryWindows(ctx, after, now, time.Minute)
		require.NoError(t, err)
		for i := range ws {
			ws[i].From, ws[i].To = ws[i].From.UTC(), ws[i].To.UTC()
		}
		return ws
	}
	ws := windows(h(0), h(1))
	require.Empty(t, ws, "before the first run nothing listened: no window")

	// Run 1 from 0h to 1h; run 2 from 1.5h, beating until 2h; a replica
	// overlapping it from 1.75h to 2.5h.
	first, err := st.StartUptime(ctx, store.RunIdentity{}, nil, h(0), 7*24*time.Hour)
	require.NoError(t, err)
	require.NoError(t, st.Beat(ctx, first, h(1)))
	require.NoError(t, st.Beat(ctx, first, h(0.5)), "a late beat never moves it back")
	second, err := st.StartUptime(ctx, store.RunIdentity{}, nil, h(1.5), 7*24*time.Hour)
	require.NoError(t, err)
	require.NoError(t, st.Beat(ctx, second, h(2)))
	replica, err := st.StartUptime(ctx, store.RunIdentity{}, nil, h(1.75), 7*24*time.Hour)
	require.NoError(t, err)
	require.NoError(t, st.Beat(ctx, replica, h(2.5)))
	// A minute of 503s inside run 2.
	m := h(1.6).Truncate(time.Minute)
	require.NoError(t, st.RecordWebhookReport(ctx, store.WebhookReport{Counts: []store.TallyCount{
		{Minute: m, Reason: store.RefusalUnavailable, Count: 3, FirstAt: m, LastAt: m},
		{Minute: m, Reason: store.RefusalBadSignature, Count: 9, FirstAt: m, LastAt: m}, // final refusals are no retry window
	}}, h(1.6)))

	require.Equal(t, []store.Span{
		{From: h(1), To: h(1.5)},
		{From: m, To: m.Add(time.Minute)},
		{From: h(2.5), To: h(3)},
	}, windows(h(0), h(3)))
	require.Equal(t, []store.Span{{From: h(2.5), To: h(3)}}, windows(h(1.7), h(3)), "only windows ending after `after`")
	require.Empty(t, windows(h(1.7), h(2.5).Add(time.Minute)), "a run that beat within `alive` is still running: no window")

	// Runs older than the keep period go, but never the newest.
	_, err = st.StartUptime(ctx, store.RunIdentity{}, nil, h(24*8), 7*24*time.Hour)
	require.NoError(t, err)
	require.Equal(t, []store.Span{{From: m, To: m.Add(time.Minute)}, {From: h(2.5), To: h(24 * 8)}}, windows(h(0), h(24*8)),
		"the pruned runs are gone; the last one before the restart still marks when zoomrecon stopped")
}

func testStoresAnyText(t *testing.T, st *store.Store) {
	ctx := context.Background()
	uuid := "nul\x00uuid=="
	ev := store.Ingest{
		Event: store.Event{DedupKey: "meeting.participant_joined|" + uuid, Type: "meeting.\x00joined", ReceivedAt: t0,
			MeetingUUID: uuid, Body: []byte("{\"topic\":\"a\\u0000b\"}")},
		Meeting: &store.MeetingUpdate{UUID: uuid, Topic: "stand\x00up \xff", HostID: "h\x00"},
		Participant: &store.ParticipantUpdate{MeetingUUID: uuid, JoinTime: t0, Source: store.SourceWebhook,
			Participant: store.Participant{UserID: "1\x00", UserName: "Ana\x00Ruiz", Email: "a\x00@example.org"}},
	}
	for i, want := range []bool{true, false} {
		got, err := st.InsertEvent(ctx, ev, t0)
		require.NoError(t, err, "delivery %d", i+1)
		require.Equal(t, want, got, "delivery %d is new", i+1)
	}
	got, err := st.Event(ctx, ev.Event.DedupKey)
	require.NoError(t, err)
	require.Equal(t, ev.Event.Body, got.Body, "the body keeps its bytes")
	require.Nil(t, got.EventTS, "no event_ts given: none stored")
	m, err := st.Meeting(ctx, uuid)
	require.NoError(t, err, "looked up by the same text it was stored by")
	require.Equal(t, "stand\uFFFDup \uFFFD", m.Topic)
	sessions, err := st.Sessions(ctx, uuid)
	require.NoError(t, err)
	require.Len(t, sessions, 1)
	require.Equal(t, "Ana\uFFFDRuiz", sessions[0].UserName)
}
