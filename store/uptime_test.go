package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
)

// TestServeRuns runs the cases about serve runs and the claims they hold on
// every backend.
func TestServeRuns(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, st *store.Store){
		"ClaimsOfAnEndedRunAreDueAtOnce":         testClaimsOfEndedRunAreDueAtOnce,
		"ClaimsOfALiveRunWaitForTheLease":        testClaimsOfLiveRunWait,
		"AFailedTryOfAnEndedRunKeepsItsBackoff":  testFailedTryKeepsBackoff,
		"StartEndsDeadPredecessorsOnTheSameHost": testStartEndsDeadPredecessors,
		"LatestRunIsTheLastStartedWithItsFacts":  testLatestRun,
		"AnEndedRunIsNoLongerUp":                 testEndedRunIsNoLongerUp,
	}
	runOnEveryBackend(t, cases)
}

// lease is the sender's default lease: the cases claim well inside it.
const lease = 5 * time.Minute

// startRun records a serve run on host with pid at t0 and returns its ID.
func startRun(t *testing.T, st *store.Store, host string, pid int) int64 {
	t.Helper()
	id, err := st.StartUptime(context.Background(), store.RunIdentity{Host: host, PID: pid}, nil, t0, 7*24*time.Hour)
	require.NoError(t, err)
	return id
}

// sentResolved records an alert that went out and whose discrepancy then
// resolved, so its resolution is due to be announced; it returns the alert.
func sentResolved(t *testing.T, st *store.Store, n int) int64 {
	t.Helper()
	ctx := context.Background()
	_, id := recordAlerted(t, st, missedEnd(n))
	require.NoError(t, st.MarkAlertsSent(ctx, store.AlertDelivery{IDs: []int64{id}, SentAt: t0, Channel: "C1", TS: fmt.Sprintf("1.%d", n)}))
	ok, err := st.ResolveDiscrepancy(ctx, store.KindMissedMeetingEnded, fmt.Sprintf("m%d", n), "", store.ResolvedLateWebhook, t0, nil)
	require.NoError(t, err)
	require.True(t, ok)
	return id
}

func claimAlertIDs(t *testing.T, st *store.Store, by int64, now time.Time) []int64 {
	t.Helper()
	msgs, err := st.ClaimAlerts(context.Background(), by, now, lease, 10)
	require.NoError(t, err)
	ids := []int64{}
	for _, m := range msgs {
		if by == 0 {
			require.Nil(t, m.ClaimedBy, "alert %d: claimed by no run", m.ID)
		} else {
			require.NotNil(t, m.ClaimedBy, "alert %d records who claimed it", m.ID)
			require.Equal(t, by, *m.ClaimedBy, "alert %d", m.ID)
		}
		ids = append(ids, m.ID)
	}
	return ids
}

func claimAnnouncementIDs(t *testing.T, st *store.Store, by int64, now time.Time) []int64 {
	t.Helper()
	anns, err := st.ClaimAnnouncements(context.Background(), by, now, t0.Add(-time.Hour), lease, 10)
	require.NoError(t, err)
	ids := []int64{}
	for _, a := range anns {
		ids = append(ids, a.Alert.ID)
	}
	return ids
}

func testClaimsOfEndedRunAreDueAtOnce(t *testing.T, st *store.Store) {
	ctx := context.Background()
	crashed, successor := startRun(t, st, "a", 100), startRun(t, st, "b", 200)
	announce := sentResolved(t, st, 0)
	_, alert := recordAlerted(t, st, missedEnd(1))

	require.Equal(t, []int64{alert}, claimAlertIDs(t, st, crashed, t0))
	require.Equal(t, []int64{announce}, claimAnnouncementIDs(t, st, crashed, t0))

	// The claimer dies with both claimed; a second later it is known dead.
	require.NoError(t, st.EndUptime(ctx, crashed, t0.Add(time.Second)))
	now := t0.Add(2 * time.Second) // far inside the lease
	require.Equal(t, []int64{alert}, claimAlertIDs(t, st, successor, now), "the dead run's alert is taken up at once")
	require.Equal(t, []int64{announce}, claimAnnouncementIDs(t, st, successor, now), "the dead run's announcement is taken up at once")

	// And now the successor holds them: no one else takes them in its lease.
	other := startRun(t, st, "c", 300)
	require.Empty(t, claimAlertIDs(t, st, other, now.Add(time.Second)))
	require.Empty(t, claimAnnouncementIDs(t, st, other, now.Add(time.Second)))
}

func testClaimsOfLiveRunWait(t *testing.T, st *store.Store) {
	live, other := startRun(t, st, "a", 100), startRun(t, st, "b", 200)
	announce := sentResolved(t, st, 0)
	_, alert := recordAlerted(t, st, missedEnd(1))
	require.Equal(t, []int64{alert}, claimAlertIDs(t, st, live, t0))
	require.Equal(t, []int64{announce}, claimAnnouncementIDs(t, st, live, t0))

	almost := t0.Add(lease - time.Second)
	require.Empty(t, claimAlertIDs(t, st, other, almost), "a live run's alert is never claimed twice in its lease")
	require.Empty(t, claimAnnouncementIDs(t, st, other, almost), "a live run's announcement is never claimed twice in its lease")

	// A claim without a run (an old sender) is left to its lease too.
	_, unowned := recordAlerted(t, st, missedEnd(2))
	require.Equal(t, []int64{unowned}, claimAlertIDs(t, st, 0, t0))
	require.Empty(t, claimAlertIDs(t, st, other, almost))

	// When the lease ends, anyone may.
	require.ElementsMatch(t, []int64{alert, unowned}, claimAlertIDs(t, st, other, t0.Add(lease)))
	require.Equal(t, []int64{announce}, claimAnnouncementIDs(t, st, other, t0.Add(lease)))
}

func testFailedTryKeepsBackoff(t *testing.T, st *store.Store) {
	ctx := context.Background()
	ended, other := startRun(t, st, "a", 100), startRun(t, st, "b", 200)
	_, failed := recordAlerted(t, st, missedEnd(0))
	_, released := recordAlerted(t, st, missedEnd(1))
	require.Equal(t, []int64{failed, released}, claimAlertIDs(t, st, ended, t0))
	require.NoError(t, st.MarkAlertsFailed(ctx, []int64{failed}, t0.Add(time.Hour), "slack: 500", false))
	require.NoError(t, st.ReleaseAlerts(ctx, []int64{released}, t0.Add(time.Hour)))
	require.NoError(t, st.EndUptime(ctx, ended, t0.Add(time.Second)))

	require.Empty(t, claimAlertIDs(t, st, other, t0.Add(time.Minute)),
		"a backoff or a release is not a claim: the run's end does not cut it short")
	require.Equal(t, []int64{failed, released}, claimAlertIDs(t, st, other, t0.Add(time.Hour)))
}

func testStartEndsDeadPredecessors(t *testing.T, st *store.Store) {
	ctx := context.Background()
	// The predecessors are written directly: starting them one by one would
	// have each judge the others.
	start := func(host string, pid int, boot string) int64 {
		t.Helper()
		var id int64
		require.NoError(t, st.DB().GetContext(ctx, &id, st.DB().Rebind(`
INSERT INTO uptime (started_at, beat_at, host, pid, boot_id) VALUES (?, ?, ?, ?, ?) RETURNING id`), t0, t0, host, pid, boot))
		return id
	}
	deadPID := start("web1", 101, "boot-1")
	livePID := start("web1", 102, "boot-1")
	ourPID := start("web1", 103, "boot-1")
	otherHost := start("web2", 101, "boot-1")
	rebooted := start("web1", 104, "boot-0")
	unknownBoot := start("web1", 105, "")
	alreadyEnded := start("web1", 106, "boot-1")
	endedAt := t0.Add(time.Minute)
	require.NoError(t, st.EndUptime(ctx, alreadyEnded, endedAt))

	asked := map[int]bool{}
	alive := func(pid int) bool {
		asked[pid] = true
		return pid == 102 || pid == 104 || pid == 105 // 104 is alive, but as another process: the machine rebooted
	}
	now := t0.Add(time.Hour)
	self, err := st.StartUptime(ctx, store.RunIdentity{Host: "web1", PID: 103, BootID: "boot-1"}, alive, now, 7*24*time.Hour)
	require.NoError(t, err)

	ended := map[int64]*time.Time{}
	rows, err := st.DB().QueryContext(ctx, `SELECT id, ended_at FROM uptime`)
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		var at *time.Time
		require.NoError(t, rows.Scan(&id, &at))
		ended[id] = at
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())

	for _, c := range []struct {
		name string
		id   int64
		want *time.Time
	}{
		{"DeadPID", deadPID, &now},
		{"LivePID", livePID, nil},
		{"OurOwnPIDOnThisBoot", ourPID, &now},
		{"OtherHost", otherHost, nil},
		{"EarlierBoot", rebooted, &now},
		{"UnknownBootLivePID", unknownBoot, nil},
		{"AlreadyEnded", alreadyEnded, &endedAt},
		{"Self", self, nil},
	} {
		got := ended[c.id]
		if c.want == nil {
			require.Nil(t, got, "%s: ended_at", c.name)
			continue
		}
		require.NotNil(t, got, "%s: ended_at", c.name)
		require.True(t, got.Equal(*c.want), "%s: ended_at: got %v, want %v", c.name, got, c.want)
	}
	require.False(t, asked[104], "a run of an earlier boot is dead without asking")
}

func testLatestRun(t *testing.T, st *store.Store) {
	ctx := context.Background()
	_, err := st.LatestRun(ctx)
	require.ErrorIs(t, err, store.ErrNotFound)

	_, err = st.StartUptime(ctx, store.RunIdentity{Host: "web1", PID: 7}, nil, t0, 7*24*time.Hour)
	require.NoError(t, err)
	id, err := st.StartUptime(ctx, store.RunIdentity{Host: "web2", PID: 8, Facts: []byte(`{"alert_route":"bot"}`)}, nil, t0.Add(time.Hour), 7*24*time.Hour)
	require.NoError(t, err)
	require.NoError(t, st.Beat(ctx, id, t0.Add(2*time.Hour)))

	got, err := st.LatestRun(ctx)
	require.NoError(t, err)
	require.Equal(t, id, got.ID)
	require.Equal(t, "web2", got.Host)
	require.Equal(t, 8, got.PID)
	require.True(t, got.StartedAt.Equal(t0.Add(time.Hour)), "started_at: got %v", got.StartedAt)
	require.True(t, got.BeatAt.Equal(t0.Add(2*time.Hour)), "beat_at: got %v", got.BeatAt)
	require.Nil(t, got.EndedAt)
	require.JSONEq(t, `{"alert_route":"bot"}`, string(got.Facts))

	require.NoError(t, st.EndUptime(ctx, id, t0.Add(3*time.Hour)))
	got, err = st.LatestRun(ctx)
	require.NoError(t, err)
	require.NotNil(t, got.EndedAt)
	require.True(t, got.EndedAt.Equal(t0.Add(3*time.Hour)), "ended_at: got %v", *got.EndedAt)
}

func testEndedRunIsNoLongerUp(t *testing.T, st *store.Store) {
	ctx := context.Background()
	id := startRun(t, st, "web1", 1)
	stop := t0.Add(time.Hour)
	require.NoError(t, st.Beat(ctx, id, stop))
	now := stop.Add(10 * time.Second)
	ws, err := st.RetryWindows(ctx, t0, now, time.Minute)
	require.NoError(t, err)
	require.Empty(t, ws, "a run that beat within alive is up")

	require.NoError(t, st.EndUptime(ctx, id, stop))
	ws, err = st.RetryWindows(ctx, t0, now, time.Minute)
	require.NoError(t, err)
	require.Len(t, ws, 1, "a run that said it stopped is down from its last beat, however recent")
	require.True(t, ws[0].From.Equal(stop) && ws[0].To.Equal(now), "got %v, want %v to %v", ws[0], stop, now)
}
