package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// TestCommandsThatOnlyLook checks that status and reconcile --dry-run never
// create, migrate or write a database, and say once what to do instead.
func TestCommandsThatOnlyLook(t *testing.T) {
	t.Parallel()
	wd, err := os.Getwd()
	require.NoError(t, err)
	looking := map[string][]string{
		"Status":          {"status"},
		"ReconcileDryRun": {"reconcile", "--since", "1h", "--dry-run"},
	}
	for name, args := range looking {
		t.Run(name+"/NoDatabaseCreatesNoneAndNamesThePath", func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "zoomrecon.db")
			res := runCLI(t, map[string]string{
				"ZOOMRECON_DATABASE_URL": "sqlite:" + path,
				// Enough for reconcile to reach the database; nothing is asked.
				"ZOOM_ACCOUNT_ID": "acct", "ZOOM_CLIENT_ID": "id", "ZOOM_CLIENT_SECRET": "secret",
			}, args...)
			require.Equal(t, 1, res.code)
			require.Empty(t, res.stdout)
			require.Equal(t, "zoomrecon: no database at "+path+" (working directory "+wd+`): run "zoomrecon migrate" to create it, `+
				"or set ZOOMRECON_DATABASE_URL to the database zoomrecon serve uses\n", res.stderr)
			require.NoFileExists(t, path)
		})

		for _, b := range storetest.Backends() {
			t.Run(name+"/"+b.Name+"/UnmigratedSaysMigrateOnceAndCreatesNothing", func(t *testing.T) {
				t.Parallel()
				u := b.URL(t)
				if path, ok := strings.CutPrefix(u, "sqlite:"); ok {
					// What an older status left behind: an empty file.
					require.NoError(t, os.WriteFile(path, nil, 0o600))
				}
				res := runCLI(t, map[string]string{
					"ZOOMRECON_DATABASE_URL": u,
					"ZOOM_ACCOUNT_ID":        "acct", "ZOOM_CLIENT_ID": "id", "ZOOM_CLIENT_SECRET": "secret",
				}, args...)
				require.Equal(t, 1, res.code)
				lines := strings.Split(strings.TrimSpace(res.stderr), "\n")
				require.Len(t, lines, 1, res.stderr)
				require.True(t, strings.HasPrefix(lines[0], "zoomrecon: ZOOMRECON_DATABASE_URL: "), "got %q", lines[0])
				require.True(t, strings.HasSuffix(lines[0], `database schema is not up to date; run "zoomrecon migrate"`), "got %q", lines[0])
				require.Equal(t, 1, strings.Count(res.stderr, "zoomrecon migrate"), "the hint once: %q", res.stderr)
				require.Empty(t, databaseFingerprint(t, u), "a table was created")
			})
		}
	}
}

// TestReconcileDryRunWritesNothing runs a dry run that finds a discrepancy
// over a database that real passes have filled, and checks that every table
// is as it was (and, on SQLite, every byte of the file).
func TestReconcileDryRunWritesNothing(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			zoom := zoomtest.New()
			t.Cleanup(zoom.Close)
			u := b.URL(t)
			vars := reconcileVars(zoom, u)
			missed := func(topic string) {
				start := time.Now().Add(-time.Hour).Truncate(time.Second)
				uuid := zoom.StartMeeting(zoomtest.MeetingSpec{Topic: topic, Start: start})
				zoom.Join(uuid, zoomtest.Person{Name: "Ann"}, start)
				zoom.EndMeeting(uuid, start.Add(20*time.Minute))
			}

			// A real pass leaves runs, API usage, the budget, a backfilled
			// meeting, a discrepancy and its alert.
			missed("Found by the real pass")
			code, stdout, stderr := cliRun(t, vars, "reconcile", "--since", "2h", "--output", "json")
			require.Equal(t, 0, code, stderr)
			var real struct {
				Discrepancies []any `json:"discrepancies"`
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &real), stdout)
			require.Len(t, real.Discrepancies, 1, stdout)
			before := databaseFingerprint(t, u)
			require.NotEmpty(t, before)
			beforeFile := sqliteBytes(t, u)

			missed("Found by the dry run")
			code, stdout, stderr = cliRun(t, vars, "reconcile", "--since", "2h", "--dry-run", "--output", "json")
			require.Equal(t, 0, code, stderr)
			var dry struct {
				Discrepancies []struct {
					Topic string `json:"topic"`
				} `json:"discrepancies"`
				Errors []string `json:"errors"`
			}
			require.NoError(t, json.Unmarshal([]byte(stdout), &dry), stdout)
			require.Empty(t, dry.Errors)
			require.Len(t, dry.Discrepancies, 1, stdout)
			require.Equal(t, "Found by the dry run", dry.Discrepancies[0].Topic)

			require.Equal(t, before, databaseFingerprint(t, u), "the dry run changed a table")
			require.Equal(t, beforeFile, sqliteBytes(t, u), "the dry run changed the SQLite file")
		})
	}
}

// TestReconcileMigratesAFreshDatabase checks that a real pass, like serve,
// creates and migrates a database that is not there yet.
func TestReconcileMigratesAFreshDatabase(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			zoom := zoomtest.New()
			t.Cleanup(zoom.Close)
			u := b.URL(t)
			code, _, stderr := cliRun(t, reconcileVars(zoom, u), "reconcile", "--since", "1h")
			require.Equal(t, 0, code, stderr)
			st, err := store.Open(context.Background(), u, store.Options{ReadOnly: true})
			require.NoError(t, err)
			defer st.Close()
			require.NoError(t, st.Ready(context.Background()))
			_, err = st.LastRun(context.Background())
			require.NoError(t, err, "the pass is recorded")
		})
	}
}

// reconcileVars is the environment of a reconcile against the fake Zoom.
func reconcileVars(zoom *zoomtest.Server, dbURL string) map[string]string {
	creds := zoom.Credentials()
	return map[string]string{
		"ZOOMRECON_DATABASE_URL": dbURL,
		"ZOOM_ACCOUNT_ID":        creds.AccountID, "ZOOM_CLIENT_ID": creds.ClientID, "ZOOM_CLIENT_SECRET": creds.ClientSecret,
		"ZOOM_API_BASE_URL": zoom.APIURL(), "ZOOM_OAUTH_TOKEN_URL": zoom.TokenURL(),
		"ZOOMRECON_MISSED_GRACE": "1s",
		// Zoom paces the dashboard per minute; the fake need not.
		"ZOOM_RESOURCE_INTENSIVE_PER_MINUTE": "6000",
	}
}

// databaseFingerprint returns every table of the database at u with a digest
// of its rows, so any insert, update or delete changes it.
func databaseFingerprint(t *testing.T, u string) map[string]string {
	t.Helper()
	ctx := context.Background()
	// A read-only open cannot disturb what it measures.
	st, err := store.Open(ctx, u, store.Options{ReadOnly: true})
	require.NoError(t, err)
	defer st.Close()
	db := st.DB()
	var tables []string
	digest := `SELECT COALESCE(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM %s t`
	if st.Dialect() == "sqlite" {
		require.NoError(t, db.SelectContext(ctx, &tables, `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`))
		// SQLite has no row type to text; the file's bytes cover its content,
		// so the row count is enough here.
		digest = `SELECT CAST(COUNT(*) AS TEXT) FROM %s`
	} else {
		require.NoError(t, db.SelectContext(ctx, &tables, `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename`))
	}
	out := map[string]string{}
	for _, table := range tables {
		var v string
		require.NoError(t, db.GetContext(ctx, &v, strings.ReplaceAll(digest, "%s", `"`+table+`"`)), table)
		out[table] = v
	}
	return out
}

// sqliteBytes returns the content of u's SQLite file, or nil for PostgreSQL.
func sqliteBytes(t *testing.T, u string) []byte {
	t.Helper()
	path, ok := strings.CutPrefix(u, "sqlite:")
	if !ok {
		return nil
	}
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return b
}
