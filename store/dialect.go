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
	// lockKeys, if set, holds the keys of a VALUES list (%s) until the
	// transaction ends, in byte order (Store.lockKeys). SQLite needs none:
	// its writers take turns.
	lockKeys string
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
		claimPlans:       "SET LOCAL plan_cache_mode = force_custom_plan",
		// Per schema, as the reconcile lock: two deployments (or test
		// schemas) in one database must not wait on each other.
		lockKeys: `SELECT pg_advisory_xact_lock(hashtextextended('zoomrecon.' || current_schema() || '.' || k, 0))
FROM (SELECT k FROM (VALUES %s) AS v(k) ORDER BY k COLLATE "C") AS x`,
	}
)
