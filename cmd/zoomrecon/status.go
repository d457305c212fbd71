package main

import (
	"context"
	"encoding/json"
	"errors"
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

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
