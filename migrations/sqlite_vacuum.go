package migrations

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"
)

// sqliteIncrementalVacuum is SQLite's migration 9, in Go because it must run
// outside a transaction and only when needed. It turns on
// auto_vacuum=INCREMENTAL, so that the space pruning frees can be handed back
// to the file system a few pages at a time (PRAGMA incremental_vacuum).
// SQLite changes that mode on a file with tables only through a VACUUM, which
// rewrites the whole file: on a large database it takes a while once, and
// needs as much free disk as the file. Files created by this zoomrecon
// already have the mode (the store sets it before the first table), so for
// them it does nothing. PostgreSQL needs nothing: autovacuum reuses the space
// of deleted rows.
func sqliteIncrementalVacuum() *goose.Migration {
	return goose.NewGoMigration(9, &goose.GoFunc{RunDB: incrementalVacuumUp}, &goose.GoFunc{RunDB: func(context.Context, *sql.DB) error { return nil }})
}

func incrementalVacuumUp(ctx context.Context, db *sql.DB) error {
	// The pragma and the VACUUM must run on the same connection.
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("incremental vacuum: %w", err)
	}
	defer func() { _ = conn.Close() }()
	var mode int
	if err := conn.QueryRowContext(ctx, "PRAGMA auto_vacuum").Scan(&mode); err != nil {
		return fmt.Errorf("read auto_vacuum: %w", err)
	}
	const incremental = 2
	if mode == incremental {
		return nil
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA auto_vacuum = INCREMENTAL"); err != nil {
		return fmt.Errorf("set auto_vacuum: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "VACUUM"); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	return nil
}
