package store

import "github.com/zoomrecon/zoomrecon/migrations"

// dialect holds the few pieces of SQL that differ between SQLite and
// PostgreSQL. Everything else is shared SQL written with ? placeholders.
type dialect struct {
	name       migrations.Dialect
	sqlxDriver string
	// skipLocked ends the subquery that picks rows to claim, whose table is
	// d (claimQuery). PostgreSQL needs it so concurrent senders skip each
	// other's rows instead of claiming them twice; SQLite serialises writers,
	// so the statement alone is atomic.
	skipLocked string
	// overrideIdentity lets an upsert name existing rows by id: PostgreSQL's
	// GENERATED ALWAYS identity refuses explicit values without it.
	overrideIdentity string
	// lockMeeting, if set, holds its placeholder's meeting until the
	// transaction ends (lockMeetings). SQLite needs none: its writers take
	// turns.
	lockMeeting string
}

var (
	sqliteDialect = dialect{
		name:       migrations.SQLite,
		sqlxDriver: "sqlite3",
	}
	postgresDialect = dialect{
		name:             migrations.Postgres,
		sqlxDriver:       "pgx",
		skipLocked:       " FOR UPDATE OF d SKIP LOCKED",
		overrideIdentity: " OVERRIDING SYSTEM VALUE",
		lockMeeting:      "SELECT pg_advisory_xact_lock(hashtext(?))",
	}
)
