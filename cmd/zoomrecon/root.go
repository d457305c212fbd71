package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/reconciler"
	"github.com/zoomrecon/zoomrecon/store"
)

// version is set at build time with -ldflags "-X main.version=..."; when it
// is not, buildVersion asks the toolchain's build information.
var version = "dev"

// env is everything a command takes from the process, so tests can supply it.
type env struct {
	stdout, stderr io.Writer
	lookupEnv      func(string) (string, bool)
	// stderrIsTerminal picks text logs and progress output over JSON.
	stderrIsTerminal bool
	// notify sends a state to systemd ("READY=1"); a no-op outside systemd.
	notify func(state string)
	// onListen is told the HTTP server's address once it listens.
	onListen func(addr net.Addr)
	// onMetricsListen, if set, is told the operator server's address
	// (ZOOMRECON_METRICS_ADDR) once it listens.
	onMetricsListen func(addr net.Addr)
	// afterPass is told each scheduled reconcile pass's outcome; tests wait on it.
	afterPass func(reconciler.Result, error)
	now       func() time.Time
	// zoomRetryWait, when set, replaces the Zoom client's backoff between
	// retries (1 s doubling to 30 s), so a test of a failing Zoom does not
	// wait out a minute of it.
	zoomRetryWait time.Duration
	// wsHeartbeat, when set, replaces the WebSocket's heartbeat interval
	// (25 s), which also renews the claim on the subscription.
	wsHeartbeat time.Duration
	// relayBackoff, when set, replaces the relay's backoff (1 s doubling to
	// 10 m) and poll (500 ms), so a test of a failing destination is quick.
	relayBackoff time.Duration
}

func newEnv() env {
	return env{
		stdout:           os.Stdout,
		stderr:           os.Stderr,
		lookupEnv:        os.LookupEnv,
		stderrIsTerminal: term.IsTerminal(int(os.Stderr.Fd())),
		notify:           func(state string) { _, _ = daemon.SdNotify(false, state) },
		onListen:         func(net.Addr) {},
		afterPass:        func(reconciler.Result, error) {},
		now:              time.Now,
	}
}

// run executes the command line and returns the process exit code.
func run(ctx context.Context, args []string, e env) int {
	root := newRootCmd(e)
	root.SetArgs(args)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	printError(e.stderr, err)
	if ee, ok := errors.AsType[*exitError](err); ok {
		return ee.code
	}
	return 1
}

// printError writes err one problem per line, each prefixed with the program
// name, so a list of config problems reads as a list.
func printError(w io.Writer, err error) {
	for line := range strings.SplitSeq(err.Error(), "\n") {
		if line != "" {
			fmt.Fprintln(w, "zoomrecon: "+line)
		}
	}
}

func newRootCmd(e env) *cobra.Command {
	var configPath string
	root := &cobra.Command{
		Use:   "zoomrecon",
		Short: "Receive Zoom webhooks, reconcile them against Zoom's API, and alert on what went missing",
		Long: `zoomrecon receives Zoom webhooks, stores every event before answering, checks
Zoom's REST API for what the webhooks missed, backfills it, and tells your team
on Slack.

Configuration comes from a YAML file (--config) and environment variables;
run "zoomrecon config check" to see the effective values.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		// --version prints what the version command prints.
		Version: versionLine(),
	}
	root.SetVersionTemplate("{{.Version}}\n")
	root.Flags().BoolP("version", "v", false, `print the version, as "zoomrecon version" does`)
	root.PersistentFlags().StringVar(&configPath, "config", "", "YAML config file (environment variables override it)")

	load := func() (*config.Config, error) {
		return config.Load(configPath, e.lookupEnv)
	}
	root.AddCommand(
		newServeCmd(e, load),
		newDemoCmd(e, load),
		newMigrateCmd(e, load),
		newReconcileCmd(e, load),
		newReplayCmd(e, load),
		newStatusCmd(e, load),
		newAckCmd(e, load),
		newMuteCmd(e, load),
		newUnmuteCmd(e, load),
		newConfigCmd(e, load),
		newVersionCmd(e),
		newGenDocsCmd(e),
	)
	return root
}

// newLogger picks the handler once: text for a person at a terminal, JSON for
// journald and log shippers.
func newLogger(e env, level string) *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if e.stderrIsTerminal {
		return slog.New(slog.NewTextHandler(e.stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(e.stderr, opts))
}

// databaseError names the config key behind a database failure, so a user
// knows which setting to fix.
func databaseError(err error) error {
	if errors.Is(err, context.Canceled) {
		return err
	}
	if errors.Is(err, store.ErrNoDatabase) {
		// The message already names the file; both ways out name the key.
		return fmt.Errorf(`%w: run "zoomrecon migrate" to create it, or set ZOOMRECON_DATABASE_URL to the database zoomrecon serve uses`, err)
	}
	return fmt.Errorf("ZOOMRECON_DATABASE_URL: %s", strings.ReplaceAll(err.Error(), "\n", " "))
}

// openReadOnly opens the database for a command that only looks, refusing
// one that does not exist or is not migrated.
func openReadOnly(ctx context.Context, cfg *config.Config) (*store.Store, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL.Reveal(), store.Options{ReadOnly: true})
	if err != nil {
		return nil, databaseError(err)
	}
	if err := st.Ready(ctx); err != nil {
		_ = st.Close()
		return nil, databaseError(err)
	}
	return st, nil
}
