package reconciler

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi"
)

// zoomMeeting is a meeting or webinar instance as Zoom's listing shows it.
type zoomMeeting struct {
	UUID   string
	ID     int64
	Topic  string
	HostID string
	// HostName and HostEmail name the host where the listing does (the
	// dashboard's rows do; they carry no host ID).
	HostName, HostEmail string
	Webinar             bool
	Start               time.Time
	End                 time.Time // zero while live
	// Over says Zoom shows the instance is over without saying when: its
	// meeting number has moved on to a later instance.
	Over bool
}

// meetingType is how the store names what z is.
func (z zoomMeeting) meetingType() store.MeetingType {
	if z.Webinar {
		return store.TypeWebinar
	}
	return store.TypeMeeting
}

// The listing of a window is the costly part of a pass: Zoom's listings are
// Heavy or Resource-intensive, counted against a daily quota that every app
// on the account shares (zoom-platform.md §6, §10), and Resource-intensive
// ones are paced to a few calls a minute. So a pass lists in two parts:
//
//   - what is live (Business plans: the dashboard's live meetings and
//     webinars), every pass: it is short, and it is what tells a running
//     meeting from a lost end;
//   - what ran in the window (the dashboard's past and one-person lists, or
//     each active host's reports on Pro plans), as a walk that a scheduled
//     pass resumes where the last one stopped: page by page, until the pass's
//     deadline or the day's budget. A walk starts no sooner than its last
//     cost allows when spread over the day (walkSpacing).
//
// A manual pass walks its own window from start to end.

// walk is the progress of one listing of a window, kept in the store between
// scheduled passes.
type walk struct {
	Path  string    `json:"path"`
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Steps are the listings left, the current one first.
	Steps []walkStep `json:"steps"`
	// Token resumes the current step; empty to start it. Zoom's tokens
	// expire after 15 minutes (§5).
	Token   string    `json:"token,omitempty"`
	TokenAt time.Time `json:"token_at"`
	// Cost is the budgeted calls the walk made so far.
	Cost    int       `json:"cost"`
	Started time.Time `json:"started"`
	// Hosts are the meetings each active host had in the window, by the
	// active-hosts report (Pro plans), kept once the walk is done: a host
	// whose count has not changed since has nothing new to list.
	Hosts map[string]int `json:"hosts,omitempty"`
}

// hostCounts are the meeting counts of a finished walk's active hosts, for the
// dates they were counted over.
type hostCounts struct {
	From   time.Time      `json:"from"`
	To     time.Time      `json:"to"`
	Counts map[string]int `json:"counts"`
}

// walkStep is one listing of a walk.
type walkStep struct {
	Source string    `json:"source"` // one of the step sources below
	Type   string    `json:"type"`   // past or pastOne
	UserID string    `json:"user_id,omitempty"`
	From   time.Time `json:"from"` // a window of at most a month
	To     time.Time `json:"to"`
}

// Step sources.
const (
	sourceDashboardMeetings = "dashboard_meetings"
	sourceDashboardWebinars = "dashboard_webinars"
	sourceActiveHosts       = "active_hosts"
	sourceHostMeetings      = "host_meetings"
)

// StateListingWalk is the daemon_state key of the listing walk in progress
// ("{}" when none is).
const StateListingWalk = "listing_walk"

// State keys the listing keeps besides the walk.
const (
	stateNextWalk = "listing_next_walk"
	stateNextLive = "listing_next_live"
	stateHosts    = "listing_hosts"
)

// tokenLife is how long a page token is trusted: Zoom's are good for 15
// minutes (§5).
const tokenLife = 14 * time.Minute

// The parts of what is left of the day's budget that each kind of listing
// may spend, spread evenly until the day ends; the rest is for the calls
// about single meetings (a one-person meeting's dashboard row, say).
const (
	liveShare = 0.2
	walkShare = 0.6
)

// list asks Zoom which meetings ran in the window and which are live, as far
// as this pass gets. It returns what it saw, and the function that keeps the
// listing's progress once the pass has judged what it saw. A listing that
// failed part-way is still used, since it only ever adds evidence, but marks
// the pass partial: no silence is concluded from it.
func (p *pass) list(ctx context.Context) (map[string]zoomMeeting, func()) {
	out := map[string]zoomMeeting{}
	p.setBudget()
	if p.path == PathDashboard && p.due(ctx, stateNextLive) {
		spent := p.zoom.Spent().Budgeted()
		err := p.listLive(ctx, out)
		p.schedule(ctx, stateNextLive, p.zoom.Spent().Budgeted()-spent, liveShare)
		switch {
		case errors.Is(err, zoomapi.ErrPlan):
			p.path = PathReport
			p.setBudget()
			p.logger.Warn("Zoom's dashboard API is not available on this account's plan; listing each active host's meetings from the report API, which cannot see live meetings",
				slog.Any("error", err))
		case errors.Is(err, zoomapi.ErrBudgetExhausted):
			p.budgetSpent(err) // open meetings are asked about one by one instead
		case err != nil:
			p.listError(err)
		}
	}
	w, err := p.loadWalk(ctx)
	if err != nil {
		p.listError(err)
		return out, func() {}
	}
	if w == nil {
		return out, func() {}
	}
	done, err := p.walk(ctx, w, out)
	switch {
	case errors.Is(err, zoomapi.ErrBudgetExhausted):
		// The day's budget is spent: the walk goes on tomorrow.
		p.budgetSpent(err)
	case err != nil:
		p.listError(err)
	}
	// Kept once what was listed has been judged: a host with a meeting not
	// yet judged is listed again.
	return out, func() {
		if err := p.saveWalk(ctx, w, done); err != nil {
			p.listError(err)
		}
	}
}

// listLive adds the meetings and webinars running now.
func (p *pass) listLive(ctx context.Context, out map[string]zoomMeeting) error {
	w := p.opts.Window
	for _, webinar := range []bool{false, true} {
		rows, what := p.zoom.DashboardMeetings, "meetings"
		if webinar {
			rows, what = p.zoom.DashboardWebinars, "webinars"
		}
		for m, err := range rows(ctx, zoomapi.DashboardLive, w.Since, w.Until) {
			if err != nil {
				return fmt.Errorf("dashboard live %s: %w", what, err)
			}
			p.add(out, zoomMeeting{UUID: m.UUID, ID: m.ID, Topic: m.Topic, HostName: m.Host, HostEmail: m.Email, Webinar: webinar, Start: m.StartTime})
		}
	}
	return nil
}

// loadWalk returns the walk to go on with: the scheduled one in progress, a
// new one when it is due, or nil when none is. A manual pass always walks
// its own window.
func (p *pass) loadWalk(ctx context.Context) (*walk, error) {
	if !p.opts.scheduled() {
		return p.newWalk()
	}
	raw, err := p.st.State(ctx, StateListingWalk)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, err
	default:
		var w walk
		if json.Unmarshal([]byte(raw), &w) == nil && len(w.Steps) > 0 && w.Path == p.path {
			return &w, nil
		}
	}
	if !p.due(ctx, stateNextWalk) {
		return nil, nil // the last walk's cost, spread over the day, is not spent yet
	}
	return p.newWalk()
}

// due says whether the listing whose next time is kept under key may run: a
// manual pass always lists; a scheduled one once the time has come.
func (p *pass) due(ctx context.Context, key string) bool {
	if !p.opts.scheduled() {
		return true
	}
	next, err := p.st.State(ctx, key)
	if err != nil {
		return true
	}
	t, err := time.Parse(time.RFC3339Nano, next)
	return err != nil || !p.now.Before(t)
}

// schedule keeps under key when a listing that cost cost budgeted calls may
// run next: its cost spread over the rest of the day at share of what is
// left of the budget.
func (p *pass) schedule(ctx context.Context, key string, cost int, share float64) {
	if !p.opts.scheduled() || p.opts.DryRun {
		return
	}
	left := p.zoom.DailyBudget() - p.zoom.Spent().Budgeted()
	next := p.now.Add(spacing(cost, left, share, p.now))
	if err := p.st.SetState(ctx, key, next.UTC().Format(time.RFC3339Nano), p.now); err != nil && ctx.Err() == nil {
		p.logger.Warn("could not record when to list next; listing at the next pass", slog.Any("error", err))
	}
}

// newWalk plans the listing of the pass's window.
func (p *pass) newWalk() (*walk, error) {
	win := p.opts.Window
	months, err := zoomapi.MonthWindows(win.Since, win.Until)
	if err != nil {
		return nil, err
	}
	w := &walk{Path: p.path, Since: win.Since, Until: win.Until, Started: p.now}
	for _, m := range months {
		if p.path == PathDashboard {
			w.Steps = append(w.Steps,
				walkStep{Source: sourceDashboardMeetings, Type: string(zoomapi.DashboardPast), From: m[0], To: m[1]},
				walkStep{Source: sourceDashboardMeetings, Type: string(zoomapi.DashboardPastOne), From: m[0], To: m[1]},
				walkStep{Source: sourceDashboardWebinars, Type: string(zoomapi.DashboardPast), From: m[0], To: m[1]})
		} else {
			w.Steps = append(w.Steps, walkStep{Source: sourceActiveHosts, From: m[0], To: m[1]})
		}
	}
	return w, nil
}

// walk fetches pages of w until it is done, the pass's deadline passes or a
// call fails, adding what it lists to out. It reports whether w is done.
func (p *pass) walk(ctx context.Context, w *walk, out map[string]zoomMeeting) (bool, error) {
	spent := p.zoom.Spent().Budgeted()
	defer func() { w.Cost += p.zoom.Spent().Budgeted() - spent }()
	if w.Token != "" && p.now.Sub(w.TokenAt) > tokenLife {
		w.Token = "" // expired: the step starts over; what it lists again changes nothing
	}
	for len(w.Steps) > 0 {
		if !p.opts.Deadline.IsZero() && !p.cfg.NowFunc().Before(p.opts.Deadline) {
			return false, nil
		}
		if err := ctx.Err(); err != nil {
			return false, err
		}
		next, err := p.page(ctx, w, out)
		if err != nil {
			if w.Token != "" && !errors.Is(err, zoomapi.ErrBudgetExhausted) && !errors.Is(err, zoomapi.ErrDailyQuota) {
				w.Token = "" // perhaps the token went stale; the next pass starts the step over
			}
			return false, err
		}
		if next == "" {
			w.Steps, w.Token = w.Steps[1:], ""
			continue
		}
		w.Token, w.TokenAt = next, p.cfg.NowFunc()
	}
	return true, nil
}

// page fetches one page of w's current step and returns the next token.
func (p *pass) page(ctx context.Context, w *walk, out map[string]zoomMeeting) (string, error) {
	s := w.Steps[0]
	switch s.Source {
	case sourceDashboardMeetings, sourceDashboardWebinars:
		webinar := s.Source == sourceDashboardWebinars
		page := p.zoom.DashboardMeetingsPage
		if webinar {
			page = p.zoom.DashboardWebinarsPage
		}
		rows, next, err := page(ctx, zoomapi.DashboardType(s.Type), s.From, s.To, w.Token)
		if err != nil {
			return "", fmt.Errorf("dashboard %s %s: %w", s.Type, s.Source, err)
		}
		for _, m := range rows {
			p.add(out, zoomMeeting{UUID: m.UUID, ID: m.ID, Topic: m.Topic, HostName: m.Host, HostEmail: m.Email, Webinar: webinar, Start: m.StartTime, End: m.EndTime})
		}
		return next, nil
	case sourceActiveHosts:
		rows, next, err := p.zoom.ReportActiveUsersPage(ctx, s.From, s.To, w.Token)
		if err != nil {
			return "", fmt.Errorf("active hosts: %w", err)
		}
		seen := p.hostCounts(ctx, s)
		if w.Hosts == nil {
			w.Hosts = map[string]int{}
		}
		// Each host with meetings not yet listed: their meetings, and their
		// one-person meetings apart, which the default report leaves out (§5)
		// and which could not be seen otherwise when every webhook of theirs
		// was lost.
		for _, u := range rows {
			w.Hosts[u.ID] = u.Meetings
			if n, ok := seen[u.ID]; ok && n == u.Meetings {
				continue
			}
			for _, typ := range []zoomapi.ReportType{zoomapi.ReportPast, zoomapi.ReportPastOne} {
				w.Steps = append(w.Steps, walkStep{Source: sourceHostMeetings, Type: string(typ), UserID: u.ID, From: s.From, To: s.To})
			}
		}
		return next, nil
	case sourceHostMeetings:
		rows, next, err := p.zoom.ReportUserMeetingsPage(ctx, s.UserID, zoomapi.ReportType(s.Type), s.From, s.To, w.Token)
		if errors.Is(err, zoomapi.ErrNotFound) {
			return "", nil // the host is gone: nothing to list
		}
		if err != nil {
			return "", fmt.Errorf("meetings of host %s: %w", s.UserID, err)
		}
		for _, m := range rows {
			// Zoom lists the host's ended webinars here too (§10).
			p.add(out, zoomMeeting{UUID: m.UUID, ID: m.ID, Topic: m.Topic, HostID: s.UserID, Webinar: m.Webinar(),
				Start: m.StartTime, End: m.EndTime})
		}
		return next, nil
	}
	return "", fmt.Errorf("listing step %q is not one this zoomrecon knows", s.Source)
}

// hostCounts returns the meeting counts the last finished walk saw for the
// dates of s, or none when it counted other dates.
func (p *pass) hostCounts(ctx context.Context, s walkStep) map[string]int {
	if !p.opts.scheduled() {
		return nil
	}
	raw, err := p.st.State(ctx, stateHosts)
	if err != nil {
		return nil
	}
	var hc hostCounts
	if json.Unmarshal([]byte(raw), &hc) != nil || !hc.From.Equal(s.From) || !hc.To.Equal(s.To) {
		return nil
	}
	return hc.Counts
}

// add keeps what ran during the window; Zoom's listings work in whole days
// (zoom-platform.md §5).
func (p *pass) add(out map[string]zoomMeeting, z zoomMeeting) {
	win := p.opts.Window
	if z.UUID == "" || z.Start.After(win.Until) || !z.End.IsZero() && z.End.Before(win.Since) {
		return
	}
	out[z.UUID] = z
}

// saveWalk keeps a scheduled walk for the next pass, or, when it is done,
// when the next may start: its cost spread over the day at the part of the
// budget walks may spend, so that listing never eats the day's budget by
// noon.
func (p *pass) saveWalk(ctx context.Context, w *walk, done bool) error {
	if !p.opts.scheduled() || p.opts.DryRun {
		return nil
	}
	if !done {
		raw, err := json.Marshal(w)
		if err != nil {
			return err
		}
		return p.st.SetState(ctx, StateListingWalk, string(raw), p.now)
	}
	p.schedule(ctx, stateNextWalk, w.Cost, walkShare)
	p.logger.Debug("listing walk finished", "cost", w.Cost)
	for host := range p.unsettled {
		delete(w.Hosts, host)
	}
	if w.Hosts != nil {
		if months, err := zoomapi.MonthWindows(w.Since, w.Until); err == nil && len(months) == 1 {
			raw, _ := json.Marshal(hostCounts{From: months[0][0], To: months[0][1], Counts: w.Hosts})
			if err := p.st.SetState(ctx, stateHosts, string(raw), p.now); err != nil {
				return err
			}
		}
	}
	return p.st.SetState(ctx, StateListingWalk, "{}", p.now)
}

// spacing is how long after a listing that cost cost budgeted calls the next
// of its kind may run, at now with left calls of the day's budget left:
// listings of that cost, one after another, then spend at most share of what
// is left by the day's end (00:00 UTC, when Zoom's quotas reset). With
// nothing left, the next waits for the new day.
func spacing(cost, left int, share float64, now time.Time) time.Duration {
	untilMidnight := now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour).Sub(now)
	if cost <= 0 {
		return 0
	}
	if left <= 0 {
		return untilMidnight
	}
	return min(time.Duration(float64(cost)*float64(untilMidnight)/(share*float64(left))), untilMidnight)
}

// setBudget gives the client the day's budget for the account's plan, as the
// listing path tells it: the dashboard needs a Business plan.
func (p *pass) setBudget() {
	plan := zoomapi.PlanPro
	if p.path == PathDashboard {
		plan = zoomapi.PlanBusiness
	}
	p.plan = plan
	p.zoom.SetDailyBudget(p.cfg.DailyBudget(zoomapi.DailyQuota(plan)))
}

// budgetSpent records a listing the day's budget cut short. Nothing is
// concluded from what it did not list, but it is no failure: the operator set
// the budget, and the listing goes on when it resets, as it does after a
// deadline.
func (p *pass) budgetSpent(err error) {
	p.partial = true
	p.logger.Info("the day's API budget is spent; listing goes on when it resets (ZOOM_API_DAILY_BUDGET raises it)", slog.Any("error", err))
}

// listError records a listing that failed: the pass cannot say what ran in
// its window, so it failed, though it goes on with what it got.
func (p *pass) listError(err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	p.partial = true
	err = fmt.Errorf("listing meetings: %w", err)
	p.failure = cmp.Or(p.failure, err)
	p.res.Errors = append(p.res.Errors, err.Error())
}
