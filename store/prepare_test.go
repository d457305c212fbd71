package store_test

import (
	"context"
	"database/sql"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// TestSpareStatementCloseNeverBlocksTransactions walks, one step at a time,
// through the deadlock that once hung `make test` in TestReplicasPairSessionsOnce
// on PostgreSQL. Three goroutines were involved:
//
//   - X, a transaction that has upserted meeting m1, so it holds m1's row
//     lock, and calls txStmt for its next statement, which takes prepMu;
//   - Y, in prepareWanted after its own transaction, which has prepared a
//     statement that another goroutine cached first, and closes the spare.
//     Closing takes the mutex of the connection the spare was prepared on;
//   - Z, which got that connection back from the pool and runs a statement
//     that waits for m1's row lock. database/sql holds the connection's
//     mutex for as long as the statement runs.
//
// If Y closes the spare while it holds prepMu, X waits for Y, Y for Z, and Z
// for X. PostgreSQL sees only Z waiting for X, which is idle in transaction,
// so it never reports a deadlock. Each wait here has a deadline, so before the
// fix the test fails after phaseTimeout instead of hanging.
func TestSpareStatementCloseNeverBlocksTransactions(t *testing.T) {
	t.Parallel()
	const phaseTimeout = 15 * time.Second
	u := storetest.PostgresURL(t)
	bg := context.Background()

	// Two connections: one for X, and one that Y prepares on and Z then uses.
	st, err := store.Open(bg, u, store.Options{MaxOpenConns: 2})
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	_, err = st.Migrate(bg)
	require.NoError(t, err)

	at := time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)
	event := func(uuid, key string, m store.MeetingUpdate) store.Ingest {
		m.UUID, m.Source = uuid, store.SourceWebhook
		return store.Ingest{
			Event:   store.Event{DedupKey: key, Type: "meeting." + key, EventTS: &at, ReceivedAt: at, MeetingUUID: uuid, Body: []byte("{}")},
			Meeting: &m,
		}
	}
	started := store.MeetingUpdate{StartTime: at, Started: true}
	ended := store.MeetingUpdate{EndTime: at.Add(time.Hour), Ended: true}
	// The first batch creates m1 and m2 and caches every statement X will use,
	// so that only Y prepares anything below.
	_, err = st.IngestBatch(bg, []store.Ingest{event("m1", "started.1", started), event("m2", "started.2", started)}, at)
	require.NoError(t, err)

	// raw plays another replica: it holds m2's row lock until told to let go.
	raw, err := sql.Open("pgx", u)
	require.NoError(t, err)
	t.Cleanup(func() { _ = raw.Close() })
	other, err := raw.BeginTx(bg, nil)
	require.NoError(t, err)
	defer func() { _ = other.Rollback() }()
	_, err = other.ExecContext(bg, `SELECT uuid FROM meetings WHERE uuid = 'm2' FOR UPDATE`)
	require.NoError(t, err)
	var otherPID int
	require.NoError(t, other.QueryRowContext(bg, `SELECT pg_backend_pid()`).Scan(&otherPID))
	// waitingFor returns the backends that wait for a lock held by pid.
	waitingFor := func(pid int) []int {
		var pids []int
		rows, err := raw.QueryContext(bg, `SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))`, pid)
		if err != nil {
			return nil
		}
		defer rows.Close()
		for rows.Next() {
			var p int
			if rows.Scan(&p) == nil {
				pids = append(pids, p)
			}
		}
		return pids
	}
	const wait, tick = 10 * time.Second, time.Millisecond

	ctx, cancel := context.WithTimeout(bg, phaseTimeout)
	defer cancel()

	// X upserts m1, taking its row lock, then waits for m2's.
	xErr := make(chan error, 1)
	go func() {
		_, err := st.IngestBatch(ctx, []store.Ingest{event("m1", "ended.1", ended), event("m2", "ended.2", ended)}, at)
		xErr <- err
	}()
	var xPID int
	require.Eventually(t, func() bool {
		if pids := waitingFor(otherPID); len(pids) == 1 {
			xPID = pids[0]
			return true
		}
		return false
	}, wait, tick, "X never waited for m2")

	// The test holds the second connection, so Y has to wait for it.
	spare, err := st.DB().Conn(ctx)
	require.NoError(t, err)
	waits := st.DB().Stats().WaitCount
	yDone := make(chan struct{})
	go func() {
		defer close(yDone)
		store.PrepareCachedAgain(ctx, st)
	}()
	require.Eventually(t, func() bool { return st.DB().Stats().WaitCount > waits }, wait, tick, "Y never asked for a connection")

	// Y gets the connection, prepares its first spare there, gives the
	// connection back and stops at the cache's lock.
	unlock := store.LockStatementCache(st)
	require.NoError(t, spare.Close())
	require.Eventually(t, func() bool { return st.DB().Stats().Idle == 1 }, wait, tick, "Y never gave its connection back")

	// Z takes that connection and waits there for m1's row lock.
	zErr := make(chan error, 1)
	go func() {
		_, err := st.DB().ExecContext(ctx, `UPDATE meetings SET topic = 'z' WHERE uuid = 'm1'`)
		zErr <- err
	}()
	require.Eventually(t, func() bool { return len(waitingFor(xPID)) == 1 }, wait, tick, "Z never waited for m1")

	// Y goes on to close its spare, which waits for Z's connection.
	unlock()
	require.Eventually(t, closingSpare, wait, tick, "Y never closed its spare statement")

	// X goes on: its next statement needs the cache.
	require.NoError(t, other.Commit())
	require.NoError(t, <-xErr, "X: deadlocked behind Y closing a spare statement while holding the statement cache")
	require.NoError(t, <-zErr, "Z: deadlocked behind X")
	<-yDone
}

// closingSpare reports whether a goroutine is in prepareWanted closing a
// statement.
func closingSpare() bool {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		if strings.Contains(g, "database/sql.(*Stmt).Close") && strings.Contains(g, "store.(*Store).prepareWanted") {
			return true
		}
	}
	return false
}
