package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

func TestParseWhen(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Time
	}{
		{"72h", now.Add(-72 * time.Hour)},
		{"90m", now.Add(-90 * time.Minute)},
		{"7d", now.AddDate(0, 0, -7)},
		{"2026-11-01", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"2026-11-01T09:30:00Z", time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)},
		{"2026-11-01T09:30:00+02:00", time.Date(2026, 11, 1, 7, 30, 0, 0, time.UTC)},
	}
	for _, c := range cases {
		got, err := parseWhen("--since", c.in, now)
		require.NoError(t, err, c.in)
		require.True(t, c.want.Equal(got), "%s: got %v, want %v", c.in, got, c.want)
	}
	for _, bad := range []string{"yesterday", "-3h", "0d", "7 d", "2026-13-01", ""} {
		_, err := parseWhen("--since", bad, now)
		require.Error(t, err, bad)
		require.True(t, strings.HasPrefix(err.Error(), "--since: "), "%q: %v", bad, err)
	}
}

// cliRun runs the command line in-process with the given environment.
func cliRun(t *testing.T, vars map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := newEnv()
	e.stdout, e.stderr, e.stderrIsTerminal = &out, &errOut, false
	e.lookupEnv = func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	e.zoomRetryWait = time.Millisecond
	code = run(context.Background(), args, e)
	return code, out.String(), errOut.String()
}

func TestReconcileCommand(t *testing.T) {
	t.Parallel()
	zoom := zoomtest.New()
	t.Cleanup(zoom.Close)
	creds := zoom.Credentials()
	dbURL := storetest.SQLiteURL(t)
	vars := map[string]string{
		"ZOOMRECON_DATABASE_URL": dbURL,
		"ZOOM_ACCOUNT_ID":        creds.AccountID, "ZOOM_CLIENT_ID": creds.ClientID, "ZOOM_CLIENT_SECRET": creds.ClientSecret,
		"ZOOM_API_BASE_URL": zoom.APIURL(), "ZOOM_OAUTH_TOKEN_URL": zoom.TokenURL(),
		"ZOOMRECON_MISSED_GRACE": "1s",
		// Zoom paces the dashboard per minute; the fake need not.
		"ZOOM_RESOURCE_INTENSIVE_PER_MINUTE": "6000",
	}
	// A meeting that ran an hour ago and that no webhook ever mentioned.
	start := time.Now().Add(-time.Hour).Truncate(time.Second)
	uuid := zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Backfill me", Start: start})
	zoom.Join(uuid, zoomtest.Person{Name: "Ann"}, start)
	zoom.Join(uuid, zoomtest.Person{Name: "Bob"}, start)
	zoom.EndMeeting(uuid, start.Add(20*time.Minute))

	t.Run("BadSinceNamesTheFlag", func(t *testing.T) {
		code, _, stderr := cliRun(t, vars, "reconcile", "--since", "last week")
		require.Equal(t, 1, code)
		require.Contains(t, stderr, `zoomrecon: --since: "last week" is not a duration (72h, 7d)`)
	})
	t.Run("MissingCredentialsNameTheKeys", func(t *testing.T) {
		code, _, stderr := cliRun(t, map[string]string{"ZOOMRECON_DATABASE_URL": dbURL}, "reconcile", "--since", "1h")
		require.Equal(t, 1, code)
		require.Contains(t, stderr, "ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET")
	})

	// Migrated by a real pass below; the dry run needs the schema first.
	code, _, stderr := cliRun(t, vars, "migrate")
	require.Equal(t, 0, code, stderr)

	code, stdout, stderr := cliRun(t, vars, "reconcile", "--since", "2h", "--dry-run", "--output", "json")
	require.Equal(t, 0, code, stderr)
	var dry map[string]any
	require.NoError(t, json.Unmarshal([]byte(stdout), &dry), stdout)
	require.Len(t, dry["discrepancies"], 1)
	require.NotContains(t, stdout+stderr, creds.ClientSecret)

	code, stdout, stderr = cliRun(t, vars, "reconcile", "--since", "2h", "--output", "json")
	require.Equal(t, 0, code, stderr)
	var res struct {
		Window          map[string]time.Time `json:"window"`
		MeetingsChecked int                  `json:"meetings_checked"`
		APICalls        int                  `json:"api_calls"`
		Discrepancies   []struct {
			Kind        string    `json:"kind"`
			MeetingUUID string    `json:"meeting_uuid"`
			MeetingID   int64     `json:"meeting_id"`
			Topic       string    `json:"topic"`
			DetectedAt  time.Time `json:"detected_at"`
			Backfilled  bool      `json:"backfilled"`
		} `json:"discrepancies"`
	}
	require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
	require.Contains(t, res.Window, "since")
	require.Contains(t, res.Window, "until")
	require.Equal(t, 1, res.MeetingsChecked)
	require.Positive(t, res.APICalls)
	require.Len(t, res.Discrepancies, 1)
	d := res.Discrepancies[0]
	require.Equal(t, string(store.KindMissedMeetingStarted), d.Kind)
	require.Equal(t, uuid, d.MeetingUUID)
	require.Equal(t, "Backfill me", d.Topic)
	require.NotZero(t, d.MeetingID)
	require.True(t, d.Backfilled)

	code, stdout, stderr = cliRun(t, vars, "reconcile", "--since", "2h")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "0 new discrepancies", "a second pass finds nothing new")

	code, stdout, stderr = cliRun(t, vars, "status", "--since", "1d")
	require.Equal(t, 0, code, stderr)
	require.Contains(t, stdout, "Last webhook accepted: never")
	require.Contains(t, stdout, "Last URL validation:   none answered")
	require.Contains(t, stdout, "Refused in 24 h:       none")
	require.Regexp(t, `Zoom API today:        [1-9][0-9]* Heavy and Resource-intensive calls of a budget of 6000 \(the business plan's daily quota is 60000`, stdout)
	require.Contains(t, stdout, "missed_meeting_started")
	require.Contains(t, stdout, "Backfill me")
	// Backfilled is history, not a task: resolved at once.
	require.Contains(t, stdout, "1, 0 open, 0 acknowledged, 0 muted")
	require.Contains(t, stdout, "(backfilled)\n")
}

// TestReconcileExitStatus: a cron job or systemd timer running reconcile
// learns from its exit status whether the window was checked: 0 all of it,
// 1 none of it, 2 some of it; --output json says the same.
func TestReconcileExitStatus(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		vars   map[string]string
		faults []zoomtest.Fault
		code   int
		result string
		stdout string // in the text output
		stderr string
	}{
		"AllCheckedIs0": {code: 0, result: "ok", stdout: "Checked 1 meeting with "},
		"WrongSecretIs1": {
			vars: map[string]string{"ZOOM_CLIENT_SECRET": "not-the-secret"},
			code: 1, result: "failed",
			stdout: "FAILED: nothing could be checked: listing meetings: ",
			stderr: "zoomrecon: reconcile failed: listing meetings: ",
		},
		"ListingFailureIs1": {
			faults: []zoomtest.Fault{{Path: "/metrics/meetings", Status: 502}},
			code:   1, result: "failed",
			stdout: "FAILED: nothing could be checked: listing meetings: ",
			stderr: "zoomrecon: reconcile failed: listing meetings: ",
		},
		"OneMeetingUncheckedIs2": {
			faults: []zoomtest.Fault{
				{Path: "/past_meetings/{meetingId}", Status: 500},
				{Path: "/past_meetings/{meetingId}/participants", Status: 500},
				{Path: "/report/meetings/{meetingId}", Status: 500},
				{Path: "/report/meetings/{meetingId}/participants", Status: 500},
				{Path: "/metrics/meetings/{meetingId}", Status: 500},
				{Path: "/metrics/meetings/{meetingId}/participants", Status: 500},
			},
			code: 2, result: "partial",
			stdout: "could not check: ",
			stderr: "zoomrecon: reconcile: 1 meeting could not be checked; run it again to check them",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			zoom := zoomtest.New()
			t.Cleanup(zoom.Close)
			creds := zoom.Credentials()
			vars := map[string]string{
				"ZOOMRECON_DATABASE_URL": storetest.SQLiteURL(t),
				"ZOOM_ACCOUNT_ID":        creds.AccountID, "ZOOM_CLIENT_ID": creds.ClientID, "ZOOM_CLIENT_SECRET": creds.ClientSecret,
				"ZOOM_API_BASE_URL": zoom.APIURL(), "ZOOM_OAUTH_TOKEN_URL": zoom.TokenURL(),
				"ZOOMRECON_MISSED_GRACE": "1s", "ZOOM_RESOURCE_INTENSIVE_PER_MINUTE": "6000",
			}
			maps.Copy(vars, tc.vars)
			start := time.Now().Add(-time.Hour).Truncate(time.Second)
			uuid := zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Unheard", Start: start})
			zoom.Join(uuid, zoomtest.Person{Name: "Ann"}, start)
			zoom.EndMeeting(uuid, start.Add(20*time.Minute))
			for _, f := range tc.faults {
				zoom.Inject(f)
			}

			code, stdout, stderr := cliRun(t, vars, "reconcile", "--since", "2h")
			require.Equal(t, tc.code, code, "stdout:\n%s\nstderr:\n%s", stdout, stderr)
			require.Contains(t, stdout, tc.stdout)
			require.Contains(t, stderr, tc.stderr)
			if tc.code != 1 {
				require.NotContains(t, stdout, "FAILED")
			}
			require.NotContains(t, stdout+stderr, creds.ClientSecret)

			code, stdout, stderr = cliRun(t, vars, "reconcile", "--since", "2h", "--output", "json")
			require.Equal(t, tc.code, code, "stderr:\n%s", stderr)
			var res struct {
				Result   string   `json:"result"`
				Failure  string   `json:"failure"`
				ExitCode *int     `json:"exit_code"`
				Errors   []string `json:"errors"`
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &res), stdout)
			require.Equal(t, tc.result, res.Result)
			require.NotNil(t, res.ExitCode, stdout)
			require.Equal(t, tc.code, *res.ExitCode)
			require.Equal(t, tc.code == 1, res.Failure != "", "failure %q", res.Failure)

			// status tells the same from the database.
			code, stdout, stderr = cliRun(t, vars, "status", "--output", "json")
			require.Equal(t, 0, code, stderr)
			var rep struct {
				LastRun struct {
					Result string `json:"result"`
				} `json:"last_reconcile"`
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &rep), stdout)
			require.Equal(t, tc.result, rep.LastRun.Result)
			code, stdout, _ = cliRun(t, vars, "status")
			require.Equal(t, 0, code)
			require.Regexp(t, `Last reconcile pass: +\S+ \(finished \S+, `+tc.result+`\)`, stdout)
		})
	}
}
