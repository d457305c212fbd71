package alerts_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/alerts"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// TestDeadRunsClaimsAreTakenUpAtOnce: an alert claimed by a serve run that
// died is sent by another sender as soon as that run is marked ended, without
// waiting out the lease, and not before.
func TestDeadRunsClaimsAreTakenUpAtOnce(t *testing.T) {
	t.Parallel()
	for _, bk := range storetest.Backends() {
		t.Run(bk.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			dbURL := bk.URL(t)
			st := storetest.Open(t, dbURL)
			start := func(host string) int64 {
				t.Helper()
				id, err := st.StartUptime(ctx, store.RunIdentity{Host: host, PID: 1}, nil, t0, time.Hour)
				require.NoError(t, err)
				return id
			}
			crashed, survivor := start("web1"), start("web2")
			sender, b := setup(t, dbURL, alerts.ModeBot, func(c *alerts.Config) { c.RunID = survivor })
			b.seed(t, meeting(store.KindMissedMeetingEnded, 1))

			// The crashed run's sender claimed it (with the default lease)
			// and died before Slack saw it.
			claimed, err := b.st.ClaimAlerts(ctx, crashed, t0, 5*time.Minute, 10)
			require.NoError(t, err)
			require.Len(t, claimed, 1)

			b.clock.Advance(time.Minute)
			require.Zero(t, pass(t, sender).Claimed, "while its run is not known dead, the lease holds")
			require.Empty(t, b.slack.Requests())

			require.NoError(t, b.st.EndUptime(ctx, crashed, b.clock.Now()))
			res := pass(t, sender)
			require.Equal(t, 1, res.Sent, "taken up at once, 4 minutes before the lease ends")
			require.Len(t, b.slack.Accepted(), 1)
			for _, m := range b.outbox(t) {
				require.Equal(t, store.OutboxSent, m.Status, "alert %d", m.ID)
			}
		})
	}
}

// TestLastSuccessSeededFromTheDatabase: a sender built over a database that
// has delivered alerts exposes when, before its first pass.
func TestLastSuccessSeededFromTheDatabase(t *testing.T) {
	t.Parallel()
	eachBackendAndMode(t, func(t *testing.T, dbURL, mode string) {
		sender, b := setup(t, dbURL, mode)
		b.seed(t, meeting(store.KindMissedMeetingEnded, 1))
		require.Equal(t, 1, pass(t, sender).Sent)
		sentAt := b.clock.Now()

		// Restart an hour later: a new registry, a new sender, no pass yet.
		b.clock.Advance(time.Hour)
		reg := prometheus.NewRegistry()
		restarted := b.build(t, reg)
		require.Zero(t, metric(t, reg, "zoomrecon_alerts_last_success_timestamp_seconds"), "nothing read yet")
		require.NoError(t, restarted.SeedMetrics(context.Background()))
		require.Equal(t, float64(sentAt.Unix()), metric(t, reg, "zoomrecon_alerts_last_success_timestamp_seconds"),
			"the last delivery in the database, not the restart's time")

		// A pass with nothing to send keeps it.
		require.Zero(t, pass(t, restarted).Claimed)
		require.Equal(t, float64(sentAt.Unix()), metric(t, reg, "zoomrecon_alerts_last_success_timestamp_seconds"))
	})
}
