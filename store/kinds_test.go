package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
)

// TestKinds checks that every kind says everything the other packages read
// from it, and pins what it says: the values are stored, and alerts and
// resolutions follow from them.
func TestKinds(t *testing.T) {
	t.Parallel()
	type facts struct {
		urgent, account, participant, missed bool
		host, folds                          bool
		hostCause                            store.Kind
		meetingEvent, webinarEvent           string
		resolvedBy                           store.Signal
		resolvedAs                           store.ResolutionReason
	}
	want := map[store.Kind]facts{
		store.KindURLValidationRefused: {urgent: true, account: true,
			resolvedBy: store.SignalValidationAnswered, resolvedAs: store.ResolvedValidationAnswered},
		store.KindWebSocketDisconnected: {urgent: true, account: true,
			resolvedBy: store.SignalWebSocketConnected, resolvedAs: store.ResolvedReconnected},
		store.KindForwardDead: {urgent: true, account: true,
			resolvedBy: store.SignalForwardAccepted, resolvedAs: store.ResolvedForwardAccepted},
		store.KindWebhookSilence: {urgent: true, account: true, folds: true,
			resolvedBy: store.SignalAnyEvent, resolvedAs: store.ResolvedEventsFlowing},
		store.KindStaleMeeting: {urgent: true, meetingEvent: "meeting.ended", webinarEvent: "webinar.ended",
			resolvedBy: store.SignalEnded, resolvedAs: store.ResolvedEnded},
		store.KindHostEventsMissing: {host: true, folds: true,
			resolvedBy: store.SignalAnyEvent, resolvedAs: store.ResolvedHostEventsFlowing},
		store.KindHostEndedMissing: {host: true, folds: true, meetingEvent: "meeting.ended", webinarEvent: "webinar.ended",
			resolvedBy: store.SignalEnded, resolvedAs: store.ResolvedHostEventsFlowing},
		store.KindMissedMeetingStarted: {missed: true, hostCause: store.KindHostEventsMissing, meetingEvent: "meeting.started", webinarEvent: "webinar.started",
			resolvedBy: store.SignalStarted, resolvedAs: store.ResolvedLateWebhook},
		store.KindMissedMeetingEnded: {missed: true, hostCause: store.KindHostEndedMissing, meetingEvent: "meeting.ended", webinarEvent: "webinar.ended",
			resolvedBy: store.SignalEnded, resolvedAs: store.ResolvedLateWebhook},
		store.KindMissedParticipantJoined: {missed: true, participant: true,
			meetingEvent: "meeting.participant_joined", webinarEvent: "webinar.participant_joined",
			resolvedBy: store.SignalJoined, resolvedAs: store.ResolvedLateWebhook},
		store.KindMissedParticipantLeft: {missed: true, participant: true,
			meetingEvent: "meeting.participant_left", webinarEvent: "webinar.participant_left",
			resolvedBy: store.SignalLeft, resolvedAs: store.ResolvedLateWebhook},
	}
	kinds := store.Kinds()
	require.Equal(t, []store.Kind{
		store.KindURLValidationRefused, store.KindWebSocketDisconnected, store.KindForwardDead, store.KindWebhookSilence, store.KindStaleMeeting,
		store.KindHostEventsMissing, store.KindHostEndedMissing, store.KindMissedMeetingStarted, store.KindMissedMeetingEnded,
		store.KindMissedParticipantJoined, store.KindMissedParticipantLeft,
	}, kinds, "report order")
	for _, k := range kinds {
		t.Run(string(k), func(t *testing.T) {
			t.Parallel()
			info := k.Info()
			require.True(t, k.Valid(), "%s: valid", k)
			require.Equal(t, k, info.Kind, "%s: the table row names its kind", k)
			w, ok := want[k]
			require.True(t, ok, "%s: a new kind needs its facts pinned here", k)
			got := facts{info.Urgent, info.Account, info.Participant, info.Missed, info.Host, info.Folds, info.HostCause,
				info.Event(store.TypeMeeting), info.Event(store.TypeWebinar), info.ResolvedBy, info.ResolvedAs}
			require.Equal(t, w, got, "%s: facts", k)
			require.Equal(t, info.Event(store.TypeMeeting), info.Event(""), "%s: an instance of unknown type is a meeting", k)

			// Complete: something closes it, with a reason people can read,
			// and a kind about a meeting names the webhook it misses.
			require.NotEmpty(t, info.ResolvedBy, "%s: resolved by", k)
			require.True(t, info.ResolvedAs.Valid(), "%s: resolved as %q", k, info.ResolvedAs)
			require.NotEqual(t, string(info.ResolvedAs), info.ResolvedAs.Text(), "%s: resolution in words", k)
			if hc := info.HostCause; hc != "" {
				require.True(t, hc.Info().Host, "%s: its host cause %s is a host kind", k, hc)
			}
			switch {
			case info.Host:
				require.False(t, info.Account || info.Participant || info.Missed, "%s: a host kind is about a host", k)
			case info.Account:
				require.False(t, info.Participant || info.Missed, "%s: an account kind is about no meeting", k)
				require.Empty(t, info.Event(store.TypeMeeting), "%s: account kinds miss no one webhook", k)
			default:
				require.True(t, strings.HasPrefix(info.Event(store.TypeMeeting), "meeting."), "%s: %s", k, info.Event(store.TypeMeeting))
				require.True(t, strings.HasPrefix(info.Event(store.TypeWebinar), "webinar."), "%s: %s", k, info.Event(store.TypeWebinar))
			}
		})
	}
	t.Run("UnknownKindMeansNothing", func(t *testing.T) {
		t.Parallel()
		k := store.Kind("missed_recording_completed")
		require.False(t, k.Valid())
		require.Equal(t, store.KindInfo{Kind: k}, k.Info(), "not urgent, and no webhook closes it")
	})
	t.Run("ResolutionReasons", func(t *testing.T) {
		t.Parallel()
		// The values are stored in discrepancies.resolution.
		for r, text := range map[store.ResolutionReason]string{
			"late_webhook":        "the webhook arrived late",
			"events_flowing":      "webhooks are flowing again",
			"ended":               "the meeting ended",
			"validation_answered": "zoomrecon answered Zoom's next URL validation",
			"":                    "closed",
			"recording_ready":     "recording_ready", // written by a newer zoomrecon
		} {
			require.Equal(t, text, r.Text(), "%q", r)
			require.Equal(t, text != string(r) && r != "", r.Valid(), "%q: valid", r)
		}
	})
}

// testRefusesUnknownKinds: with no CHECK in the database, the store is what
// keeps a kind nothing else understands out of it.
func testRefusesUnknownKinds(t *testing.T, st *store.Store) {
	ctx := context.Background()
	bogus := store.Discrepancy{Kind: "missed_recording_completed", MeetingUUID: "m1", DetectedAt: t0}
	alert := &store.OutboxMessage{Kind: bogus.Kind, Payload: "{}", CreatedAt: t0}

	_, _, err := st.RecordDiscrepancy(ctx, bogus, alert)
	require.ErrorIs(t, err, store.ErrUnknownKind)
	require.ErrorContains(t, err, `"missed_recording_completed"`, "the error names the kind")

	_, _, err = st.ApplyBackfill(ctx, store.Backfill{
		Meeting:     &store.MeetingUpdate{UUID: "m1", StartTime: t0, Started: true, Source: store.SourceReconciled},
		Discrepancy: &bogus, Alert: alert,
	}, t0)
	require.ErrorIs(t, err, store.ErrUnknownKind)
	require.ErrorContains(t, err, `"missed_recording_completed"`)
	_, err = st.Meeting(ctx, "m1")
	require.ErrorIs(t, err, store.ErrNotFound, "a refused backfill writes nothing")

	open, err := st.OpenDiscrepancies(ctx)
	require.NoError(t, err)
	require.Empty(t, open)
	stats, err := st.AlertOutboxStats(ctx)
	require.NoError(t, err)
	require.Zero(t, stats.Pending, "no alert queued")

	// A reason nothing can say in words is refused too.
	_, _, err = st.RecordDiscrepancy(ctx, store.Discrepancy{Kind: store.KindStaleMeeting, MeetingUUID: "m2", DetectedAt: t0}, nil)
	require.NoError(t, err)
	_, err = st.ResolveDiscrepancy(ctx, store.KindStaleMeeting, "m2", "", "gone", t0.Add(time.Hour), nil)
	require.ErrorIs(t, err, store.ErrUnknownResolution)
	require.ErrorContains(t, err, `"gone"`)
	d, err := st.Discrepancy(ctx, store.KindStaleMeeting, "m2", "")
	require.NoError(t, err)
	require.Nil(t, d.ResolvedAt, "still open")
}
