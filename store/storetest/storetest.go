// Package storetest opens real databases for tests: a SQLite file in the
// test's temporary directory, and, when ZOOMRECON_TEST_POSTGRES_URL is set, a
// fresh PostgreSQL schema that is dropped when the test ends.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver, to create and drop schemas

	"github.com/zoomrecon/zoomrecon/store"
)

// PostgresEnv names the variable that points the tests at a PostgreSQL server.
const PostgresEnv = "ZOOMRECON_TEST_POSTGRES_URL"

// SkipPostgres is the one message every PostgreSQL test skips with.
const SkipPostgres = PostgresEnv + " is not set: skipping PostgreSQL tests " +
	"(set it to e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)"

// Backend is a database kind the tests run against.
type Backend struct {
	Name string
	// URL returns a database URL private to t, or skips t.
	URL func(t testing.TB) string
}

// Backends returns SQLite and PostgreSQL, in that order.
func Backends() []Backend {
	return []Backend{
		{Name: "SQLite", URL: SQLiteURL},
		{Name: "PostgreSQL", URL: PostgresURL},
	}
}

// SQLiteURL returns the URL of a new SQLite file in t's temporary directory.
func SQLiteURL(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "zoomrecon.db")
}

// PostgresURL creates a schema of its own for t and returns a URL whose
// search_path selects it; the schema is dropped when t ends. It skips t when
// ZOOMRECON_TEST_POSTGRES_URL is unset.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(PostgresEnv)
	if base == "" {
		t.Skip(SkipPostgres)
	}
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	schema := "zrtest_" + hex.EncodeToString(buf)

	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("open %s: %v", PostgresEnv, err)
	}
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = db.Close()
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop test schema: %v", err)
		}
		_ = db.Close()
	})

	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("parse %s: %v", PostgresEnv, err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters as session settings
	u.RawQuery = q.Encode()
	return u.String()
}

// Open opens and migrates the database at rawURL and closes it when t ends.
func Open(t testing.TB, rawURL string) *store.Store {
	t.Helper()
	return OpenWith(t, rawURL, store.Options{})
}

// OpenWith is Open with options (the relay's routes, say).
func OpenWith(t testing.TB, rawURL string, opts store.Options) *store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), rawURL, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return st
}
