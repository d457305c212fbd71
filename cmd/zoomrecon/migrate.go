package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/store"
)

func newMigrateCmd(e env, load func() (*config.Config, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or update the database schema",
		Long:  "Apply every pending migration to the database in ZOOMRECON_DATABASE_URL. Running it again changes nothing.",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			logger := newLogger(e, cfg.LogLevel)
			st, err := store.Open(cmd.Context(), cfg.DatabaseURL.Reveal(), store.Options{Logger: logger})
			if err != nil {
				return databaseError(err)
			}
			defer st.Close()
			n, err := st.Migrate(cmd.Context())
			if err != nil {
				return databaseError(err)
			}
			if n == 0 {
				_, err = fmt.Fprintf(e.stdout, "%s schema is up to date\n", st.Dialect())
			} else {
				_, err = fmt.Fprintf(e.stdout, "applied %d migration(s) to the %s schema\n", n, st.Dialect())
			}
			return err
		},
	}
}
