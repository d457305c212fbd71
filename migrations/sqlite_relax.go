package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/pressly/goose/v3"
)

// sqliteRelax is SQLite's migration 5, written in Go because SQLite cannot
// drop a NOT NULL or a CHECK constraint with ALTER TABLE. It does what
// postgres/00005_delivery_rules.sql does:
//
//   - events.event_ts may be NULL: an authentic event whose event_ts is not a
//     usable time is stored without one rather than with a wrong date;
//   - discrepancies.kind loses its CHECK: the kinds live in one place, the
//     store's constants, and new kinds need no migration;
//   - the uptime and webhook_tally tables.
//
// The two constraints are removed by editing the stored CREATE TABLE text,
// the procedure SQLite documents for removing CHECK and NOT NULL constraints
// (sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema
// Changes"): the on-disk format does not change, so it costs the same on a
// database of any size, where rebuilding events would copy every event ever
// received. Each edit must match the text migration 1 created exactly once,
// or the migration fails and changes nothing.
func sqliteRelax() *goose.Migration {
	return goose.NewGoMigration(5, &goose.GoFunc{RunTx: relaxUp}, &goose.GoFunc{RunTx: relaxDown})
}

// relaxEdits are the textual edits of migration 5: table, old text, new text.
var relaxEdits = []struct{ table, from, to string }{
	{"events", "event_ts     TIMESTAMP NOT NULL,", "event_ts     TIMESTAMP,"},
	{"discrepancies", `kind         TEXT      NOT NULL CHECK (kind IN ('missed_meeting_started', 'missed_meeting_ended',
                     'missed_participant_joined', 'missed_participant_left', 'stale_meeting', 'webhook_silence')),`,
		"kind         TEXT      NOT NULL,"},
}

const relaxTables = `
CREATE TABLE uptime (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TIMESTAMP NOT NULL,
    beat_at    TIMESTAMP NOT NULL
);
CREATE INDEX uptime_beat ON uptime (beat_at);

CREATE TABLE webhook_tally (
    minute     TIMESTAMP NOT NULL,
    reason     TEXT      NOT NULL,
    count      INTEGER   NOT NULL,
    first_at   TIMESTAMP NOT NULL,
    last_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (minute, reason)
);`

func relaxUp(ctx context.Context, tx *sql.Tx) error {
	for _, e := range relaxEdits {
		if err := editSchema(ctx, tx, e.table, e.from, e.to); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, relaxTables); err != nil {
		return fmt.Errorf("create uptime and webhook_tally: %w", err)
	}
	return nil
}

func relaxDown(ctx context.Context, tx *sql.Tx) error {
	// Putting NOT NULL back over rows that lack event_ts would leave a table
	// that breaks its own constraint.
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE event_ts IS NULL`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("%d events have no event_ts; migration 5 cannot be undone", n)
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE webhook_tally; DROP TABLE uptime;`); err != nil {
		return err
	}
	for _, e := range relaxEdits {
		if err := editSchema(ctx, tx, e.table, e.to, e.from); err != nil {
			return err
		}
	}
	return nil
}

// editSchema replaces from with to in table's stored CREATE TABLE statement
// and bumps the schema version so every connection reloads the schema.
func editSchema(ctx context.Context, tx *sql.Tx, table, from, to string) error {
	var ddl string
	if err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?`, table).Scan(&ddl); err != nil {
		return fmt.Errorf("read the definition of %s: %w", table, err)
	}
	if n := strings.Count(ddl, from); n != 1 {
		return fmt.Errorf("the definition of %s is not the one migration 1 created (%d matches of %q); refusing to edit it", table, n, from)
	}
	var version int64
	if err := tx.QueryRowContext(ctx, `PRAGMA schema_version`).Scan(&version); err != nil {
		return fmt.Errorf("read schema version: %w", err)
	}
	stmts := []struct {
		query string
		args  []any
	}{
		{`PRAGMA writable_schema = ON`, nil},
		{`UPDATE sqlite_schema SET sql = ? WHERE type = 'table' AND name = ?`, []any{strings.Replace(ddl, from, to, 1), table}},
		{fmt.Sprintf(`PRAGMA schema_version = %d`, version+1), nil},
		{`PRAGMA writable_schema = OFF`, nil},
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, s.query, s.args...); err != nil {
			return fmt.Errorf("edit the definition of %s: %w", table, err)
		}
	}
	return nil
}
