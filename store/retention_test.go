package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/migrations"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

func TestRetention(t *testing.T) {
	t.Parallel()
	runOnEveryBackend(t, map[string]func(t *testing.T, st *store.Store){
		"PruneEventsKeepsEventsAtOrAfterTheCutoff": testPruneEventsBoundary,
		"PruneEventsDeletesInBatches":              testPruneEventsBatches,
		"ReplayAfterPruneIsStillADuplicate":        testReplayAfterPrune,
		"PruneHistoryKeepsOpenAndPending":          testPruneHistory,
	})
}

func ingestAt(t *testing.T, st *store.Store, key string, at time.Time) bool {
	t.Helper()
	got, err := st.IngestBatch(context.Background(), []store.Ingest{{Event: store.Event{
		DedupKey: key, Type: "meeting.started", ReceivedAt: at, Body: []byte(`{}`),
	}}}, at)
	require.NoError(t, err)
	return got[0]
}

func eventKeys(t *testing.T, st *store.Store) []string {
	t.Helper()
	var keys []string
	require.NoError(t, st.DB().Select(&keys, "SELECT dedup_key FROM events ORDER BY id"))
	return keys
}

func testPruneEventsBoundary(t *testing.T, st *store.Store) {
	ingestAt(t, st, "old", t0.Add(-time.Microsecond))
	ingestAt(t, st, "cutoff", t0)
	ingestAt(t, st, "young", t0.Add(time.Hour))
	n, err := st.PruneEvents(context.Background(), t0, 0)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, []string{"cutoff", "young"}, eventKeys(t, st))

	n, err = st.PruneEvents(context.Background(), t0, 0)
	require.NoError(t, err)
	require.Equal(t, 0, n, "a second prune deletes nothing")
}

func testPruneEventsBatches(t *testing.T, st *store.Store) {
	for i := range 25 {
		ingestAt(t, st, fmt.Sprintf("old-%02d", i), t0.Add(time.Duration(i-100)*time.Minute))
	}
	ingestAt(t, st, "young", t0.Add(time.Minute))
	n, err := st.PruneEvents(context.Background(), t0, 4) // 6 full batches and a partial one
	require.NoError(t, err)
	require.Equal(t, 25, n)
	require.Equal(t, []string{"young"}, eventKeys(t, st))
}

// testReplayAfterPrune: with the retention at the replay window, an event
// Zoom may still replay is kept by the prune, so the replay is a duplicate.
func testReplayAfterPrune(t *testing.T, st *store.Store) {
	const replayWindow = 24 * time.Hour
	now := t0
	require.True(t, ingestAt(t, st, "ancient", now.Add(-replayWindow-time.Second)))
	require.True(t, ingestAt(t, st, "recent", now.Add(-replayWindow+time.Second)))
	n, err := st.PruneEvents(context.Background(), now.Add(-replayWindow), 0)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.False(t, ingestAt(t, st, "recent", now), "a delivery replayed inside the window after pruning must be a duplicate")
}

func testPruneHistory(t *testing.T, st *store.Store) {
	ctx := context.Background()
	db := st.DB()
	exec := func(q string, args ...any) {
		t.Helper()
		_, err := db.Exec(db.Rebind(q), args...)
		require.NoError(t, err, q)
	}
	override := "" // PostgreSQL's identity columns take explicit ids only when told
	if st.Dialect() == migrations.Postgres {
		override = " OVERRIDING SYSTEM VALUE"
	}
	old, young := t0.Add(-time.Hour), t0.Add(time.Hour)
	// Meetings: old ended (pruned with its session), young ended, old still
	// started, old ended with an open discrepancy.
	for _, m := range []struct {
		uuid   string
		status string
		end    any
	}{{"m-old", "ended", old}, {"m-young", "ended", young}, {"m-live", "started", nil}, {"m-open", "ended", old}} {
		exec(`INSERT INTO meetings (uuid, status, end_time, first_seen_at, updated_at) VALUES (?, ?, ?, ?, ?)`, m.uuid, m.status, m.end, old, old)
		exec(`INSERT INTO participant_sessions (meeting_uuid, participant_key, join_time, created_at, updated_at) VALUES (?, 'p', ?, ?, ?)`, m.uuid, old, old, old)
	}
	// Discrepancies: 1 old resolved, 2 young resolved, 3 open (m-open), 4 old
	// resolved with a pending alert.
	exec(`INSERT INTO discrepancies (id, kind, meeting_uuid, subject, detected_at, resolved_at)`+override+` VALUES
	      (1, 'stale_meeting', 'm-old', 'a', ?, ?), (2, 'stale_meeting', 'm-young', 'b', ?, ?),
	      (3, 'stale_meeting', 'm-open', 'c', ?, NULL), (4, 'stale_meeting', 'x', 'd', ?, ?)`,
		old, old, old, young, old, old, old)
	// Alerts: 10 old sent, 11 young sent, 12 old pending, 13 old dead, 14 old
	// sent for the open discrepancy, 15 old sent with a pending announcement,
	// 16 old sent with a done edit (both cascade away).
	exec(`INSERT INTO alert_outbox (id, discrepancy_id, kind, payload, status, next_attempt_at, created_at, sent_at)`+override+` VALUES
	      (10, 1, 'k', '', 'sent', ?, ?, ?), (11, 2, 'k', '', 'sent', ?, ?, ?), (12, 4, 'k', '', 'pending', ?, ?, NULL),
	      (13, NULL, 'k', '', 'dead', ?, ?, NULL), (14, 3, 'k', '', 'sent', ?, ?, ?), (15, NULL, 'k', '', 'sent', ?, ?, ?),
	      (16, NULL, 'k', '', 'sent', ?, ?, ?)`,
		old, old, old, young, young, young, old, old, old, old, old, old, old, old, old, old, old, old, old)
	exec(`INSERT INTO alert_announcements (outbox_id, status, next_attempt_at) VALUES (15, 'pending', ?), (16, 'announced', ?)`, old, old)
	exec(`INSERT INTO alert_edits (outbox_id, status, next_attempt_at) VALUES (16, 'edited', ?)`, old)

	got, err := st.PruneHistory(ctx, t0, 2)
	require.NoError(t, err)
	require.Equal(t, store.Pruned{"alert_outbox": 3, "discrepancies": 1, "meetings": 1, "participant_sessions": 1, "reconcile_runs": 0, "websocket_gaps": 0, "forward_deliveries": 0, "reconstructed_events": 0}, got)

	ids := func(q string) []string {
		t.Helper()
		var out []string
		require.NoError(t, db.Select(&out, q))
		return out
	}
	require.Equal(t, []string{"11", "12", "14", "15"}, ids(`SELECT CAST(id AS TEXT) FROM alert_outbox ORDER BY id`))
	require.Equal(t, []string{"2", "3", "4"}, ids(`SELECT CAST(id AS TEXT) FROM discrepancies ORDER BY id`))
	require.Equal(t, []string{"m-live", "m-open", "m-young"}, ids(`SELECT uuid FROM meetings ORDER BY uuid`))
	require.Equal(t, []string{"m-live", "m-open", "m-young"}, ids(`SELECT meeting_uuid FROM participant_sessions ORDER BY meeting_uuid`))
	require.Equal(t, []string{"15"}, ids(`SELECT CAST(outbox_id AS TEXT) FROM alert_announcements`))
	require.Empty(t, ids(`SELECT CAST(outbox_id AS TEXT) FROM alert_edits`))

	again, err := st.PruneHistory(ctx, t0, 2)
	require.NoError(t, err)
	require.Equal(t, store.Pruned{"alert_outbox": 0, "discrepancies": 0, "meetings": 0, "participant_sessions": 0, "reconcile_runs": 0, "websocket_gaps": 0, "forward_deliveries": 0, "reconstructed_events": 0}, again)
}

// TestReclaimSpace: a new SQLite file is INCREMENTAL, and after a prune
// ReclaimSpace empties the free list and the file shrinks.
func TestReclaimSpace(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.SQLiteURL(t)
	st := storetest.Open(t, url)
	mode, err := st.AutoVacuum(ctx)
	require.NoError(t, err)
	require.Equal(t, "incremental", mode)

	body := []byte(strings.Repeat("x", 2000))
	for i := range 40 {
		items := make([]store.Ingest, 50)
		for j := range items {
			items[j] = store.Ingest{Event: store.Event{DedupKey: fmt.Sprintf("e-%d-%d", i, j), Type: "meeting.started",
				ReceivedAt: t0.Add(-time.Hour), Body: body}}
		}
		_, err := st.IngestBatch(ctx, items, t0)
		require.NoError(t, err)
	}
	path := strings.TrimPrefix(url, "sqlite:")
	checkpoint := func() int64 {
		t.Helper()
		_, err := st.DB().Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		require.NoError(t, err)
		fi, err := os.Stat(path)
		require.NoError(t, err)
		return fi.Size()
	}
	full := checkpoint()

	n, err := st.PruneEvents(ctx, t0, 0)
	require.NoError(t, err)
	require.Equal(t, 2000, n)
	free, err := st.FreePages(ctx)
	require.NoError(t, err)
	require.Greater(t, free, 500, "pruning 4 MB of events frees pages")

	freed, err := st.ReclaimSpace(ctx, 100, 1000)
	require.NoError(t, err)
	require.Equal(t, free, freed)
	left, err := st.FreePages(ctx)
	require.NoError(t, err)
	require.Equal(t, 0, left)
	shrunk := checkpoint()
	require.Less(t, shrunk, full/4, "file size after reclaim: got %d, before %d", shrunk, full)
}

// TestMigrationTurnsOnIncrementalVacuum: a file made by an older zoomrecon
// (auto_vacuum NONE) is INCREMENTAL after Migrate, its events intact.
func TestMigrationTurnsOnIncrementalVacuum(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.SQLiteURL(t)
	db, err := sql.Open("sqlite", strings.TrimPrefix(url, "sqlite:"))
	require.NoError(t, err)
	require.NoError(t, migrations.UpTo(ctx, db, migrations.SQLite, 8))
	_, err = db.Exec(`INSERT INTO events (dedup_key, event_type, event_ts, received_at, body) VALUES ('k', 't', ?, ?, x'00')`, t0, t0)
	require.NoError(t, err)
	var mode int
	require.NoError(t, db.QueryRow("PRAGMA auto_vacuum").Scan(&mode))
	require.Equal(t, 0, mode, "the old file starts without auto_vacuum")
	require.NoError(t, db.Close())

	st := storetest.Open(t, url)
	got, err := st.AutoVacuum(ctx)
	require.NoError(t, err)
	require.Equal(t, "incremental", got)
	require.Equal(t, []string{"k"}, eventKeys(t, st))
}
