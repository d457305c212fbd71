package alerts_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/alerts"
	"github.com/zoomrecon/zoomrecon/store"
)

// hostMeeting returns a seed of kind about meeting n of host, started at start.
func hostMeeting(kind store.Kind, n int, host string, start time.Time) seed {
	s := meeting(kind, n)
	s.Host, s.Start, s.End = host, start, start.Add(30*time.Minute)
	return s
}

// hostCause returns a seed of a host kind for host whose stretch began with
// the meeting first, as the reconciler records it.
func hostCause(kind store.Kind, host, name string, first seed) seed {
	return seed{
		Kind: kind, UUID: first.UUID, MeetingID: first.MeetingID, Topic: first.Topic, Host: host,
		Start: first.Start, End: first.End, Subject: host, HostName: name, DetectedAt: t0,
		Detail: "Zoom sent no meeting.ended for the last 3 meetings of " + name + " (host ID " + host +
			"), the first starting at 2026-11-23 12:00:00 UTC, while 3 other hosts' meetings in the last 24h0m0s got theirs",
	}
}

func TestFoldsHostMissedIntoHostCause(t *testing.T) {
	t.Parallel()
	eachBackendAndMode(t, func(t *testing.T, dbURL, mode string) {
		sender, b := setup(t, dbURL, mode)
		const alice, carol = "AliceHartUserID0000001", "CarolDiazUserID0000003"
		var lost []seed
		for i := range 3 {
			m := hostMeeting(store.KindMissedMeetingEnded, i+1, alice, t0.Add(time.Duration(i-3)*time.Hour))
			b.seed(t, m)
			lost = append(lost, m)
		}
		// Carol's one loss is hers alone.
		b.seed(t, hostMeeting(store.KindMissedMeetingEnded, 4, carol, t0.Add(-time.Hour)))
		cause := hostCause(store.KindHostEndedMissing, alice, "Alice Hart <alice@example.org>", lost[0])
		b.seed(t, cause)

		res := pass(t, sender)
		require.Equal(t, 5, res.Sent)
		got := b.slack.Accepted()
		require.Len(t, got, 2, "Alice's cause with her meetings, and Carol's loss")
		require.True(t, strings.HasPrefix(got[0].Text,
			"Zoom sends no meeting.ended for Alice Hart <alice@example.org>'s meetings while other hosts' arrive: has the host authorized the app?"),
			"got %q", got[0].Text)
		require.Contains(t, got[0].Text, "Of Alice Hart <alice@example.org>'s meetings, zoomrecon found 3 missed events:\n- “Weekly sync 1” ID 81234567891")
		require.Contains(t, got[0].Text, "- “Weekly sync 3”")
		require.Contains(t, got[0].Text, "https://github.com/zoomrecon/zoomrecon#missed-webhooks-of-one-host")
		require.NotContains(t, got[0].Text, "Weekly sync 4", "Carol's loss is not Alice's")
		require.Contains(t, blockTexts(got[0].Blocks), "No meeting.ended for Alice Hart <alice@example.org>'s meetings")
		require.True(t, strings.HasPrefix(got[1].Text, "Zoom never sent meeting.ended for “Weekly sync 4”"), "got %q", got[1].Text)

		// Another of Alice's meetings loses its end while the cause is open.
		b.clock.Advance(5 * time.Minute)
		more := hostMeeting(store.KindMissedMeetingEnded, 5, alice, t0)
		more.DetectedAt = b.clock.Now()
		b.seed(t, more)
		res = pass(t, sender)
		require.Equal(t, 1, res.Sent)
		got = b.slack.Accepted()[2:]
		switch mode {
		case alerts.ModeBot:
			require.Len(t, got, 2, "a reply in the cause's thread, and the cause's message updated")
			require.Equal(t, b.slack.Accepted()[0].PostedTS, got[0].ThreadTS)
			require.Contains(t, got[0].Text, "1 more missed event of Alice Hart <alice@example.org>'s meetings:")
			require.Contains(t, got[0].Text, "These are explained by Alice Hart <alice@example.org>'s missing webhooks; fix that first.")
			require.Equal(t, "chat.update", got[1].Method)
			require.Contains(t, got[1].Text, "zoomrecon found 4 missed events")
		default:
			require.Len(t, got, 1)
			require.Contains(t, got[0].Text, "1 more missed event of Alice Hart <alice@example.org>'s meetings:")
		}

		// Her webhooks arrive again.
		b.clock.Advance(time.Minute)
		b.resolve(t, cause, store.ResolvedHostEventsFlowing, b.clock.Now())
		res = pass(t, sender)
		require.Equal(t, 1, res.Announced)
		if mode == alerts.ModeBot {
			last := b.slack.Accepted()[len(b.slack.Accepted())-1]
			require.Equal(t, "chat.update", last.Method)
			require.Contains(t, last.Text, "RESOLVED (the host's webhooks are arriving again")
			require.Contains(t, last.Text, "Of Alice Hart <alice@example.org>'s meetings, zoomrecon had found 4 missed events:")
		}

		// With the cause closed, her losses go out on their own again.
		late := hostMeeting(store.KindMissedMeetingEnded, 6, alice, t0)
		late.DetectedAt = b.clock.Now()
		b.seed(t, late)
		res = pass(t, sender)
		require.Equal(t, 1, res.Sent)
		require.Contains(t, b.slack.Accepted()[len(b.slack.Accepted())-1].Text, "Zoom never sent meeting.ended for “Weekly sync 6”")
	})
}

// TestHostCauseFoldsOnlyItsStretch: a loss of the host's from before the
// stretch began is not explained by it.
func TestHostCauseFoldsOnlyItsStretch(t *testing.T) {
	t.Parallel()
	eachBackendAndMode(t, func(t *testing.T, dbURL, mode string) {
		sender, b := setup(t, dbURL, mode)
		const alice = "AliceHartUserID0000001"
		early := hostMeeting(store.KindMissedMeetingEnded, 1, alice, t0.Add(-10*time.Hour))
		early.DetectedAt = t0.Add(-9 * time.Hour)
		b.seed(t, early)
		first := hostMeeting(store.KindMissedMeetingEnded, 2, alice, t0.Add(-3*time.Hour))
		b.seed(t, first)
		b.seed(t, hostCause(store.KindHostEndedMissing, alice, "", first))
		res := pass(t, sender)
		require.Equal(t, 3, res.Sent)
		got := b.slack.Accepted()
		require.Len(t, got, 2)
		require.Contains(t, got[0].Text, "Of host "+alice+"'s meetings, zoomrecon found 1 missed event:\n- “Weekly sync 2”", "named by ID when Zoom gave no name")
		require.Contains(t, got[1].Text, "Zoom never sent meeting.ended for “Weekly sync 1”")
	})
}
