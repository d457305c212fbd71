package alerts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/alerts"
	"github.com/zoomrecon/zoomrecon/store"
)

// TestMutedAlertsAreNotPosted: an alert of a muted discrepancy never reaches
// Slack and is not tried again, while an unmuted one is posted; the muted
// discrepancy stays recorded and is counted.
func TestMutedAlertsAreNotPosted(t *testing.T) {
	t.Parallel()
	eachBackendAndMode(t, func(t *testing.T, dbURL, mode string) {
		s, b := setup(t, dbURL, mode)
		ctx := context.Background()
		muted := meeting(store.KindMissedMeetingEnded, 1)
		muted.Host = "host-lab"
		mutedID := b.seed(t, muted)
		b.seed(t, meeting(store.KindMissedMeetingEnded, 2))
		_, err := b.st.AddMute(ctx, store.Mute{Host: "host-lab", Reason: "lab account", CreatedAt: t0, Until: t0.Add(7 * 24 * time.Hour)})
		require.NoError(t, err)

		res := pass(t, s)
		require.Equal(t, 1, res.Muted)
		require.Equal(t, 1, res.Sent)
		accepted := b.slack.Accepted()
		require.Len(t, accepted, 1)
		require.Contains(t, accepted[0].Text, "Weekly sync 2")
		require.NotContains(t, accepted[0].Text, "Weekly sync 1")
		require.Equal(t, 1.0, metric(t, b.reg, "zoomrecon_alerts_muted_total", "kind", "missed_meeting_ended"))

		b.clock.Advance(24 * time.Hour)
		res = pass(t, s)
		require.Zero(t, res.Claimed, "a muted alert is not retried")
		require.Len(t, b.slack.Requests(), 1)
		d, err := b.st.DiscrepancyByID(ctx, mutedID)
		require.NoError(t, err)
		require.Nil(t, d.ResolvedAt, "muted is still recorded, and open")
		st, err := b.st.AlertStatus(ctx)
		require.NoError(t, err)
		require.Zero(t, st.Dead, "a muted alert is no delivery failure")
	})
}

// TestAckAndMuteEditTheSentMessage: acknowledging or muting a discrepancy
// whose alert went out edits the bot's message to say so; with an incoming
// webhook, which cannot edit, nothing more is posted.
func TestAckAndMuteEditTheSentMessage(t *testing.T) {
	t.Parallel()
	eachBackendAndMode(t, func(t *testing.T, dbURL, mode string) {
		s, b := setup(t, dbURL, mode)
		ctx := context.Background()
		stale := meeting(store.KindStaleMeeting, 1)
		staleID := b.seed(t, stale)
		other := meeting(store.KindStaleMeeting, 2)
		other.Host = "host-lab"
		b.seed(t, other)
		res := pass(t, s)
		require.Equal(t, 2, res.Sent)
		posted := b.slack.Accepted()
		require.Len(t, posted, 2)

		_, err := b.st.Acknowledge(ctx, staleID, "ana", "calling the host", t0.Add(time.Minute))
		require.NoError(t, err)
		_, err = b.st.AddMute(ctx, store.Mute{Host: "host-lab", Reason: "lab account", CreatedAt: t0.Add(time.Minute), Until: t0.Add(48 * time.Hour)})
		require.NoError(t, err)
		b.clock.Advance(2 * time.Minute)
		res = pass(t, s)
		if mode != alerts.ModeBot {
			require.Zero(t, res.Edited)
			require.Len(t, b.slack.Requests(), 2, "an incoming webhook's message cannot be edited; nothing more is posted")
			return
		}
		require.Equal(t, 2, res.Edited)
		var updates []string
		for _, r := range b.slack.Accepted()[2:] {
			require.Equal(t, "chat.update", r.Method)
			updates = append(updates, r.TS)
		}
		require.ElementsMatch(t, []string{posted[0].PostedTS, posted[1].PostedTS}, updates)
		for _, p := range posted {
			m, ok := b.slack.Message(p.PostedTS)
			require.True(t, ok)
			require.Equal(t, 1, m.Edits)
			switch {
			case strings.Contains(p.Text, "Weekly sync 1"):
				require.Contains(t, m.Text, "Acknowledged by ana (2026-11-23 15:01:00 UTC): calling the host")
				require.Contains(t, blockText(m.Blocks), "Acknowledged by ana")
			default:
				require.Contains(t, m.Text, "Muted until 2026-11-25 15:00:00 UTC: lab account")
			}
		}
		res = pass(t, s)
		require.Zero(t, res.Edited, "each edit is made once")
	})
}

// blockText joins the text of a message's blocks.
func blockText(blocks []map[string]any) string {
	return toJSONString(blocks)
}

func toJSONString(v any) string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		case []map[string]any:
			for _, e := range x {
				walk(e)
			}
		case string:
			b.WriteString(x + "\n")
		}
	}
	walk(v)
	return b.String()
}

// TestBackfilledAlertSaysNoActionNeeded: a discrepancy recorded resolved as
// backfilled is still alerted, once, saying no action is needed.
func TestBackfilledAlertSaysNoActionNeeded(t *testing.T) {
	t.Parallel()
	eachBackendAndMode(t, func(t *testing.T, dbURL, mode string) {
		s, b := setup(t, dbURL, mode)
		sd := meeting(store.KindMissedMeetingEnded, 1)
		b.seed(t, sd)
		b.resolve(t, sd, store.ResolvedBackfilled, t0)
		res := pass(t, s)
		require.Equal(t, 1, res.Sent)
		accepted := b.slack.Accepted()
		require.Len(t, accepted, 1)
		require.Contains(t, accepted[0].Text, "backfilled it from Zoom's API; no action needed")
		b.clock.Advance(time.Hour)
		pass(t, s)
		require.Len(t, b.slack.Requests(), 1, "no follow-up announces a resolution the alert already showed")
	})
}
