package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/store"
)

// This file holds the commands people use on discrepancies: ack, mute (and
// mute list) and unmute. They write to the database only; the running serve
// edits the Slack messages on its next alert pass.

func newAckCmd(e env, load func() (*config.Config, error)) *cobra.Command {
	var note, by string
	cmd := &cobra.Command{
		Use:   "ack ID [--note TEXT]",
		Short: "Acknowledge a discrepancy: someone is on it",
		Long: `Acknowledge the open discrepancy ID (as "zoomrecon status" lists it): it
stays open, since nothing was fixed, but status shows it acknowledged, and its
Slack message, where the bot posted it, is edited to say by whom and why.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("ID", args[0], "discrepancy")
			if err != nil {
				return err
			}
			st, err := openWritable(cmd.Context(), load)
			if err != nil {
				return err
			}
			defer st.Close()
			who := cmp.Or(by, userName(e))
			d, err := st.Acknowledge(cmd.Context(), id, who, note, e.now())
			switch {
			case errors.Is(err, store.ErrNotFound):
				return fmt.Errorf(`discrepancy %d does not exist; "zoomrecon status" lists discrepancies with their IDs`, id)
			case errors.Is(err, store.ErrResolved):
				got, gerr := st.DiscrepancyByID(cmd.Context(), id)
				if gerr != nil {
					return gerr
				}
				return fmt.Errorf("discrepancy %d is resolved already (%s); there is nothing to acknowledge", id, got.Resolution.Text())
			case err != nil:
				return err
			}
			fmt.Fprintf(e.stdout, "Acknowledged discrepancy %d (%s) as %s.\n", d.ID, d.Kind, orDash(who))
			return nil
		},
	}
	cmd.Flags().StringVar(&note, "note", "", "why, or what you are doing about it; shown in status and on Slack")
	cmd.Flags().StringVar(&by, "by", "", "who acknowledges (default: $USER)")
	return cmd
}

func newMuteCmd(e env, load func() (*config.Config, error)) *cobra.Command {
	var (
		host, reason, forText, by string
		meetingID                 int64
	)
	cmd := &cobra.Command{
		Use:   "mute (--host EMAIL | --meeting ID) --for 7d --reason TEXT",
		Short: "Hold back the alerts of one host's or one meeting's discrepancies for a while",
		Long: `Hold back the alerts of one host's or one meeting's discrepancies until the
mute runs out (--for) or "zoomrecon unmute" lifts it. Discrepancies are still
recorded and "zoomrecon status" shows them muted; their alerts are not sent, not
even after the mute ends. Open discrepancies already alerted have their Slack
message, where the bot posted it, edited to say they are muted.

--host matches a meeting whose host has that Zoom user ID, or whose host
zoomrecon has seen join a meeting with that email (Zoom's meeting webhooks carry
the host's user ID only; the host's participant record carries the email).
--meeting matches every instance of that numeric meeting ID. Account-wide
discrepancies (webhook silence, refused URL validation) are never muted.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host = strings.TrimSpace(host)
			var problems []error
			if (host == "") == (meetingID == 0) {
				problems = append(problems, errors.New("--host or --meeting: set exactly one, e.g. --host ana@example.com or --meeting 81234567890"))
			}
			if meetingID < 0 {
				problems = append(problems, fmt.Errorf("--meeting: %d is not a meeting ID; use the number Zoom shows, e.g. 81234567890", meetingID))
			}
			d, err := parseFor("--for", forText)
			if err != nil {
				problems = append(problems, err)
			}
			if strings.TrimSpace(reason) == "" {
				problems = append(problems, errors.New(`--reason: required; say why, e.g. --reason "test account"`))
			}
			if err := errors.Join(problems...); err != nil {
				return err
			}
			st, err := openWritable(cmd.Context(), load)
			if err != nil {
				return err
			}
			defer st.Close()
			now := e.now()
			m, err := st.AddMute(cmd.Context(), store.Mute{Host: host, MeetingID: meetingID, Reason: reason,
				CreatedBy: cmp.Or(by, userName(e)), CreatedAt: now, Until: now.Add(d)})
			if err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "Mute %d: alerts about %s are held back until %s (%s).\n", m.ID, muteSubject(m),
				m.Until.UTC().Format(time.RFC3339), m.Reason)
			return nil
		},
	}
	cmd.Flags().StringVar(&host, "host", "", "the host's email (or Zoom user ID)")
	cmd.Flags().Int64Var(&meetingID, "meeting", 0, "the numeric meeting ID")
	cmd.Flags().StringVar(&forText, "for", "", "how long: 72h, 7d")
	cmd.Flags().StringVar(&reason, "reason", "", "why; shown in status and on Slack (required)")
	cmd.Flags().StringVar(&by, "by", "", "who mutes (default: $USER)")
	cmd.AddCommand(newMuteListCmd(e, load))
	return cmd
}

// muteView is one mute in mute list's JSON.
type muteView struct {
	ID        int64     `json:"id"`
	Host      string    `json:"host,omitempty"`
	MeetingID int64     `json:"meeting_id,omitempty"`
	Reason    string    `json:"reason"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	Until     time.Time `json:"until"`
}

func newMuteListCmd(e env, load func() (*config.Config, error)) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the active mutes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			cfg, err := load()
			if err != nil {
				return err
			}
			st, err := openReadOnly(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			defer st.Close()
			mutes, err := st.ActiveMutes(cmd.Context(), e.now())
			if err != nil {
				return err
			}
			views := make([]muteView, len(mutes))
			for i, m := range mutes {
				views[i] = muteView{ID: m.ID, Host: m.Host, MeetingID: m.MeetingID, Reason: m.Reason, CreatedBy: m.CreatedBy,
					CreatedAt: m.CreatedAt.UTC(), Until: m.Until.UTC()}
			}
			if output == "json" {
				enc := json.NewEncoder(e.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(views)
			}
			if len(views) == 0 {
				fmt.Fprintln(e.stdout, "No active mutes.")
				return nil
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tHOST\tMEETING ID\tUNTIL\tBY\tREASON")
			for _, v := range views {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", v.ID, dash(v.Host), meetingIDText(v.MeetingID),
					v.Until.Format(time.RFC3339), dash(v.CreatedBy), v.Reason)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}

func newUnmuteCmd(e env, load func() (*config.Config, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "unmute ID",
		Short: "Lift a mute: alerts of new discrepancies go out again",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("ID", args[0], "mute")
			if err != nil {
				return err
			}
			st, err := openWritable(cmd.Context(), load)
			if err != nil {
				return err
			}
			defer st.Close()
			m, err := st.Unmute(cmd.Context(), id, e.now())
			switch {
			case errors.Is(err, store.ErrNotFound):
				return fmt.Errorf(`mute %d does not exist; "zoomrecon mute list" lists the active mutes`, id)
			case errors.Is(err, store.ErrMuteEnded):
				return fmt.Errorf(`mute %d has ended already; "zoomrecon mute list" lists the active mutes`, id)
			case err != nil:
				return err
			}
			fmt.Fprintf(e.stdout, "Mute %d lifted: alerts about %s go out again.\n", m.ID, muteSubject(m))
			return nil
		},
	}
}

// muteSubject names what a mute holds back, for a sentence.
func muteSubject(m store.Mute) string {
	if m.Host != "" {
		return "host " + m.Host
	}
	return "meeting " + strconv.FormatInt(m.MeetingID, 10)
}

// parseID reads a positive numeric ID; the error names the argument.
func parseID(arg, s, what string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%s: %q is not a %s ID; use the number zoomrecon lists, e.g. 12", arg, s, what)
	}
	return id, nil
}

// parseFor reads a positive duration given as Go does (72h, 90m) or in days
// (7d); the error names the flag.
func parseFor(flag, s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return d, nil
	}
	if days, ok := strings.CutSuffix(s, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n > 0 && n <= 3650 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	}
	return 0, fmt.Errorf("%s: %q is not a positive duration; use e.g. 72h or 7d", flag, s)
}

// userName is who runs the command, for the record: $USER, else empty.
func userName(e env) string {
	u, _ := e.lookupEnv("USER")
	return u
}

func orDash(s string) string { return cmp.Or(s, "-") }

// openWritable opens the database for a command that records what a person
// did. It neither creates nor migrates one: a mistyped path must not become
// an empty database that knows no discrepancy.
func openWritable(ctx context.Context, load func() (*config.Config, error)) (*store.Store, error) {
	cfg, err := load()
	if err != nil {
		return nil, err
	}
	ro, err := openReadOnly(ctx, cfg)
	if err != nil {
		return nil, err
	}
	_ = ro.Close()
	st, err := store.Open(ctx, cfg.DatabaseURL.Reveal(), store.Options{})
	if err != nil {
		return nil, databaseError(err)
	}
	return st, nil
}
