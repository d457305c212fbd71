package migrations_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/migrations"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// openRaw opens a test database without migrating it.
func openRaw(t *testing.T, b storetest.Backend) (*sql.DB, migrations.Dialect) {
	t.Helper()
	raw := b.URL(t)
	driver, dsn, dialect := "pgx", raw, migrations.Postgres
	if path, ok := strings.CutPrefix(raw, "sqlite:"); ok {
		// The store's own pragmas matter here: foreign keys on, as in production.
		driver, dsn, dialect = "sqlite", "file:"+path+"?"+url.Values{"_pragma": {"foreign_keys(1)", "journal_mode(WAL)"}}.Encode(), migrations.SQLite
	}
	db, err := sql.Open(driver, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db, dialect
}

// TestUpgradeKeepsData migrates a database that an older zoomrecon filled to
// the current schema, and checks that every row and every link survive and
// that what the new schema allows is allowed.
func TestUpgradeKeepsData(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, dialect := openRaw(t, b)
			require.NoError(t, migrations.UpTo(ctx, db, dialect, 4))
			bind := sqlx.DOLLAR
			if dialect == migrations.SQLite {
				bind = sqlx.QUESTION
			}
			q := func(s string) string { return sqlx.Rebind(bind, s) }
			now := time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC)
			exec := func(s string, args ...any) {
				t.Helper()
				_, err := db.ExecContext(ctx, q(s), args...)
				require.NoError(t, err, s)
			}
			exec(`INSERT INTO events (dedup_key, event_type, event_ts, received_at, meeting_uuid, body) VALUES (?, ?, ?, ?, ?, ?)`,
				"k1", "meeting.started", now, now, "u1==", []byte(`{}`))
			exec(`INSERT INTO discrepancies (kind, meeting_uuid, subject, detail, detected_at) VALUES (?, ?, ?, ?, ?)`,
				"missed_meeting_ended", "u1==", "", "lost", now)
			var did int64
			require.NoError(t, db.QueryRowContext(ctx, `SELECT id FROM discrepancies`).Scan(&did))
			exec(`INSERT INTO alert_outbox (discrepancy_id, kind, payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?)`,
				did, "missed_meeting_ended", `{}`, now, now)

			_, err := migrations.Up(ctx, db, dialect, nil)
			require.NoError(t, err)

			// The alert still points at its discrepancy: nothing was dropped and
			// recreated under it.
			var linked sql.NullInt64
			require.NoError(t, db.QueryRowContext(ctx, `SELECT discrepancy_id FROM alert_outbox`).Scan(&linked))
			require.Equal(t, did, linked.Int64)
			var n int
			require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE dedup_key = 'k1'`).Scan(&n))
			require.Equal(t, 1, n)

			// What the new schema allows.
			exec(`INSERT INTO events (dedup_key, event_type, event_ts, received_at, meeting_uuid, body) VALUES (?, ?, NULL, ?, ?, ?)`,
				"k2", "meeting.started", now, "", []byte(`{"event_ts":"soon"}`))
			exec(`INSERT INTO discrepancies (kind, meeting_uuid, subject, detail, detected_at) VALUES (?, ?, ?, ?, ?)`,
				"a_kind_added_later", "", "", "", now)
			exec(`INSERT INTO uptime (started_at, beat_at) VALUES (?, ?)`, now, now)
			exec(`INSERT INTO webhook_tally (minute, reason, count, first_at, last_at) VALUES (?, ?, ?, ?, ?)`, now, "bad_signature", 3, now, now)
			// And what it still refuses.
			_, err = db.ExecContext(ctx, q(`INSERT INTO events (dedup_key, event_type, event_ts, received_at, meeting_uuid, body) VALUES (?, ?, NULL, NULL, ?, ?)`),
				"k3", "x", "", []byte(`{}`))
			require.Error(t, err, "received_at stays NOT NULL")

			if dialect == migrations.SQLite {
				var check string
				require.NoError(t, db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check))
				require.Equal(t, "ok", check)
				rows, err := db.QueryContext(ctx, `PRAGMA foreign_key_check`)
				require.NoError(t, err)
				require.False(t, rows.Next(), "no broken foreign key")
				require.NoError(t, rows.Close())
			}
		})
	}
}

// TestPendingOnlyReads checks that asking whether a fresh database needs
// migrating leaves it as it was: goose would create its version table to
// answer, which a read-only store refuses.
func TestPendingOnlyReads(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, dialect := openRaw(t, b)
			tables := func() int {
				t.Helper()
				q := `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()`
				if dialect == migrations.SQLite {
					q = `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'`
				}
				var n int
				require.NoError(t, db.QueryRowContext(ctx, q).Scan(&n))
				return n
			}

			pending, err := migrations.Pending(ctx, db, dialect)
			require.NoError(t, err)
			require.True(t, pending, "a fresh database lacks every migration")
			require.Zero(t, tables(), "asking created a table")

			_, err = migrations.Up(ctx, db, dialect, nil)
			require.NoError(t, err)
			pending, err = migrations.Pending(ctx, db, dialect)
			require.NoError(t, err)
			require.False(t, pending, "a migrated database lacks none")
		})
	}
}
