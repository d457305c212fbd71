package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/reconciler"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi"
)

func newReconcileCmd(e env, load func() (*config.Config, error)) *cobra.Command {
	var (
		since, until     string
		dryRun, noAlerts bool
		output           string
	)
	cmd := &cobra.Command{
		Use:   "reconcile --since DURATION|DATE",
		Short: "Run one reconcile pass over a window and exit",
		Long: `Ask Zoom's API what happened between --since and --until (default: now),
record what the webhooks missed, backfill it, and queue alerts; then exit.

--since and --until take a duration back from now (72h, 7d), a date
(2026-11-01, midnight UTC) or an RFC 3339 time (2026-11-01T09:00:00Z).

reconcile migrates the database first, as serve does; --dry-run opens it
read-only and writes nothing.

Exit status:
  0  every meeting in the window was checked
  1  nothing could be checked: Zoom refused the credentials or could not be
     reached, the listing failed, or the database or configuration is wrong
  2  some meetings could not be checked (they are listed); run it again
--output json says the same in "result" and "exit_code".`,
		Example: `  zoomrecon reconcile --since 72h
  zoomrecon reconcile --since 2026-11-01 --until 2026-11-08 --dry-run --output json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			now := e.now()
			from, to, err := parseWindow(since, until, now)
			if err != nil {
				return err
			}
			cfg, err := load()
			if err != nil {
				return err
			}
			return reconcileOnce(cmd.Context(), cfg, e, reconciler.PassOptions{
				Window: reconciler.Window{Since: from, Until: to}, DryRun: dryRun, NoAlerts: noAlerts || dryRun,
				Trigger: store.TriggerManual,
			}, output)
		},
	}
	f := cmd.Flags()
	f.StringVar(&since, "since", "", "start of the window: 72h, 7d, 2026-11-01 or RFC 3339")
	f.StringVar(&until, "until", "", "end of the window (default now), same forms as --since")
	f.BoolVar(&dryRun, "dry-run", false, "report what would be found; write nothing and alert nobody")
	f.BoolVar(&noAlerts, "no-alerts", false, "record and backfill, but queue no alerts")
	f.StringVarP(&output, "output", "o", "text", "text or json (one JSON object on stdout)")
	return cmd
}

// checkOutput validates --output.
func checkOutput(output string) error {
	if output != "text" && output != "json" {
		return fmt.Errorf("--output: %q is not a format zoomrecon writes; use --output text or --output json", output)
	}
	return nil
}

// parseWhen reads a point in time given as a duration back from now, a date
// or an RFC 3339 time; errors name the flag.
// parseWindow reads --since (required) and --until (default now).
func parseWindow(since, until string, now time.Time) (from, to time.Time, err error) {
	if since == "" {
		return from, to, errors.New("--since is required, e.g. --since 72h, --since 7d or --since 2026-11-01")
	}
	if from, err = parseWhen("--since", since, now); err != nil {
		return from, to, err
	}
	to = now
	if until != "" {
		if to, err = parseWhen("--until", until, now); err != nil {
			return from, to, err
		}
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("--since (%s) must be before --until (%s)", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	return from, to, nil
}

func parseWhen(flag, s string, now time.Time) (time.Time, error) {
	if d, err := parseFor(flag, s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s: %q is not a duration (72h, 7d), a date (2026-11-01) or an RFC 3339 time (2026-11-01T09:00:00Z)", flag, s)
}

// newZoomClient builds the REST client from the config, or reports which
// credential is missing.
func newZoomClient(cfg *config.Config, e env, logger *slog.Logger, reg prometheus.Registerer) (*zoomapi.Client, error) {
	z := cfg.Zoom
	if z.AccountID == "" || z.ClientID == "" || z.ClientSecret.Reveal() == "" {
		return nil, errNoZoomCredentials
	}
	return zoomapi.New(zoomapi.Config{
		AccountID: z.AccountID, ClientID: z.ClientID, ClientSecret: z.ClientSecret.Reveal(),
		TokenURL: z.OAuthTokenURL, APIURL: z.APIBaseURL, RequestsPerSecond: z.APIRateLimit,
		ResourceIntensivePerMinute: z.ResourceIntensivePerMinute, MinuteLimitWait: z.MinuteLimitWait,
		RetryWaitMin: e.zoomRetryWait, RetryWaitMax: e.zoomRetryWait,
		Logger: logger, Registerer: reg,
	})
}

var errNoZoomCredentials = errors.New("ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET: reconciling needs the Server-to-Server OAuth app's credentials; set all three")

func newReconciler(cfg *config.Config, e env, st *store.Store, zc *zoomapi.Client, logger *slog.Logger, reg prometheus.Registerer) *reconciler.Reconciler {
	return reconciler.New(reconciler.Config{
		MissedGrace: cfg.Reconcile.MissedGrace, StaleAfter: cfg.Reconcile.StaleAfter, SilenceAfter: cfg.Reconcile.SilenceAfter,
		RetryHorizon: cfg.Reconcile.ZoomRetryHorizon, HeartbeatInterval: heartbeatInterval(cfg),
		HostCauseMinMeetings: cfg.Reconcile.HostCauseMinMeetings, HostCauseWindow: cfg.Reconcile.HostCauseWindow,
		DailyBudget: cfg.Zoom.APIDailyBudget.Of,
		AccountID:   cfg.Zoom.AccountID,
		// Empty unless the WebSocket is the only route events take.
		WebSocketOnly: webSocketOnly(cfg),
		NowFunc:       e.now, Logger: logger, Registerer: reg,
	}, st, zc)
}

func reconcileOnce(ctx context.Context, cfg *config.Config, e env, opts reconciler.PassOptions, output string) error {
	logger := newLogger(e, cfg.LogLevel)
	zc, err := newZoomClient(cfg, e, logger, nil)
	if err != nil {
		return err
	}
	// A dry run opens the database read-only, so the database itself
	// guarantees it writes nothing; a real pass migrates as serve does.
	// What it backfills is queued for the relay's destinations, which serve
	// delivers.
	st, err := store.Open(ctx, cfg.DatabaseURL.Reveal(), store.Options{Logger: logger.With("component", "migrations"),
		ReadOnly: opts.DryRun, Forward: forwardRoutes(cfg)})
	if err != nil {
		return databaseError(err)
	}
	defer st.Close()
	if opts.DryRun {
		if err := st.Ready(ctx); err != nil {
			return databaseError(err)
		}
	} else if _, err := st.Migrate(ctx); err != nil {
		return databaseError(err)
	}

	if e.stderrIsTerminal {
		opts.ProgressFunc = progressPrinter(e.stderr)
	}
	res, err := newReconciler(cfg, e, st, zc, logger, nil).Pass(ctx, opts)
	if e.stderrIsTerminal {
		fmt.Fprint(e.stderr, "\r\033[K")
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return errors.New("reconcile: interrupted before the pass finished; nothing was concluded from it")
		}
		return fmt.Errorf("reconcile: %w", err)
	}
	outcome := passExit(res)
	if output == "json" {
		enc := json.NewEncoder(e.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(jsonResult{Result: res, ExitCode: outcome.code}); err != nil {
			return err
		}
	} else {
		printResult(e.stdout, res)
	}
	if outcome.code == 0 {
		return nil
	}
	return outcome
}

// exitError is an error with its own exit status; run returns it to the
// shell, so a cron job or a systemd timer sees what the pass saw.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// passExit is the exit status of a pass: 0 when it checked every meeting,
// 1 when it could not check at all, 2 when some meetings were left unchecked.
func passExit(res reconciler.Result) *exitError {
	switch res.Outcome {
	case store.RunFailed:
		return &exitError{code: 1, msg: "reconcile failed: " + res.Failure}
	case store.RunPartial:
		return &exitError{code: 2, msg: fmt.Sprintf("reconcile: %s could not be checked; run it again to check them", plural(len(res.Errors), "meeting", "meetings"))}
	}
	return &exitError{code: 0}
}

// jsonResult is what --output json prints: the pass's result and the exit
// status it ends with.
type jsonResult struct {
	reconciler.Result
	ExitCode int `json:"exit_code"`
}

// plural says "1 meeting", "3 meetings".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// progressPrinter redraws one status line on a terminal.
func progressPrinter(w io.Writer) func(reconciler.Progress) {
	return func(p reconciler.Progress) {
		eta := "?"
		if p.Checked > 0 && p.Total > p.Checked {
			eta = (p.Elapsed / time.Duration(p.Checked) * time.Duration(p.Total-p.Checked)).Round(time.Second).String()
		} else if p.Total <= p.Checked {
			eta = "0s"
		}
		fmt.Fprintf(w, "\r\033[Kmeetings checked %d/%d  api calls %d  eta %s", p.Checked, p.Total, p.APICalls, eta)
	}
}

func printResult(w io.Writer, res reconciler.Result) {
	// A pass that could not check says so first: the counts below it are
	// not a clean bill of health.
	if res.Outcome == store.RunFailed {
		fmt.Fprintf(w, "FAILED: nothing could be checked: %s\n", res.Failure)
	}
	mode := ""
	if res.DryRun {
		mode = " (dry run: nothing written, nobody alerted)"
	}
	fmt.Fprintf(w, "Window %s to %s, listing via the %s API%s\n",
		res.Window.Since.UTC().Format(time.RFC3339), res.Window.Until.UTC().Format(time.RFC3339), res.Path, mode)
	verb := "Checked"
	if res.Outcome == store.RunFailed {
		verb = "Got as far as"
	}
	fmt.Fprintf(w, "%s %s with %s in %s: %s\n", verb,
		plural(res.MeetingsChecked, "meeting", "meetings"), plural(int(res.APICalls), "API call", "API calls"),
		res.Duration.Round(time.Millisecond), plural(len(res.Discrepancies), "new discrepancy", "new discrepancies"))
	if len(res.Discrepancies) > 0 {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "KIND\tMEETING ID\tTOPIC\tPARTICIPANT\tBACKFILLED\tDETAIL")
		for _, f := range res.Discrepancies {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", f.Kind, meetingIDText(f.MeetingID), dash(f.Topic), dash(f.Participant), yesNo(f.Backfilled), f.Detail)
		}
		_ = tw.Flush()
	}
	for _, e := range res.Errors {
		fmt.Fprintln(w, "could not check:", e)
	}
}

func meetingIDText(id int64) string {
	if id == 0 {
		return "-"
	}
	return strconv.FormatInt(id, 10)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// webSocketOnly is the subscription ID when events come only over the
// WebSocket, so its gaps are certain loss; empty otherwise.
func webSocketOnly(cfg *config.Config) string {
	if cfg.WebSocketOnly() {
		return cfg.Zoom.WebSocketSubscriptionID
	}
	return ""
}
