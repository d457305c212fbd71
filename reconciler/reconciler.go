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
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi"
)

// Zoom is what a pass asks Zoom's REST API; *zoomapi.Client implements it.
type Zoom interface {
	DashboardMeetings(ctx context.Context, typ zoomapi.DashboardType, from, to time.Time) iter.Seq2[zoomapi.DashboardMeeting, error]
	DashboardMeetingParticipants(ctx context.Context, uuid string, typ zoomapi.DashboardType) iter.Seq2[zoomapi.Participant, error]
	Users(ctx context.Context, status string) iter.Seq2[zoomapi.User, error]
	ReportUserMeetings(ctx context.Context, userID string, from, to time.Time) iter.Seq2[zoomapi.ReportMeeting, error]
	GetMeeting(ctx context.Context, meetingID int64) (zoomapi.Meeting, error)
	PastMeeting(ctx context.Context, uuid string) (zoomapi.PastMeeting, error)
	ReportMeetingParticipants(ctx context.Context, uuid string) iter.Seq2[zoomapi.Participant, error]
	ReportWebinarParticipants(ctx context.Context, uuid string) iter.Seq2[zoomapi.Participant, error]
	Calls() int64
}

// Store is what a pass reads and writes; *store.Store implements it.
type Store interface {
	MeetingsByUUID(ctx context.Context, uuids []string) (map[string]store.Meeting, error)
	OpenMeetings(ctx context.Context) ([]store.Meeting, error)
	EndedUnverified(ctx context.Context, endedBefore time.Time) ([]store.Meeting, error)
	Sessions(ctx context.Context, meetingUUID string) ([]store.ParticipantSession, error)
	ApplyBackfill(ctx context.Context, b store.Backfill, now time.Time) (store.Discrepancy, bool, error)
	MarkVerified(ctx context.Context, at time.Time, uuids ...string) error
	Discrepancy(ctx context.Context, kind store.Kind, meetingUUID, subject string) (store.Discrepancy, error)
	LastEventReceivedAt(ctx context.Context) (time.Time, error)
	RetryWindows(ctx context.Context, after, now time.Time, alive time.Duration) ([]store.Span, error)
	RefusalsSince(ctx context.Context, since time.Time) ([]store.RefusalSummary, error)
	State(ctx context.Context, key string) (string, error)
	TryReconcileLock(ctx context.Context) (unlock func(), ok bool, err error)
	StartRun(ctx context.Context, r store.ReconcileRun) (int64, error)
	FinishRun(ctx context.Context, r store.ReconcileRun, finishedAt time.Time) error
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
	if cfg.NowFunc == nil {
		cfg.NowFunc = time.Now
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
}

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
	Window          Window        `json:"window"`
	Path            string        `json:"path"`
	DryRun          bool          `json:"dry_run"`
	MeetingsChecked int           `json:"meetings_checked"`
	APICalls        int64         `json:"api_calls"`
	Discrepancies   []Finding     `json:"discrepancies"`
	Errors          []string      `json:"errors"`
	Duration        time.Duration `json:"-"`
}

// Finding is one discrepancy as reports show it.
type Finding struct {
	Kind        store.Kind `json:"kind"`
	MeetingUUID string     `json:"meeting_uuid"`
	MeetingID   int64      `json:"meeting_id"`
	Topic       string     `json:"topic"`
	Participant string     `json:"participant,omitempty"`
	Detail      string     `json:"detail"`
	DetectedAt  time.Time  `json:"detected_at"`
	Backfilled  bool       `json:"backfilled"`
}

// zoomMeeting is a meeting instance as Zoom's listing shows it.
type zoomMeeting struct {
	UUID   string
	ID     int64
	Topic  string
	HostID string
	Start  time.Time
	End    time.Time // zero while live
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
	// windows are the spans in which Zoom was told to retry its webhooks.
	windows []store.Span
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
			r.metrics.observe(Result{}, ErrLocked)
			return Result{}, ErrLocked
		}
		defer unlock()
	}

	p := &pass{
		Reconciler: r, opts: opts,
		now: r.cfg.NowFunc(), started: time.Now(),
		calls0:  r.zoom.Calls(),
		res:     &Result{Window: opts.Window, DryRun: opts.DryRun, Discrepancies: []Finding{}, Errors: []string{}},
		checked: map[string]bool{},
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

	err := p.run(ctx)

	res := *p.res
	res.Path = r.path
	res.APICalls = r.zoom.Calls() - p.calls0
	res.Duration = time.Since(p.started)
	r.metrics.observe(res, err)
	if !opts.DryRun {
		run.MeetingsChecked, run.DiscrepanciesFound, run.APICalls = res.MeetingsChecked, len(res.Discrepancies), int(res.APICalls)
		for _, f := range res.Discrepancies {
			if f.Backfilled {
				run.Backfilled++
			}
		}
		switch {
		case err != nil:
			run.Error = err.Error()
		case len(res.Errors) > 0:
			run.Error = fmt.Sprintf("%d meetings could not be checked; first: %s", len(res.Errors), res.Errors[0])
		}
		// Record the run even when shutdown interrupted it.
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if ferr := r.st.FinishRun(fctx, run, r.cfg.NowFunc()); ferr != nil && err == nil {
			err = ferr
		}
	}
	level := slog.LevelInfo
	if err != nil || len(res.Errors) > 0 {
		level = slog.LevelWarn
	}
	r.logger.Log(ctx, level, "reconcile pass finished",
		"trigger", opts.Trigger, "dry_run", opts.DryRun, "path", res.Path,
		"since", opts.Window.Since.UTC(), "until", opts.Window.Until.UTC(),
		"meetings_checked", res.MeetingsChecked, "api_calls", res.APICalls,
		"discrepancies", len(res.Discrepancies), "errors", len(res.Errors),
		"duration", res.Duration.Round(time.Millisecond), slog.Any("error", err))
	return res, err
}

func (p *pass) run(ctx context.Context) error {
	// Windows that ended before the pass's window and the retry horizon no
	// longer hold back any verdict; older ones are not needed.
	after := p.opts.Window.Since
	if h := p.now.Add(-p.cfg.RetryHorizon); h.Before(after) {
		after = h
	}
	var err error
	if p.windows, err = p.st.RetryWindows(ctx, after.Add(-deliveryLag), p.now, 2*p.cfg.HeartbeatInterval); err != nil {
		return err
	}
	listed := p.list(ctx)
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
	open, err := p.st.OpenMeetings(ctx)
	if err != nil {
		return err
	}
	p.total = len(uuids) + len(open)

	// Meetings Zoom shows that no webhook ever mentioned.
	for _, uuid := range uuids {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, ok := known[uuid]; ok {
			continue
		}
		p.tick(uuid)
		if err := p.checkUnknown(ctx, listed[uuid]); err != nil {
			p.fail(uuid, err)
		}
	}
	// Meetings we saw start and not end.
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
	ended, err := p.st.EndedUnverified(ctx, p.now.Add(-p.cfg.MissedGrace))
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
	return p.checkSilence(ctx, listed, known)
}

// verifyBatch is how many confirmed meetings are written in one transaction.
const verifyBatch = 256

// flushVerified writes the confirmed meetings once there are at least atLeast of
// them. A failure only means they are checked again next pass.
func (p *pass) flushVerified(ctx context.Context, atLeast int) {
	if len(p.verified) == 0 || len(p.verified) < atLeast || p.opts.DryRun {
		return
	}
	if err := p.st.MarkVerified(ctx, p.now, p.verified...); err != nil {
		p.logger.Warn("could not record confirmed meetings; they are checked again next pass",
			"meetings", len(p.verified), slog.Any("error", err))
	}
	p.verified = p.verified[:0]
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
	p.res.Errors = append(p.res.Errors, fmt.Sprintf("%s: %v", uuid, err))
	p.logger.Warn("could not check meeting; skipped", "meeting_uuid", uuid, slog.Any("error", err))
}

// list asks Zoom which meetings ran in the window: the dashboard's live and
// past lists where the plan has them, else every active user's past meetings
// from the report API (which cannot see live meetings). A listing that fails
// part-way is still used: it only ever adds evidence.
func (p *pass) list(ctx context.Context) map[string]zoomMeeting {
	out := map[string]zoomMeeting{}
	w := p.opts.Window
	if p.path == PathDashboard {
		err := p.listDashboard(ctx, w, out)
		if errors.Is(err, zoomapi.ErrPlanRequired) {
			p.path = PathReport
			p.logger.Warn("Zoom's dashboard API is not available on this account's plan; listing meetings per user from the report API, which cannot see live meetings",
				slog.Any("error", err))
		} else {
			if err != nil {
				p.listError(err)
			}
			return out
		}
	}
	if err := p.listReports(ctx, w, out); err != nil {
		p.listError(err)
	}
	return out
}

func (p *pass) listError(err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	p.res.Errors = append(p.res.Errors, fmt.Sprintf("listing meetings: %v", err))
	p.logger.Warn("could not list Zoom's meetings; the pass goes on with what it got", slog.Any("error", err))
}

func (p *pass) listDashboard(ctx context.Context, w Window, out map[string]zoomMeeting) error {
	for _, typ := range []zoomapi.DashboardType{zoomapi.DashboardLive, zoomapi.DashboardPast, zoomapi.DashboardPastOne} {
		for m, err := range p.zoom.DashboardMeetings(ctx, typ, w.Since, w.Until) {
			if err != nil {
				return fmt.Errorf("dashboard %s meetings: %w", typ, err)
			}
			z := zoomMeeting{UUID: m.UUID, ID: m.ID, Topic: m.Topic, Start: m.StartTime}
			if typ != zoomapi.DashboardLive {
				z.End = m.EndTime
			}
			if z.UUID == "" || !p.inWindow(z) {
				continue
			}
			out[z.UUID] = z
		}
	}
	return nil
}

func (p *pass) listReports(ctx context.Context, w Window, out map[string]zoomMeeting) error {
	var errs []error
	for u, err := range p.zoom.Users(ctx, "active") {
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("list users: %w", err))...)
		}
		for m, err := range p.zoom.ReportUserMeetings(ctx, u.ID, w.Since, w.Until) {
			if err != nil {
				if errors.Is(err, zoomapi.ErrDailyQuota) || ctx.Err() != nil {
					return errors.Join(append(errs, err)...)
				}
				errs = append(errs, fmt.Errorf("meetings of user %s: %w", u.ID, err))
				break
			}
			z := zoomMeeting{UUID: m.UUID, ID: m.ID, Topic: m.Topic, HostID: u.ID, Start: m.StartTime, End: m.EndTime}
			if z.UUID == "" || !p.inWindow(z) {
				continue
			}
			out[z.UUID] = z
		}
	}
	return errors.Join(errs...)
}

// inWindow keeps what ran during the window; Zoom's listings work in whole
// days (zoom-platform.md §5).
func (p *pass) inWindow(z zoomMeeting) bool {
	w := p.opts.Window
	if z.Start.After(w.Until) {
		return false
	}
	return z.End.IsZero() || !z.End.Before(w.Since)
}

// checkUnknown handles a meeting Zoom shows that no webhook mentioned.
func (p *pass) checkUnknown(ctx context.Context, z zoomMeeting) error {
	// History is not news: it started before the window (before the daemon
	// first ran, for the scheduled sweep).
	if z.Start.Before(p.opts.Window.Since) {
		return nil
	}
	// Zoom may still be retrying its meeting.started.
	if !p.overdue(z.Start, z.Start) {
		return nil
	}
	update := &store.MeetingUpdate{
		UUID: z.UUID, MeetingID: z.ID, HostID: z.HostID, Topic: z.Topic,
		StartTime: z.Start, Started: true, Source: store.SourceReconciled,
	}
	detail := fmt.Sprintf("Zoom reports it started at %s; no webhook ever mentioned it", utc(z.Start))
	if !z.End.IsZero() {
		update.EndTime, update.Ended = z.End, true
		detail = fmt.Sprintf("Zoom reports it ran from %s to %s; no webhook ever mentioned it", utc(z.Start), utc(z.End))
	}
	var participants []store.ParticipantUpdate
	if z.End.IsZero() && p.path == PathDashboard {
		// Who is in it now; the rest arrives by webhook or by the attendance
		// check once it ends.
		for zp, err := range p.zoom.DashboardMeetingParticipants(ctx, z.UUID, zoomapi.DashboardLive) {
			if err != nil {
				return fmt.Errorf("live participants: %w", err)
			}
			participants = append(participants, sessionUpdates(z.UUID, zp)...)
		}
	}
	// Attendance of an ended one is filled in by checkAttendance, silently,
	// since this discrepancy already says everything was missed.
	return p.record(ctx, store.Backfill{
		Meeting:      update,
		Participants: participants,
		Discrepancy: &store.Discrepancy{Kind: store.KindMissedMeetingStarted, MeetingUUID: z.UUID,
			Detail: detail, DetectedAt: p.now, Backfilled: true},
	}, z.ID, z.Topic, "")
}

// checkOpen handles a meeting we saw start and not end.
func (p *pass) checkOpen(ctx context.Context, m store.Meeting, z zoomMeeting, listed bool) error {
	// The dashboard's live list already says it is running; anything else
	// the listing did not settle is asked about.
	if !listed {
		var err error
		if z, listed, err = p.askEnded(ctx, m); err != nil {
			return err
		}
	}
	if listed && !z.End.IsZero() {
		if !p.overdue(z.End, z.End) {
			return nil // meeting.ended may still be on its way
		}
		b := store.Backfill{
			Meeting: &store.MeetingUpdate{UUID: m.UUID, MeetingID: z.ID, Topic: z.Topic,
				EndTime: z.End, Ended: true, Source: store.SourceReconciled},
			Discrepancy: &store.Discrepancy{Kind: store.KindMissedMeetingEnded, MeetingUUID: m.UUID,
				Detail:     fmt.Sprintf("Zoom reports it ended at %s; meeting.ended never arrived", utc(z.End)),
				DetectedAt: p.now, Backfilled: true},
			Resolve: []store.Resolution{{Kind: store.KindStaleMeeting, MeetingUUID: m.UUID, Reason: store.ResolvedEnded}},
		}
		// A meeting we only know of because a pass found it live already has
		// its discrepancy; its missing end is not reported twice.
		if m.StartSource == store.SourceReconciled {
			unheard, err := p.hasDiscrepancy(ctx, store.KindMissedMeetingStarted, m.UUID)
			if err != nil {
				return err
			}
			if unheard {
				b.Discrepancy = nil
			}
		}
		return p.record(ctx, b, cmp.Or(m.MeetingID, z.ID), cmp.Or(m.Topic, z.Topic), "")
	}
	// Live per Zoom, or never confirmed ended: stale once old enough. It is
	// not marked ended; only Zoom can say that.
	start := m.FirstSeenAt
	if m.StartTime != nil {
		start = *m.StartTime
	}
	if p.now.Sub(start) <= p.cfg.StaleAfter {
		return nil
	}
	state := "Zoom could not confirm it ended"
	if listed {
		state = "Zoom reports it still in progress"
	}
	return p.record(ctx, store.Backfill{
		Discrepancy: &store.Discrepancy{Kind: store.KindStaleMeeting, MeetingUUID: m.UUID,
			Detail:     fmt.Sprintf("in progress since %s (%s); %s", utc(start), roughly(p.now.Sub(start)), state),
			DetectedAt: p.now},
	}, m.MeetingID, m.Topic, "")
}

// askEnded asks Zoom about an open meeting the listing did not show. It
// reports the meeting with End set and true when Zoom says it ended, with End
// zero and true when Zoom says it is live, and false when Zoom gave no answer
// either way ("not found" for a live instance is normal).
func (p *pass) askEnded(ctx context.Context, m store.Meeting) (zoomMeeting, bool, error) {
	if m.Type == store.TypeWebinar {
		return zoomMeeting{}, false, nil // no per-instance webinar detail endpoint; the dashboard listing covers them
	}
	past, err := p.zoom.PastMeeting(ctx, m.UUID)
	switch {
	case err == nil && !past.EndTime.IsZero():
		return zoomMeeting{UUID: m.UUID, ID: past.ID, Topic: past.Topic, Start: past.StartTime, End: past.EndTime}, true, nil
	case err == nil, errors.Is(err, zoomapi.ErrMeetingNotFound), errors.Is(err, zoomapi.ErrMeetingNotEnded):
	default:
		return zoomMeeting{}, false, fmt.Errorf("past meeting: %w", err)
	}
	if m.MeetingID == 0 {
		return zoomMeeting{}, false, nil
	}
	live, err := p.zoom.GetMeeting(ctx, m.MeetingID)
	switch {
	case err == nil && live.Status == "started":
		return zoomMeeting{UUID: m.UUID, ID: m.MeetingID, Topic: live.Topic}, true, nil
	case err == nil, errors.Is(err, zoomapi.ErrMeetingNotFound):
		return zoomMeeting{}, false, nil
	default:
		return zoomMeeting{}, false, fmt.Errorf("meeting status: %w", err)
	}
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
	if d != nil && !p.opts.NoAlerts {
		// The alert carries the finding as it stands now; the sender renders it.
		f := p.finding(*d, meetingID, topic, participant)
		payload, err := json.Marshal(f)
		if err != nil {
			return fmt.Errorf("alert payload: %w", err)
		}
		b.Alert = &store.OutboxMessage{Kind: d.Kind, Payload: string(payload), CreatedAt: p.now}
	}
	stored, created, err := p.st.ApplyBackfill(ctx, b, p.now)
	if err != nil {
		return err
	}
	if created {
		p.found(stored, meetingID, topic, participant)
	}
	return nil
}

func (p *pass) finding(d store.Discrepancy, meetingID int64, topic, participant string) Finding {
	return Finding{Kind: d.Kind, MeetingUUID: d.MeetingUUID, MeetingID: meetingID, Topic: topic,
		Participant: participant, Detail: d.Detail, DetectedAt: d.DetectedAt.UTC(), Backfilled: d.Backfilled}
}

func (p *pass) found(d store.Discrepancy, meetingID int64, topic, participant string) {
	p.res.Discrepancies = append(p.res.Discrepancies, p.finding(d, meetingID, topic, participant))
	p.metrics.discrepancies.WithLabelValues(string(d.Kind)).Inc()
	p.logger.Info("discrepancy", "kind", d.Kind, "meeting_uuid", d.MeetingUUID, "meeting_id", meetingID,
		"participant", participant, "backfilled", d.Backfilled, "dry_run", p.opts.DryRun, "detail", d.Detail)
}

// checkSilence notices a Zoom that stopped sending: no webhook accepted for
// SilenceAfter while its API shows meetings starting or ending in that time
// that the webhooks did not tell us about. known is the stored state from
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
	since := "no webhook was ever received"
	if !last.IsZero() {
		since = "the last webhook was received at " + utc(last)
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
			Detail:     fmt.Sprintf("%s; since then Zoom's API shows %d meetings starting or ending that no webhook reported.%s", since, evidence, refused),
			DetectedAt: p.now},
	}, 0, "", "")
}

// deliveryLag is how long after an event Zoom's first attempt to deliver its
// webhook may come (seconds, §3), so an event just before a retry window may
// have met the window.
const deliveryLag = 30 * time.Second

// overdue reports whether no webhook can still come for an event Zoom saw at
// some time in [from, to]: the grace has passed since to and, if Zoom was
// told to retry in that time (zoomrecon down or answering 503), its retry
// schedule is over too.
func (p *pass) overdue(from, to time.Time) bool {
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

// answering reports whether zoomrecon was up and storing webhooks when Zoom
// first tried to deliver what happened at t.
func (p *pass) answering(t time.Time) bool {
	for _, w := range p.windows {
		if !t.Before(w.From.Add(-deliveryLag)) && t.Before(w.To) {
			return false
		}
	}
	return true
}

func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

// roughly rounds a duration for people: to the minute, or to the second below one.
func roughly(d time.Duration) time.Duration {
	if d < time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(time.Minute)
}
