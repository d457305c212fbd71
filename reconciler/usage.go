package reconciler

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi"
)

// StateBudget is the daemon_state key under which a pass leaves the day's
// budget and spending, for status.
const StateBudget = "api_budget"

// Budget is the day's API budget as the last pass left it.
type Budget struct {
	Day    string        `json:"day"`
	Plan   zoomapi.Plan  `json:"plan"`
	Quota  int           `json:"quota"`
	Budget int           `json:"budget"`
	Spent  zoomapi.Usage `json:"spent"`
}

// loadUsage continues the day's count of calls where earlier passes,
// replicas and reconcile runs left it, so the budget holds across them.
func (p *pass) loadUsage(ctx context.Context) {
	day := p.now.UTC().Truncate(24 * time.Hour)
	calls, err := p.st.APIUsage(ctx, store.APIDay(day))
	if err != nil {
		p.logger.Warn("could not read today's API calls; the budget counts from this pass", slog.Any("error", err))
		return
	}
	p.zoom.SeedSpent(zoomapi.Usage{Day: day,
		Light: int(calls[string(zoomapi.LabelLight)]), Medium: int(calls[string(zoomapi.LabelMedium)]),
		Heavy: int(calls[string(zoomapi.LabelHeavy)]), ResourceIntensive: int(calls[string(zoomapi.LabelResourceIntensive)])})
}

// saveUsage records the day's count of calls, and the budget for status.
func (p *pass) saveUsage(ctx context.Context) {
	if p.opts.DryRun {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	u := p.zoom.Spent()
	calls := map[string]int64{}
	for _, l := range zoomapi.Labels() {
		calls[string(l)] = int64(u.Of(l))
	}
	day := store.APIDay(u.Day)
	if err := p.st.SaveAPIUsage(ctx, day, calls); err != nil {
		p.logger.Warn("could not record today's API calls", slog.Any("error", err))
		return
	}
	b := Budget{Day: day, Plan: p.plan, Budget: p.zoom.DailyBudget(), Spent: u}
	if p.plan != "" {
		b.Quota = zoomapi.DailyQuota(p.plan)
	}
	raw, _ := json.Marshal(b)
	if err := p.st.SetState(ctx, StateBudget, string(raw), p.now); err != nil {
		p.logger.Warn("could not record today's API budget", slog.Any("error", err))
	}
}
