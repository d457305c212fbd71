package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/jmoiron/sqlx"
	"modernc.org/sqlite" // registers the "sqlite" database/sql driver (pure Go, no cgo)
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/zoomrecon/zoomrecon/migrations"
)

// ErrNotFound is returned when a requested row does not exist.
var ErrNotFound = errors.New("not found")

// ErrUnknownScheme is returned by Open for a database URL it cannot serve.
var ErrUnknownScheme = errors.New("unknown database URL scheme")

// ErrNoDatabase is returned by a read-only Open when the SQLite file does not
// exist. The error wrapping it names the absolute path and the working
// directory, since a relative path is the usual reason a file is not found.
var ErrNoDatabase = errors.New("no database")

// ErrReadOnly is returned by Migrate on a store opened read-only.
var ErrReadOnly = errors.New("the database was opened read-only")

// Store is zoomrecon's database.
type Store struct {
	db      *sqlx.DB
	dialect dialect
	logger  *slog.Logger
	// sqlitePath and sqliteFile identify the SQLite file opened, so Ready can
	// notice it was deleted or replaced: the pool would go on writing to the
	// unlinked file, and everything written would vanish at the next start.
	sqlitePath string
	sqliteFile os.FileInfo
	readOnly   bool
	// forward are the relay's destinations: every new event, received or
	// rebuilt, is queued for those that want it.
	forward []ForwardRoute

	// prepared caches the statements of the hot paths. database/sql prepares
	// each on a connection the first time it runs there; parsing dominated
	// webhook ingestion on SQLite before this.
	prepMu   sync.Mutex
	prepared map[string]*sqlx.Stmt
	wanted   map[string]struct{}
}

// Options tune Open. The zero value is ready to use.
type Options struct {
	// Logger receives migration progress. Default: discard.
	Logger *slog.Logger
	// MaxOpenConns caps the connection pool. Default: 16 for PostgreSQL,
	// 8 for SQLite (one writer at a time; the rest read).
	MaxOpenConns int
	// ReadOnly opens the database for commands that only look (status,
	// reconcile --dry-run): a SQLite file that does not exist is
	// ErrNoDatabase instead of being created, SQLite opens with mode=ro, every
	// PostgreSQL transaction is read-only, and Migrate refuses. The database
	// itself then guarantees that nothing is written. Default: read-write.
	ReadOnly bool
	// Forward are the relay's destinations (zoomrecon's forward settings):
	// each event stored is queued for the destinations that want it, in the
	// same transaction. None: nothing is queued.
	Forward []ForwardRoute
}

// Open connects to the database named by rawURL and checks that it answers.
// It accepts sqlite:PATH (relative or absolute), sqlite://PATH, and
// postgres:// or postgresql:// URLs. It does not migrate; call Migrate. A
// read-write Open creates a SQLite file that does not exist; a read-only one
// returns ErrNoDatabase.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var (
		d          dialect
		driverName string
		dsn        string
		maxConns   int
	)
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		path := sqlitePath(rawURL)
		if path == "" {
			return nil, fmt.Errorf("%w: sqlite: needs a file path, e.g. sqlite:zoomrecon.db", ErrUnknownScheme)
		}
		if opts.ReadOnly {
			if err := sqliteExists(path); err != nil {
				return nil, err
			}
		}
		d, driverName, dsn, maxConns = sqliteDialect, "sqlite", sqliteDSN(path, opts.ReadOnly), 8
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		d, driverName, dsn, maxConns = postgresDialect, "pgx", rawURL, 16
		if opts.ReadOnly {
			// pgx sends a parameter it does not know as a setting of each
			// connection's session; this one makes every transaction
			// read-only, so the server refuses any write.
			u, err := url.Parse(rawURL)
			if err != nil {
				return nil, fmt.Errorf("parse postgres URL: %s", redactError(err, rawURL))
			}
			q := u.Query()
			q.Set("default_transaction_read_only", "on")
			u.RawQuery = q.Encode()
			dsn = u.String()
		}
	default:
		scheme, _, _ := strings.Cut(rawURL, ":")
		return nil, fmt.Errorf("%w %q: use sqlite:PATH or postgres://USER@HOST:5432/DB", ErrUnknownScheme, scheme)
	}
	if opts.MaxOpenConns > 0 {
		maxConns = opts.MaxOpenConns
	}

	db, err := sql.Open(driverName, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s: %s", d.name, redactError(err, rawURL))
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)

	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("connect to %s: %s", d.name, redactError(err, rawURL))
	}
	s := &Store{
		// sqlx picks the placeholder style from the driver name it is given;
		// modernc's "sqlite" is not in its table, so name it "sqlite3".
		db:       sqlx.NewDb(db, d.sqlxDriver),
		dialect:  d,
		logger:   logger,
		prepared: map[string]*sqlx.Stmt{},
		wanted:   map[string]struct{}{},
		readOnly: opts.ReadOnly,
		forward:  slices.Clone(opts.Forward),
	}
	if d.name == migrations.SQLite {
		s.sqlitePath = sqlitePath(rawURL)
		if s.sqliteFile, err = os.Stat(s.sqlitePath); err != nil {
			_ = db.Close()
			return nil, fmt.Errorf("open sqlite: %w", err)
		}
	}
	return s, nil
}

func sqlitePath(rawURL string) string {
	return strings.TrimPrefix(strings.TrimPrefix(rawURL, "sqlite:"), "//")
}

// sqliteExists returns an error wrapping ErrNoDatabase when path is not there.
// SQLite would create it, and a command that only looks would then leave an
// empty database behind, often beside the real one.
func sqliteExists(path string) error {
	_, err := os.Stat(path)
	if err == nil {
		return nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("open sqlite: %w", err)
	}
	abs, aerr := filepath.Abs(path)
	if aerr != nil {
		abs = path
	}
	wd, werr := os.Getwd()
	if werr != nil {
		wd = "unknown"
	}
	return fmt.Errorf("%w at %s (working directory %s)", ErrNoDatabase, abs, wd)
}

// sqliteDSN builds modernc's DSN. Each pragma is applied on every new
// connection of the pool.
func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	if readOnly {
		// SQLite opens the file without write access and refuses every
		// write. Setting the journal mode writes the header, so it is left
		// as the read-write opens made it (WAL, which the file records).
		// Reading a WAL database still needs its -wal and -shm files, so
		// SQLite creates them, empty, beside it when serve is not running.
		q.Set("mode", "ro")
	} else {
		// Pruning frees pages; INCREMENTAL lets ReclaimSpace hand them back
		// to the file system in small steps. The mode can only change before
		// the first table is created (or by a VACUUM, which migration 9 runs
		// on older files), so it comes first; on a file that has tables it is
		// a no-op.
		q.Add("_pragma", "auto_vacuum(INCREMENTAL)")
		q.Add("_pragma", "journal_mode(WAL)") // readers never block the writer, and commits are cheap appends
	}
	q.Add("_pragma", "busy_timeout(10000)") // wait for the write lock instead of failing with SQLITE_BUSY
	q.Add("_pragma", "foreign_keys(1)")     // SQLite leaves foreign keys off unless asked, per connection
	// 32 MB of page cache per connection and reads through mmap keep the
	// indexes that every insert walks in memory (measured: +15% ingest).
	q.Add("_pragma", "cache_size(-32000)")
	q.Add("_pragma", "mmap_size(268435456)")
	// FULL syncs the WAL on every commit, so an event answered 200 survives a
	// power cut, not only a crash of the process.
	q.Add("_pragma", "synchronous(FULL)")
	// BEGIN IMMEDIATE takes the write lock up front; a deferred transaction that
	// upgrades later can fail with SQLITE_BUSY without honouring busy_timeout.
	// A read-only connection cannot take the write lock, and never upgrades.
	if !readOnly {
		q.Set("_txlock", "immediate")
	}
	// Writes time.Time as "2006-01-02 15:04:05.999999999-07:00"; in UTC that
	// form sorts as text in time order, which the range queries rely on.
	q.Set("_time_format", "sqlite")
	return "file:" + path + "?" + q.Encode()
}

// redactError returns err's text with any password in rawURL removed.
func redactError(err error, rawURL string) string {
	msg := err.Error()
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// Dialect reports which database this store talks to.
func (s *Store) Dialect() migrations.Dialect { return s.dialect.name }

// DB exposes the underlying pool for tests and benchmarks that need raw SQL.
func (s *Store) DB() *sqlx.DB { return s.db }

// Close closes the pool.
func (s *Store) Close() error {
	// Closed outside prepMu, as in prepareWanted: closing a statement waits
	// for its connections, whose transactions may be waiting for prepMu.
	s.prepMu.Lock()
	prepared := slices.Collect(maps.Values(s.prepared))
	clear(s.prepared)
	s.prepMu.Unlock()
	for _, st := range prepared {
		_ = st.Close()
	}
	return s.db.Close()
}

// Migrate applies pending migrations and reports how many it applied. On a
// store opened read-only it returns ErrReadOnly.
func (s *Store) Migrate(ctx context.Context) (int, error) {
	if s.readOnly {
		return 0, ErrReadOnly
	}
	return migrations.Up(ctx, s.db.DB, s.dialect.name, s.logger)
}

// ErrNotMigrated is returned by Ready when the schema lacks migrations. Its
// text carries the one hint a user needs; callers add no other.
var ErrNotMigrated = errors.New(`database schema is not up to date; run "zoomrecon migrate"`)

// ReadOnly reports whether the store was opened read-only.
func (s *Store) ReadOnly() bool { return s.readOnly }

// Ready reports whether the database answers and carries every migration. It
// only reads, so it works on a read-only store.
func (s *Store) Ready(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("ping database: %w", err)
	}
	if s.sqliteFile != nil {
		fi, err := os.Stat(s.sqlitePath)
		if err != nil || !os.SameFile(fi, s.sqliteFile) {
			return fmt.Errorf("sqlite file %s was removed or replaced while open; restart zoomrecon", s.sqlitePath)
		}
	}
	pending, err := migrations.Pending(ctx, s.db.DB, s.dialect.name)
	if err != nil {
		return err
	}
	if pending {
		if s.sqlitePath != "" {
			// Name the file: a relative path resolved against another
			// directory is the usual reason a database looks unmigrated.
			abs, err := filepath.Abs(s.sqlitePath)
			if err != nil {
				abs = s.sqlitePath
			}
			return fmt.Errorf("sqlite file %s: %w", abs, ErrNotMigrated)
		}
		return ErrNotMigrated
	}
	return nil
}

// inTx runs fn in one transaction and commits it.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	// Statements first met inside the transaction are prepared for the pool
	// once it is over, when this goroutine holds no connection.
	defer s.prepareWanted(ctx)
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// txStmt returns query, written with ? placeholders, as a statement of tx.
// A statement already prepared for the pool is reused on tx's connection
// (database/sql prepares it there once). A new one is prepared on tx's own
// connection for this use only and remembered for prepareWanted: preparing it
// on the pool here would wait for a second connection while tx holds one, and
// with every connection held by a transaction queued behind this one's lock,
// that wait never ends.
func (s *Store) txStmt(ctx context.Context, tx *sqlx.Tx, query string) (*sqlx.Stmt, error) {
	s.prepMu.Lock()
	st, ok := s.prepared[query]
	if !ok {
		s.wanted[query] = struct{}{}
	}
	s.prepMu.Unlock()
	if ok {
		return tx.StmtxContext(ctx, st), nil
	}
	st, err := tx.PreparexContext(ctx, s.q(query))
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	return st, nil
}

// prepareWanted prepares for the pool the statements txStmt met for the first
// time. A failure only means the next transaction prepares it again.
func (s *Store) prepareWanted(ctx context.Context) {
	s.prepMu.Lock()
	if len(s.wanted) == 0 {
		s.prepMu.Unlock()
		return
	}
	queries := slices.Collect(maps.Keys(s.wanted))
	clear(s.wanted)
	s.prepMu.Unlock()

	for _, query := range queries {
		st, err := s.db.PreparexContext(ctx, s.q(query))
		if err != nil {
			continue
		}
		s.prepMu.Lock()
		_, dup := s.prepared[query]
		if !dup {
			s.prepared[query] = st
		}
		s.prepMu.Unlock()
		if dup {
			// Another transaction prepared it meanwhile. Close the spare
			// only after releasing prepMu: Close waits for the connection
			// it was prepared on, whose next statement may wait for a row
			// lock held by a transaction that is itself waiting for prepMu
			// in txStmt. PostgreSQL cannot see that cycle, so it never ends.
			_ = st.Close()
		}
	}
}

// txExec runs a prepared statement in tx.
func (s *Store) txExec(ctx context.Context, tx *sqlx.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.txStmt(ctx, tx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// maxRowsPerStatement caps the rows of one multi-row statement.
const maxRowsPerStatement = 64

// inChunks calls fn on consecutive runs of rows whose lengths are powers of
// two, at most maxRowsPerStatement. A multi-row statement's text depends on
// its row count; with a few sizes the prepared-statement cache stays small
// and warm instead of parsing a new statement for every batch size.
func inChunks[T any](rows []T, fn func([]T) error) error {
	for len(rows) > 0 {
		n := maxRowsPerStatement
		for n > len(rows) {
			n /= 2
		}
		if err := fn(rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// selectIn runs query, whose one placeholder is an IN list, on q for keys
// in chunks (inChunks), and returns the rows of every chunk.
func selectIn[T, K any](ctx context.Context, s *Store, q sqlx.QueryerContext, query string, keys []K) ([]T, error) {
	var out []T
	err := inChunks(keys, func(part []K) error {
		expanded, args, err := sqlx.In(query, part)
		if err != nil {
			return err
		}
		var rows []T
		if err := sqlx.SelectContext(ctx, q, &rows, s.q(expanded), args...); err != nil {
			return err
		}
		out = append(out, rows...)
		return nil
	})
	return out, err
}

// placeholders returns the placeholders of rows rows of cols values each:
// "(?, ?), (?, ?)" for a multi-row VALUES list, or with one column the plain
// "?, ?, ?" of an IN list.
func placeholders(cols, rows int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	if cols == 1 {
		row = "?"
	}
	return strings.Repeat(row+", ", rows-1) + row
}

// anySlice converts values for a variadic query call.
func anySlice[T any](vs []T) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}

// q rebinds a query written with ? placeholders for this dialect.
func (s *Store) q(query string) string { return s.db.Rebind(query) }

// dbTime is how every time is written: UTC (so SQLite's text sorts in time
// order) and truncated to PostgreSQL's microseconds (so both backends read back
// what was written).
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// dbTimeOrNil is dbTime for a time that may be missing.
func dbTimeOrNil(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := dbTime(*t)
	return &v
}

// dbTimePtr is dbTime for optional times; the zero time is NULL.
func dbTimePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	v := dbTime(t)
	return &v
}

// dbText is how every text from outside (Zoom's payloads and API answers) is
// written and looked up: PostgreSQL refuses a NUL character and invalid UTF-8
// in text columns, and an event refused for that would be answered 503 for
// ever. Both backends store the same cleaned text, so lookups agree; the raw
// event body keeps the original bytes.
func dbText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// ErrInvalidData means the database refused a value itself (out of range,
// too long for an index, not representable), not that it was unavailable:
// retrying the same statement fails the same way.
var ErrInvalidData = errors.New("the database refused a value")

// interpretError maps driver errors to the store's sentinels.
func interpretError(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 22 is "data exception" (a value out of range, a character the
		// encoding refuses), class 54 "program limit exceeded" (an index row
		// too large).
		if strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "54") {
			return fmt.Errorf("%w: %w", ErrInvalidData, err)
		}
	}
	var liteErr *sqlite.Error
	if errors.As(err, &liteErr) {
		switch liteErr.Code() & 0xff {
		case sqlite3.SQLITE_TOOBIG, sqlite3.SQLITE_MISMATCH, sqlite3.SQLITE_RANGE:
			return fmt.Errorf("%w: %w", ErrInvalidData, err)
		}
	}
	return err
}
