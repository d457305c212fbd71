package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"

	"github.com/zoomrecon/zoomrecon/alerts"
	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/reconciler"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/webhook"
	"github.com/zoomrecon/zoomrecon/wsintake"
	"github.com/zoomrecon/zoomrecon/zoomapi"
)

// shutdownTimeout bounds how long in-flight requests may take to finish once
// a stop is asked for; systemd's TimeoutStopSec should be longer.
const shutdownTimeout = 10 * time.Second

func newServeCmd(e env, load func() (*config.Config, error)) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the daemon: migrate the database, then serve HTTP until stopped",
		Long: `Run zoomrecon as a daemon. It applies pending migrations, listens on
ZOOMRECON_LISTEN_ADDR and serves /healthz, /readyz and /metrics (on
ZOOMRECON_METRICS_ADDR instead when it is set), and stops cleanly on SIGTERM
or SIGINT.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			return serve(cmd.Context(), cfg, e, newLogger(e, cfg.LogLevel))
		},
	}
}

// serve runs the daemon until ctx ends. It owns the shutdown order.
func serve(ctx context.Context, cfg *config.Config, e env, logger *slog.Logger) error {
	// What config check warns about, said once here and nowhere else.
	for _, w := range cfg.Warnings() {
		logger.WarnContext(ctx, w)
	}
	st, err := store.Open(ctx, cfg.DatabaseURL.Reveal(), store.Options{Logger: logger.With("component", "migrations"), Forward: forwardRoutes(cfg)})
	if err != nil {
		return databaseError(err)
	}
	defer st.Close()
	n, err := st.Migrate(ctx)
	if err != nil {
		return databaseError(err)
	}
	if n > 0 {
		logger.InfoContext(ctx, "database migrated", "dialect", st.Dialect(), "migrations_applied", n)
	}
	now := e.now()
	first, err := st.InitState(ctx, store.StateFirstStart, now.UTC().Format(time.RFC3339), now)
	if err != nil {
		return databaseError(err)
	}
	firstStart, err := time.Parse(time.RFC3339, first)
	if err != nil {
		return fmt.Errorf("the first start stored in the database (%q) is not an RFC 3339 time; fix or delete the daemon_state row %q", first, store.StateFirstStart)
	}
	// The reconciler learns from the runs' heartbeats when zoomrecon was
	// down, so that Zoom's retries of what it sent meanwhile are waited for.
	up, err := startUptime(ctx, st, e, cfg, logger)
	if err != nil {
		return databaseError(err)
	}

	reg := newRegistry()
	reg.MustRegister(newOpenDiscrepancies(st, logger))
	// The operator endpoints; with ZOOMRECON_METRICS_ADDR set they get their
	// own listener, so the one exposed to Zoom serves only the webhook path.
	ops := http.NewServeMux()
	mux := http.NewServeMux()
	opsRoutes := ops
	if cfg.MetricsAddr == "" {
		opsRoutes = mux
	}
	opsRoutes.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	opsRoutes.Handle("GET /readyz", readyHandler(st, up, logger))
	opsRoutes.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	// The handler also stores what the WebSocket brings; its route is only
	// served when webhooks are to be received.
	hook := newWebhookHandler(ctx, cfg, st, e, logger, reg)
	if !cfg.WebSocketOnly() {
		mux.Handle(cfg.WebhookPath, hook)
	}

	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		// Zoom gives up on a delivery after 3 s; nothing we serve needs longer.
		ReadTimeout:  10 * time.Second,
		WriteTimeout: 10 * time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	// Built before listening: they seed their gauges, which the first scrape
	// must already see.
	// One client, so the reconciler and the WebSocket share its token.
	zc, err := newZoomClient(cfg, e, logger, reg)
	if err != nil && !errors.Is(err, errNoZoomCredentials) { // missing credentials were warned about above
		logger.Warn("reconciler disabled: webhooks are received, but nothing checks them against Zoom's API", slog.Any("reason", err))
	}
	var loop *reconciler.Loop
	if zc != nil {
		loop = newReconcileLoop(ctx, cfg, e, st, zc, firstStart, logger, reg)
	}
	var intake *wsintake.Intake
	if cfg.WebSocketConfigured() && zc != nil { // config refuses a subscription without credentials
		intake = newWebSocketIntake(cfg, e, zc, hook, st, up.id, loop, logger, reg)
		logger.InfoContext(ctx, "receiving Zoom's events over the WebSocket event subscription",
			"subscription_id", cfg.Zoom.WebSocketSubscriptionID, "webhooks_too", !cfg.WebSocketOnly())
	}
	sender, err := alerts.New(alerts.Config{
		WebhookURL: cfg.Slack.WebhookURL.Reveal(), BotToken: cfg.Slack.BotToken.Reveal(),
		Channel: cfg.Slack.Channel, APIURL: cfg.Slack.APIURL,
		NowFunc: e.now, Logger: logger, Registerer: reg, RunID: up.id,
	}, st)
	if err != nil {
		return err
	}
	if err := sender.SeedMetrics(ctx); err != nil && ctx.Err() == nil {
		logger.Warn("could not read when Slack last accepted an alert; its gauge starts at 0", slog.Any("error", err))
	}

	ret := newRetention(cfg, e, st, logger, reg)
	rel := newRelay(ctx, cfg, e, st, up.id, logger, reg)

	// Listen before serving so a bind error is returned here and READY=1 means
	// a live listener.
	var opsSrv *http.Server
	if cfg.MetricsAddr != "" {
		opsLn, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("ZOOMRECON_METRICS_ADDR: %w", err)
		}
		if e.onMetricsListen != nil {
			e.onMetricsListen(opsLn.Addr())
		}
		logger.InfoContext(ctx, "serving /metrics, /healthz and /readyz", "addr", opsLn.Addr().String())
		opsSrv = &http.Server{
			Handler: ops, ReadHeaderTimeout: srv.ReadHeaderTimeout, ReadTimeout: srv.ReadTimeout,
			WriteTimeout: srv.WriteTimeout, IdleTimeout: srv.IdleTimeout, ErrorLog: srv.ErrorLog,
		}
		opsDone := make(chan struct{})
		go func() {
			defer close(opsDone)
			if err := opsSrv.Serve(opsLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logger.Error("metrics server", slog.Any("error", err))
			}
		}()
		defer func() {
			// Last, so /metrics and /readyz answer while the rest shuts down.
			shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			_ = opsSrv.Shutdown(shutCtx)
			<-opsDone
		}()
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("ZOOMRECON_LISTEN_ADDR: %w", err)
	}
	e.onListen(ln.Addr())
	logger.InfoContext(ctx, "zoomrecon serving", "addr", ln.Addr().String(), "version", buildVersion(), "database", st.Dialect())

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	// The loops stop before the database closes (deferred above).
	loopCtx, stopLoops := context.WithCancel(context.WithoutCancel(ctx))
	defer stopLoops()
	var loops sync.WaitGroup
	loops.Go(func() { _ = sender.Run(loopCtx) })
	loops.Go(func() { _ = hook.Run(loopCtx) })
	loops.Go(func() { up.run(loopCtx) })
	if loop != nil {
		loops.Go(func() { _ = loop.Run(loopCtx) })
	}
	if intake != nil {
		loops.Go(func() { _ = intake.Run(loopCtx) })
	}
	loops.Go(func() { runRelay(loopCtx, rel) })
	if ret != nil {
		loops.Go(func() { ret.run(loopCtx) })
	}
	if interval, ok := watchdogInterval(e); ok {
		loops.Go(func() { watchdog(loopCtx, interval, st, e.notify) })
	}
	e.notify("READY=1")

	select {
	case err := <-serveErr:
		stopLoops()
		loops.Wait()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}

	// Shutdown order: stop taking requests and finish those in flight, then
	// (deferred) close the database.
	logger.Info("shutting down")
	e.notify("STOPPING=1")
	shutdownCtx, cancel := context.WithTimeoutCause(context.Background(), shutdownTimeout,
		errors.New("http shutdown took longer than 10s"))
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		logger.Warn("http shutdown", slog.Any("error", context.Cause(shutdownCtx)))
	}
	serveErr2 := <-serveErr
	// A pass in progress stops between meetings.
	stopLoops()
	loops.Wait()
	// The last heartbeat says when zoomrecon stopped answering Zoom.
	up.beat(context.Background())
	// One last try to deliver what the passes queued.
	finalCtx, cancelFinal := context.WithTimeoutCause(context.Background(), 5*time.Second,
		errors.New("final alert delivery took longer than 5s"))
	if _, err := sender.Pass(finalCtx); err != nil {
		logger.Warn("final alert delivery", slog.Any("error", err))
	}
	cancelFinal()
	// Only now, with nothing more to send, may other runs take up what this
	// one still claims.
	endCtx, cancelEnd := context.WithTimeout(context.Background(), 5*time.Second)
	if err := up.end(endCtx); err != nil {
		logger.Warn("could not record that zoomrecon stopped; its claimed alerts wait for their lease", slog.Any("error", err))
	}
	cancelEnd()
	if serveErr2 != nil && !errors.Is(serveErr2, http.ErrServerClosed) {
		return fmt.Errorf("http server: %w", serveErr2)
	}
	logger.Info("stopped")
	return nil
}

// newWebhookHandler builds the receiver Zoom posts to.
func newWebhookHandler(ctx context.Context, cfg *config.Config, st *store.Store, e env, logger *slog.Logger, reg prometheus.Registerer) *webhook.Handler {
	tokens := make([]string, 0, len(cfg.Zoom.WebhookSecretTokens))
	for _, t := range cfg.Zoom.WebhookSecretTokens {
		tokens = append(tokens, t.Reveal())
	}
	// The gauges of the last answered validation and the last event carry
	// over restarts, so an alert on their age does not fire on every deploy.
	validated, err := st.LastURLValidationAnswered(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		logger.Warn("could not read when Zoom's URL validation was last answered", slog.Any("error", err))
	}
	lastEvent, err := st.LastEventReceivedAt(ctx)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		logger.Warn("could not read when the last webhook was accepted", slog.Any("error", err))
	}
	return webhook.NewHandler(webhook.Config{
		SecretTokens:   tokens,
		ReplayWindow:   cfg.WebhookReplayWindow,
		Now:            e.now,
		LastValidation: validated,
		LastEvent:      lastEvent,
	}, st, logger, reg)
}

// readyHandler answers 200 while the database answers, is fully migrated and
// commits (it records a heartbeat), and 503 otherwise, so a load balancer or
// systemd check can act on it.
func readyHandler(st *store.Store, up *uptime, logger *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		err := st.Ready(ctx)
		if err == nil {
			err = up.beat(ctx)
		}
		if err != nil {
			logger.WarnContext(ctx, "not ready", slog.Any("error", err))
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = fmt.Fprintf(w, "not ready: database unavailable, not migrated or not committing\n")
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
}

// newRegistry returns the process's one metrics registry; every component
// registers its metrics on it through its constructor.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "zoomrecon_build_info",
			Help:        "Always 1; the version label says which zoomrecon is running.",
			ConstLabels: prometheus.Labels{"version": buildVersion()},
		}, func() float64 { return 1 }),
	)
	return reg
}

// newWebSocketIntake builds the receiver of the WebSocket event
// subscription. Each reconnection runs a reconcile pass at once: what Zoom
// sent meanwhile is lost and only the API can fill it.
func newWebSocketIntake(cfg *config.Config, e env, zc *zoomapi.Client, hook *webhook.Handler, st *store.Store, runID int64,
	loop *reconciler.Loop, logger *slog.Logger, reg prometheus.Registerer) *wsintake.Intake {
	wc := wsintake.Config{
		URL: cfg.Zoom.WebSocketURL, SubscriptionID: cfg.Zoom.WebSocketSubscriptionID, RunID: runID,
		AlertAfter: cfg.WebSocketAlertAfter, HeartbeatInterval: e.wsHeartbeat, Now: e.now,
	}
	if loop != nil {
		wc.OnConnected = func(gap store.WebSocketGap) { loop.Kick(gap.StartedAt) }
	}
	return wsintake.New(wc, zc, hook, st, logger, reg)
}

// newReconcileLoop builds the scheduled sweep.
func newReconcileLoop(ctx context.Context, cfg *config.Config, e env, st *store.Store, zc *zoomapi.Client, firstStart time.Time, logger *slog.Logger, reg prometheus.Registerer) *reconciler.Loop {
	r := newReconciler(cfg, e, st, zc, logger, reg)
	if err := r.SeedMetrics(ctx); err != nil && ctx.Err() == nil {
		logger.Warn("could not read when the last reconcile pass succeeded; its gauge starts at 0", slog.Any("error", err))
	}
	return reconciler.NewLoop(reconciler.LoopConfig{
		Interval: cfg.Reconcile.Interval, Lookback: cfg.Reconcile.Lookback, FirstStart: firstStart,
		NowFunc: e.now, Logger: logger, AfterPassFunc: e.afterPass,
	}, r)
}

// watchdogInterval reads the watchdog period systemd asks for (WatchdogSec=
// sets WATCHDOG_USEC) and returns how often to ping: twice per period.
func watchdogInterval(e env) (time.Duration, bool) {
	v, ok := e.lookupEnv("WATCHDOG_USEC")
	if !ok {
		return 0, false
	}
	usec, err := strconv.ParseInt(v, 10, 64)
	if err != nil || usec <= 0 {
		return 0, false
	}
	return time.Duration(usec) * time.Microsecond / 2, true
}

// watchdog tells systemd WATCHDOG=1 while the database answers and is
// migrated, so a daemon whose store has gone away is restarted rather than
// answering 503 forever.
func watchdog(ctx context.Context, every time.Duration, st *store.Store, notify func(string)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		pingCtx, cancel := context.WithTimeout(ctx, every)
		err := st.Ready(pingCtx)
		cancel()
		if err == nil {
			notify("WATCHDOG=1")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
