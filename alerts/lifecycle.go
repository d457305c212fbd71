package alerts

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/zoomrecon/zoomrecon/store"
)

// This file is what people's actions do to alerts: a mute keeps a
// discrepancy's alert from Slack, and an acknowledgement or a mute is shown
// by editing the message that already went out.

// addMutes attaches to details the mutes active now that match them.
func (s *Sender) addMutes(ctx context.Context, ids []int64, details map[int64]store.AlertDetail) error {
	mutes, err := s.st.MutesFor(ctx, ids, s.cfg.NowFunc())
	if err != nil {
		return err
	}
	for id, m := range mutes {
		if d, ok := details[id]; ok {
			d.Mute = &m
			details[id] = d
		}
	}
	return nil
}

// dropMuted records the claimed alerts a mute holds back as muted (never
// tried again; the discrepancy stays recorded) and returns the rest.
func (s *Sender) dropMuted(ctx context.Context, alerts []alert, res *PassResult) ([]alert, error) {
	byMute := map[int64][]alert{}
	var keep []alert
	for _, a := range alerts {
		if a.hasD && a.d.Mute != nil {
			byMute[a.d.Mute.ID] = append(byMute[a.d.Mute.ID], a)
			continue
		}
		keep = append(keep, a)
	}
	dctx, cancel := detached(ctx)
	defer cancel()
	for muteID, as := range byMute {
		ids := make([]int64, len(as))
		for i, a := range as {
			ids[i] = a.msg.ID
		}
		if err := s.st.MarkAlertsMuted(dctx, ids, muteID, s.cfg.NowFunc()); err != nil {
			return nil, err
		}
		res.Muted += len(as)
		for _, a := range as {
			s.metrics.muted.WithLabelValues(string(a.kind())).Inc()
		}
		s.logger.DebugContext(ctx, "alerts muted", "mute_id", muteID, "alerts", len(as))
	}
	return keep, nil
}

// edit re-renders the delivered messages whose discrepancies were
// acknowledged, muted or unmuted. Only the bot can edit; elsewhere (an
// incoming webhook, the log) the edit is recorded as done: the person who
// acted knows, and a second notification would only add noise.
func (s *Sender) edit(ctx context.Context, res *PassResult) error {
	now := s.cfg.NowFunc()
	if now.Before(s.pausedUntil) {
		res.Paused = true
		return nil
	}
	msgs, err := s.st.ClaimEdits(ctx, s.cfg.RunID, now, s.cfg.Lease, s.cfg.BatchSize)
	if err != nil || len(msgs) == 0 {
		return err
	}
	type target struct{ channel, ts string }
	var (
		order   []target
		byMsg   = map[target][]store.OutboxMessage{}
		skipped []int64
	)
	for _, m := range msgs {
		if s.mode != ModeBot || m.SlackTS == "" || m.SlackChannel == "" || m.SlackChannel == logChannel {
			skipped = append(skipped, m.ID)
			continue
		}
		t := target{m.SlackChannel, m.SlackTS}
		if _, ok := byMsg[t]; !ok {
			order = append(order, t)
		}
		byMsg[t] = append(byMsg[t], m)
	}
	if len(skipped) > 0 {
		dctx, cancel := detached(ctx)
		err := s.st.MarkEdited(dctx, skipped, now)
		cancel()
		if err != nil {
			return err
		}
	}
	for i, t := range order {
		ms := byMsg[t]
		ids := make([]int64, len(ms))
		tries := 0
		for j, m := range ms {
			ids[j] = m.ID
			tries = max(tries, m.Tries)
		}
		var stop *time.Time
		if serr := s.refresh(ctx, t.channel, t.ts, res); serr == nil {
			dctx, cancel := detached(ctx)
			err = s.st.MarkEdited(dctx, ids, s.cfg.NowFunc())
			cancel()
			res.Edited += len(ids)
			s.succeeded(ctx)
		} else {
			// An edit's tries are counted on its alert_edits row, which the
			// outbox row does not carry: the backoff grows with the pass.
			stop, err = s.recordFailure(ctx, res, serr, ids, tries, s.st.ReleaseEdits, s.st.MarkEditsFailed)
		}
		if err != nil || stop != nil {
			var rest []store.OutboxMessage
			for _, t := range order[i+1:] {
				rest = append(rest, byMsg[t]...)
			}
			next := s.cfg.NowFunc()
			if stop != nil {
				next = *stop
			}
			s.giveBack(ctx, "edits", rest, next, s.st.ReleaseEdits)
			return err
		}
	}
	return nil
}

// withLifecycle adds to a message what people did about its alerts: who
// acknowledged them and why, and until when they are muted and why.
func withLifecycle(m message, alerts []alert) message {
	var lines []string
	for _, a := range alerts {
		if t := lifecycleText(a); t != "" {
			if len(alerts) > 1 {
				t = fmt.Sprintf("Discrepancy %d %s", discrepancyID(a), t)
			} else {
				t = capitalize(t)
			}
			lines = append(lines, t)
		}
	}
	if len(lines) == 0 {
		return m
	}
	var mrkdwn []string
	for _, l := range lines {
		mrkdwn = append(mrkdwn, escape(l))
	}
	block := section(strings.Join(mrkdwn, "\n"))
	// After the header, where it is read first.
	at := min(1, len(m.blocks))
	m.blocks = slices.Insert(slices.Clone(m.blocks), at, slack.Block(block))
	m.text = strings.Join(lines, "\n") + "\n" + m.text
	return m
}

// lifecycleText says what people did about one alert, in lower case:
// "acknowledged by ana (2026-…): calling Zoom", "muted until …: test account".
func lifecycleText(a alert) string {
	if !a.hasD {
		return ""
	}
	var parts []string
	if at := a.d.AcknowledgedAt; at != nil {
		t := "acknowledged by " + orSomeone(a.d.AcknowledgedBy) + " (" + utc(*at) + ")"
		if a.d.AckNote != "" {
			t += ": " + a.d.AckNote
		}
		parts = append(parts, t)
	}
	if mu := a.d.Mute; mu != nil && !a.resolved() {
		t := "muted until " + utc(mu.Until)
		if mu.Reason != "" {
			t += ": " + mu.Reason
		}
		parts = append(parts, t)
	}
	return strings.Join(parts, "; ")
}

func orSomeone(s string) string {
	if s == "" {
		return "someone"
	}
	return s
}
