package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// The demo's compressed timings. The first cycle's first loss ends 4 s after
// the start; a pass every 3 s judges it once the 5 s grace has passed, and
// the alerts' sender (polling every 5 s) posts it: the first alert shows
// within about 20 s, inside the 30 s a newcomer gives a demo.
const (
	demoInterval     = 3 * time.Second
	demoGrace        = 5 * time.Second
	demoStaleAfter   = 2 * time.Minute
	demoSilenceAfter = time.Minute
	// demoWebSocketAlertAfter is how long the demo's WebSocket outages must
	// last to raise their alert; they last longer.
	demoWebSocketAlertAfter = 4 * time.Second
)

// demoSubscription is the fake Zoom's WebSocket event subscription.
const demoSubscription = "demoWebSocketSubscription"

// demoOptions are what the demo command takes from its flags, and the hooks
// tests use.
type demoOptions struct {
	// database is the demo's SQLite URL, sqlite:PATH; the file and its -wal
	// and -shm are deleted at start.
	database string
	// websocket receives the events over the fake Zoom's WebSocket event
	// subscription, with no webhook route, and loses them to outages of its
	// WebSocket host.
	websocket bool
	// zoomReadyFunc, if set, is handed the fake Zoom once it runs; tests
	// inject faults through it.
	zoomReadyFunc func(*zoomtest.Server)
}

func newDemoCmd(e env, load func() (*config.Config, error)) *cobra.Command {
	var opts demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Serve against a bundled fake Zoom that plays meetings and loses some of their webhooks",
		Long: `Run the daemon exactly as serve does, but against a fake Zoom and a Slack
stand-in started in the same process. Each start deletes the demo database
(--database-url, its -wal and -shm) and begins afresh.

The fake Zoom first plays a fixed cycle that shows each kind of loss: a
meeting whose meeting.ended is lost, a participant's leave lost, a whole
meeting lost (no webhook at all), and a host (Alice Hart) whose meetings all
lose meeting.ended while other hosts' meetings are complete. Then it plays a
meeting every few seconds, losing webhooks at random.

Every alert zoomrecon sends to Slack is printed on stdout as the support team
would read it ("edited:" marks an update of an earlier message); the Slack
settings in the environment are ignored. Logs go to stderr as text, warnings
and errors only unless ZOOMRECON_LOG_LEVEL is set. Ctrl-C (or SIGTERM) stops
it cleanly, mid-pass if need be (that pass is recorded as interrupted, no
error), and exits 0.

With --websocket, the events come over the fake Zoom's WebSocket event
subscription instead, with no webhook route at all, and what is lost is lost
to outages of Zoom's WebSocket host: every event of an outage, which
zoomrecon backfills in the pass it runs on reconnecting. An outage longer
than 4s raises the websocket_disconnected alert, resolved on reconnect.

Timing is compressed: a pass every 3s, grace 5s, stale after 2m, silence
after 1m. From another terminal:
  ZOOMRECON_DATABASE_URL=sqlite:zoomrecon-demo.db zoomrecon status`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return runDemo(cmd.Context(), cfg, e, opts)
		},
	}
	cmd.Flags().StringVar(&opts.database, "database-url", "sqlite:zoomrecon-demo.db",
		"SQLite database for the demo, deleted and recreated at each start (kept apart from zoomrecon.db)")
	cmd.Flags().BoolVar(&opts.websocket, "websocket", false,
		"receive the events over the fake Zoom's WebSocket event subscription, losing them to its outages")
	return cmd
}

// runDemo serves against a fake Zoom and a Slack stand-in until ctx ends.
func runDemo(ctx context.Context, cfg *config.Config, e env, opts demoOptions) error {
	out := &terminal{w: e.stdout}
	path, err := freshDemoDatabase(cfg, opts.database)
	if err != nil {
		return err
	}
	out.printf("demo: starting from a fresh database: %s (deleted with its -wal and -shm, then recreated)\n", path)

	slackLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("start the Slack stand-in: %w", err)
	}
	slack := newSlackStandIn(out)
	slackDone := make(chan struct{})
	go func() { defer close(slackDone); slack.serve(slackLn) }()
	defer func() { slack.close(); <-slackDone }()

	var zopts []zoomtest.Option
	if opts.websocket {
		zopts = append(zopts, zoomtest.WithWebSocketSubscription(demoSubscription))
	}
	zoom := zoomtest.New(zopts...)
	defer zoom.Close()
	if opts.zoomReadyFunc != nil {
		opts.zoomReadyFunc(zoom)
	}
	secret := randomHex(16)
	creds := zoom.Credentials()

	c := *cfg
	c.DatabaseURL = config.Secret(opts.database)
	c.Zoom.AccountID, c.Zoom.ClientID, c.Zoom.ClientSecret = creds.AccountID, creds.ClientID, config.Secret(creds.ClientSecret)
	c.Zoom.APIBaseURL, c.Zoom.OAuthTokenURL = zoom.APIURL(), zoom.TokenURL()
	c.Zoom.WebhookSecretTokens = []config.Secret{config.Secret(secret)}
	if opts.websocket {
		// The only route: no webhook is received at all.
		c.Zoom.WebhookSecretTokens = nil
		c.Zoom.WebSocketSubscriptionID = demoSubscription
		c.Zoom.WebSocketURL, _, _ = strings.Cut(zoom.WebSocketURL(), "?")
		c.WebSocketAlertAfter = demoWebSocketAlertAfter
	}
	c.Reconcile.Interval, c.Reconcile.MissedGrace = demoInterval, demoGrace
	c.Reconcile.StaleAfter, c.Reconcile.SilenceAfter, c.Reconcile.Lookback = demoStaleAfter, demoSilenceAfter, time.Hour
	// The demo's day lasts minutes: its listings may use the fake account's
	// whole quota, unpaced, or losses would show only after real hours.
	c.Zoom.ResourceIntensivePerMinute, c.Zoom.APIDailyBudget = 6000, config.Budget{Calls: 60_000}
	// Alerts go to the stand-in, as a bot that can edit its messages.
	c.Slack = config.SlackConfig{BotToken: config.Secret(slack.token), Channel: slackChannelName, APIURL: slack.apiURL(slackLn.Addr())}

	// serve runs until the demo stops it; a pass it cuts short is recorded
	// as interrupted, which is no error.
	serveCtx, stopServe := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServe()
	listening := make(chan net.Addr, 1)
	de := e
	de.onListen = func(a net.Addr) { e.onListen(a); listening <- a }
	served := make(chan error, 1)
	go func() { served <- serve(serveCtx, &c, de, demoLogger(e, &c)) }()

	// The player stops with the demo, or when serve fails on its own.
	playCtx, stopPlaying := context.WithCancel(ctx)
	var played sync.WaitGroup
	defer played.Wait() // before the deferred Close of the fake Zoom
	defer stopPlaying()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
		stopServe()
		return demoStopped(serveCtx, <-served)
	case a := <-listening:
		if !opts.websocket {
			port := a.(*net.TCPAddr).Port
			zoom.SetWebhookTarget(fmt.Sprintf("http://127.0.0.1:%d%s", port, c.WebhookPath), secret)
		}
	}
	if opts.websocket {
		if err := awaitWebSocket(ctx, zoom, served); err != nil {
			stopServe()
			return err
		}
	} else if err := zoom.ValidateURL(ctx); err != nil && ctx.Err() == nil {
		stopServe()
		<-served
		return fmt.Errorf("the fake Zoom could not validate the webhook URL: %w", err)
	}
	out.printf("demo: fake Zoom at %s; alerts print below as Slack would show them; Ctrl-C to stop\n", zoom.APIURL())
	played.Go(func() { playMeetings(playCtx, zoom, out, opts.websocket) })
	if opts.websocket {
		played.Go(func() { playOutages(playCtx, zoom, out) })
	}

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	out.printf("demo: stopping\n")
	stopServe()
	return demoStopped(serveCtx, <-served)
}

// awaitWebSocket waits until serve has connected to the fake Zoom's
// WebSocket, so the demo's first meetings are not lost before it did.
func awaitWebSocket(ctx context.Context, zoom *zoomtest.Server, served <-chan error) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(30 * time.Second)
	for !zoom.WebSocketConnected() {
		select {
		case err := <-served:
			return err
		case <-ctx.Done():
			return nil
		case <-deadline:
			return errors.New("zoomrecon did not connect to the fake Zoom's WebSocket within 30s")
		case <-tick.C:
		}
	}
	return nil
}

// demoStopped is serve's outcome as the demo reports it: a stop asked for
// while serve was still starting is no failure either.
func demoStopped(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// freshDemoDatabase deletes the demo's SQLite file and its -wal and -shm so
// every demo starts from the same fixed cycle, and returns the file's path.
// It refuses to delete the database serve uses.
func freshDemoDatabase(cfg *config.Config, database string) (string, error) {
	path, ok := strings.CutPrefix(database, "sqlite:")
	path = strings.TrimPrefix(path, "//")
	if !ok || path == "" {
		return "", fmt.Errorf("--database-url: the demo deletes and recreates its database at each start, so it must be a SQLite file, e.g. sqlite:zoomrecon-demo.db")
	}
	if served, ok := strings.CutPrefix(cfg.DatabaseURL.Reveal(), "sqlite:"); ok && samePath(strings.TrimPrefix(served, "//"), path) {
		return "", fmt.Errorf("--database-url: %s is the database ZOOMRECON_DATABASE_URL names, and the demo would delete it; give the demo a file of its own, e.g. sqlite:zoomrecon-demo.db", path)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("--database-url: delete the previous demo database: %w", err)
		}
	}
	return path, nil
}

func samePath(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// demoLogger keeps the daemon's log from burying the alerts on stdout: text
// on stderr, warnings and errors only unless ZOOMRECON_LOG_LEVEL asks for
// more.
func demoLogger(e env, cfg *config.Config) *slog.Logger {
	level := slog.LevelWarn
	if v, ok := e.lookupEnv("ZOOMRECON_LOG_LEVEL"); ok && v != "" {
		_ = level.UnmarshalText([]byte(cfg.LogLevel))
	}
	return slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
}

// terminal writes the demo's lines and rendered alerts to stdout whole, one
// at a time, though the player and the Slack stand-in write concurrently.
type terminal struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *terminal) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	_, _ = fmt.Fprintf(t.w, format, args...)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}
