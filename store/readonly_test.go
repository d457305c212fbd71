package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// TestOpenReadOnly checks that a read-only store never creates, migrates or
// writes anything, on every backend.
func TestOpenReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	readOnly := func(t *testing.T, u string) *store.Store {
		t.Helper()
		st, err := store.Open(ctx, u, store.Options{ReadOnly: true})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}

	t.Run("MissingSQLiteFileIsErrNoDatabaseAndStaysMissing", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "zoomrecon.db")
		_, err := store.Open(ctx, "sqlite:"+path, store.Options{ReadOnly: true})
		require.ErrorIs(t, err, store.ErrNoDatabase)
		wd, werr := os.Getwd()
		require.NoError(t, werr)
		require.EqualError(t, err, "no database at "+path+" (working directory "+wd+")")
		require.NoFileExists(t, path)
	})

	t.Run("RelativeSQLitePathIsNamedAbsolute", func(t *testing.T) {
		t.Parallel()
		_, err := store.Open(ctx, "sqlite:no-such-zoomrecon.db", store.Options{ReadOnly: true})
		require.ErrorIs(t, err, store.ErrNoDatabase)
		wd, werr := os.Getwd()
		require.NoError(t, werr)
		require.EqualError(t, err, "no database at "+filepath.Join(wd, "no-such-zoomrecon.db")+" (working directory "+wd+")")
		require.NoFileExists(t, "no-such-zoomrecon.db")
	})

	for _, b := range storetest.Backends() {
		t.Run(b.Name+"/UnmigratedIsErrNotMigratedAndGetsNoTable", func(t *testing.T) {
			t.Parallel()
			u := b.URL(t)
			if path, ok := strings.CutPrefix(u, "sqlite:"); ok {
				// What an older status left behind: an empty file.
				require.NoError(t, os.WriteFile(path, nil, 0o600))
			}
			st := readOnly(t, u)
			err := st.Ready(ctx)
			require.ErrorIs(t, err, store.ErrNotMigrated)
			require.Equal(t, 1, strings.Count(err.Error(), "zoomrecon migrate"), "the hint once: %q", err)
			_, err = st.Migrate(ctx)
			require.ErrorIs(t, err, store.ErrReadOnly)
			require.Zero(t, tableCount(t, st), "a read-only store created a table")
		})

		t.Run(b.Name+"/MigratedReadsButRefusesWrites", func(t *testing.T) {
			t.Parallel()
			u := b.URL(t)
			rw := storetest.Open(t, u)
			_, err := rw.InitState(ctx, store.StateFirstStart, "2026-11-23T14:00:00Z", t0)
			require.NoError(t, err)
			require.NoError(t, rw.Close())
			before := sqliteBytes(t, u)

			st := readOnly(t, u)
			require.True(t, st.ReadOnly())
			require.NoError(t, st.Ready(ctx))
			got, err := st.State(ctx, store.StateFirstStart)
			require.NoError(t, err)
			require.Equal(t, "2026-11-23T14:00:00Z", got)
			require.Error(t, st.SetState(ctx, "written", "by a read-only store", t0), "the database must refuse the write")
			_, err = st.Migrate(ctx)
			require.ErrorIs(t, err, store.ErrReadOnly)
			require.NoError(t, st.Close())

			require.Equal(t, before, sqliteBytes(t, u), "the SQLite file changed")
			check := storetest.Open(t, u)
			_, err = check.State(ctx, "written")
			require.ErrorIs(t, err, store.ErrNotFound)
		})
	}
}

// tableCount counts the tables in st's schema.
func tableCount(t *testing.T, st *store.Store) int {
	t.Helper()
	q := `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema()`
	if st.Dialect() == "sqlite" {
		q = `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'`
	}
	var n int
	require.NoError(t, st.DB().GetContext(context.Background(), &n, q))
	return n
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
