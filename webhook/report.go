package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
)

// report gathers what the receiver must remember beyond its events: how many
// deliveries it refused, by reason and minute (Zoom never retries a refusal,
// so the tally is how an operator learns of them, §3), and the URL
// validations it answered or refused. Run writes it to the store every
// FlushInterval; a refused validation is written at once. Requests only touch
// memory, so a flood of bad deliveries costs the database one small write a
// second, and the tally survives a database outage (it is written once the
// database is back).
type report struct {
	mu          sync.Mutex
	counts      map[tallyKey]*store.TallyCount
	validations []store.Validation
	urgent      chan struct{} // a refused validation waits to be written
}

type tallyKey struct {
	minute time.Time
	reason store.Refusal
}

func newReport() *report {
	return &report{counts: map[tallyKey]*store.TallyCount{}, urgent: make(chan struct{}, 1)}
}

// refused counts one delivery refused (or answered 503) at at.
func (r *report) refused(reason store.Refusal, at time.Time) {
	at = at.UTC()
	k := tallyKey{at.Truncate(time.Minute), reason}
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.counts[k]
	if c == nil {
		c = &store.TallyCount{Minute: k.minute, Reason: reason, FirstAt: at, LastAt: at}
		r.counts[k] = c
	}
	c.Count++
	c.FirstAt, c.LastAt = minTime(c.FirstAt, at), maxTime(c.LastAt, at)
}

// validation records a URL validation answered or refused.
func (r *report) validation(v store.Validation) {
	r.mu.Lock()
	r.validations = append(r.validations, v)
	r.mu.Unlock()
	if !v.Answered {
		select {
		case r.urgent <- struct{}{}:
		default:
		}
	}
}

// take empties the report and returns what it held.
func (r *report) take() store.WebhookReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := store.WebhookReport{Validations: r.validations}
	for _, k := range slices.SortedFunc(maps.Keys(r.counts), func(a, b tallyKey) int { return a.minute.Compare(b.minute) }) {
		out.Counts = append(out.Counts, *r.counts[k])
	}
	clear(r.counts)
	r.validations = nil
	return out
}

// putBack returns what a failed write took, so it is written next time.
func (r *report) putBack(w store.WebhookReport) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range w.Counts {
		k := tallyKey{c.Minute, c.Reason}
		if have := r.counts[k]; have != nil {
			have.Count += c.Count
			have.FirstAt, have.LastAt = minTime(have.FirstAt, c.FirstAt), maxTime(have.LastAt, c.LastAt)
		} else {
			r.counts[k] = &c
		}
	}
	r.validations = append(w.Validations, r.validations...)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// validationAlert is the alert queued with a refused validation's alarm. Its
// payload has the shape of the reconciler's findings, which package alerts
// reads; the discrepancy itself carries the rest.
func validationAlert(at time.Time, detail string) *store.OutboxMessage {
	payload, _ := json.Marshal(struct {
		Kind       store.Kind `json:"kind"`
		Detail     string     `json:"detail"`
		DetectedAt time.Time  `json:"detected_at"`
	}{store.KindURLValidationRefused, detail, at.UTC()})
	return &store.OutboxMessage{Kind: store.KindURLValidationRefused, Payload: string(payload), CreatedAt: at}
}

// tallyKeep is how long the tally is kept: a week covers any silence an
// operator is still looking into, and status shows the last 24 h.
const tallyKeep = 7 * 24 * time.Hour

// Run writes the receiver's report to the store every FlushInterval (and a
// refused URL validation at once) until ctx ends, then writes it one last
// time and waits for any commit still running. Call it once, beside serving.
func (h *Handler) Run(ctx context.Context) error {
	defer h.committer.wait()
	timer := time.NewTimer(h.cfg.FlushInterval)
	defer timer.Stop()
	var (
		failing   bool
		lastPrune time.Time
	)
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			h.flush(fctx, &failing)
			return nil
		case <-timer.C:
		case <-h.report.urgent:
			timer.Stop()
		}
		h.flush(ctx, &failing)
		if now := h.cfg.Now(); now.Sub(lastPrune) >= time.Hour {
			if err := h.reports.PruneWebhookTally(ctx, now.Add(-tallyKeep)); err == nil {
				lastPrune = now
			}
		}
		timer.Reset(h.cfg.FlushInterval)
	}
}

// flush writes what the report holds. A failure keeps it for the next try and
// is logged once until a write succeeds again.
func (h *Handler) flush(ctx context.Context, failing *bool) {
	w := h.report.take()
	if len(w.Counts) == 0 && len(w.Validations) == 0 {
		return
	}
	if err := h.reports.RecordWebhookReport(ctx, w, h.cfg.Now()); err != nil {
		h.report.putBack(w)
		if !*failing && !errors.Is(err, context.Canceled) {
			h.logger.WarnContext(ctx, "could not record refused deliveries and validations; kept in memory and retried",
				slog.Any("error", err))
		}
		*failing = true
		return
	}
	*failing = false
}
