package alerts_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/alerts"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// TestMessages checks what each kind of alert says, through both ways of
// reaching Slack: the text fallback alone must carry the essentials.
func TestMessages(t *testing.T) {
	t.Parallel()
	essentials := []string{"Topic: Weekly sync 1", "Meeting ID: 81234567891", "Meeting UUID: uuid-1==", "Host: host-ana", "Detected: 2026-11-23 15:00:00 UTC", "Check next: "}
	cases := []struct {
		name string
		kind store.Kind
		want []string // in the text fallback, as Slack shows it
		head string   // in the header block
	}{
		{
			name: "MissedMeetingStarted", kind: store.KindMissedMeetingStarted,
			want: append([]string{
				"Zoom never sent meeting.started for “Weekly sync 1” (meeting ID 81234567891). Zoom reports it ran from 2026-11-23 14:00:00 UTC to 2026-11-23 14:45:00 UTC",
				"Started: 2026-11-23 14:00:00 UTC", "Ended: 2026-11-23 14:45:00 UTC",
				"Backfilled: zoomrecon recorded the meeting with its times from Zoom's API",
				"event subscription includes meeting.started",
			}, essentials...),
			head: ":warning: Missed meeting.started: Weekly sync 1",
		},
		{
			name: "MissedMeetingEnded", kind: store.KindMissedMeetingEnded,
			want: append([]string{
				"Zoom never sent meeting.ended for “Weekly sync 1” (meeting ID 81234567891). Zoom reports it ended at 2026-11-23 14:45:00 UTC",
				"Ended: 2026-11-23 14:45:00 UTC",
				"Backfilled: zoomrecon marked the meeting ended at the time Zoom's API reports",
				"event subscription includes meeting.ended",
			}, essentials...),
			head: ":warning: Missed meeting.ended: Weekly sync 1",
		},
		{
			name: "MissedParticipantJoined", kind: store.KindMissedParticipantJoined,
			want: append([]string{
				"Zoom never sent meeting.participant_joined for Ana Lima <ana@example.com> in “Weekly sync 1” (meeting ID 81234567891).",
				"Participant: Ana Lima <ana@example.com>",
				"Backfilled: zoomrecon recorded the join from Zoom's participant report",
			}, essentials...),
			head: ":warning: Missed meeting.participant_joined: Weekly sync 1",
		},
		{
			name: "MissedParticipantLeft", kind: store.KindMissedParticipantLeft,
			want: append([]string{
				"Zoom never sent meeting.participant_left for Ana Lima <ana@example.com> in “Weekly sync 1”",
				"Backfilled: zoomrecon recorded the leave from Zoom's participant report",
			}, essentials...),
			head: ":warning: Missed meeting.participant_left: Weekly sync 1",
		},
		{
			name: "StaleMeetingIsUrgent", kind: store.KindStaleMeeting,
			want: append([]string{
				"URGENT: “Weekly sync 1” (meeting ID 81234567891) is still open long after it started: Zoom never sent meeting.ended for it. In progress since 2026-11-23 11:00:00 UTC",
				"Started: 2026-11-23 11:00:00 UTC", "Ended: not known to zoomrecon",
				"Backfilled: nothing: only Zoom can say a meeting ended",
				"Check next: Check in Zoom",
			}, essentials...),
			head: ":rotating_light: Meeting stuck in progress: Weekly sync 1",
		},
		{
			name: "WebhookSilenceIsUrgent", kind: store.KindWebhookSilence,
			want: []string{
				"URGENT: Zoom has stopped sending webhooks to zoomrecon while its API shows meetings starting and ending. The last webhook was received at 2026-11-23 14:20:00 UTC",
				"Silent since: 2026-11-23 14:20:00 UTC", "Detected: 2026-11-23 15:00:00 UTC",
				"Check next: Check that the Zoom app is still activated",
			},
			head: ":rotating_light: Zoom has stopped sending webhooks",
		},
		{
			name: "RefusedURLValidationIsUrgent", kind: store.KindURLValidationRefused,
			want: []string{
				"URGENT: zoomrecon refused Zoom's URL revalidation of its webhook endpoint; six refusals in a row make Zoom disable the app's event subscription",
				"Zoom's URL validation at 2026-11-23 14:58:00 UTC was refused with 401: signature matches no configured secret token.",
				"Refused since: 2026-11-23 14:58:00 UTC", "Detected: 2026-11-23 15:00:00 UTC",
				"Check next: Check that ZOOM_WEBHOOK_SECRET_TOKEN is the Secret Token",
			},
			head: ":rotating_light: Zoom's URL validation was refused",
		},
		{
			name: "WebSocketDisconnectedIsUrgent", kind: store.KindWebSocketDisconnected,
			want: []string{
				"URGENT: zoomrecon's WebSocket connection to Zoom's event subscription has stayed down past ZOOMRECON_WEBSOCKET_ALERT_AFTER",
				"never resends one. Failed to get reader: failed to read frame header: EOF.",
				"Disconnected since: 2026-11-23 14:53:00 UTC", "Detected: 2026-11-23 15:00:00 UTC",
				"Backfilled: nothing is lost for good: zoomrecon keeps trying to reconnect, and once connected it backfills from Zoom's API",
				"Check next: Check zoomrecon's logs", "ws.zoom.us on port 443", "ZOOM_WEBSOCKET_SUBSCRIPTION_ID", "WebSockets method", "Zoom's status page.",
			},
			head: ":rotating_light: WebSocket event subscription disconnected",
		},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					sender, b := setup(t, storetest.SQLiteURL(t), m.mode)
					b.seed(t, meeting(tc.kind, 1))
					res := pass(t, sender)
					require.Equal(t, 1, res.Sent, "%s: sent", tc.name)
					got := b.slack.Accepted()
					require.Len(t, got, 1, "%s: one message", tc.name)
					for _, w := range tc.want {
						require.Contains(t, got[0].Text, w, "%s: text", tc.name)
					}
					blocks := blockTexts(got[0].Blocks)
					require.Contains(t, blocks, tc.head, "%s: header", tc.name)
					require.Contains(t, blocks, "*Check next:*", "%s: blocks", tc.name)
				})
			}
		})
	}
}

// TestWebinarMessages: a webinar's alert names the webinar's webhooks
// (webinar.ended, not meeting.ended) wherever an alert names one: header,
// headline, what to check, and a digest's header.
func TestWebinarMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		kind store.Kind
		want []string // in the text fallback
		head string   // in the header block
	}{
		{
			name: "MissedWebinarStarted", kind: store.KindMissedMeetingStarted,
			want: []string{"Zoom never sent webinar.started for “Product launch 1” (meeting ID 81234567891).",
				"event subscription includes webinar.started"},
			head: ":warning: Missed webinar.started: Product launch 1",
		},
		{
			name: "MissedWebinarEnded", kind: store.KindMissedMeetingEnded,
			want: []string{"Zoom never sent webinar.ended for “Product launch 1” (meeting ID 81234567891). Zoom reports it ended at 2026-11-23 14:45:00 UTC; webinar.ended never arrived.",
				"event subscription includes webinar.ended,"},
			head: ":warning: Missed webinar.ended: Product launch 1",
		},
		{
			name: "MissedWebinarParticipantJoined", kind: store.KindMissedParticipantJoined,
			want: []string{"Zoom never sent webinar.participant_joined for Ana Lima <ana@example.com> in “Product launch 1”",
				"event subscription includes webinar.participant_joined;"},
			head: ":warning: Missed webinar.participant_joined: Product launch 1",
		},
		{
			name: "MissedWebinarParticipantLeft", kind: store.KindMissedParticipantLeft,
			want: []string{"Zoom never sent webinar.participant_left for Ana Lima <ana@example.com> in “Product launch 1”",
				"event subscription includes webinar.participant_left and"},
			head: ":warning: Missed webinar.participant_left: Product launch 1",
		},
		{
			name: "StaleWebinar", kind: store.KindStaleMeeting,
			want: []string{"URGENT: “Product launch 1” (meeting ID 81234567891) is still open long after it started: Zoom never sent webinar.ended for it.",
				"If it ended, webinar.ended was lost"},
			head: ":rotating_light: Meeting stuck in progress: Product launch 1",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sender, b := setup(t, storetest.SQLiteURL(t), alerts.ModeWebhook)
			b.seed(t, webinar(tc.kind, 1))
			require.Equal(t, 1, pass(t, sender).Sent, "%s: sent", tc.name)
			got := b.slack.Accepted()
			require.Len(t, got, 1, "%s: one message", tc.name)
			for _, w := range tc.want {
				require.Contains(t, got[0].Text, w, "%s: text", tc.name)
			}
			require.Contains(t, blockTexts(got[0].Blocks), tc.head, "%s: header", tc.name)
			headline, _, _ := strings.Cut(got[0].Text, "\n")
			meetingEvent := tc.kind.Info().Event(store.TypeMeeting)
			require.NotContains(t, headline, meetingEvent, "%s: headline", tc.name)
			require.NotContains(t, blockTexts(got[0].Blocks[:1]), meetingEvent, "%s: header", tc.name)
		})
	}
	t.Run("DigestOfMeetingsAndWebinars", func(t *testing.T) {
		t.Parallel()
		sender, b := setup(t, storetest.SQLiteURL(t), alerts.ModeWebhook)
		for i := range 6 {
			b.seed(t, webinar(store.KindMissedMeetingEnded, i+1))
			b.seed(t, meeting(store.KindMissedMeetingEnded, 100+i))
		}
		require.Equal(t, 12, pass(t, sender).Sent)
		got := b.slack.Accepted()
		require.Len(t, got, 1, "one digest")
		require.True(t, strings.HasPrefix(got[0].Text, "Zoom never sent webinar.ended or meeting.ended for 12 meetings\n"), "got %q", got[0].Text)
		require.Contains(t, got[0].Text, "Check next: Check that the event subscription includes webinar.ended or meeting.ended,")
	})
}

// TestMessagesEscapeMentions keeps a topic from pinging a channel.
func TestMessagesEscapeMentions(t *testing.T) {
	t.Parallel()
	sender, b := setup(t, storetest.SQLiteURL(t), alerts.ModeBot)
	s := meeting(store.KindMissedMeetingEnded, 1)
	s.Topic = "<!channel> all hands & <https://evil.example|click>"
	b.seed(t, s)
	pass(t, sender)
	got := b.slack.Accepted()
	require.Len(t, got, 1)
	require.Contains(t, got[0].Text, s.Topic, "shown as written")
	require.NotContains(t, got[0].RawText, "<!channel>")
	require.Contains(t, got[0].RawText, "&lt;!channel&gt; all hands &amp;")
	for _, bl := range got[0].Blocks {
		require.NotContains(t, strings.Join(strings.Fields(toJSON(t, bl)), " "), "<!channel>")
	}
}

// TestOutboxSurvivesRestartWithSlackDown: alerts queued while Slack cannot
// be reached are delivered, exactly once, by a restarted process once it
// can.
func TestOutboxSurvivesRestartWithSlackDown(t *testing.T) {
	t.Parallel()
	eachBackendAndMode(t, func(t *testing.T, dbURL, mode string) {
		sender, b := setup(t, dbURL, mode)
		for i, k := range []store.Kind{store.KindStaleMeeting, store.KindMissedMeetingEnded, store.KindMissedParticipantLeft} {
			b.seed(t, meeting(k, i+1))
		}
		b.slack.SetDown(true)
		res := pass(t, sender)
		require.Equal(t, 0, res.Sent)
		require.Equal(t, 1, res.Failed, "the pass stops at the first failure")
		require.Len(t, b.slack.Requests(), 1, "the rest are not tried against a Slack that is down")
		for _, m := range b.outbox(t) {
			require.Equal(t, store.OutboxPending, m.Status, "alert %d", m.ID)
			require.True(t, m.NextAttemptAt.After(t0), "alert %d is due later, got %v", m.ID, m.NextAttemptAt)
		}
		require.Equal(t, 1.0, metric(t, b.reg, "zoomrecon_alerts_failed_total", "reason", "unavailable"))
		require.Equal(t, 3.0, metric(t, b.reg, "zoomrecon_alerts_outbox_depth", "status", "pending"))
		require.Equal(t, 1.0, metric(t, b.reg, "zoomrecon_alerts_failing"))
		status, err := b.st.AlertStatus(context.Background())
		require.NoError(t, err)
		require.Equal(t, 1, status.Failing)
		require.NotEmpty(t, status.LastError)

		// Restart: a new store and sender on the same database.
		require.NoError(t, b.st.Close())
		b.st = storetest.Open(t, dbURL)
		sender = b.build(t, prometheus.NewRegistry())
		b.slack.SetDown(false)

		res = pass(t, sender)
		require.Zero(t, res.Claimed, "backoff holds across the restart")
		require.Len(t, b.slack.Requests(), 1)

		b.clock.Advance(time.Hour)
		res = pass(t, sender)
		require.Equal(t, 3, res.Sent)
		b.clock.Advance(time.Hour)
		res = pass(t, sender)
		require.Zero(t, res.Claimed)

		got := b.slack.Accepted()
		require.Len(t, got, 3, "each alert exactly once")
		require.Contains(t, got[0].Text, "URGENT: ", "the urgent one first")
		for _, m := range b.outbox(t) {
			require.Equal(t, store.OutboxSent, m.Status, "alert %d", m.ID)
			require.Empty(t, m.LastError)
			if mode == alerts.ModeBot {
				require.Equal(t, b.slack.channelID, m.SlackChannel)
				require.NotEmpty(t, m.SlackTS)
			}
		}
	})
}

// TestHonoursRetryAfter: a 429 makes the sender wait at least Retry-After
// before it calls Slack again, and the wait is in the outbox, so a restart
// honours it too.
func TestHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	eachBackendAndMode(t, func(t *testing.T, dbURL, mode string) {
		sender, b := setup(t, dbURL, mode)
		b.seed(t, meeting(store.KindMissedMeetingEnded, 1))
		b.seed(t, meeting(store.KindMissedMeetingStarted, 2))
		b.slack.Fail(slackFault{Status: 429, RetryAfter: retryAfter(7 * time.Second), Error: "rate_limited"})

		res := pass(t, sender)
		require.Equal(t, 1, res.Failed)
		require.Contains(t, res.LastError, "retry after 7s")
		require.Len(t, b.slack.Requests(), 1, "nothing more is sent while rate limited")
		for _, m := range b.outbox(t) {
			require.False(t, m.NextAttemptAt.Before(t0.Add(7*time.Second)),
				"alert %d: next attempt %v is before Retry-After ends", m.ID, m.NextAttemptAt)
		}

		b.clock.Advance(3 * time.Second)
		res = pass(t, sender)
		require.True(t, res.Paused)
		restarted := b.build(t, prometheus.NewRegistry())
		res = pass(t, restarted)
		require.Zero(t, res.Claimed, "a restarted sender finds nothing due either")
		require.Len(t, b.slack.Requests(), 1)

		b.clock.Advance(5 * time.Second)
		res = pass(t, sender)
		require.Equal(t, 2, res.Sent)
		require.Len(t, b.slack.Accepted(), 2)
		require.Equal(t, 1.0, metric(t, b.reg, "zoomrecon_alerts_failed_total", "reason", "rate_limited"))
		require.Equal(t, 2.0, metric(t, b.reg, "zoomrecon_alerts_sent_total", "kind", "missed_meeting_ended")+
			metric(t, b.reg, "zoomrecon_alerts_sent_total", "kind", "missed_meeting_started"))
	})
}

// TestPacesRequests keeps about MinInterval between requests to Slack.
func TestPacesRequests(t *testing.T) {
	t.Parallel()
	sender, b := setup(t, storetest.SQLiteURL(t), alerts.ModeBot, func(c *alerts.Config) { c.MinInterval = 30 * time.Millisecond })
	for i := range 3 {
		b.seed(t, meeting(store.KindMissedMeetingEnded, i+1))
	}
	pass(t, sender)
	got := b.slack.Accepted()
	require.Len(t, got, 3)
	for i := 1; i < len(got); i++ {
		gap := got[i].At.Sub(got[i-1].At)
		require.GreaterOrEqual(t, gap, 25*time.Millisecond, "request %d came %v after the one before", i, gap)
	}
}

// TestDigestReplacesAStorm: many alerts of one kind due at once go as one
// digest; the few of another kind go one by one.
func TestDigestReplacesAStorm(t *testing.T) {
	t.Parallel()
	eachBackendAndMode(t, func(t *testing.T, dbURL, mode string) {
		sender, b := setup(t, dbURL, mode)
		for i := range 12 {
			b.seed(t, meeting(store.KindMissedMeetingEnded, i+1))
		}
		for i := range 2 {
			b.seed(t, meeting(store.KindMissedParticipantLeft, 100+i))
		}
		res := pass(t, sender)
		require.Equal(t, 14, res.Sent)
		require.Equal(t, 3, res.Messages, "one digest and two alerts")
		got := b.slack.Accepted()
		require.Len(t, got, 3)
		digest := got[0].Text
		require.True(t, strings.HasPrefix(digest, "Zoom never sent meeting.ended for 12 meetings\n"), "got %q", digest)
		require.Equal(t, 10, strings.Count(digest, "\n- “Weekly sync "), "ten listed")
		require.Contains(t, digest, "- “Weekly sync 1” ID 81234567891 UUID uuid-1== host host-ana: Zoom reports it ended at 2026-11-23 14:45:00 UTC")
		require.Contains(t, digest, "…and 2 more; zoomrecon status lists them all.")
		require.Contains(t, digest, "Backfilled: zoomrecon marked the meeting ended")
		require.Contains(t, blockTexts(got[0].Blocks), "Zoom never sent meeting.ended for 12 meetings")
		for _, r := range got[1:] {
			require.Contains(t, r.Text, "Zoom never sent meeting.participant_left for Ana Lima")
		}
		if mode == alerts.ModeBot {
			var ts []string
			for _, m := range b.outbox(t) {
				if m.Kind == store.KindMissedMeetingEnded {
					ts = append(ts, m.SlackTS)
				}
			}
			require.Len(t, ts, 12)
			for _, x := range ts {
				require.Equal(t, got[0].PostedTS, x, "every alert in the digest carries its ts")
			}
		}
	})
}

// TestFoldsMissedIntoSilence: while a webhook silence is open, the missed
// alerts it explains arrive with it, not one by one; those detected before it
// began still arrive alone.
func TestFoldsMissedIntoSilence(t *testing.T) {
	t.Parallel()
	eachBackendAndMode(t, func(t *testing.T, dbURL, mode string) {
		sender, b := setup(t, dbURL, mode)
		sil := silence(t0.Add(-40 * time.Minute))
		b.seed(t, sil)
		for i := range 3 {
			b.seed(t, meeting(store.KindMissedMeetingStarted, i+1))
		}
		before := meeting(store.KindMissedMeetingEnded, 9)
		before.DetectedAt = t0.Add(-50 * time.Minute)
		b.seed(t, before)

		res := pass(t, sender)
		require.Equal(t, 5, res.Sent)
		got := b.slack.Accepted()
		require.Len(t, got, 2, "the silence with what it explains, and the one from before")
		require.Contains(t, got[0].Text, "URGENT: Zoom has stopped sending webhooks")
		require.Contains(t, got[0].Text, "While Zoom is silent, zoomrecon also found 3 missed events:\n- “Weekly sync 1” ID 81234567891")
		require.Contains(t, got[0].Text, "- “Weekly sync 3”")
		require.Contains(t, blockTexts(got[0].Blocks), "While Zoom is silent, zoomrecon also found 3 missed events:")
		require.Contains(t, got[1].Text, "Zoom never sent meeting.ended for “Weekly sync 9”")

		// More missed events while the silence is still open.
		b.clock.Advance(5 * time.Minute)
		for i := range 2 {
			m := meeting(store.KindMissedParticipantLeft, 20+i)
			m.DetectedAt = t0.Add(5 * time.Minute)
			b.seed(t, m)
		}
		res = pass(t, sender)
		require.Equal(t, 2, res.Sent)
		got = b.slack.Accepted()[2:]
		switch mode {
		case alerts.ModeBot:
			require.Len(t, got, 2, "a reply in the silence's thread, and the silence's message updated")
			require.Equal(t, "chat.postMessage", got[0].Method)
			silenceTS := b.slack.Accepted()[0].PostedTS
			require.Equal(t, silenceTS, got[0].ThreadTS)
			require.Contains(t, got[0].Text, "2 more missed events while Zoom is silent (since 2026-11-23 14:20:00 UTC):")
			require.Equal(t, "chat.update", got[1].Method)
			require.Equal(t, silenceTS, got[1].TS)
			require.Contains(t, got[1].Text, "also found 5 missed events")
		default:
			require.Len(t, got, 1)
			require.Contains(t, got[0].Text, "2 more missed events while Zoom is silent")
		}

		// Webhooks flow again.
		b.clock.Advance(time.Minute)
		b.resolve(t, sil, store.ResolvedEventsFlowing, b.clock.Now())
		res = pass(t, sender)
		require.Equal(t, 1, res.Announced)
		got = b.slack.Accepted()
		last := got[len(got)-1]
		switch mode {
		case alerts.ModeBot:
			require.Equal(t, "chat.update", last.Method)
			require.Equal(t, got[0].PostedTS, last.TS)
			require.True(t, strings.HasPrefix(last.Text, "RESOLVED (webhooks are flowing again (2026-11-23 15:06:00 UTC)): "), "got %q", last.Text)
			require.Contains(t, last.Text, "While Zoom was silent, zoomrecon also found 5 missed events")
		default:
			require.Equal(t, "RESOLVED: Zoom is sending webhooks again: webhooks are flowing again (2026-11-23 15:06:00 UTC). It had been silent since 2026-11-23 14:20:00 UTC.", last.Text)
		}
		n := len(b.slack.Requests())
		b.clock.Advance(time.Minute)
		pass(t, sender)
		require.Len(t, b.slack.Requests(), n, "announced once")

		// With the silence over, missed events arrive on their own again.
		late := meeting(store.KindMissedMeetingEnded, 30)
		late.DetectedAt = b.clock.Now()
		b.seed(t, late)
		res = pass(t, sender)
		require.Equal(t, 1, res.Sent)
		require.Contains(t, b.slack.Accepted()[len(b.slack.Accepted())-1].Text, "Zoom never sent meeting.ended for “Weekly sync 30”")
	})
}

// TestFoldedAlertsWaitForTheirSilence: missed alerts whose silence's own
// alert is still waiting go with it, not before it.
func TestFoldedAlertsWaitForTheirSilence(t *testing.T) {
	t.Parallel()
	sender, b := setup(t, storetest.SQLiteURL(t), alerts.ModeBot)
	b.seed(t, silence(t0.Add(-40*time.Minute)))
	b.slack.Fail(slackFault{Error: "internal_error"})
	res := pass(t, sender)
	require.Equal(t, 1, res.Failed)

	b.seed(t, meeting(store.KindMissedMeetingStarted, 1))
	res = pass(t, sender)
	require.Equal(t, 1, res.Claimed)
	require.Zero(t, res.Sent, "it waits for the silence")
	require.Len(t, b.slack.Requests(), 1)

	b.clock.Advance(time.Hour)
	res = pass(t, sender)
	require.Equal(t, 2, res.Sent)
	got := b.slack.Accepted()
	require.Len(t, got, 1, "one message carries both")
	require.Contains(t, got[0].Text, "also found 1 missed event:")
}

// TestResolutionEditsTheMessage: with a bot token the message of a resolved
// discrepancy is edited in place, once; a digest is edited line by line.
func TestResolutionEditsTheMessage(t *testing.T) {
	t.Parallel()
	for _, bk := range storetest.Backends() {
		t.Run(bk.Name, func(t *testing.T) {
			t.Parallel()
			sender, b := setup(t, bk.URL(t), alerts.ModeBot)
			single := meeting(store.KindMissedMeetingEnded, 1)
			b.seed(t, single)
			var stale []seed
			for i := range 7 {
				s := meeting(store.KindStaleMeeting, 10+i)
				stale = append(stale, s)
				b.seed(t, s)
			}
			pass(t, sender)
			posted := b.slack.Accepted()
			require.Len(t, posted, 2)
			digestTS, singleTS := posted[0].PostedTS, posted[1].PostedTS
			require.Contains(t, posted[0].Text, "URGENT: 7 meetings stuck in progress")

			b.clock.Advance(time.Minute)
			b.resolve(t, single, store.ResolvedLateWebhook, b.clock.Now())
			b.resolve(t, stale[0], store.ResolvedEnded, b.clock.Now())
			b.resolve(t, stale[1], store.ResolvedEnded, b.clock.Now())
			res := pass(t, sender)
			require.Equal(t, 3, res.Announced)
			edits := b.slack.Accepted()[2:]
			require.Len(t, edits, 2, "one edit per message")
			byTS := map[string]slackRequest{}
			for _, e := range edits {
				require.Equal(t, "chat.update", e.Method)
				require.Equal(t, b.slack.channelID, e.Channel)
				byTS[e.TS] = e
			}
			require.True(t, strings.HasPrefix(byTS[singleTS].Text, "RESOLVED (the webhook arrived late (2026-11-23 15:01:00 UTC)): Zoom never sent meeting.ended"), "got %q", byTS[singleTS].Text)
			require.Contains(t, blockTexts(byTS[singleTS].Blocks), ":white_check_mark: Resolved: Missed meeting.ended: Weekly sync 1")
			digest := byTS[digestTS].Text
			require.Equal(t, 2, strings.Count(digest, "(resolved: the meeting ended (2026-11-23 15:01:00 UTC))"), "got %q", digest)
			require.True(t, strings.HasPrefix(digest, "URGENT: 7 meetings stuck"), "not all resolved yet: %q", digest)

			b.clock.Advance(time.Minute)
			res = pass(t, sender)
			require.Zero(t, res.Announced)
			require.Len(t, b.slack.Requests(), 4, "each resolution is announced once")

			for _, s := range stale[2:] {
				b.resolve(t, s, store.ResolvedEnded, b.clock.Now())
			}
			pass(t, sender)
			last := b.slack.Accepted()[4]
			require.Equal(t, digestTS, last.TS)
			require.True(t, strings.HasPrefix(last.Text, "RESOLVED: 7 meetings stuck in progress"), "got %q", last.Text)
			m, ok := b.slack.Message(digestTS)
			require.True(t, ok)
			require.Equal(t, 2, m.Edits)
			require.Equal(t, 3.0+5.0, metric(t, b.reg, "zoomrecon_alerts_resolutions_announced_total", "how", "edited"))
		})
	}
}

// TestResolutionFollowsUpWebhooks: an incoming webhook cannot edit, so only
// the urgent kinds get a follow-up, once.
func TestResolutionFollowsUpWebhooks(t *testing.T) {
	t.Parallel()
	for _, bk := range storetest.Backends() {
		t.Run(bk.Name, func(t *testing.T) {
			t.Parallel()
			sender, b := setup(t, bk.URL(t), alerts.ModeWebhook)
			missedEnd := meeting(store.KindMissedMeetingEnded, 1)
			stale := meeting(store.KindStaleMeeting, 2)
			refused := meeting(store.KindURLValidationRefused, 3)
			disconnected := meeting(store.KindWebSocketDisconnected, 4)
			b.seed(t, missedEnd)
			b.seed(t, stale)
			b.seed(t, refused)
			b.seed(t, disconnected)
			pass(t, sender)
			require.Len(t, b.slack.Accepted(), 4)

			b.clock.Advance(time.Minute)
			b.resolve(t, missedEnd, store.ResolvedLateWebhook, b.clock.Now())
			b.resolve(t, stale, store.ResolvedEnded, b.clock.Now())
			b.resolve(t, refused, store.ResolvedValidationAnswered, b.clock.Now())
			b.resolve(t, disconnected, store.ResolvedReconnected, b.clock.Now())
			res := pass(t, sender)
			require.Equal(t, 4, res.Announced)
			got := b.slack.Accepted()
			require.Len(t, got, 7, "one follow-up for each urgent one")
			var texts []string
			for _, m := range got[4:] {
				texts = append(texts, m.Text)
			}
			require.ElementsMatch(t, []string{
				"RESOLVED: “Weekly sync 2” (meeting ID 81234567892) is no longer stuck: the meeting ended (2026-11-23 15:01:00 UTC).",
				"RESOLVED: Zoom's URL validation is answered again: zoomrecon answered Zoom's next URL validation (2026-11-23 15:01:00 UTC). Validations had been refused since 2026-11-23 14:58:00 UTC.",
				"RESOLVED: zoomrecon is receiving Zoom's events again: the WebSocket event subscription is connected again (2026-11-23 15:01:00 UTC). " +
					"It had been disconnected since 2026-11-23 14:53:00 UTC; zoomrecon now backfills that gap from Zoom's API.",
			}, texts)

			b.clock.Advance(time.Minute)
			res = pass(t, sender)
			require.Zero(t, res.Announced)
			require.Len(t, b.slack.Requests(), 7)
			require.Equal(t, 3.0, metric(t, b.reg, "zoomrecon_alerts_resolutions_announced_total", "how", "follow_up"))
			require.Equal(t, 1.0, metric(t, b.reg, "zoomrecon_alerts_resolutions_announced_total", "how", "none"))
		})
	}
}

// TestResolvedBeforeDelivery: an alert whose discrepancy resolved while it
// waited says so when it goes out, and is not announced again.
func TestResolvedBeforeDelivery(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			sender, b := setup(t, storetest.SQLiteURL(t), m.mode)
			s := meeting(store.KindStaleMeeting, 1)
			b.seed(t, s)
			b.resolve(t, s, store.ResolvedEnded, t0.Add(time.Second))
			res := pass(t, sender)
			require.Equal(t, 1, res.Sent)
			require.Zero(t, res.Announced)
			got := b.slack.Accepted()
			require.Len(t, got, 1)
			require.True(t, strings.HasPrefix(got[0].Text, "RESOLVED (the meeting ended"), "got %q", got[0].Text)
			b.clock.Advance(time.Minute)
			res = pass(t, sender)
			require.Zero(t, res.Announced)
			require.Len(t, b.slack.Requests(), 1)
		})
	}
}

// TestRefusals: Slack refusing a message for good makes it dead; refusing
// our credentials or channel keeps it pending, since a person can fix that.
func TestRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		mode     string
		fault    slackFault
		status   store.OutboxStatus
		errorHas string
		reason   string
		// fix is what the error tells a person to do, when one must act.
		fix string
	}{
		{"WebhookInvalidPayload", alerts.ModeWebhook, slackFault{Status: 400, Error: "invalid_payload"}, store.OutboxDead, "webhook: Slack answered 400 Bad Request: invalid_payload", "refused", ""},
		{"WebhookRevoked", alerts.ModeWebhook, slackFault{Status: 404, Error: "no_service"}, store.OutboxPending, "webhook: Slack answered 404 Not Found: no_service", "config", "create a new one and set SLACK_WEBHOOK_URL to it"},
		{"WebhookArchivedChannel", alerts.ModeWebhook, slackFault{Status: 410, Error: "channel_is_archived"}, store.OutboxPending, "channel_is_archived", "config", "SLACK_WEBHOOK_URL"},
		{"WebhookServerError", alerts.ModeWebhook, slackFault{Status: 500, Error: "rollup_error"}, store.OutboxPending, "500 Internal Server Error", "unavailable", ""},
		{"BotInvalidBlocks", alerts.ModeBot, slackFault{Error: "invalid_blocks"}, store.OutboxDead, "chat.postMessage: Slack refused it: invalid_blocks", "refused", ""},
		{"BotNotInChannel", alerts.ModeBot, slackFault{Error: "not_in_channel"}, store.OutboxPending, "chat.postMessage: Slack refused it: not_in_channel", "config", "invite the bot to the channel in SLACK_CHANNEL"},
		{"BotInvalidAuth", alerts.ModeBot, slackFault{Error: "invalid_auth"}, store.OutboxPending, "chat.postMessage: Slack refused it: invalid_auth", "config", "Slack does not accept SLACK_BOT_TOKEN"},
		{"BotMissingScope", alerts.ModeBot, slackFault{Error: "missing_scope"}, store.OutboxPending, "chat.postMessage: Slack refused it: missing_scope", "config", "lacks the chat:write scope"},
		{"BotInternalError", alerts.ModeBot, slackFault{Error: "internal_error"}, store.OutboxPending, "internal_error", "unavailable", ""},
		{"BotServerError", alerts.ModeBot, slackFault{Status: 503}, store.OutboxPending, "Slack answered 503 Service Unavailable", "unavailable", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sender, b := setup(t, storetest.SQLiteURL(t), tc.mode)
			b.seed(t, meeting(store.KindMissedMeetingEnded, 1))
			b.slack.Fail(tc.fault)
			res := pass(t, sender)
			require.Equal(t, 1, res.Failed, tc.name)
			rows := b.outbox(t)
			require.Equal(t, tc.status, rows[0].Status, tc.name)
			require.Contains(t, rows[0].LastError, tc.errorHas, tc.name)
			if tc.fix != "" {
				require.Contains(t, rows[0].LastError, tc.fix, "%s: status shows what to do", tc.name)
				require.Contains(t, b.logs.String(), tc.fix, "%s: the log shows what to do", tc.name)
			} else {
				require.NotContains(t, rows[0].LastError, "SLACK_", "%s: nothing for a person to change", tc.name)
			}
			require.Equal(t, 1.0, metric(t, b.reg, "zoomrecon_alerts_failed_total", "reason", tc.reason), tc.name)
			if tc.status == store.OutboxDead {
				require.Equal(t, 1.0, metric(t, b.reg, "zoomrecon_alerts_outbox_depth", "status", "dead"), tc.name)
				return
			}
			b.clock.Advance(time.Hour)
			res = pass(t, sender)
			require.Equal(t, 1, res.Sent, "%s: delivered once Slack takes it", tc.name)
		})
	}
}

// TestNoSecretLeaks: neither the webhook URL nor the bot token appears in
// logs, errors, the outbox or metrics, whatever Slack does.
func TestNoSecretLeaks(t *testing.T) {
	t.Parallel()
	faults := []func(b *testBundle){
		func(b *testBundle) { b.slack.SetDown(true) },
		func(b *testBundle) {
			b.slack.SetDown(false)
			b.slack.Fail(slackFault{Status: 404, Error: "no_service"})
		},
		func(b *testBundle) { b.slack.Fail(slackFault{Status: 500}) },
		func(b *testBundle) { b.slack.Fail(slackFault{Error: "invalid_auth"}) },
		func(b *testBundle) { b.slack.Fail(slackFault{Status: 429, RetryAfter: "1"}) },
		func(b *testBundle) { b.slack.srv.Close() }, // unreachable: the error quotes the URL
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			sender, b := setup(t, storetest.SQLiteURL(t), m.mode, func(c *alerts.Config) { c.RequestTimeout = time.Second })
			b.seed(t, meeting(store.KindMissedMeetingEnded, 1))
			var seen []string
			for _, fault := range faults {
				fault(b)
				res, err := sender.Pass(context.Background())
				if err != nil {
					seen = append(seen, err.Error())
				}
				seen = append(seen, res.LastError)
				for _, r := range b.outbox(t) {
					seen = append(seen, r.LastError)
				}
				b.clock.Advance(time.Hour)
			}
			status, err := b.st.AlertStatus(context.Background())
			require.NoError(t, err)
			seen = append(seen, status.LastError, b.logs.String())
			mfs, err := b.reg.Gather()
			require.NoError(t, err)
			for _, mf := range mfs {
				seen = append(seen, mf.String())
			}
			all := strings.Join(seen, "\n")
			require.Contains(t, all, "Slack", "the failures were recorded")
			for _, secret := range []string{"s3cr3tW3bh00kPath", b.slack.token, "xoxb-"} {
				require.NotContains(t, all, secret)
			}
		})
	}
}

// TestRunDeliversUntilCanceled drives the loop: it delivers what is queued,
// signals each pass, and returns once ctx ends.
func TestRunDeliversUntilCanceled(t *testing.T) {
	t.Parallel()
	passes := make(chan alerts.PassResult, 100)
	sender, b := setup(t, storetest.SQLiteURL(t), alerts.ModeBot, func(c *alerts.Config) {
		c.AfterPassFunc = func(r alerts.PassResult, _ error) {
			select {
			case passes <- r:
			default:
			}
		}
	})
	b.seed(t, meeting(store.KindMissedMeetingEnded, 1))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sender.Run(ctx) }()
	deadline := time.After(10 * time.Second)
	for sent := 0; sent < 1; {
		select {
		case r := <-passes:
			sent += r.Sent
		case <-deadline:
			t.Fatal("no pass delivered the alert")
		}
	}
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	require.Contains(t, b.logs.String(), "alerts go to Slack with a bot token")
	require.Len(t, b.slack.Accepted(), 1)
}

// TestLogOnly: without Slack, alerts are logged and marked delivered to the
// log, and Run says so at start.
func TestLogOnly(t *testing.T) {
	t.Parallel()
	sender, b := setup(t, storetest.SQLiteURL(t), alerts.ModeLog)
	require.Equal(t, alerts.ModeLog, sender.Mode())
	stale := meeting(store.KindStaleMeeting, 1)
	b.seed(t, stale)
	b.seed(t, meeting(store.KindMissedMeetingEnded, 2))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sender.Run(ctx) }()
	waitFor(t, "the outbox to drain", func() bool {
		for _, m := range b.outbox(t) {
			if m.Status != store.OutboxSent {
				return false
			}
		}
		return true
	})
	b.resolve(t, stale, store.ResolvedEnded, t0.Add(time.Minute))
	waitFor(t, "the resolution to be logged", func() bool {
		return strings.Contains(b.logs.String(), "RESOLVED: “Weekly sync 1”")
	})
	cancel()
	require.NoError(t, <-done)
	logs := b.logs.String()
	require.Contains(t, logs, "alerts go to the log only")
	require.Contains(t, logs, "Zoom never sent meeting.ended for “Weekly sync 2”")
	for _, m := range b.outbox(t) {
		require.Equal(t, "log", m.SlackChannel)
	}
	require.Empty(t, b.slack.Requests())
}

// TestReplicasShareTheOutbox: two senders on one database deliver each
// alert once.
func TestReplicasShareTheOutbox(t *testing.T) {
	t.Parallel()
	for _, bk := range storetest.Backends() {
		t.Run(bk.Name, func(t *testing.T) {
			t.Parallel()
			a, b := setup(t, bk.URL(t), alerts.ModeBot, func(c *alerts.Config) {
				c.BatchSize, c.DigestThreshold = 3, 1000
			})
			other := b.build(t, prometheus.NewRegistry())
			const total = 20
			for i := range total {
				b.seed(t, meeting(store.KindMissedMeetingEnded, i+1))
			}
			errs := make(chan error, 2)
			for _, s := range []*alerts.Sender{a, other} {
				go func() {
					for {
						res, err := s.Pass(context.Background())
						if err != nil || res.Claimed == 0 {
							errs <- err
							return
						}
					}
				}()
			}
			require.NoError(t, <-errs)
			require.NoError(t, <-errs)
			got := b.slack.Accepted()
			require.Len(t, got, total)
			seen := map[string]bool{}
			for _, r := range got {
				topic := r.Text[strings.Index(r.Text, "“"):strings.Index(r.Text, "”")]
				require.False(t, seen[topic], "%s delivered twice", topic)
				seen[topic] = true
			}
		})
	}
}

// TestNewRejectsContradictions covers the only errors New returns.
func TestNewRejectsContradictions(t *testing.T) {
	t.Parallel()
	_, err := alerts.New(alerts.Config{WebhookURL: "https://hooks.slack.com/services/T/B/X", BotToken: "xoxb-1", Channel: "C1"}, nil)
	require.EqualError(t, err, "alerts: set either a webhook URL or a bot token, not both")
	_, err = alerts.New(alerts.Config{BotToken: "xoxb-1"}, nil)
	require.EqualError(t, err, "alerts: a bot token needs a channel")
}

// TestRepeatedSilenceIsOneOutage: a silence found while an older one is
// still open is folded into it, and their end is announced once.
func TestRepeatedSilenceIsOneOutage(t *testing.T) {
	t.Parallel()
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			sender, b := setup(t, storetest.SQLiteURL(t), m.mode)
			first := silence(t0.Add(-40 * time.Minute))
			b.seed(t, first)
			pass(t, sender)

			b.clock.Advance(5 * time.Minute)
			again := silence(t0.Add(-35 * time.Minute))
			again.DetectedAt = b.clock.Now()
			b.seed(t, again)
			res := pass(t, sender)
			require.Equal(t, 1, res.Sent)
			got := b.slack.Accepted()
			require.NotContains(t, got[1].Text, "URGENT", "not a second page for the same outage")
			require.Contains(t, got[1].Text, "1 more missed event while Zoom is silent (since 2026-11-23 14:20:00 UTC):\n- webhook silence since 2026-11-23 14:25:00 UTC")
			if m.mode == alerts.ModeBot {
				require.Equal(t, got[0].PostedTS, got[1].ThreadTS)
			}

			b.clock.Advance(time.Minute)
			b.resolve(t, first, store.ResolvedEventsFlowing, b.clock.Now())
			b.resolve(t, again, store.ResolvedEventsFlowing, b.clock.Now())
			n := len(b.slack.Accepted())
			res = pass(t, sender)
			require.Equal(t, 2, res.Announced)
			got = b.slack.Accepted()
			require.Len(t, got, n+1, "one announcement")
			last := got[len(got)-1]
			if m.mode == alerts.ModeBot {
				require.Equal(t, "chat.update", last.Method)
				require.Equal(t, got[0].PostedTS, last.TS)
			} else {
				require.Contains(t, last.Text, "It had been silent since 2026-11-23 14:20:00 UTC.")
			}
		})
	}
}
