package reconciler

import (
	"time"

	"github.com/zoomrecon/zoomrecon/store"
)

// deliveryLag is how long after an event Zoom's first attempt to deliver its
// webhook may come (seconds, §3), so an event just before a retry window may
// have met the window.
const deliveryLag = 30 * time.Second

// zoomTimeStep is the precision of the times Zoom's API gives: whole
// seconds, so an event it reports at t happened in [t, t+1s). A gap's edges
// are known to the microsecond.
const zoomTimeStep = time.Second

// overdue reports whether no webhook can still come for an event Zoom saw at
// some time in [from, to]: the WebSocket, the only route, was cut off since
// to, or the grace has passed since to and, if Zoom was told to retry in
// that time (zoomrecon down or answering 503), its retry schedule is over
// too.
func (p *pass) overdue(from, to time.Time) bool {
	if p.cutOff(to) {
		return true
	}
	if p.now.Before(to.Add(p.cfg.MissedGrace)) {
		return false
	}
	for _, w := range p.windows {
		if !w.To.After(from) || w.From.Add(-deliveryLag).After(to) {
			continue // no event of [from, to] met this window
		}
		last := to
		if w.To.Before(last) {
			last = w.To
		}
		if p.now.Before(last.Add(p.cfg.RetryHorizon)) {
			return false
		}
	}
	return true
}

// answering reports whether zoomrecon was up and storing webhooks (or
// connected to the WebSocket) when Zoom first tried to deliver what
// happened at t.
func (p *pass) answering(t time.Time) bool {
	if _, ok := p.gapAt(t); ok {
		return false
	}
	for _, w := range p.windows {
		if !t.Before(w.From.Add(-deliveryLag)) && t.Before(w.To) {
			return false
		}
	}
	return true
}

// cutOff reports whether the WebSocket subscription, the only route, was
// disconnected at some moment after t (or is now). Zoom sends an event
// within seconds of it (§3) and never replays one after a reconnection
// (§11): an event of t or before that has not arrived by then never will.
// Before the disconnection it had time to arrive; during it, it was lost.
func (p *pass) cutOff(t time.Time) bool {
	t = t.Add(zoomTimeStep) // the latest it may have happened
	for _, g := range p.gaps {
		if g.To.After(t) {
			return true
		}
	}
	return false
}

// gapAt returns the WebSocket gap in which an event of t was lost: one that
// began no more than deliveryLag after it (the event may still have been on
// its way) and ended after it, whichever moment of Zoom's second t is.
func (p *pass) gapAt(t time.Time) (store.Span, bool) {
	for _, g := range p.gaps {
		if !t.Before(g.From.Add(-deliveryLag)) && t.Add(zoomTimeStep).Before(g.To) {
			return g, true
		}
	}
	return store.Span{}, false
}

// lostNote is what a discrepancy's detail adds about an event of t lost in a
// WebSocket gap, so that nobody looks for it in Zoom's webhook logs; empty
// otherwise.
func (p *pass) lostNote(t time.Time) string {
	g, ok := p.gapAt(t)
	if !ok {
		return ""
	}
	end := utc(g.To)
	if !g.To.Before(p.now) {
		end = "now"
	}
	return "; it happened while the WebSocket event subscription was disconnected (" + utc(g.From) + " to " + end +
		"), and Zoom never resends what it sent then"
}
