package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/reconciler"
	"github.com/zoomrecon/zoomrecon/store"
)

func newStatusCmd(e env, load func() (*config.Config, error)) *cobra.Command {
	var since, output string
	cmd := &cobra.Command{
		Use:   "status [--since 7d]",
		Short: "Show the last webhook, the last reconcile pass and recent discrepancies",
		Long: `Show the daemon as the last "zoomrecon serve" recorded itself (up, stopped, or
gone without stopping; its alert route and settings), when the last webhook
was accepted, how the last reconcile pass went, and every discrepancy detected
or resolved since --since (default 7d), plus those still open.

status only reads: it opens the database read-only and never creates it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			now := e.now()
			from, err := parseWhen("--since", since, now)
			if err != nil {
				return err
			}
			cfg, err := load()
			if err != nil {
				return err
			}
			rep, err := buildStatus(cmd.Context(), cfg, from, now)
			if err != nil {
				return err
			}
			if output == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			printStatus(e.stdout, rep, now)
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "7d", "how far back to list discrepancies: 72h, 7d, 2026-11-01 or RFC 3339")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

// statusReport is what status prints; its JSON field names are the interface
// scripts rely on.
type statusReport struct {
	Since         time.Time  `json:"since"`
	LastWebhookAt *time.Time `json:"last_webhook_at"`
	// LastValidationAt is when Zoom's URL validation was last answered.
	LastValidationAt *time.Time `json:"last_url_validation_at"`
	// Refusals are the deliveries refused (or answered 503) in the last 24 h.
	Refusals []refusalView `json:"refusals_24h"`
	LastRun  *runView      `json:"last_reconcile"`
	Alerts   alertsView    `json:"alerts"`
	// API is the day's Zoom API calls against the budget, as the last
	// reconcile pass left them; nil before the first pass.
	API *reconciler.Budget `json:"api_today"`
	// Daemon is the zoomrecon serve that ran last against the database, as
	// it recorded itself: its settings, not the shell's, which may differ.
	Daemon daemonView `json:"daemon"`
	// WebSocket is the event subscription's connection; absent when
	// ZOOM_WEBSOCKET_SUBSCRIPTION_ID is not set.
	WebSocket *websocketView `json:"websocket,omitempty"`
	// Forward is each relay destination's queue; absent when nothing is
	// forwarded.
	Forward []forwardView `json:"forward,omitempty"`
	// Open counts the discrepancies a person should look at: open, not
	// acknowledged, not muted. Acknowledged and Muted count the others
	// still open.
	Open          int               `json:"open"`
	Acknowledged  int               `json:"acknowledged"`
	Muted         int               `json:"muted"`
	Discrepancies []discrepancyView `json:"discrepancies"`
}

type runView struct {
	Trigger         store.Trigger `json:"trigger"`
	Since           time.Time     `json:"window_since"`
	Until           time.Time     `json:"window_until"`
	StartedAt       time.Time     `json:"started_at"`
	FinishedAt      *time.Time    `json:"finished_at"`
	DryRun          bool          `json:"dry_run"`
	MeetingsChecked int           `json:"meetings_checked"`
	APICalls        int           `json:"api_calls"`
	Discrepancies   int           `json:"discrepancies"`
	// Result is ok, partial or failed; empty while it runs, and for passes
	// recorded before zoomrecon kept it.
	Result store.RunResult `json:"result"`
	Error  string          `json:"error,omitempty"`
	// LastSuccessAt is when the last scheduled pass that checked every
	// meeting finished.
	LastSuccessAt *time.Time `json:"last_success_at"`
}

// Daemon states: is the last serve run up, stopped cleanly, gone without
// stopping (killed, crashed, the machine lost), or was there none.
const (
	daemonUp      = "up"
	daemonStopped = "stopped"
	daemonGone    = "gone"
	daemonNever   = "never"
)

// daemonSeenWithin is how recent a heartbeat must be for the daemon to count
// as up: serve beats at least every 15 s, so this is several missed beats.
const daemonSeenWithin = time.Minute

// daemonView is the last serve run: when it was seen, and the facts it
// recorded (daemonFacts, inline; absent when it recorded none).
type daemonView struct {
	State      string     `json:"state"`
	Host       string     `json:"host,omitempty"`
	PID        int        `json:"pid,omitempty"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	LastSeenAt *time.Time `json:"last_heartbeat_at,omitempty"`
	StoppedAt  *time.Time `json:"stopped_at,omitempty"`
	*daemonFacts
}

// alertsView says how delivery to Slack is going.
type alertsView struct {
	// Mode is the route the daemon recorded (bot, webhook or log); empty
	// when no daemon recorded one.
	Mode                 string     `json:"mode"`
	Channel              string     `json:"channel,omitempty"`
	Pending              int        `json:"pending"`
	Dead                 int        `json:"dead"`
	Failing              int        `json:"failing"`
	OldestPending        *time.Time `json:"oldest_pending"`
	LastSentAt           *time.Time `json:"last_sent_at"`
	LastError            string     `json:"last_error,omitempty"`
	AnnouncementsPending int        `json:"announcements_pending"`
}

// refusalView is one reason deliveries were refused for, over the last 24 h.
type refusalView struct {
	Reason store.Refusal `json:"reason"`
	Count  int64         `json:"count"`
	First  time.Time     `json:"first_at"`
	Last   time.Time     `json:"last_at"`
	// Final says Zoom never retries these (any 4xx): those events are lost
	// to the receiver and only the reconciler can backfill them.
	Final bool `json:"final"`
}

// discrepancyView is reconcile's discrepancy object plus its resolution, so
// scripts read one shape from both commands.
type discrepancyView struct {
	ID int64 `json:"id"`
	reconciler.Finding
	// State is open, acknowledged, muted or resolved (store.State).
	State          store.State            `json:"state"`
	ResolvedAt     *time.Time             `json:"resolved_at"`
	Resolution     store.ResolutionReason `json:"resolution,omitempty"`
	AcknowledgedAt *time.Time             `json:"acknowledged_at,omitempty"`
	AcknowledgedBy string                 `json:"acknowledged_by,omitempty"`
	AckNote        string                 `json:"ack_note,omitempty"`
	// MuteID, MutedUntil and MuteReason name the active mute that matches
	// an open discrepancy; an acknowledged one may be muted too.
	MuteID     int64      `json:"mute_id,omitempty"`
	MutedUntil *time.Time `json:"muted_until,omitempty"`
	MuteReason string     `json:"mute_reason,omitempty"`
}

func buildStatus(ctx context.Context, cfg *config.Config, since, now time.Time) (statusReport, error) {
	// status only looks: it must not create a database where there is none,
	// nor migrate or write one.
	st, err := openReadOnly(ctx, cfg)
	if err != nil {
		return statusReport{}, err
	}
	defer st.Close()
	rep := statusReport{Since: since.UTC(), Discrepancies: []discrepancyView{}, Refusals: []refusalView{}}
	switch last, err := st.LastEventReceivedAt(ctx); {
	case err == nil:
		t := last.UTC()
		rep.LastWebhookAt = &t
	case !errors.Is(err, store.ErrNotFound):
		return statusReport{}, err
	}
	switch at, err := st.LastURLValidationAnswered(ctx); {
	case err == nil:
		t := at.UTC()
		rep.LastValidationAt = &t
	case !errors.Is(err, store.ErrNotFound):
		return statusReport{}, err
	}
	refusals, err := st.RefusalsSince(ctx, now.Add(-24*time.Hour))
	if err != nil {
		return statusReport{}, err
	}
	for _, r := range refusals {
		rep.Refusals = append(rep.Refusals, refusalView{Reason: r.Reason, Count: r.Count, First: r.FirstAt.UTC(), Last: r.LastAt.UTC(),
			Final: r.Reason != store.RefusalUnavailable})
	}
	if rep.WebSocket, err = websocketStatus(ctx, cfg, st, now); err != nil {
		return statusReport{}, err
	}
	if rep.Forward, err = forwardStatus(ctx, cfg, st); err != nil {
		return statusReport{}, err
	}
	switch run, err := st.LastRun(ctx); {
	case err == nil:
		rep.LastRun = &runView{Trigger: run.TriggeredBy, Since: run.WindowStart.UTC(), Until: run.WindowEnd.UTC(),
			StartedAt: run.StartedAt.UTC(), FinishedAt: utcPtr(run.FinishedAt), DryRun: run.DryRun,
			MeetingsChecked: run.MeetingsChecked, APICalls: run.APICalls, Discrepancies: run.DiscrepanciesFound,
			Result: run.Result, Error: run.Error}
		switch at, err := st.LastSuccess(ctx); {
		case err == nil:
			rep.LastRun.LastSuccessAt = utcPtr(&at)
		case !errors.Is(err, store.ErrNotFound):
			return statusReport{}, err
		}
	case !errors.Is(err, store.ErrNotFound):
		return statusReport{}, err
	}
	switch raw, err := st.State(ctx, reconciler.StateBudget); {
	case err == nil:
		var b reconciler.Budget
		if json.Unmarshal([]byte(raw), &b) == nil && b.Day == store.APIDay(now) {
			rep.API = &b
		}
	case !errors.Is(err, store.ErrNotFound):
		return statusReport{}, err
	}
	as, err := st.AlertStatus(ctx)
	if err != nil {
		return statusReport{}, err
	}
	if rep.Daemon, err = daemonStatus(ctx, st, now); err != nil {
		return statusReport{}, err
	}
	rep.Alerts = alertsView{Pending: as.Pending, Dead: as.Dead, Failing: as.Failing,
		OldestPending: utcPtr(as.OldestPending), LastSentAt: utcPtr(as.LastSentAt), LastError: as.LastError,
		AnnouncementsPending: as.AnnouncementsPending}
	if f := rep.Daemon.daemonFacts; f != nil {
		rep.Alerts.Mode, rep.Alerts.Channel = f.AlertRoute, f.SlackChannel
	}
	ds, err := st.DiscrepanciesSince(ctx, since)
	if err != nil {
		return statusReport{}, err
	}
	var open []int64
	for _, d := range ds {
		if d.ResolvedAt == nil {
			open = append(open, d.ID)
		}
	}
	mutes, err := st.MutesFor(ctx, open, now)
	if err != nil {
		return statusReport{}, err
	}
	for _, d := range ds {
		v := discrepancyView{
			ID: d.ID,
			Finding: reconciler.Finding{Kind: d.Kind, MeetingUUID: d.MeetingUUID, MeetingID: d.MeetingID, Topic: d.Topic,
				Detail: d.Detail, DetectedAt: d.DetectedAt.UTC(), Backfilled: d.Backfilled},
			ResolvedAt: utcPtr(d.ResolvedAt), Resolution: d.Resolution,
			AcknowledgedAt: utcPtr(d.AcknowledgedAt), AcknowledgedBy: d.AcknowledgedBy, AckNote: d.AckNote,
		}
		if d.Kind.Info().Participant {
			v.Participant = participantText(d.ParticipantName, d.ParticipantEmail, d.Subject)
		}
		mu, muted := mutes[d.ID]
		if muted {
			v.MuteID, v.MutedUntil, v.MuteReason = mu.ID, utcPtr(&mu.Until), mu.Reason
		}
		v.State = d.State(muted)
		switch v.State {
		case store.StateOpen:
			rep.Open++
		case store.StateAcknowledged:
			rep.Acknowledged++
		case store.StateMuted:
			rep.Muted++
		}
		rep.Discrepancies = append(rep.Discrepancies, v)
	}
	return rep, nil
}

// daemonStatus reads the last serve run and judges whether it is up.
func daemonStatus(ctx context.Context, st *store.Store, now time.Time) (daemonView, error) {
	run, err := st.LatestRun(ctx)
	if errors.Is(err, store.ErrNotFound) {
		return daemonView{State: daemonNever}, nil
	}
	if err != nil {
		return daemonView{}, err
	}
	v := daemonView{Host: run.Host, PID: run.PID, StartedAt: utcPtr(&run.StartedAt), LastSeenAt: utcPtr(&run.BeatAt),
		StoppedAt: utcPtr(run.EndedAt)}
	switch {
	case run.EndedAt != nil:
		v.State = daemonStopped
	case now.Sub(run.BeatAt) <= daemonSeenWithin:
		v.State = daemonUp
	default:
		v.State = daemonGone
	}
	if len(run.Facts) > 0 {
		// Facts a newer or older zoomrecon wrote may not parse; the rest of
		// the report still stands.
		var f daemonFacts
		if json.Unmarshal(run.Facts, &f) == nil {
			v.daemonFacts = &f
		}
	}
	return v, nil
}

// ago says how long d is in the unit a person reads at a glance.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(max(d, 0)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
	}
}

// printDaemon writes the daemon's lines of the report.
func printDaemon(w io.Writer, d daemonView, now time.Time) {
	const indent = "                       "
	switch d.State {
	case daemonNever:
		fmt.Fprintln(w, "Daemon:                no zoomrecon serve has run against this database")
		return
	case daemonUp:
		fmt.Fprintf(w, "Daemon:                up, last heartbeat %s", ago(now.Sub(*d.LastSeenAt)))
	case daemonStopped:
		fmt.Fprintf(w, "Daemon:                stopped at %s", d.StoppedAt.Format(time.RFC3339))
	default:
		fmt.Fprintf(w, "Daemon:                last seen %s, not stopped cleanly", ago(now.Sub(*d.LastSeenAt)))
	}
	fmt.Fprintf(w, " (on %s, pid %d, started %s)\n", dash(d.Host), d.PID, d.StartedAt.Format(time.RFC3339))
	f := d.daemonFacts
	if f == nil {
		fmt.Fprintln(w, indent+"it recorded no settings (a zoomrecon older than this one)")
		return
	}
	fmt.Fprintf(w, indent+"zoomrecon %s, listening on %s, %s database\n", f.Version, f.ListenAddr, f.Database)
	if f.Reconciling {
		fmt.Fprintf(w, indent+"reconciling every %s over the last %s\n", f.ReconcileInterval, f.Lookback)
	} else {
		fmt.Fprintln(w, indent+"not reconciling: it has no Zoom API credentials")
	}
}

// routeText says how the daemon sends alerts.
func routeText(a alertsView) string {
	switch a.Mode {
	case "bot":
		return "Slack bot in " + a.Channel
	case "webhook":
		return "Slack incoming webhook"
	case "log":
		return "log only (Slack not configured)"
	default:
		return "route unknown (no serve recorded one)"
	}
}

// participantText names a discrepancy's participant; the subject is the
// session key when Zoom gave neither name nor email.
func participantText(name, email, subject string) string {
	return cmp.Or(store.Participant{UserName: name, Email: email}.Display(), subject)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func printStatus(w io.Writer, rep statusReport, now time.Time) {
	if rep.LastWebhookAt != nil {
		fmt.Fprintf(w, "Last webhook accepted: %s\n", rep.LastWebhookAt.Format(time.RFC3339))
	} else {
		fmt.Fprintln(w, "Last webhook accepted: never")
	}
	if rep.LastValidationAt != nil {
		fmt.Fprintf(w, "Last URL validation:   answered %s (Zoom revalidates every 72 h)\n", rep.LastValidationAt.Format(time.RFC3339))
	} else {
		fmt.Fprintln(w, "Last URL validation:   none answered")
	}
	if len(rep.Refusals) == 0 {
		fmt.Fprintln(w, "Refused in 24 h:       none")
	}
	for i, r := range rep.Refusals {
		label := "Refused in 24 h:      "
		if i > 0 {
			label = "                      "
		}
		fmt.Fprintf(w, "%s %s\n", label, store.RefusalSummary{Reason: r.Reason, Count: r.Count, FirstAt: r.First}.Sentence())
	}
	if r := rep.LastRun; r != nil {
		state := "running"
		if r.FinishedAt != nil {
			state = "finished " + r.FinishedAt.Format(time.RFC3339)
			if r.Result != "" {
				state += ", " + string(r.Result)
			}
		}
		fmt.Fprintf(w, "Last reconcile pass:   %s (%s), %s, %s, %s\n", r.StartedAt.Format(time.RFC3339), state,
			plural(r.MeetingsChecked, "meeting", "meetings"), plural(r.APICalls, "API call", "API calls"),
			plural(r.Discrepancies, "new discrepancy", "new discrepancies"))
		if r.Error != "" {
			fmt.Fprintf(w, "                       error: %s\n", r.Error)
		}
		if r.Result != store.RunOK {
			last := "never"
			if r.LastSuccessAt != nil {
				last = r.LastSuccessAt.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "                       last scheduled pass that checked everything: %s\n", last)
		}
	} else {
		fmt.Fprintln(w, "Last reconcile pass:   never")
	}
	if b := rep.API; b != nil {
		fmt.Fprintf(w, "Zoom API today:        %d Heavy and Resource-intensive calls of a budget of %d", b.Spent.Budgeted(), b.Budget)
		if b.Quota > 0 {
			fmt.Fprintf(w, " (the %s plan's daily quota is %d, shared with every app on the account)", b.Plan, b.Quota)
		}
		fmt.Fprintf(w, "; %d Light, %d Medium\n", b.Spent.Light, b.Spent.Medium)
	} else {
		fmt.Fprintln(w, "Zoom API today:        no reconcile pass yet today")
	}
	printDaemon(w, rep.Daemon, now)
	printWebSocket(w, rep.WebSocket, now)
	printForward(w, rep.Forward, now)
	a := rep.Alerts
	fmt.Fprintf(w, "Alerts:                %s; %d pending, %d dead", routeText(a), a.Pending, a.Dead)
	if a.OldestPending != nil {
		fmt.Fprintf(w, ", oldest pending since %s", a.OldestPending.Format(time.RFC3339))
	}
	if a.LastSentAt != nil {
		fmt.Fprintf(w, ", last delivered %s", a.LastSentAt.Format(time.RFC3339))
	}
	fmt.Fprintln(w)
	if a.Failing > 0 {
		fmt.Fprintf(w, "                       FAILING: %d alerts failed their last try; last error: %s\n", a.Failing, a.LastError)
	}
	if a.AnnouncementsPending > 0 {
		fmt.Fprintf(w, "                       %d resolutions waiting to be announced\n", a.AnnouncementsPending)
	}
	fmt.Fprintf(w, "Discrepancies since %s: %d, %d open, %d acknowledged, %d muted\n", rep.Since.Format(time.RFC3339),
		len(rep.Discrepancies), rep.Open, rep.Acknowledged, rep.Muted)
	if len(rep.Discrepancies) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDETECTED\tKIND\tMEETING ID\tTOPIC\tPARTICIPANT\tSTATE")
	for _, d := range rep.Discrepancies {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.DetectedAt.Format(time.RFC3339), d.Kind,
			meetingIDText(d.MeetingID), dash(d.Topic), dash(d.Participant), stateText(d))
	}
	_ = tw.Flush()
}

// stateText says where a discrepancy stands, for status's table.
func stateText(d discrepancyView) string {
	switch d.State {
	case store.StateResolved:
		return "resolved " + d.ResolvedAt.Format(time.RFC3339) + " (" + string(d.Resolution) + ")"
	case store.StateAcknowledged:
		t := "acknowledged by " + dash(d.AcknowledgedBy)
		if d.AckNote != "" {
			t += ": " + d.AckNote
		}
		return t
	case store.StateMuted:
		return fmt.Sprintf("muted until %s (mute %d: %s)", d.MutedUntil.Format(time.RFC3339), d.MuteID, d.MuteReason)
	}
	return string(d.State)
}
