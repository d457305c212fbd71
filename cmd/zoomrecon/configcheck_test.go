package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestConfigCheckWarnings checks that config check prints, after the table,
// one "warning:" line per setting that leaves zoomrecon unable to do part of
// its job, and that --strict turns any of them into a failure.
func TestConfigCheckWarnings(t *testing.T) {
	t.Parallel()
	const (
		token = "warning: ZOOM_WEBHOOK_SECRET_TOKEN is not set: every webhook delivery will be refused with 401; " +
			"set it to the Secret Token of your Zoom app's event subscription, " +
			"or receive events over a WebSocket subscription instead (ZOOM_WEBSOCKET_SUBSCRIPTION_ID)"
		zoom = "warning: ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET are not set: " +
			"nothing checks the webhooks against Zoom's API or backfills what they missed; " +
			"set them to your Server-to-Server OAuth app's credentials"
		slack = "warning: Slack is not configured: alerts are only logged; " +
			"set SLACK_WEBHOOK_URL, or SLACK_BOT_TOKEN with SLACK_CHANNEL, to deliver them"
	)
	complete := map[string]string{
		"ZOOM_WEBHOOK_SECRET_TOKEN": "whTokenOne",
		"ZOOM_ACCOUNT_ID":           "acct", "ZOOM_CLIENT_ID": "id", "ZOOM_CLIENT_SECRET": "clientS3cret",
		"SLACK_BOT_TOKEN": "xoxb-botS3cret", "SLACK_CHANNEL": "#zoom-alerts",
	}
	cases := []struct {
		name       string
		vars       map[string]string
		strict     bool
		wantCode   int
		wantTail   []string
		wantStderr string
	}{
		{
			name: "NothingSetWarnsThreeTimes", vars: map[string]string{},
			wantTail: []string{token, zoom, slack, "configuration is valid, with 3 warnings above (alerts: log, Zoom API: not configured)"},
		},
		{
			name: "OnlyTheSecretMissing", vars: without(complete, "ZOOM_WEBHOOK_SECRET_TOKEN"),
			wantTail: []string{token, "configuration is valid, with 1 warning above (alerts: bot, Zoom API: configured)"},
		},
		{
			name: "CompleteHasNoWarning", vars: complete,
			wantTail: []string{"configuration is valid (alerts: bot, Zoom API: configured)"},
		},
		{
			name: "StrictFailsOnAWarning", vars: without(complete, "ZOOM_WEBHOOK_SECRET_TOKEN"), strict: true, wantCode: 1,
			wantTail:   []string{token, "configuration is valid, with 1 warning above (alerts: bot, Zoom API: configured)"},
			wantStderr: "zoomrecon: --strict: 1 warning above; set what they name, or drop --strict\n",
		},
		{
			name: "StrictPassesWithoutWarnings", vars: complete, strict: true,
			wantTail: []string{"configuration is valid (alerts: bot, Zoom API: configured)"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"config", "check"}
			if tc.strict {
				args = append(args, "--strict")
			}
			res := runCLI(t, tc.vars, args...)
			require.Equal(t, tc.wantCode, res.code, "%s: %s", tc.name, res.stderr)
			require.Equal(t, tc.wantStderr, res.stderr, tc.name)
			// What follows the table: the blank line, the warnings, the verdict.
			_, tail, ok := strings.Cut(res.stdout, "\n\n")
			require.True(t, ok, "%s: no blank line after the table: %q", tc.name, res.stdout)
			got := strings.Split(strings.TrimSuffix(tail, "\n"), "\n")
			require.Equal(t, tc.wantTail, got, tc.name)
			for _, secret := range []string{"whTokenOne", "clientS3cret", "botS3cret"} {
				require.NotContains(t, res.stdout+res.stderr, secret, tc.name)
			}
		})
	}
}

// TestConfigCheckForward checks that config check shows every destination
// events are forwarded to, with where each value came from and no secret, and
// names the bad ones precisely.
func TestConfigCheckForward(t *testing.T) {
	t.Parallel()

	// writeConfig writes yaml and a credential for the "ops" destination.
	writeConfig := func(t *testing.T, yaml string) (path, credDir string) {
		t.Helper()
		dir := t.TempDir()
		path = filepath.Join(dir, "config.yaml")
		require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "ZOOMRECON_FORWARD_OPS_SECRET_TOKEN"), []byte("opsCredS3cret\n"), 0o600))
		return path, dir
	}

	t.Run("ShowsEachDestination", func(t *testing.T) {
		t.Parallel()
		path, credDir := writeConfig(t, `forward:
  - name: billing
    url: https://billing.internal/zoom
    secret_token: billingYamlS3cret
    events: [meeting.ended, "webinar.*"]
  - name: ops
    url: http://ops.internal:8080/hook
`)
		vars := map[string]string{
			"ZOOMRECON_FORWARD_URL":          "https://app.internal/zoom/events",
			"ZOOMRECON_FORWARD_SECRET_TOKEN": "fwdEnvS3cret",
			"CREDENTIALS_DIRECTORY":          credDir,
		}
		res := runCLI(t, vars, "--config", path, "config", "check")
		require.Equal(t, 0, res.code, res.stderr)
		for _, row := range []string{
			`ZOOMRECON_FORWARD_URL\s+https://app.internal/zoom/events\s+env\n`,
			`ZOOMRECON_FORWARD_SECRET_TOKEN\s+<redacted>\s+env\n`,
			`ZOOMRECON_FORWARD_EVENTS\s+\*\s+default\n`,
			`ZOOMRECON_FORWARD_GIVE_UP_AFTER\s+72h\s+default\n`,
			`ZOOMRECON_FORWARD_TIMEOUT\s+10s\s+default\n`,
			`forward\[billing\]\.url\s+https://billing.internal/zoom\s+yaml\n`,
			`forward\[billing\]\.secret_token\s+<redacted>\s+yaml\n`,
			`forward\[billing\]\.events\s+meeting.ended,webinar.\*\s+yaml\n`,
			`forward\[ops\]\.url\s+http://ops.internal:8080/hook\s+yaml\n`,
			`forward\[ops\]\.secret_token\s+<redacted>\s+credentials\n`,
			`forward\[ops\]\.events\s+\*\s+default\n`,
		} {
			require.Regexp(t, row, res.stdout)
		}
		require.Contains(t, res.stdout, "configuration is valid, with 3 warnings above (alerts: log, Zoom API: not configured, forward to: default, billing, ops)\n")
		for _, secret := range []string{"fwdEnvS3cret", "billingYamlS3cret", "opsCredS3cret"} {
			require.NotContains(t, res.stdout+res.stderr, secret)
		}
	})

	t.Run("NamesEachProblem", func(t *testing.T) {
		t.Parallel()
		path, credDir := writeConfig(t, `forward:
  - name: ops
    url: https://deploy:hunterS3cret@ops.internal/hook
    events: ["meeting*"]
  - name: billing
    url: https://billing.internal/zoom
`)
		vars := map[string]string{"ZOOMRECON_FORWARD_SECRET_TOKEN": "fwdEnvS3cret", "CREDENTIALS_DIRECTORY": credDir}
		res := runCLI(t, vars, "--config", path, "config", "check")
		require.Equal(t, 1, res.code)
		require.Empty(t, res.stdout)
		want := []string{
			`zoomrecon: ` + path + `: line 3: forward[ops].url: "https://xxxxx@ops.internal/hook" must not carry a user name or password: ` +
				`each delivery is signed with the destination's secret token instead; use e.g. https://app.example.com/zoom/events`,
			`zoomrecon: ` + path + `: line 4: forward[ops].events: "meeting*" is not an event filter; ` +
				`use an event name as Zoom sends it (e.g. meeting.ended), a prefix ending in .* (e.g. meeting.*), or * for every event`,
			`zoomrecon: ` + path + `: line 5: forward[billing] has no secret_token; set secret_token, or ZOOMRECON_FORWARD_BILLING_SECRET_TOKEN, ` +
				`ZOOMRECON_FORWARD_BILLING_SECRET_TOKEN_FILE or the credential ZOOMRECON_FORWARD_BILLING_SECRET_TOKEN, to the Secret Token the application verifies deliveries with`,
			`zoomrecon: ZOOMRECON_FORWARD_SECRET_TOKEN: is only used with ZOOMRECON_FORWARD_URL; ` +
				`set ZOOMRECON_FORWARD_URL (e.g. https://app.example.com/zoom/events) or unset ZOOMRECON_FORWARD_SECRET_TOKEN`,
		}
		require.Equal(t, want, strings.Split(strings.TrimSpace(res.stderr), "\n"))
		for _, secret := range []string{"fwdEnvS3cret", "hunterS3cret", "opsCredS3cret"} {
			require.NotContains(t, res.stderr, secret)
		}
	})
}

// without returns a copy of vars lacking keys.
func without(vars map[string]string, keys ...string) map[string]string {
	out := make(map[string]string, len(vars))
	for k, v := range vars {
		out[k] = v
	}
	for _, k := range keys {
		delete(out, k)
	}
	return out
}
