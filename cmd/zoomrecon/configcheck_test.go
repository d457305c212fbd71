package main

import (
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
