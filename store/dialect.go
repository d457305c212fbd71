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
	// claimPlans, if set, begins the transaction in which a claim of the
	// relay's queue finds every meeting's head (claimHeadsIn). PostgreSQL
	// plans a statement it has prepared five times once for any arguments;
	// for a claim joining the heads such a plan read the whole queue (15 ms
	// a claim instead of 1.5, measured), so it is planned for its arguments
	// each time.
	claimPlans string
	// lockMeetings, if set, holds the meetings of a VALUES list (%s) until
	// the transaction ends, in order (Store.lockMeetings). SQLite needs none:
	// its writers take turns.
	lockMeetings string
	// lockAlarm, if set, holds a key (?) until the transaction ends
	// (Store.lockAlarm). SQLite needs none: its writers take turns.
	lockAlarm string
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
		lockMeetings:     "SELECT pg_advisory_xact_lock(hashtext(m)) FROM (SELECT m FROM (VALUES %s) AS v(m) ORDER BY m) AS x",
		claimPlans:       "SET LOCAL plan_cache_mode = force_custom_plan",
		lockAlarm:        "SELECT pg_advisory_xact_lock(hashtextextended('zoomrecon.alarm.' || current_schema() || '.' || ?, 0))",
	}
)
