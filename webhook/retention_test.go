package webhook_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/webhook"
)

// TestReplayAfterPrune: with the event retention at its minimum, the replay
// window, pruning keeps every event whose delivery can still be replayed, so
// a replay is a duplicate; once the event can be pruned, its replay is
// refused by its timestamp before deduplication is asked.
func TestReplayAfterPrune(t *testing.T) {
	t.Parallel()
	const window = 24 * time.Hour
	for _, backend := range storetest.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st := storetest.Open(t, backend.URL(t))
			var clock atomic.Pointer[time.Time]
			setClock := func(at time.Time) { clock.Store(&at) }
			setClock(now)
			h := webhook.NewHandler(webhook.Config{
				SecretTokens: []string{secret}, ReplayWindow: window,
				Now:          func() time.Time { return *clock.Load() },
				AnswerWithin: 30 * time.Second, CommitTimeout: 30 * time.Second,
			}, st, slog.New(slog.DiscardHandler), prometheus.NewRegistry())

			body := fixture(t, "meeting.participant_joined.json")
			ts := strconv.FormatInt(now.Unix(), 10)
			deliver := func() int {
				req := httptest.NewRequest(http.MethodPost, "/webhooks/zoom", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(webhook.HeaderTimestamp, ts)
				req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, body))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec.Code
			}
			count := func() int {
				var n int
				require.NoError(t, st.DB().Get(&n, "SELECT COUNT(*) FROM events"))
				return n
			}
			require.Equal(t, http.StatusOK, deliver())
			require.Equal(t, 1, count())

			// Just inside the window: the prune keeps the event and the
			// replay is recognised.
			setClock(now.Add(window - time.Second))
			n, err := st.PruneEvents(ctx, now.Add(window-time.Second).Add(-window), store.DefaultPruneBatch)
			require.NoError(t, err)
			require.Equal(t, 0, n, "an event younger than the retention must be kept")
			require.Equal(t, http.StatusOK, deliver())
			require.Equal(t, 1, count(), "the replay after pruning was stored again: deduplication forgot it")

			// Past the window: the event goes, and so would its replay.
			later := now.Add(window + 2*time.Second)
			setClock(later)
			n, err = st.PruneEvents(ctx, later.Add(-window), store.DefaultPruneBatch)
			require.NoError(t, err)
			require.Equal(t, 1, n)
			require.Equal(t, http.StatusUnauthorized, deliver())
			require.Equal(t, 0, count())
		})
	}
}
