package zoomapi

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Usage is what a client spent on one UTC day: the requests it sent per
// rate-limit label. Every attempt counts, retries included, because Zoom
// counts every request against the account's quotas (§6).
type Usage struct {
	// Day is 00:00 UTC of the day counted.
	Day               time.Time `json:"day"`
	Light             int       `json:"light"`
	Medium            int       `json:"medium"`
	Heavy             int       `json:"heavy"`
	ResourceIntensive int       `json:"resource_intensive"`
}

// Of returns the count of one label; 0 for an unknown one.
func (u Usage) Of(l Label) int {
	switch l {
	case LabelLight:
		return u.Light
	case LabelMedium:
		return u.Medium
	case LabelHeavy:
		return u.Heavy
	case LabelResourceIntensive:
		return u.ResourceIntensive
	}
	return 0
}

// Budgeted returns the Heavy and Resource-intensive calls together: what
// Config.DailyBudget bounds, and what Zoom counts against DailyQuota.
func (u Usage) Budgeted() int { return u.Heavy + u.ResourceIntensive }

func (u Usage) counts() [4]int { return [4]int{u.Light, u.Medium, u.Heavy, u.ResourceIntensive} }

func usageOf(day time.Time, c [4]int) Usage {
	return Usage{Day: day, Light: c[0], Medium: c[1], Heavy: c[2], ResourceIntensive: c[3]}
}

// utcDay returns 00:00 UTC of t's UTC day.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// budget counts a client's attempts per label and UTC day, and refuses
// Heavy and Resource-intensive attempts beyond the daily limit.
type budget struct {
	now func() time.Time

	mu     sync.Mutex
	limit  int // 0: no budget
	day    time.Time
	counts [4]int    // by Label.index
	warned time.Time // the reset of the day whose exhaustion was logged
}

// rollLocked starts a new day's count when now is past the counted day.
func (b *budget) rollLocked(now time.Time) {
	if d := utcDay(now); !d.Equal(b.day) {
		b.day, b.counts = d, [4]int{}
	}
}

// refusal returns the error for a call of label that the budget refuses
// now, or nil. With take it also counts the call when it is allowed, in the
// same step, so concurrent calls cannot overshoot the budget.
func (b *budget) refusal(endpoint string, label Label, take bool) *BudgetError {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked(b.now())
	if label.Budgeted() && b.limit > 0 && b.counts[LabelHeavy.index()]+b.counts[LabelResourceIntensive.index()] >= b.limit {
		return &BudgetError{Endpoint: endpoint, Label: label, Budget: b.limit, Until: b.day.Add(24 * time.Hour)}
	}
	if i := label.index(); take && i >= 0 {
		b.counts[i]++
	}
	return nil
}

// firstRefusal reports whether a refusal until the given reset is the
// day's first, to log it once.
func (b *budget) firstRefusal(until time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.warned.Equal(until) {
		return false
	}
	b.warned = until
	return true
}

func (b *budget) spent() Usage {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked(b.now())
	return usageOf(b.day, b.counts)
}

// seed raises today's counts to u's, when u is today's.
func (b *budget) seed(u Usage) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rollLocked(b.now())
	if !utcDay(u.Day).Equal(b.day) {
		return false
	}
	for i, n := range u.counts() {
		b.counts[i] = max(b.counts[i], n)
	}
	return true
}

func (b *budget) setLimit(n int) (old int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	old, b.limit = b.limit, max(n, 0)
	return old
}

func (b *budget) getLimit() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.limit
}

// SetDailyBudget changes the daily budget (Config.DailyBudget) from now on:
// the most Heavy and Resource-intensive calls the client sends per UTC day.
// n <= 0 removes the budget. Today's count is kept, so lowering the budget
// below it refuses those calls until 00:00 UTC. The reconciler calls it once
// it has learned the account's plan, e.g. with a share of DailyQuota(plan).
func (c *Client) SetDailyBudget(n int) {
	if old := c.budget.setLimit(n); old != max(n, 0) {
		c.log.Info("zoom daily budget changed", slog.Int("budget", max(n, 0)), slog.Int("previous", old))
	}
}

// DailyBudget returns the daily budget in force; 0 means none.
func (c *Client) DailyBudget() int { return c.budget.getLimit() }

// Spent returns today's usage (UTC, by Config.Now): the requests this
// client sent per label since 00:00 UTC, raised by SeedSpent. It restarts at
// 00:00 UTC. Persist it to continue the count after a restart.
func (c *Client) Spent() Usage { return c.budget.spent() }

// SeedSpent continues a day's count that an earlier process persisted (a
// restarted daemon, the next CLI run): each label's count today becomes the
// larger of the client's and u's, so seeding twice counts nothing twice. It
// does nothing and returns false when u.Day is not today (UTC, by
// Config.Now): a new day starts from zero. Call it before the day's calls,
// since a call made before seeding is counted only if u is lower.
func (c *Client) SeedSpent(u Usage) bool { return c.budget.seed(u) }

// pacer spaces one label's calls at least interval apart, and holds them all
// until a given time after Zoom refused one for its per-minute limit.
type pacer struct {
	mu       sync.Mutex
	interval time.Duration // 0: no spacing
	next     time.Time     // the earliest start of the next call
	hold     time.Time     // no call starts before this
}

// reserve books the next start at or after now and returns it, and whether
// a hold (rather than the spacing) decided it.
func (p *pacer) reserve(now time.Time) (start time.Time, held bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start = now
	if p.next.After(start) {
		start = p.next
	}
	if p.hold.After(start) {
		start, held = p.hold, true
	}
	if p.interval > 0 {
		p.next = start.Add(p.interval)
	}
	return start, held
}

// cancel gives back a start that will not be used, if nobody booked after it.
func (p *pacer) cancel(start time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.interval > 0 && p.next.Equal(start.Add(p.interval)) {
		p.next = start
	}
}

// holdUntil keeps every call from starting before t.
func (p *pacer) holdUntil(t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.After(p.hold) {
		p.hold = t
	}
}

// pace waits for the Resource-intensive pacer, honouring ctx.
func (c *Client) pace(ctx context.Context) error {
	now := c.pacerNow()
	start, held := c.riPacer.reserve(now)
	d := start.Sub(now)
	if d <= 0 {
		return nil
	}
	typ := waitClient
	if held {
		typ = waitMinute
	}
	c.m.waits.WithLabelValues(typ).Inc()
	c.m.waitSeconds.Add(d.Seconds())
	if err := c.cfg.SleepFunc(ctx, d); err != nil {
		c.riPacer.cancel(start)
		return err
	}
	return nil
}

// pacerNow is the clock of the pacing: Config.Now when SleepFunc is
// injected (a test's manual clock that its SleepFunc advances), else the
// real clock, which the default SleepFunc's timers follow.
func (c *Client) pacerNow() time.Time {
	if c.sleepInjected {
		return c.cfg.Now()
	}
	return time.Now()
}

// sleep waits d or until ctx ends: the default SleepFunc.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
