package main

import (
	"bytes"
	"context"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// syncBuffer is a bytes.Buffer safe to write from the server goroutine while
// the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type cliResult struct {
	code           int
	stdout, stderr string
}

// testEnv returns an env that reads vars instead of the process environment.
func testEnv(vars map[string]string) (env, *syncBuffer, *syncBuffer) {
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	return env{
		stdout:    stdout,
		stderr:    stderr,
		lookupEnv: func(k string) (string, bool) { v, ok := vars[k]; return v, ok },
		notify:    func(string) {},
		onListen:  func(net.Addr) {},
		now:       time.Now,
		// Zoom's real backoff would have a test of a failing Zoom wait a
		// minute.
		zoomRetryWait: time.Millisecond,
	}, stdout, stderr
}

func runCLI(t *testing.T, vars map[string]string, args ...string) cliResult {
	t.Helper()
	e, stdout, stderr := testEnv(vars)
	code := run(context.Background(), args, e)
	return cliResult{code, stdout.String(), stderr.String()}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	res := runCLI(t, nil, "version")
	require.Equal(t, 0, res.code, res.stderr)
	require.True(t, strings.HasPrefix(res.stdout, "zoomrecon dev (go"), "got %q", res.stdout)
}

func TestConfigCheck(t *testing.T) {
	t.Parallel()

	t.Run("PrintsEffectiveConfigWithSecretsRedacted", func(t *testing.T) {
		t.Parallel()
		vars := map[string]string{
			"ZOOMRECON_DATABASE_URL":         "postgres://zoomrecon:pgS3cretPw@db.internal:5432/zoomrecon",
			"ZOOM_ACCOUNT_ID":                "AcctExample001",
			"ZOOM_CLIENT_ID":                 "clientExample",
			"ZOOM_CLIENT_SECRET":             "clientS3cretValue",
			"ZOOM_WEBHOOK_SECRET_TOKEN":      "whTokenOne,whTokenTwo",
			"SLACK_BOT_TOKEN":                "xoxb-botS3cretToken",
			"SLACK_CHANNEL":                  "#zoom-alerts",
			"ZOOMRECON_STALE_AFTER":          "4h",
			"ZOOMRECON_FORWARD_URL":          "https://app.internal/zoom/events",
			"ZOOMRECON_FORWARD_SECRET_TOKEN": "fwdS3cretToken",
		}
		res := runCLI(t, vars, "config", "check")
		require.Equal(t, 0, res.code, res.stderr)
		for _, secret := range []string{"pgS3cretPw", "clientS3cretValue", "whTokenOne", "whTokenTwo", "botS3cretToken", "fwdS3cretToken"} {
			require.NotContains(t, res.stdout+res.stderr, secret)
		}
		require.Regexp(t, `ZOOMRECON_STALE_AFTER\s+4h\s+env`, res.stdout)
		require.Regexp(t, `ZOOMRECON_RECONCILE_INTERVAL\s+5m\s+default`, res.stdout)
		require.Regexp(t, `ZOOM_CLIENT_SECRET\s+<redacted>\s+env`, res.stdout)
		require.Regexp(t, `ZOOMRECON_FORWARD_SECRET_TOKEN\s+<redacted>\s+env`, res.stdout)
		require.Contains(t, res.stdout, "configuration is valid (alerts: bot, Zoom API: configured, forward to: default)")
	})

	// Each bad value is one line that names the key; several are reported together.
	cases := []struct {
		name string
		vars map[string]string
		want []string
	}{
		{
			name: "UnknownDatabaseScheme",
			vars: map[string]string{"ZOOMRECON_DATABASE_URL": "mysql://root:pw@localhost/zoom"},
			want: []string{`zoomrecon: ZOOMRECON_DATABASE_URL: unknown scheme "mysql"; use sqlite:PATH (e.g. sqlite:zoomrecon.db) or postgres://USER@HOST:5432/DB`},
		},
		{
			name: "MalformedDuration",
			vars: map[string]string{"ZOOMRECON_MISSED_GRACE": "fifteen"},
			want: []string{`zoomrecon: ZOOMRECON_MISSED_GRACE: "fifteen" must be a positive duration, e.g. 15m`},
		},
		{
			name: "ZeroInterval",
			vars: map[string]string{"ZOOMRECON_RECONCILE_INTERVAL": "0s"},
			want: []string{`zoomrecon: ZOOMRECON_RECONCILE_INTERVAL: "0s" must be a positive duration, e.g. 5m`},
		},
		{
			name: "BotTokenWithoutChannel",
			vars: map[string]string{"SLACK_BOT_TOKEN": "xoxb-123"},
			want: []string{`zoomrecon: SLACK_CHANNEL: required when SLACK_BOT_TOKEN is set, e.g. #zoom-alerts or C0123456789`},
		},
		{
			name: "SeveralProblemsTogether",
			vars: map[string]string{"ZOOMRECON_RECONCILE_INTERVAL": "0s", "SLACK_BOT_TOKEN": "xoxb-123"},
			want: []string{
				`zoomrecon: ZOOMRECON_RECONCILE_INTERVAL: "0s" must be a positive duration, e.g. 5m`,
				`zoomrecon: SLACK_CHANNEL: required when SLACK_BOT_TOKEN is set, e.g. #zoom-alerts or C0123456789`,
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := runCLI(t, tc.vars, "config", "check")
			require.Equal(t, 1, res.code)
			require.Empty(t, res.stdout)
			require.ElementsMatch(t, tc.want, strings.Split(strings.TrimSpace(res.stderr), "\n"))
		})
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name+"/TwiceIsANoOp", func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"ZOOMRECON_DATABASE_URL": b.URL(t)}
			first := runCLI(t, vars, "migrate")
			require.Equal(t, 0, first.code, first.stderr)
			require.Regexp(t, `^applied \d+ migration\(s\) to the \w+ schema\n$`, first.stdout)
			second := runCLI(t, vars, "migrate")
			require.Equal(t, 0, second.code, second.stderr)
			require.Regexp(t, `^\w+ schema is up to date\n$`, second.stdout)
		})
	}

	t.Run("CreatesTheSQLiteFile", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "zoomrecon.db")
		res := runCLI(t, map[string]string{"ZOOMRECON_DATABASE_URL": "sqlite:" + path}, "migrate")
		require.Equal(t, 0, res.code, res.stderr)
		require.FileExists(t, path)
	})

	t.Run("UnreachablePostgresIsOneLineNamingTheKey", func(t *testing.T) {
		t.Parallel()
		res := runCLI(t, map[string]string{
			"ZOOMRECON_DATABASE_URL": "postgres://zoomrecon:pgS3cretPw@127.0.0.1:1/zoomrecon?sslmode=disable&connect_timeout=2",
		}, "migrate")
		require.Equal(t, 1, res.code)
		lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
		require.Len(t, lines, 1, res.stderr)
		require.True(t, strings.HasPrefix(lines[0], "zoomrecon: ZOOMRECON_DATABASE_URL: connect to postgres:"), "got %q", lines[0])
		require.NotContains(t, res.stderr, "pgS3cretPw")
	})
}

func TestUnknownCommandFails(t *testing.T) {
	t.Parallel()
	res := runCLI(t, nil, "reconcile-everything")
	require.Equal(t, 1, res.code)
	require.Contains(t, res.stderr, `unknown command "reconcile-everything"`)
}
