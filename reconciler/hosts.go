package reconciler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/zoomrecon/zoomrecon/store"
)

// Zoom withholds the events of meetings whose host has not authorized (or
// consented to) the app (zoom-platform.md §3, "When Zoom sends nothing at
// all"). One host's meetings then lose the same webhook in a row while other
// hosts' arrive, and each loss is its own missed_* alert that does not say
// the cause. checkHostCauses names it once per host: the host kinds in
// store's table (store.KindInfo.Host), raised from the missed kinds that name
// them (store.KindInfo.HostCause).

// noteHost remembers how Zoom's listing names a host, for the host kinds'
// findings; the store keeps only the host's ID.
func (p *pass) noteHost(hostID string, z zoomMeeting) {
	if hostID == "" || z.HostName == "" && z.HostEmail == "" {
		return
	}
	if p.hostNames == nil {
		p.hostNames = map[string]string{}
	}
	p.hostNames[hostID] = store.Participant{UserName: z.HostName, Email: z.HostEmail}.Display()
}

// hostName names a host for people: "Alice Hart <alice@example.org>" when the
// pass saw the host's name, else the host's Zoom user ID.
func (p *pass) hostName(hostID string) string {
	return cmp.Or(p.hostNames[hostID], "host "+hostID)
}

// heard says whether the webhooks of m include the one signal says.
func heard(m store.HostMeeting, signal store.Signal) bool {
	switch signal {
	case store.SignalAnyEvent:
		return m.Heard
	case store.SignalStarted:
		return m.StartSource == store.SourceWebhook
	case store.SignalEnded:
		return m.EndSource == store.SourceWebhook
	}
	return false
}

// checkHostCauses raises a host kind for each host whose last
// HostCauseMinMeetings or more meetings in the last HostCauseWindow all
// missed the webhook that kind watches, while another host's meeting in that
// time got it: a global loss is a webhook silence, not the host's. A host
// with the kind open already gets no second one; the webhook arriving for any
// meeting of the host closes it (the store does that as it arrives).
func (p *pass) checkHostCauses(ctx context.Context) error {
	since := p.now.Add(-p.cfg.HostCauseWindow)
	meetings, err := p.st.HostMeetings(ctx, since)
	if err != nil {
		return err
	}
	for _, missed := range store.Kinds() {
		cause := missed.Info().HostCause
		if cause == "" {
			continue
		}
		signal := cause.Info().ResolvedBy
		// A meeting counts as lost when it was found missing the webhook and
		// it never came; as heard when it came. Others (still running, not
		// judged yet) are passed over.
		lost := func(m store.HostMeeting) bool { return slices.Contains(m.Lost, missed) && !heard(m, signal) }
		hosts := map[string][]store.HostMeeting{} // newest first
		var order []string
		for _, m := range meetings {
			if _, ok := hosts[m.HostID]; !ok {
				order = append(order, m.HostID)
			}
			hosts[m.HostID] = append(hosts[m.HostID], m)
		}
		for _, host := range order {
			var streak []store.HostMeeting
			for _, m := range hosts[host] {
				if heard(m, signal) {
					break
				}
				if lost(m) {
					streak = append(streak, m)
				}
			}
			if len(streak) < p.cfg.HostCauseMinMeetings {
				continue
			}
			others := 0
			for _, m := range meetings {
				if m.HostID != host && heard(m, signal) {
					others++
				}
			}
			if others == 0 {
				continue // everyone's are missing: that is a silence
			}
			if err := p.recordHostCause(ctx, cause, missed, host, streak, others); err != nil {
				return err
			}
		}
	}
	return nil
}

// recordHostCause records cause for host unless one is open, naming the
// stretch by its first lost meeting.
func (p *pass) recordHostCause(ctx context.Context, cause, missed store.Kind, host string, streak []store.HostMeeting, others int) error {
	_, err := p.st.OpenHostCause(ctx, cause, host)
	if err == nil {
		return nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	first := streak[len(streak)-1]
	what := "no webhook at all"
	if e := missed.Info().Event(first.Type); cause.Info().ResolvedBy != store.SignalAnyEvent {
		what = "no " + e
	}
	detail := fmt.Sprintf("Zoom sent %s for the last %d meetings of %s (host ID %s), the first starting at %s, while %d other hosts' meetings in the last %s got theirs",
		what, len(streak), p.hostName(host), host, utc(*first.StartTime), others, roughly(p.cfg.HostCauseWindow))
	if p.hostNames[host] == "" {
		detail = fmt.Sprintf("Zoom sent %s for the last %d meetings of host %s, the first starting at %s, while %d other hosts' meetings in the last %s got theirs",
			what, len(streak), host, utc(*first.StartTime), others, roughly(p.cfg.HostCauseWindow))
	}
	return p.record(ctx, store.Backfill{
		Discrepancy: &store.Discrepancy{Kind: cause, MeetingUUID: first.UUID, Subject: host,
			Detail: detail, DetectedAt: p.now},
	}, first.MeetingID, first.Topic, "")
}
