package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

func TestRetentionPrune(t *testing.T) {
	t.Parallel()
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, b.URL(t))
			now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			cfg := &config.Config{EventRetention: 30 * 24 * time.Hour, HistoryRetention: 400 * 24 * time.Hour}
			e := env{now: func() time.Time { return now }}
			var logs bytes.Buffer
			logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			reg := prometheus.NewRegistry()
			r := newRetention(cfg, e, st, logger, reg)
			require.NotNil(t, r)

			for i, age := range []time.Duration{31 * 24 * time.Hour, 30*24*time.Hour + time.Second, 30*24*time.Hour - time.Second, time.Hour} {
				at := now.Add(-age)
				_, err := st.IngestBatch(ctx, []store.Ingest{{Event: store.Event{
					DedupKey: fmt.Sprint("k", i), Type: "meeting.started", ReceivedAt: at, Body: []byte(`{}`)}}}, at)
				require.NoError(t, err)
			}
			got, err := r.prune(ctx)
			require.NoError(t, err)
			require.Equal(t, 2, got["events"])
			var left []string
			require.NoError(t, st.DB().Select(&left, "SELECT dedup_key FROM events ORDER BY id"))
			require.Equal(t, []string{"k2", "k3"}, left, "events younger than the retention are kept")

			require.Equal(t, 2.0, testutil.ToFloat64(r.deleted.WithLabelValues("events")))
			require.Equal(t, 0.0, testutil.ToFloat64(r.deleted.WithLabelValues("meetings")))
			require.Equal(t, float64(now.Unix()), testutil.ToFloat64(r.lastRun))
			require.Contains(t, logs.String(), `level=INFO msg="pruned old rows"`)
			require.Contains(t, logs.String(), "events=2")

			// A second run deletes nothing and says so at DEBUG only.
			logs.Reset()
			_, err = r.prune(ctx)
			require.NoError(t, err)
			require.Contains(t, logs.String(), `level=DEBUG msg="pruned old rows"`)
			require.Equal(t, 2.0, testutil.ToFloat64(r.deleted.WithLabelValues("events")))
		})
	}
}

func TestRetentionForeverStartsNoLoop(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{}
	require.Nil(t, newRetention(cfg, env{now: time.Now}, nil, slog.New(slog.DiscardHandler), prometheus.NewRegistry()))
}
