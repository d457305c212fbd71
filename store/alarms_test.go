package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// TestAnAlarmIsRaisedOnceAcrossReplicas: an alarm raised "unless one is
// open" is raised once when several replicas raise it at the same moment,
// each with its own connections (on PostgreSQL, transactions that would
// each see none open).
func TestAnAlarmIsRaisedOnceAcrossReplicas(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		kind  store.Kind
		raise func(ctx context.Context, st *store.Store, at time.Time) error
	}{
		"forward_dead": {store.KindForwardDead, func(ctx context.Context, st *store.Store, at time.Time) error {
			_, err := st.RaiseForwardAlarm(ctx, store.ForwardAlarm{Destination: "app", Detail: "another secret", At: at})
			return err
		}},
		"url_validation_refused": {store.KindURLValidationRefused, func(ctx context.Context, st *store.Store, at time.Time) error {
			return st.RecordWebhookReport(ctx, store.WebhookReport{
				Validations: []store.Validation{{At: at, Detail: "refused: bad signature"}},
			}, at)
		}},
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			for name, c := range cases {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					u := b.URL(t)
					const replicas = 8
					stores := make([]*store.Store, replicas)
					for i := range stores {
						stores[i] = storetest.Open(t, u)
					}
					ctx := context.Background()
					start := make(chan struct{})
					errs := make(chan error, replicas)
					var wg sync.WaitGroup
					for i, st := range stores {
						wg.Add(1)
						go func() {
							defer wg.Done()
							<-start
							// Each at its own time: each would be an alarm of its own.
							errs <- c.raise(ctx, st, t0.Add(time.Duration(i)*time.Millisecond))
						}()
					}
					close(start)
					wg.Wait()
					close(errs)
					for err := range errs {
						require.NoError(t, err)
					}
					open, err := stores[0].OpenDiscrepancies(ctx)
					require.NoError(t, err)
					var n int
					for _, d := range open {
						if d.Kind == c.kind {
							n++
						}
					}
					require.Equal(t, 1, n, "one alarm for one problem")
				})
			}
		})
	}
}
