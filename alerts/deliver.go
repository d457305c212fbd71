package alerts

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
)

// group is the alerts one Slack message carries.
type group struct {
	alerts []alert
	// silence is set for alerts folded into a silence whose own message went
	// out in an earlier pass: they follow it up, in its thread when the bot
	// can.
	silence *store.CauseAlert
}

func (g group) ids() []int64 {
	ids := make([]int64, len(g.alerts))
	for i, a := range g.alerts {
		ids[i] = a.msg.ID
	}
	return ids
}

func (g group) tries() int {
	n := 0
	for _, a := range g.alerts {
		n = max(n, a.msg.Tries)
	}
	return n
}

// deliver claims the alerts due now and sends them, grouped.
func (s *Sender) deliver(ctx context.Context, res *PassResult) error {
	now := s.cfg.NowFunc()
	if now.Before(s.pausedUntil) {
		res.Paused = true
		return nil
	}
	msgs, err := s.st.ClaimAlerts(ctx, s.cfg.RunID, now, s.cfg.Lease, s.cfg.BatchSize)
	if err != nil {
		return err
	}
	res.Claimed, res.More = len(msgs), len(msgs) == s.cfg.BatchSize
	if len(msgs) == 0 {
		return nil
	}
	alerts, err := s.load(ctx, msgs)
	if err != nil {
		s.release(ctx, msgs, now)
		return err
	}
	if alerts, err = s.dropMuted(ctx, alerts, res); err != nil {
		s.release(ctx, msgs, now)
		return err
	}
	groups, deferred, err := s.plan(ctx, alerts, now)
	if err != nil {
		s.release(ctx, msgs, now)
		return err
	}
	for next, ids := range deferred {
		dctx, cancel := detached(ctx)
		err := s.st.ReleaseAlerts(dctx, ids, next)
		cancel()
		if err != nil {
			return err
		}
	}
	for i, g := range groups {
		stop, err := s.send(ctx, g, res)
		if err != nil || stop != nil {
			var rest []store.OutboxMessage
			for _, g := range groups[i+1:] {
				for _, a := range g.alerts {
					rest = append(rest, a.msg)
				}
			}
			next := now
			if stop != nil {
				next = *stop
			}
			s.release(ctx, rest, next)
			return err
		}
	}
	return nil
}

// release gives back claimed alerts that were not attempted.
func (s *Sender) release(ctx context.Context, msgs []store.OutboxMessage, next time.Time) {
	s.giveBack(ctx, "alerts", msgs, next, s.st.ReleaseAlerts)
}

// giveBack returns claimed rows that were not attempted through releaseFunc,
// due again at next. If that fails, their lease runs out instead.
func (s *Sender) giveBack(ctx context.Context, what string, msgs []store.OutboxMessage, next time.Time,
	releaseFunc func(context.Context, []int64, time.Time) error) {
	if len(msgs) == 0 {
		return
	}
	ids := make([]int64, len(msgs))
	for i, m := range msgs {
		ids[i] = m.ID
	}
	dctx, cancel := detached(ctx)
	defer cancel()
	if err := releaseFunc(dctx, ids, next); err != nil {
		s.logger.WarnContext(ctx, "could not release claimed "+what+"; they are retried when their lease ends", "error", err.Error())
	}
}

// load reads what the claimed alerts say: their payload and their
// discrepancy and meeting as they stand now.
func (s *Sender) load(ctx context.Context, msgs []store.OutboxMessage) ([]alert, error) {
	var ids []int64
	for _, m := range msgs {
		if m.DiscrepancyID != nil {
			ids = append(ids, *m.DiscrepancyID)
		}
	}
	details, err := s.st.AlertDetails(ctx, ids)
	if err != nil {
		return nil, err
	}
	if err := s.addMutes(ctx, ids, details); err != nil {
		return nil, err
	}
	out := make([]alert, len(msgs))
	for i, m := range msgs {
		a := alert{msg: m}
		// An unreadable payload still leaves the discrepancy to render.
		_ = json.Unmarshal([]byte(m.Payload), &a.f)
		if m.DiscrepancyID != nil {
			a.d, a.hasD = details[*m.DiscrepancyID]
		}
		out[i] = a
	}
	return out, nil
}

// plan groups the claimed alerts into messages, most urgent first:
//   - a silence carries the missed alerts it explains (detected after it
//     began, while it is open) that are due with it;
//   - missed alerts that an open silence explains whose message went out
//     earlier follow it up together; those whose silence is still waiting
//     for delivery wait for it (deferred, keyed by when it is due);
//   - a silence found while an older one is still open is the same outage
//     seen again and is folded into the older one like a missed alert (the
//     reconciler names a silence by when its quiet stretch began, and that
//     moves once the stretch outlasts the reconcile lookback);
//   - more than DigestThreshold alerts of one kind become one digest;
//   - the rest go one by one.
func (s *Sender) plan(ctx context.Context, alerts []alert, now time.Time) ([]group, map[time.Time][]int64, error) {
	var silences []store.CauseAlert
	if slices.ContainsFunc(alerts, func(a alert) bool { return a.missed() || a.folds() }) {
		var err error
		if silences, err = s.st.OpenCauseAlerts(ctx); err != nil {
			return nil, nil, err
		}
	}
	claimed := map[int64]bool{}
	for _, a := range alerts {
		claimed[a.msg.ID] = true
	}
	var (
		groups   []group
		inBatch  = map[int64]int{} // silence discrepancy ID -> index in groups
		followUp = map[int64]int{}
		deferred = map[time.Time][]int64{}
		byKind   = map[store.Kind][]alert{}
		leaders  = map[int64]bool{} // outbox IDs of silences that lead a message
	)
	for _, a := range alerts {
		if a.folds() && explainedBy(a, silences) == nil {
			if a.hasD && !a.resolved() {
				inBatch[a.d.ID] = len(groups)
			}
			leaders[a.msg.ID] = true
			groups = append(groups, group{alerts: []alert{a}})
		}
	}
	for _, a := range alerts {
		k := a.kind()
		if leaders[a.msg.ID] {
			continue
		}
		sil := explainedBy(a, silences)
		switch {
		case sil == nil:
			byKind[k] = append(byKind[k], a)
		case claimed[sil.Alert.ID]:
			i, ok := inBatch[sil.ID]
			if !ok { // that silence is itself folded into an older one
				byKind[k] = append(byKind[k], a)
				continue
			}
			groups[i].alerts = append(groups[i].alerts, a)
		case sil.Alert.Status == store.OutboxSent:
			i, ok := followUp[sil.ID]
			if !ok {
				i = len(groups)
				followUp[sil.ID] = i
				groups = append(groups, group{silence: sil})
			}
			groups[i].alerts = append(groups[i].alerts, a)
		default:
			// The silence's own alert is waiting (failing, or another
			// replica holds it): these go with it.
			next := sil.Alert.NextAttemptAt
			if next.Before(now) {
				next = now
			}
			deferred[next] = append(deferred[next], a.msg.ID)
		}
	}
	var rest []group
	for _, k := range kindOrder(byKind) {
		as := byKind[k]
		if len(as) > s.cfg.DigestThreshold {
			rest = append(rest, group{alerts: as})
			continue
		}
		for _, a := range as {
			rest = append(rest, group{alerts: []alert{a}})
		}
	}
	// Urgent first, then oldest first.
	slices.SortStableFunc(rest, func(a, b group) int {
		ua, ub := a.alerts[0].urgent(), b.alerts[0].urgent()
		if ua != ub {
			if ua {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.alerts[0].msg.ID, b.alerts[0].msg.ID)
	})
	return append(groups, rest...), deferred, nil
}

// explainedBy returns the open cause (a kind that folds, silences first)
// that explains an alert: for a missed alert, the oldest silence that began
// at or before the alert was detected, else the host kind about the alert's
// meeting's host whose stretch began by then; for a silence, an older one
// still open. Only a cause whose own alert can still be delivered explains
// anything.
func explainedBy(a alert, silences []store.CauseAlert) *store.CauseAlert {
	isSilence := a.kind() == store.KindWebhookSilence
	if !a.missed() && !isSilence {
		return nil
	}
	for i := range silences { // silences first, oldest first
		sil := &silences[i]
		if sil.Alert == nil || sil.Alert.Status == store.OutboxDead {
			continue
		}
		if isSilence {
			if sil.Kind == store.KindWebhookSilence && a.hasD && sil.ID != a.d.ID && sil.ID < a.d.ID {
				return sil
			}
			continue
		}
		if sil.Kind.Info().Host {
			// Only this host's meetings, from its stretch's first on.
			if a.d.HostID == sil.Subject && sil.Since != nil && !a.detectedAt().Before(*sil.Since) {
				return sil
			}
			continue
		}
		start := alert{d: store.AlertDetail{Discrepancy: sil.Discrepancy}, hasD: true}.silenceStart()
		if !a.detectedAt().Before(start) {
			return sil
		}
	}
	return nil
}

func kindOrder(m map[store.Kind][]alert) []store.Kind {
	var out []store.Kind
	for _, k := range store.Kinds() {
		if len(m[k]) > 0 {
			out = append(out, k)
		}
	}
	for k := range m {
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out
}

// send delivers one group and records the outcome. It returns a time when
// the rest of the pass must wait (Slack is down or asked us to wait); the
// error is the database's.
func (s *Sender) send(ctx context.Context, g group, res *PassResult) (*time.Time, error) {
	if g.silence != nil {
		return s.sendFollowUp(ctx, g, res)
	}
	msg := withLifecycle(renderMessage(g.alerts, s.cfg.DigestLines), g.alerts)
	var channel, ts string
	serr := s.call(ctx, s.poster.method(), func(ctx context.Context) error {
		var err error
		channel, ts, err = s.poster.post(ctx, msg, "")
		return err
	})
	return s.record(ctx, g, serr, channel, ts, res)
}

// sendFollowUp delivers alerts folded into a silence whose message went out
// earlier. With the bot they are a reply in its thread and then belong to the
// silence's message, which is edited to count them; otherwise they are a
// message of their own.
func (s *Sender) sendFollowUp(ctx context.Context, g group, res *PassResult) (*time.Time, error) {
	parent := g.silence.Alert
	silence := alert{d: store.AlertDetail{Discrepancy: g.silence.Discrepancy}, hasD: true, msg: *parent}
	// The payload names a host kind's host.
	_ = json.Unmarshal([]byte(parent.Payload), &silence.f)
	msg := renderFolded(silence, g.alerts, s.cfg.DigestLines)
	threaded := s.mode == ModeBot && parent.SlackTS != "" && parent.SlackChannel != "" && parent.SlackChannel != logChannel
	var channel, ts string
	serr := s.call(ctx, s.poster.method(), func(ctx context.Context) error {
		var err error
		thread := ""
		if threaded {
			thread = parent.SlackTS
		}
		channel, ts, err = s.poster.post(ctx, msg, thread)
		return err
	})
	if threaded && serr == nil {
		channel, ts = parent.SlackChannel, parent.SlackTS
	}
	stop, err := s.record(ctx, g, serr, channel, ts, res)
	if err != nil || serr != nil || !threaded {
		return stop, err
	}
	// Best effort: the reply already told people; the count in the parent
	// is refreshed now, or when the silence resolves.
	if serr := s.refresh(ctx, channel, ts, res); serr != nil {
		s.logFailure(ctx, "could not update the silence's message with the alerts folded into it", serr.text)
	}
	return nil, nil
}

// record marks a group sent, or failed, after the call.
func (s *Sender) record(ctx context.Context, g group, serr *sendError, channel, ts string, res *PassResult) (*time.Time, error) {
	now := s.cfg.NowFunc()
	ids := g.ids()
	dctx, cancel := detached(ctx)
	defer cancel()
	if serr == nil || serr.class != classCanceled {
		// A release undoes a claim's try, so the first attempt is tries 1
		// exactly once.
		for _, a := range g.alerts {
			if a.msg.Tries == 1 {
				s.metrics.queued.WithLabelValues(string(a.kind())).Inc()
			}
		}
	}
	if serr == nil {
		var announced []int64
		for _, a := range g.alerts {
			if a.resolved() {
				announced = append(announced, a.msg.ID)
			}
		}
		if err := s.st.MarkAlertsSent(dctx, store.AlertDelivery{IDs: ids, SentAt: now, Channel: channel, TS: ts, Announced: announced}); err != nil {
			return nil, err
		}
		res.Sent += len(ids)
		res.Messages++
		for _, a := range g.alerts {
			s.metrics.sent.WithLabelValues(string(a.kind())).Inc()
		}
		s.succeeded(ctx)
		return nil, nil
	}
	return s.recordFailure(ctx, res, serr, ids, g.tries(), s.st.ReleaseAlerts, s.st.MarkAlertsFailed)
}

// recordFailure records that Slack did not take the rows ids (alerts, or
// announcements keyed by alert) through releaseFunc or failFunc: given back
// untried when we are stopping, else due again after a backoff, or dead when
// Slack refused them for good. It returns when the rest of the pass must
// wait, nil when it can go on; the error is the database's.
func (s *Sender) recordFailure(ctx context.Context, res *PassResult, serr *sendError, ids []int64, tries int,
	releaseFunc func(ctx context.Context, ids []int64, next time.Time) error,
	failFunc func(ctx context.Context, ids []int64, next time.Time, errText string, dead bool) error,
) (*time.Time, error) {
	now := s.cfg.NowFunc()
	dctx, cancel := detached(ctx)
	defer cancel()
	if serr.class == classCanceled {
		// Not refused, not tried to the end: due again at the next start.
		// Slack may have accepted it just before; at least once beats never.
		return &now, releaseFunc(dctx, ids, now)
	}
	next := s.retryAt(now, serr, tries)
	dead := serr.class == classRefused
	if err := failFunc(dctx, ids, next, serr.text, dead); err != nil {
		return nil, err
	}
	s.failed(ctx, res, serr, next, len(ids))
	if dead {
		return nil, nil // only this message is at fault
	}
	return &next, nil
}

// refresh re-renders the bot's message at channel and ts from every alert
// it carries, as they stand now, and edits it.
func (s *Sender) refresh(ctx context.Context, channel, ts string, res *PassResult) *sendError {
	msgs, err := s.st.AlertsInMessage(ctx, channel, ts)
	if err != nil {
		return &sendError{class: classRetry, text: err.Error()}
	}
	if len(msgs) == 0 {
		return nil
	}
	alerts, err := s.load(ctx, msgs)
	if err != nil {
		return &sendError{class: classRetry, text: err.Error()}
	}
	msg := withLifecycle(renderMessage(alerts, s.cfg.DigestLines), alerts)
	serr := s.call(ctx, "chat.update", func(ctx context.Context) error {
		return s.poster.update(ctx, channel, ts, msg)
	})
	if serr == nil {
		res.Messages++
	}
	return serr
}
