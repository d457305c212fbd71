package alerts

import (
	"context"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
)

// announce tells Slack about discrepancies that resolved after their alert
// went out. The bot edits the message in place (chat.update), re-rendered
// from every alert it carries. Where a message cannot be edited (an incoming
// webhook, the log, or a message posted before the bot was set up), the
// urgent kinds get one short follow-up and the rest are only recorded: a late
// participant webhook is not worth a second notification.
func (s *Sender) announce(ctx context.Context, res *PassResult) error {
	now := s.cfg.NowFunc()
	if now.Before(s.pausedUntil) {
		res.Paused = true
		return nil
	}
	anns, err := s.st.ClaimAnnouncements(ctx, s.cfg.RunID, now, now.Add(-s.cfg.AnnounceWithin), s.cfg.Lease, s.cfg.BatchSize)
	if err != nil || len(anns) == 0 {
		return err
	}
	msgs := make([]store.OutboxMessage, len(anns))
	tries := map[int64]int{}
	for i, a := range anns {
		msgs[i] = a.Alert
		tries[a.Alert.ID] = a.Tries
	}
	alerts, err := s.load(ctx, msgs)
	if err != nil {
		s.releaseAnnouncements(ctx, msgs, now)
		return err
	}

	type edit struct{ channel, ts string }
	var (
		edits     []edit
		byMessage = map[edit][]alert{}
		followUps = map[store.Kind][]alert{}
		silent    []int64
	)
	for _, a := range alerts {
		m := a.msg
		switch {
		case s.mode == ModeBot && m.SlackTS != "" && m.SlackChannel != "" && m.SlackChannel != logChannel:
			e := edit{m.SlackChannel, m.SlackTS}
			if _, ok := byMessage[e]; !ok {
				edits = append(edits, e)
			}
			byMessage[e] = append(byMessage[e], a)
		case a.urgent():
			followUps[a.kind()] = append(followUps[a.kind()], a)
		default:
			silent = append(silent, m.ID)
		}
	}
	if len(silent) > 0 {
		if err := s.markAnnounced(ctx, res, silent, "none"); err != nil {
			return err
		}
	}

	// Each unit is one request to Slack and the announcements it settles.
	type unit struct {
		how    string
		alerts []alert
		run    func(ctx context.Context) *sendError
	}
	var units []unit
	for _, e := range edits {
		units = append(units, unit{how: "edited", alerts: byMessage[e], run: func(ctx context.Context) *sendError {
			return s.refresh(ctx, e.channel, e.ts, res)
		}})
	}
	for _, k := range kindOrder(followUps) {
		as := followUps[k]
		var parts [][]alert
		// Silences end together (any webhook ends them all): one word.
		if len(as) > s.cfg.DigestThreshold || k == store.KindWebhookSilence {
			parts = [][]alert{as}
		} else {
			for _, a := range as {
				parts = append(parts, []alert{a})
			}
		}
		for _, p := range parts {
			units = append(units, unit{how: "follow_up", alerts: p, run: func(ctx context.Context) *sendError {
				msg := renderFollowUp(p, s.cfg.DigestLines)
				serr := s.call(ctx, s.poster.method(), func(ctx context.Context) error {
					_, _, err := s.poster.post(ctx, msg, "")
					return err
				})
				if serr == nil {
					res.Messages++
				}
				return serr
			}})
		}
	}

	for i, u := range units {
		ids := make([]int64, len(u.alerts))
		n := 0
		for j, a := range u.alerts {
			ids[j] = a.msg.ID
			n = max(n, tries[a.msg.ID])
		}
		var stop *time.Time
		if serr := u.run(ctx); serr == nil {
			err = s.markAnnounced(ctx, res, ids, u.how)
			s.succeeded(ctx)
		} else {
			stop, err = s.recordFailure(ctx, res, serr, ids, n, s.st.ReleaseAnnouncements, s.st.MarkAnnouncementsFailed)
		}
		if err != nil || stop != nil {
			var rest []store.OutboxMessage
			for _, u := range units[i+1:] {
				for _, a := range u.alerts {
					rest = append(rest, a.msg)
				}
			}
			next := s.cfg.NowFunc()
			if stop != nil {
				next = *stop
			}
			s.releaseAnnouncements(ctx, rest, next)
			return err
		}
	}
	return nil
}

// markAnnounced records that the resolutions of the alerts ids were
// announced, how: edited, follow_up or none.
func (s *Sender) markAnnounced(ctx context.Context, res *PassResult, ids []int64, how string) error {
	dctx, cancel := detached(ctx)
	defer cancel()
	if err := s.st.MarkAnnounced(dctx, ids, s.cfg.NowFunc()); err != nil {
		return err
	}
	res.Announced += len(ids)
	s.metrics.announced.WithLabelValues(how).Add(float64(len(ids)))
	return nil
}

// releaseAnnouncements gives back claimed announcements not attempted.
func (s *Sender) releaseAnnouncements(ctx context.Context, msgs []store.OutboxMessage, next time.Time) {
	s.giveBack(ctx, "announcements", msgs, next, s.st.ReleaseAnnouncements)
}
