package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

func TestOpenDiscrepanciesMetric(t *testing.T) {
	t.Parallel()
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			u := be.URL(t)
			srv := startServe(t, map[string]string{"ZOOMRECON_DATABASE_URL": u})
			m := scrape(t, srv.baseURL)
			for _, k := range store.Kinds() {
				v, ok := m[`zoomrecon_open_discrepancies{kind="`+string(k)+`"}`]
				require.True(t, ok, "every kind has a series from the start: %s", k)
				require.Zero(t, v, k)
			}

			st := storetest.Open(t, u)
			now := time.Now()
			for _, uuid := range []string{"m1", "m2", "m3"} {
				_, created, err := st.RecordDiscrepancy(ctx, store.Discrepancy{
					Kind: store.KindStaleMeeting, MeetingUUID: uuid, DetectedAt: now,
				}, nil)
				require.NoError(t, err)
				require.True(t, created)
			}
			resolved, err := st.ResolveDiscrepancy(ctx, store.KindStaleMeeting, "m3", "", store.ResolvedEnded, now, nil)
			require.NoError(t, err)
			require.True(t, resolved)

			m = scrape(t, srv.baseURL)
			require.Equal(t, 2.0, m[`zoomrecon_open_discrepancies{kind="stale_meeting"}`], "two open, one resolved")
			require.Zero(t, m[`zoomrecon_open_discrepancies{kind="missed_meeting_ended"}`])
		})
	}
}
