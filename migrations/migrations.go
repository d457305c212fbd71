package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Dialect names a supported database.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// Up applies every pending migration and reports how many it applied. Running it
// on an up-to-date database applies none.
func Up(ctx context.Context, db *sql.DB, dialect Dialect, logger *slog.Logger) (int, error) {
	p, err := newProvider(db, dialect, logger)
	if err != nil {
		return 0, err
	}
	results, err := p.Up(ctx)
	if err != nil {
		return len(results), fmt.Errorf("apply migrations: %w", err)
	}
	return len(results), nil
}

// UpTo applies the pending migrations up to and including version; tests use
// it to build a database as an older zoomrecon left it.
func UpTo(ctx context.Context, db *sql.DB, dialect Dialect, version int64) error {
	p, err := newProvider(db, dialect, nil)
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return fmt.Errorf("apply migrations up to %d: %w", version, err)
	}
	return nil
}

// Pending reports whether the database lacks migrations this binary carries.
// It only reads: a database never migrated has no version table, and goose
// would create one to answer, which a read-only connection refuses and which
// would leave a half-made schema behind a command that only looks.
func Pending(ctx context.Context, db *sql.DB, dialect Dialect) (bool, error) {
	exists, err := versionTableExists(ctx, db, dialect)
	if err != nil {
		return false, err
	}
	if !exists {
		return true, nil
	}
	p, err := newProvider(db, dialect, nil)
	if err != nil {
		return false, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	return pending, nil
}

// Version reports the schema version the database is at.
func Version(ctx context.Context, db *sql.DB, dialect Dialect) (int64, error) {
	p, err := newProvider(db, dialect, nil)
	if err != nil {
		return 0, err
	}
	v, err := p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

func newProvider(db *sql.DB, dialect Dialect, logger *slog.Logger) (*goose.Provider, error) {
	dir, err := fs.Sub(files, string(dialect))
	if err != nil {
		return nil, fmt.Errorf("migrations for %s: %w", dialect, err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if logger != nil {
		opts = append(opts, goose.WithSlog(logger))
	}
	var gd goose.Dialect
	switch dialect {
	case SQLite:
		gd = goose.DialectSQLite3
		opts = append(opts, goose.WithGoMigrations(sqliteRelax(), sqliteIncrementalVacuum()))
	case Postgres:
		gd = goose.DialectPostgres
		// Several replicas may start at once; an advisory lock lets one migrate
		// while the others wait instead of racing on the same DDL.
		locker, err := lock.NewPostgresSessionLocker(
			// Poll every second (the default is 5 s) for up to five minutes.
			lock.WithLockTimeout(1, 300),
		)
		if err != nil {
			return nil, fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	default:
		return nil, fmt.Errorf("unknown dialect %q", dialect)
	}
	p, err := goose.NewProvider(gd, db, dir, opts...)
	if err != nil {
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return p, nil
}

// versionTableExists reports whether goose's version table is there, asking
// as goose does (its SQLite dialect cannot, so it would create the table).
func versionTableExists(ctx context.Context, db *sql.DB, dialect Dialect) (bool, error) {
	var q string
	switch dialect {
	case SQLite:
		q = `SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '` + goose.DefaultTablename + `')`
	case Postgres:
		q = `SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema() AND tablename = '` + goose.DefaultTablename + `')`
	default:
		return false, fmt.Errorf("unknown dialect %q", dialect)
	}
	var exists bool
	if err := db.QueryRowContext(ctx, q).Scan(&exists); err != nil {
		return false, fmt.Errorf("check migrations: %w", err)
	}
	return exists, nil
}
