package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// statusDaemon is the "daemon" and alert route of status's JSON.
type statusDaemon struct {
	Daemon struct {
		State        string     `json:"state"`
		Host         string     `json:"host"`
		LastSeenAt   *time.Time `json:"last_heartbeat_at"`
		StoppedAt    *time.Time `json:"stopped_at"`
		Version      string     `json:"version"`
		AlertRoute   string     `json:"alert_route"`
		SlackChannel string     `json:"slack_channel"`
		ListenAddr   string     `json:"listen_addr"`
		Reconciling  *bool      `json:"reconciling"`
	} `json:"daemon"`
	Alerts struct {
		Mode    string `json:"mode"`
		Channel string `json:"channel"`
	} `json:"alerts"`
}

func statusJSON(t *testing.T, vars map[string]string) statusDaemon {
	t.Helper()
	code, stdout, stderr := cliRun(t, vars, "status", "--output", "json")
	require.Equal(t, 0, code, stderr)
	var got statusDaemon
	require.NoError(t, json.Unmarshal([]byte(stdout), &got), stdout)
	return got
}

// TestStatusShowsTheDaemon: status reports the settings and liveness the
// last serve recorded in the database, never the shell's own config as if
// it were the daemon's.
func TestStatusShowsTheDaemon(t *testing.T) {
	t.Parallel()
	t.Run("NoServeEverRan", func(t *testing.T) {
		t.Parallel()
		// The shell has a webhook configured; no daemon said it uses one.
		vars := map[string]string{"ZOOMRECON_DATABASE_URL": storetest.SQLiteURL(t),
			"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T1/B1/shellsecret"}
		code, _, stderr := cliRun(t, vars, "migrate")
		require.Equal(t, 0, code, stderr)

		code, stdout, stderr := cliRun(t, vars, "status")
		require.Equal(t, 0, code, stderr)
		require.Contains(t, stdout, "Daemon:                no zoomrecon serve has run against this database\n")
		require.Contains(t, stdout, "Alerts:                route unknown (no serve recorded one); 0 pending, 0 dead\n")
		require.NotContains(t, stdout, "incoming webhook")

		got := statusJSON(t, vars)
		require.Equal(t, "never", got.Daemon.State)
		require.Empty(t, got.Alerts.Mode)
	})

	for _, bk := range storetest.Backends() {
		t.Run("BotRouteRecordedByServeShowsWithoutShellSlackSettings/"+bk.Name, func(t *testing.T) {
			t.Parallel()
			dbURL := bk.URL(t)
			srv := startServe(t, map[string]string{"ZOOMRECON_DATABASE_URL": dbURL,
				"SLACK_BOT_TOKEN": "xoxb-daemon-only", "SLACK_CHANNEL": "#zoom-alerts",
				// Nothing is sent; should anything try, it fails fast.
				"SLACK_API_URL": "http://127.0.0.1:1/api/"})
			shell := map[string]string{"ZOOMRECON_DATABASE_URL": dbURL}

			code, stdout, stderr := cliRun(t, shell, "status")
			require.Equal(t, 0, code, stderr)
			require.Regexp(t, `Daemon:                up, last heartbeat \d+s ago \(on \S+, pid \d+, started \S+\)\n`, stdout)
			require.Contains(t, stdout, "zoomrecon "+version+", listening on 127.0.0.1:0, "+map[string]string{"SQLite": "sqlite", "PostgreSQL": "postgres"}[bk.Name]+" database\n")
			require.Contains(t, stdout, "not reconciling: it has no Zoom API credentials\n")
			require.Contains(t, stdout, "Alerts:                Slack bot in #zoom-alerts; 0 pending, 0 dead\n")
			require.NotContains(t, stdout, "xoxb-daemon-only")

			got := statusJSON(t, shell)
			require.Equal(t, "up", got.Daemon.State)
			require.Equal(t, "bot", got.Daemon.AlertRoute)
			require.Equal(t, "#zoom-alerts", got.Daemon.SlackChannel)
			require.Equal(t, version, got.Daemon.Version)
			require.NotNil(t, got.Daemon.Reconciling)
			require.False(t, *got.Daemon.Reconciling)
			require.Equal(t, "bot", got.Alerts.Mode)
			require.Equal(t, "#zoom-alerts", got.Alerts.Channel)
			require.Nil(t, got.Daemon.StoppedAt)

			require.Equal(t, 0, srv.stop())
			code, stdout, stderr = cliRun(t, shell, "status")
			require.Equal(t, 0, code, stderr)
			require.Regexp(t, `Daemon:                stopped at \S+ \(on `, stdout)
			require.Contains(t, stdout, "Alerts:                Slack bot in #zoom-alerts;", "the stopped daemon's route still shows")
			got = statusJSON(t, shell)
			require.Equal(t, "stopped", got.Daemon.State)
			require.NotNil(t, got.Daemon.StoppedAt)
		})
	}

	t.Run("GoneWithoutStopping", func(t *testing.T) {
		t.Parallel()
		dbURL := storetest.SQLiteURL(t)
		st := storetest.Open(t, dbURL)
		ctx := context.Background()
		started := time.Now().Add(-5 * time.Hour)
		id, err := st.StartUptime(ctx, store.RunIdentity{Host: "web1", PID: 4242,
			Facts: []byte(`{"version":"1.2.3","alert_route":"webhook","listen_addr":":8080","database":"postgres","reconciling":true,"reconcile_interval":"5m0s","reconcile_lookback":"24h0m0s"}`)},
			nil, started, 7*24*time.Hour)
		require.NoError(t, err)
		require.NoError(t, st.Beat(ctx, id, time.Now().Add(-3*time.Hour)))
		shell := map[string]string{"ZOOMRECON_DATABASE_URL": dbURL}

		code, stdout, stderr := cliRun(t, shell, "status")
		require.Equal(t, 0, code, stderr)
		require.Contains(t, stdout, "Daemon:                last seen 3h ago, not stopped cleanly (on web1, pid 4242, started "+started.UTC().Format(time.RFC3339)+")\n")
		require.Contains(t, stdout, "                       zoomrecon 1.2.3, listening on :8080, postgres database\n")
		require.Contains(t, stdout, "                       reconciling every 5m0s over the last 24h0m0s\n")
		require.Contains(t, stdout, "Alerts:                Slack incoming webhook; 0 pending, 0 dead\n")
		got := statusJSON(t, shell)
		require.Equal(t, "gone", got.Daemon.State)
		require.Equal(t, "web1", got.Daemon.Host)
	})
}

func TestAgo(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s ago"},
		{10 * time.Second, "10s ago"},
		{90 * time.Second, "1m ago"},
		{3*time.Hour + 59*time.Minute, "3h ago"},
		{50 * time.Hour, "2d ago"},
	} {
		require.Equal(t, c.want, ago(c.d), "%v", c.d)
	}
}
