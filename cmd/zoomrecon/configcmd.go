package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/zoomrecon/zoomrecon/config"
)

func newConfigCmd(e env, load func() (*config.Config, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
	}
	var strict bool
	check := &cobra.Command{
		Use:   "check [--strict]",
		Short: "Validate the configuration and print the effective values, secrets redacted",
		Long: `Validate the configuration from --config and the environment. On success it
prints every key with its effective value and where the value came from, then
the url, secret_token and events of each destination of the YAML forward list
(as forward[NAME].url and so on), with secrets redacted. Then comes a
"warning:" line for each setting that leaves zoomrecon unable to do part of
its job (the same warnings serve logs at start): no webhook secret token, no
Zoom API credentials, no Slack route. The last line names the destinations
events are forwarded to. Otherwise it lists every problem and exits non-zero.

With --strict, any warning also makes it exit non-zero, for deploy checks.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tVALUE\tSOURCE")
			for _, en := range cfg.Entries() {
				value := en.Value
				if value == "" {
					value = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", en.Key, value, en.Source)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintln(e.stdout)
			warnings := cfg.Warnings()
			for _, w := range warnings {
				fmt.Fprintln(e.stdout, "warning: "+w)
			}
			valid := "configuration is valid"
			if len(warnings) > 0 {
				valid += ", with " + plural(len(warnings), "warning", "warnings") + " above"
			}
			if _, err := fmt.Fprintf(e.stdout, "%s (alerts: %s, Zoom API: %s%s)\n", valid, cfg.SlackMode(), zoomMode(cfg), forwardMode(cfg)); err != nil {
				return err
			}
			if strict && len(warnings) > 0 {
				return fmt.Errorf("--strict: %s above; set what they name, or drop --strict", plural(len(warnings), "warning", "warnings"))
			}
			return nil
		},
	}
	check.Flags().BoolVar(&strict, "strict", false, "exit non-zero when there is any warning")
	cmd.AddCommand(check)
	return cmd
}

// forwardMode names the destinations events are forwarded to, if any, for
// the verdict line.
func forwardMode(cfg *config.Config) string {
	if len(cfg.Forward) == 0 {
		return ""
	}
	names := make([]string, len(cfg.Forward))
	for i, d := range cfg.Forward {
		names[i] = d.Name
	}
	return ", forward to: " + strings.Join(names, ", ")
}

func zoomMode(cfg *config.Config) string {
	if cfg.ZoomConfigured() {
		return "configured"
	}
	return "not configured"
}
