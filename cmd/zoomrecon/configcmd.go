package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/zoomrecon/zoomrecon/config"
)

func newConfigCmd(e env, load func() (*config.Config, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Inspect the configuration",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check",
		Short: "Validate the configuration and print the effective values, secrets redacted",
		Long: `Validate the configuration from --config and the environment. On success it
prints every key with its effective value and where the value came from, with
secrets redacted; otherwise it lists every problem and exits non-zero.`,
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
			_, err = fmt.Fprintf(e.stdout, "\nconfiguration is valid (alerts: %s, Zoom API: %s)\n", cfg.SlackMode(), zoomMode(cfg))
			return err
		},
	})
	return cmd
}

func zoomMode(cfg *config.Config) string {
	if cfg.ZoomConfigured() {
		return "configured"
	}
	return "not configured"
}
