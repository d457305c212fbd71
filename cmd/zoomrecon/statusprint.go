package main

import (
	"cmp"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
)

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
