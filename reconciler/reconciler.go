package reconciler

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi"
)

// Zoom is what a pass asks Zoom's REST API; *zoomapi.Client implements it.
type Zoom interface {
	DashboardMeetings(ctx context.Context, typ zoomapi.DashboardType, from, to time.Time) iter.Seq2[zoomapi.DashboardMeeting, error]
	DashboardWebinars(ctx context.Context, typ zoomapi.DashboardType, from, to time.Time) iter.Seq2[zoomapi.DashboardMeeting, error]
	DashboardMeetingsPage(ctx context.Context, typ zoomapi.DashboardType, from, to time.Time, token string) ([]zoomapi.DashboardMeeting, string, error)
	DashboardWebinarsPage(ctx context.Context, typ zoomapi.DashboardType, from, to time.Time, token string) ([]zoomapi.DashboardMeeting, string, error)
	DashboardMeetingParticipants(ctx context.Context, uuid string, typ zoomapi.DashboardType) iter.Seq2[zoomapi.Participant, error]
	DashboardWebinarParticipants(ctx context.Context, uuid string, typ zoomapi.DashboardType) iter.Seq2[zoomapi.Participant, error]
	ReportActiveUsersPage(ctx context.Context, from, to time.Time, token string) ([]zoomapi.ReportUser, string, error)
	ReportUserMeetingsPage(ctx context.Context, userID string, typ zoomapi.ReportType, from, to time.Time, token string) ([]zoomapi.ReportMeeting, string, error)
	GetMeeting(ctx context.Context, meetingID int64) (zoomapi.Meeting, error)
	PastMeeting(ctx context.Context, uuid string) (zoomapi.PastMeeting, error)
	ReportWebinar(ctx context.Context, uuid string) (zoomapi.ReportMeeting, error)
	PastMeetingParticipants(ctx context.Context, uuid string) iter.Seq2[zoomapi.Participant, error]
	PastWebinarParticipants(ctx context.Context, uuid string) iter.Seq2[zoomapi.Participant, error]
	ReportMeetingParticipants(ctx context.Context, uuid string) iter.Seq2[zoomapi.Participant, error]
	ReportWebinarParticipants(ctx context.Context, uuid string) iter.Seq2[zoomapi.Participant, error]
	Calls() int64
	// The day's budget of Heavy and Resource-intensive calls (§6).
	SetDailyBudget(n int)
	DailyBudget() int
	Spent() zoomapi.Usage
	SeedSpent(u zoomapi.Usage) bool
}

// Store is what a pass reads and writes; *store.Store implements it.
type Store interface {
	MeetingsByUUID(ctx context.Context, uuids []string) (map[string]store.Meeting, error)
	OpenMeetings(ctx context.Context) ([]store.Meeting, error)
	EndedUnverified(ctx context.Context, endedBefore, now time.Time) ([]store.Meeting, error)
	DeferChecks(ctx context.Context, until map[string]time.Time) error
	Sessions(ctx context.Context, meetingUUID string) ([]store.ParticipantSession, error)
	ApplyBackfill(ctx context.Context, b store.Backfill, now time.Time) (store.Discrepancy, bool, error)
	ReleaseHeldAlerts(ctx context.Context, createdAt, now time.Time) error
	MarkVerified(ctx context.Context, at time.Time, uuids ...string) error
	Discrepancy(ctx context.Context, kind store.Kind, meetingUUID, subject string) (store.Discrepancy, error)
	LastEventReceivedAt(ctx context.Context) (time.Time, error)
	RetryWindows(ctx context.Context, after, now time.Time, alive time.Duration) ([]store.Span, error)
	RefusalsSince(ctx context.Context, since time.Time) ([]store.RefusalSummary, error)
	State(ctx context.Context, key string) (string, error)
	SetState(ctx context.Context, key, value string, now time.Time) error
	APIUsage(ctx context.Context, day string) (map[string]int64, error)
	SaveAPIUsage(ctx context.Context, day string, calls map[string]int64) error
	TryReconcileLock(ctx context.Context) (unlock func(), ok bool, err error)
	StartRun(ctx context.Context, r store.ReconcileRun) (int64, error)
	FinishRun(ctx context.Context, r store.ReconcileRun, finishedAt time.Time) error
	LastSuccess(ctx context.Context) (time.Time, error)
	HostMeetings(ctx context.Context, since time.Time) ([]store.HostMeeting, error)
	OpenHostCause(ctx context.Context, k store.Kind, host string) (store.Discrepancy, error)
	WebSocketGaps(ctx context.Context, sub string, after, now time.Time) ([]store.Span, error)
	Meeting(ctx context.Context, uuid string) (store.Meeting, error)
}

// Config tunes a Reconciler. Zero values take the defaults.
type Config struct {
	// MissedGrace is how long past the moment Zoom's API shows a thing
	// happened before a webhook we never got counts as missed. Default 15m.
	MissedGrace time.Duration
	// RetryHorizon is how long Zoom may go on redelivering a webhook it could
	// not deliver (retries at about +5, +25 and +85 minutes, zoom-platform.md
	// §3). An event that happened while Zoom was told to retry (zoomrecon down
	// or answering 503) counts as missed only this long after it. Default 90m.
	RetryHorizon time.Duration
	// HeartbeatInterval is how often a running zoomrecon serve records that
	// it is up; a run whose last heartbeat is older than twice this has
	// stopped, and Zoom is retrying into the void since. Default 15s.
	HeartbeatInterval time.Duration
	// StaleAfter is how long a meeting may stay in progress before it is
	// stale. Default 3h.
	StaleAfter time.Duration
	// SilenceAfter is how long without any accepted webhook, while Zoom
	// shows meetings starting or ending, before Zoom counts as silent.
	// Default 30m.
	SilenceAfter time.Duration
	// JoinTolerance is how far apart the join times Zoom's report and a
	// webhook give for one session may be. Default 1m.
	JoinTolerance time.Duration
	// GiveUpAfter is how long after a meeting's end its participant report
	// may stay unavailable before the meeting is confirmed without it (Zoom
	// never reports some meetings, such as one-person ones). Default 24h.
	GiveUpAfter time.Duration
	// HostCauseMinMeetings is how many of one host's latest meetings in a
	// row must miss the same webhook, while other hosts' arrive, before the
	// host is named as the cause (host_ended_missing, host_events_missing).
	// Default 3.
	HostCauseMinMeetings int
	// HostCauseWindow is how far back a host's meetings are looked at for
	// that. Default 24h.
	HostCauseWindow time.Duration
	// AccountID is the Zoom account's ID, which the events rebuilt for the
	// relay carry as Zoom's do.
	AccountID string
	// WebSocketOnly names the WebSocket event subscription when it is the
	// only route Zoom's events take (no webhooks): Zoom never retries them,
	// so the retry windows do not apply, and an event that happened while
	// the subscription was disconnected (a gap) is certainly lost, with no
	// grace to wait. Empty when webhooks are received.
	WebSocketOnly string
	// DailyBudget gives the most Heavy and Resource-intensive calls a day
	// for a plan's daily quota (zoom-platform.md §6), which every app on the
	// account shares. Default: a tenth of it.
	DailyBudget func(quota int) int
	// NowFunc is the clock. Default time.Now.
	NowFunc func() time.Time
	// Logger receives pass summaries and per-meeting errors. Default: discard.
	Logger *slog.Logger
	// Registerer receives the reconciler's metrics. Default: none.
	Registerer prometheus.Registerer
}

// Reconciler runs passes. It is safe for concurrent use; passes run one at a time.
type Reconciler struct {
	cfg     Config
	st      Store
	zoom    Zoom
	logger  *slog.Logger
	metrics *metrics

	mu sync.Mutex // one pass at a time
	// path is the listing in use, "dashboard" until Zoom says the account's
	// plan lacks it, then "report" (zoom-platform.md §5: Business plans only).
	path string
}

// Listing paths.
const (
	PathDashboard = "dashboard"
	PathReport    = "report"
)

// New returns a Reconciler that reads Zoom through zoom and our state through st.
func New(cfg Config, st Store, zoom Zoom) *Reconciler {
	cfg.MissedGrace = cmp.Or(cfg.MissedGrace, 15*time.Minute)
	cfg.RetryHorizon = cmp.Or(cfg.RetryHorizon, 90*time.Minute)
	cfg.HeartbeatInterval = cmp.Or(cfg.HeartbeatInterval, 15*time.Second)
	cfg.StaleAfter = cmp.Or(cfg.StaleAfter, 3*time.Hour)
	cfg.SilenceAfter = cmp.Or(cfg.SilenceAfter, 30*time.Minute)
	cfg.JoinTolerance = cmp.Or(cfg.JoinTolerance, time.Minute)
	cfg.GiveUpAfter = cmp.Or(cfg.GiveUpAfter, 24*time.Hour)
	cfg.HostCauseMinMeetings = cmp.Or(cfg.HostCauseMinMeetings, 3)
	cfg.HostCauseWindow = cmp.Or(cfg.HostCauseWindow, 24*time.Hour)
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
	}
	if cfg.DailyBudget == nil {
		cfg.DailyBudget = func(quota int) int { return max(1, quota/10) }
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{
		cfg: cfg, st: st, zoom: zoom,
		logger:  logger.With("component", "reconciler"),
		metrics: newMetrics(cfg.Registerer),
		path:    PathDashboard,
	}
}

// SeedMetrics sets the gauges that describe history from the store, so a
// restart does not reset the last successful pass to 0 and set off an alert
// on its age. serve calls it before it reports ready.
func (r *Reconciler) SeedMetrics(ctx context.Context) error {
	t, err := r.st.LastSuccess(ctx)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	}
	r.metrics.lastSuccess.Set(float64(t.UnixNano()) / 1e9)
	return nil
}

// holdAlerts bounds how long a pass holds back the alerts of missed events
// it queued, should it never end to release them: longer than any pass.
const holdAlerts = 15 * time.Minute

// ErrLocked means another replica holds the reconcile lock; the pass did nothing.
var ErrLocked = errors.New("another zoomrecon replica is reconciling right now; try again when its pass has finished (zoomrecon status shows the last pass)")

// Window is the span of time a pass asks Zoom about.
type Window struct {
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
}

// PassOptions say what one pass covers and how it reports.
type PassOptions struct {
	Window Window
	// DryRun reports what the pass would find but writes nothing.
	DryRun bool
	// NoAlerts records discrepancies without queueing alerts for them.
	NoAlerts bool
	// Trigger is recorded with the run.
	Trigger store.Trigger
	// ProgressFunc, if set, is called after each meeting checked.
	ProgressFunc func(Progress)
	// Deadline, if set, is when the pass stops listing and leaves the rest
	// of the listing to the next scheduled pass.
	Deadline time.Time
}

// scheduled says whether the pass is one of the loop's on its schedule,
// which carry a listing on from pass to pass. The others (zoomrecon
// reconcile, the loop's pass over a WebSocket gap) list their own window.
func (o PassOptions) scheduled() bool { return o.Trigger == store.TriggerSchedule }

// Progress is a pass's state for a progress display.
type Progress struct {
	Checked  int
	Total    int
	APICalls int64
	Elapsed  time.Duration
}

// Result is what a pass found. Discrepancies lists only the new ones, so a
// second pass over the same window reports none.
type Result struct {
	// Outcome is ok when every meeting in the window was checked, partial
	// when some could not be (Errors says which), failed when the pass
	// could not check at all (Failure says why and what to fix).
	Outcome         store.RunResult `json:"result"`
	Failure         string          `json:"failure,omitempty"`
	Window          Window          `json:"window"`
	Path            string          `json:"path"`
	DryRun          bool            `json:"dry_run"`
	MeetingsChecked int             `json:"meetings_checked"`
	APICalls        int64           `json:"api_calls"`
	Discrepancies   []Finding       `json:"discrepancies"`
	Errors          []string        `json:"errors"`
	Duration        time.Duration   `json:"-"`
}

// Finding is one discrepancy as reports show it.
type Finding struct {
	Kind        store.Kind `json:"kind"`
	MeetingUUID string     `json:"meeting_uuid"`
	MeetingID   int64      `json:"meeting_id"`
	Topic       string     `json:"topic"`
	Participant string     `json:"participant,omitempty"`
	// Host names the host a host kind is about, as Zoom's listing did
	// ("Alice Hart <alice@example.org>"); empty when it did not.
	Host       string    `json:"host,omitempty"`
	Detail     string    `json:"detail"`
	DetectedAt time.Time `json:"detected_at"`
	Backfilled bool      `json:"backfilled"`
}

// pass is the state of one pass.
type pass struct {
	*Reconciler
	opts    PassOptions
	now     time.Time
	started time.Time
	calls0  int64
	res     *Result
	checked map[string]bool
	total   int
	// verified are meetings confirmed complete, written in batches.
	verified []string
	// deferred are meetings whose attendance Zoom has no data on yet, with
	// when to ask again, written with verified.
	deferred map[string]time.Time
	// windows are the spans in which Zoom was told to retry its webhooks.
	windows []store.Span
	// gaps are the spans in which the WebSocket subscription, the only
	// route, was disconnected: what happened then never arrives.
	gaps []store.Span
	// partial says a listing failed part-way: no silence is concluded.
	partial bool
	// failure is the first error that keeps the pass from checking at all:
	// a listing that failed, or Zoom refusing the app (failsAll).
	failure error
	// unsettled are hosts with a listed meeting not judged yet (its grace
	// runs, or Zoom could not be asked): their meetings are listed again.
	unsettled map[string]bool
	// plan is the account's plan as the listing path tells it.
	plan zoomapi.Plan
	// hostNames are hosts as Zoom's answers named them ("Name <email>"), by
	// host ID, for the host kinds.
	hostNames map[string]string
}

// Pass runs one reconciliation over opts.Window. It returns ErrLocked when
// another replica is reconciling. Errors asking Zoom about one meeting are
// listed in Result.Errors and do not fail the pass; an error is returned only
// when the pass could not run or was interrupted.
func (r *Reconciler) Pass(ctx context.Context, opts PassOptions) (Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	opts.Trigger = cmp.Or(opts.Trigger, store.TriggerManual)

	if !opts.DryRun {
		unlock, ok, err := r.st.TryReconcileLock(ctx)
		if err != nil {
			return Result{}, err
		}
		if !ok {
			r.metrics.observe(Result{}, false, ErrLocked)
			return Result{}, ErrLocked
		}
		defer unlock()
	}

	p := &pass{
		Reconciler: r, opts: opts,
		now: r.cfg.NowFunc(), started: time.Now(),
		calls0:  r.zoom.Calls(),
		res:     &Result{Window: opts.Window, DryRun: opts.DryRun, Discrepancies: []Finding{}, Errors: []string{}},
		checked: map[string]bool{}, deferred: map[string]time.Time{}, unsettled: map[string]bool{},
	}
	run := store.ReconcileRun{TriggeredBy: opts.Trigger, WindowStart: opts.Window.Since, WindowEnd: opts.Window.Until,
		DryRun: opts.DryRun, StartedAt: p.now}
	if !opts.DryRun {
		id, err := r.st.StartRun(ctx, run)
		if err != nil {
			return Result{}, err
		}
		run.ID = id
	}

	p.loadUsage(ctx)
	err := p.run(ctx)
	p.saveUsage(ctx)

	res := *p.res
	res.Path = r.path
	res.APICalls = r.zoom.Calls() - p.calls0
	res.Duration = time.Since(p.started)
	if !opts.DryRun {
		run.MeetingsChecked, run.DiscrepanciesFound, run.APICalls = res.MeetingsChecked, len(res.Discrepancies), int(res.APICalls)
		for _, f := range res.Discrepancies {
			if f.Backfilled {
				run.Backfilled++
			}
		}
		run.Result, run.Error = p.verdict(err)
		// Record the run, and hand its alerts to the sender, even when
		// shutdown interrupted it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if herr := r.st.ReleaseHeldAlerts(fctx, p.now, r.cfg.NowFunc()); herr != nil && err == nil {
			err = herr
		}
		if ferr := r.st.FinishRun(fctx, run, r.cfg.NowFunc()); ferr != nil && err == nil {
			err = ferr
		}
	}
	res.Outcome, res.Failure = p.verdict(err)
	if res.Outcome != store.RunFailed {
		res.Failure = "" // a partial pass's errors are listed in Errors
	}
	r.metrics.observe(res, opts.scheduled(), err)
	p.logFinished(ctx, res, err)
	return res, err
}

// verdict is the pass's outcome, and the text that explains it: why it
// failed, or which meetings could not be checked.
func (p *pass) verdict(err error) (store.RunResult, string) {
	switch {
	case errors.Is(err, context.Canceled):
		return store.RunInterrupted, ""
	case err != nil:
		return store.RunFailed, err.Error()
	case p.failure != nil:
		return store.RunFailed, p.failure.Error()
	case len(p.res.Errors) > 0:
		return store.RunPartial, fmt.Sprintf("%d could not be checked; first: %s", len(p.res.Errors), p.res.Errors[0])
	}
	return store.RunOK, ""
}

// logFinished says how the pass went, at the level an operator needs: a
// failure at ERROR with what to fix, meetings skipped at WARN, findings at
// INFO, and a pass that found nothing at DEBUG, so a journal is not buried
// under them.
func (p *pass) logFinished(ctx context.Context, res Result, err error) {
	attrs := []any{
		"trigger", p.opts.Trigger, "dry_run", p.opts.DryRun, "path", res.Path,
		"since", p.opts.Window.Since.UTC(), "until", p.opts.Window.Until.UTC(),
		"meetings_checked", res.MeetingsChecked, "api_calls", res.APICalls,
		"discrepancies", len(res.Discrepancies), "duration", res.Duration.Round(time.Millisecond),
	}
	switch {
	case errors.Is(err, context.Canceled):
		p.logger.InfoContext(ctx, "reconcile pass interrupted; the next pass covers its window again", attrs...)
	case res.Outcome == store.RunFailed:
		p.logger.ErrorContext(ctx, "reconcile pass failed: nothing could be checked against Zoom", append(attrs, "error", res.Failure)...)
	case res.Outcome == store.RunPartial:
		p.logger.WarnContext(ctx, "reconcile pass finished, but some meetings could not be checked; the next pass asks again",
			append(attrs, "errors", len(res.Errors), "first_error", res.Errors[0])...)
	case len(res.Discrepancies) > 0:
		p.logger.InfoContext(ctx, "reconcile pass finished", attrs...)
	default:
		p.logger.DebugContext(ctx, "reconcile pass finished", attrs...)
	}
}

func (p *pass) run(ctx context.Context) error {
	// Windows that ended before the pass's window and the retry horizon no
	// longer hold back any verdict; older ones are not needed.
	after := p.opts.Window.Since
	if h := p.now.Add(-p.cfg.RetryHorizon); h.Before(after) {
		after = h
	}
	var err error
	if sub := p.cfg.WebSocketOnly; sub != "" {
		// Nothing is retried over a WebSocket (zoom-platform.md §11).
		if p.gaps, err = p.st.WebSocketGaps(ctx, sub, p.opts.Window.Since.Add(-deliveryLag), p.now); err != nil {
			return err
		}
	} else if p.windows, err = p.st.RetryWindows(ctx, after.Add(-deliveryLag), p.now, 2*p.cfg.HeartbeatInterval); err != nil {
		return err
	}
	listed, keepListing := p.list(ctx)
	if err := ctx.Err(); err != nil {
		return err
	}
	uuids := make([]string, 0, len(listed))
	for uuid := range listed {
		uuids = append(uuids, uuid)
	}
	slices.Sort(uuids)
	known, err := p.st.MeetingsByUUID(ctx, uuids)
	if err != nil {
		return err
	}
	p.total = len(uuids)

	// Meetings Zoom shows that no webhook ever mentioned, and those whose
	// start we only inferred from their other webhooks.
	for _, uuid := range uuids {
		if err := ctx.Err(); err != nil {
			return err
		}
		m, ok := known[uuid]
		if ok && m.StartSource != store.SourceUnknown {
			continue
		}
		p.tick(uuid)
		if ok {
			err = p.checkLostStart(ctx, m, listed[uuid])
		} else {
			err = p.checkUnknown(ctx, listed[uuid])
		}
		if err != nil {
			p.fail(uuid, err)
			p.unsettle(listed[uuid])
		}
	}
	keepListing()
	// Meetings we saw start and not end, read only now: those the loop above
	// just backfilled as live are among them, so one found live for longer
	// than the stale limit is stale in this pass, not the next.
	open, err := p.st.OpenMeetings(ctx)
	if err != nil {
		return err
	}
	for _, m := range open {
		if _, ok := listed[m.UUID]; !ok {
			p.total++ // the listed ones are counted already
		}
	}
	for _, m := range open {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.tick(m.UUID)
		z, hasZ := listed[m.UUID]
		if err := p.checkOpen(ctx, m, z, hasZ); err != nil {
			p.fail(m.UUID, err)
		}
	}
	// Meetings that ended and whose attendance is not yet confirmed. Read
	// after the steps above, which may have just ended some.
	// Within the grace only a WebSocket gap can settle one (overdue).
	endedBefore := p.now.Add(-p.cfg.MissedGrace)
	if len(p.gaps) > 0 {
		endedBefore = p.now
	}
	ended, err := p.st.EndedUnverified(ctx, endedBefore, p.now)
	if err != nil {
		return err
	}
	for _, m := range ended {
		if !p.checked[m.UUID] {
			p.total++
		}
	}
	// Confirmations are written in batches, and whatever is confirmed is
	// kept even when shutdown stops the pass.
	defer func() {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		p.flushVerified(fctx, 0)
	}()
	for _, m := range ended {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.tick(m.UUID)
		if err := p.checkAttendance(ctx, m); err != nil {
			p.fail(m.UUID, err)
		}
		p.flushVerified(ctx, verifyBatch)
	}
	// After this pass's own findings, which may complete a host's stretch.
	if err := p.checkHostCauses(ctx); err != nil {
		return err
	}
	if p.partial {
		return nil // a listing that failed part-way is no evidence of silence
	}
	return p.checkSilence(ctx, listed, known)
}

// verifyBatch is how many confirmed meetings are written in one transaction.
const verifyBatch = 256

// flushVerified writes the confirmed meetings once there are at least atLeast of
// them. A failure only means they are checked again next pass.
func (p *pass) flushVerified(ctx context.Context, atLeast int) {
	if len(p.verified)+len(p.deferred) == 0 || len(p.verified)+len(p.deferred) < atLeast || p.opts.DryRun {
		return
	}
	if len(p.verified) > 0 {
		if err := p.st.MarkVerified(ctx, p.now, p.verified...); err != nil {
			p.logger.Warn("could not record confirmed meetings; they are checked again next pass",
				"meetings", len(p.verified), slog.Any("error", err))
		}
		p.verified = p.verified[:0]
	}
	if len(p.deferred) > 0 {
		if err := p.st.DeferChecks(ctx, p.deferred); err != nil {
			p.logger.Warn("could not hold back checks of meetings Zoom has no data on yet; they are asked again next pass",
				"meetings", len(p.deferred), slog.Any("error", err))
		}
		clear(p.deferred)
	}
}

// tick counts a meeting as checked and reports progress.
func (p *pass) tick(uuid string) {
	if !p.checked[uuid] {
		p.checked[uuid] = true
		p.res.MeetingsChecked++
	}
	if p.opts.ProgressFunc != nil {
		p.opts.ProgressFunc(Progress{
			Checked: p.res.MeetingsChecked, Total: max(p.total, p.res.MeetingsChecked),
			APICalls: p.zoom.Calls() - p.calls0, Elapsed: time.Since(p.started),
		})
	}
}

// fail records that a meeting could not be checked. The meeting is skipped,
// never judged: the next pass asks again.
func (p *pass) fail(uuid string, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	if failsAll(err) && p.failure == nil {
		p.failure = err
	}
	p.res.Errors = append(p.res.Errors, fmt.Sprintf("%s: %v", uuid, err))
	p.logger.Warn("could not check meeting; skipped", "meeting_uuid", uuid, slog.Any("error", err))
}

// failsAll says err keeps every call to Zoom from succeeding until an
// operator fixes the app: no access token, a token Zoom refuses, a scope the
// app lacks.
func failsAll(err error) bool {
	return errors.Is(err, zoomapi.ErrNoToken) || errors.Is(err, zoomapi.ErrUnauthorized) || errors.Is(err, zoomapi.ErrMissingScope)
}

// record writes b (unless the pass is a dry run) and lists its discrepancy
// in the result when it is new.
func (p *pass) record(ctx context.Context, b store.Backfill, meetingID int64, topic, participant string) error {
	d := b.Discrepancy
	if p.opts.DryRun {
		if d == nil {
			return nil
		}
		_, err := p.st.Discrepancy(ctx, d.Kind, d.MeetingUUID, d.Subject)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		p.found(*d, meetingID, topic, participant)
		return nil
	}
	if d != nil && d.Backfilled {
		// zoomrecon wrote the whole state the lost webhook carried: the
		// record is history, not a task, so it is closed as it is recorded,
		// in the same transaction. Its alert still goes out (the team learns
		// what was missed) and says no action is needed; a late webhook
		// finds it closed and changes nothing.
		resolved := *d
		resolved.ResolvedAt, resolved.Resolution = &p.now, store.ResolvedBackfilled
		b.Discrepancy, d = &resolved, &resolved
	}
	if d != nil && !p.opts.NoAlerts {
		// The alert carries the finding as it stands now; the sender renders it.
		f := p.finding(*d, meetingID, topic, participant)
		payload, err := json.Marshal(f)
		if err != nil {
			return fmt.Errorf("alert payload: %w", err)
		}
		b.Alert = &store.OutboxMessage{Kind: d.Kind, Payload: string(payload), CreatedAt: p.now}
		if d.Kind.Info().Missed {
			// A missed event may belong to a cause this pass names only
			// at its end (a host's stretch, a silence), which must carry
			// it: the sender sees it once the pass ends (or, should the
			// process die first, after holdAlerts).
			b.Alert.NextAttemptAt = p.now.Add(holdAlerts)
		}
	}
	stored, created, err := p.st.ApplyBackfill(ctx, p.withEvents(ctx, b), p.now)
	if err != nil {
		return err
	}
	if created {
		p.found(stored, meetingID, topic, participant)
	}
	return nil
}

func (p *pass) finding(d store.Discrepancy, meetingID int64, topic, participant string) Finding {
	f := Finding{Kind: d.Kind, MeetingUUID: d.MeetingUUID, MeetingID: meetingID, Topic: topic,
		Participant: participant, Detail: d.Detail, DetectedAt: d.DetectedAt.UTC(), Backfilled: d.Backfilled}
	if d.Kind.Info().Host {
		f.Host = p.hostNames[d.Subject]
	}
	return f
}

func (p *pass) found(d store.Discrepancy, meetingID int64, topic, participant string) {
	p.res.Discrepancies = append(p.res.Discrepancies, p.finding(d, meetingID, topic, participant))
	p.metrics.discrepancies.WithLabelValues(string(d.Kind)).Inc()
	p.logger.Info("discrepancy", "kind", d.Kind, "meeting_uuid", d.MeetingUUID, "meeting_id", meetingID,
		"participant", participant, "backfilled", d.Backfilled, "dry_run", p.opts.DryRun, "detail", d.Detail)
}

func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// roughly rounds a duration for people: to the minute, or to the second below one.
func roughly(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Minute)
}
