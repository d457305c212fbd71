package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
)

// checkSilence notices a Zoom that stopped sending: no event accepted for
// SilenceAfter while its API shows meetings starting or ending in that time
// that no event told us about. known is the stored state from
// before this pass backfilled anything. Events flowing again resolve it (the
// store does that as they arrive).
func (p *pass) checkSilence(ctx context.Context, listed map[string]zoomMeeting, known map[string]store.Meeting) error {
	// Quiet before the daemon first ran is not silence: nothing listened.
	first, err := p.st.State(ctx, store.StateFirstStart)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	ref, err := time.Parse(time.RFC3339, first)
	if err != nil {
		return fmt.Errorf("stored first start %q: %w", first, err)
	}
	last, err := p.st.LastEventReceivedAt(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if last.After(ref) {
		ref = last
	}
	if p.now.Sub(ref) < p.cfg.SilenceAfter {
		return nil
	}
	// Zoom's times are whole seconds. Only what happened while zoomrecon was
	// answering, and whose webhook is overdue, is evidence: while it was down
	// or answering 503, Zoom's silence was its own doing.
	floor := ref.Truncate(time.Second)
	unheard := func(t time.Time) bool { return !t.Before(floor) && p.answering(t) && p.overdue(t, t) }
	var evidence int
	for uuid, z := range listed {
		m, seen := known[uuid]
		startUnseen := !seen && unheard(z.Start)
		endUnseen := !z.End.IsZero() && unheard(z.End) && (!seen || m.EndSource != store.SourceWebhook)
		if startUnseen || endUnseen {
			evidence++
		}
	}
	if evidence == 0 {
		return nil
	}
	// With the WebSocket the only route, nothing comes by webhook, and the
	// connection was up (answering): Zoom chose not to send over it.
	what, route := "webhook", "no webhook reported"
	if p.cfg.WebSocketOnly != "" {
		what, route = "event", "no event over the WebSocket reported, while it was connected"
	}
	since := "no " + what + " was ever received"
	if !last.IsZero() {
		since = "the last " + what + " was received at " + utc(last)
	}
	// What the receiver refused in that time is most often the cause: a
	// rotated Secret Token refuses every delivery, and Zoom retries none.
	refusals, err := p.st.RefusalsSince(ctx, ref)
	if err != nil {
		return err
	}
	var refused string
	for _, r := range refusals {
		refused += " " + r.Sentence()
		if !strings.HasSuffix(refused, "?") {
			refused += "."
		}
	}
	return p.record(ctx, store.Backfill{
		Discrepancy: &store.Discrepancy{Kind: store.KindWebhookSilence,
			// One silence per quiet stretch: the stretch's start names it.
			Subject:    ref.UTC().Format(time.RFC3339Nano),
			Detail:     fmt.Sprintf("%s; since then Zoom's API shows %d meetings starting or ending that %s.%s", since, evidence, route, refused),
			DetectedAt: p.now},
	}, 0, "", "")
}
