package webhook

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
)

// recordingCommit stands in for the database so the test can hold a commit
// open and see how requests were batched.
type recordingCommit struct {
	mu      sync.Mutex
	batches [][]string
	hold    chan struct{} // the first commit waits for it
	failKey string        // a batch holding this key fails
}

func (r *recordingCommit) commit(_ context.Context, items []store.Ingest, _ time.Time) ([]bool, error) {
	r.mu.Lock()
	first := len(r.batches) == 0
	var keys []string
	for _, it := range items {
		keys = append(keys, it.Event.DedupKey)
	}
	r.batches = append(r.batches, keys)
	r.mu.Unlock()
	if first && r.hold != nil {
		<-r.hold
	}
	out := make([]bool, len(items))
	for i, it := range items {
		if it.Event.DedupKey == r.failKey {
			return nil, errors.New("constraint failed")
		}
		out[i] = true
	}
	return out, nil
}

func newTestCommitter(c commitFunc) *groupCommitter {
	return &groupCommitter{commit: c, maxBatch: 128, timeout: time.Minute, now: time.Now, observe: func(int, time.Duration, error) {}}
}

func (g *groupCommitter) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

func item(key string) store.Ingest { return store.Ingest{Event: store.Event{DedupKey: key}} }

func TestGroupCommit(t *testing.T) {
	t.Parallel()

	t.Run("RequestsArrivingDuringACommitShareTheNext", func(t *testing.T) {
		t.Parallel()
		rc := &recordingCommit{hold: make(chan struct{})}
		g := newTestCommitter(rc.commit)
		const n = 20
		errs := make(chan error, n)
		var wg sync.WaitGroup
		wg.Go(func() { _, err := g.submit(context.Background(), item("first")); errs <- err })
		require.Eventually(t, func() bool { rc.mu.Lock(); defer rc.mu.Unlock(); return len(rc.batches) == 1 }, 10*time.Second, time.Millisecond)
		for i := range n - 1 {
			wg.Go(func() { _, err := g.submit(context.Background(), item(fmt.Sprint(i))); errs <- err })
		}
		require.Eventually(t, func() bool { return g.queued() == n-1 }, 10*time.Second, time.Millisecond)
		close(rc.hold)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		require.Len(t, rc.batches, 2, "the %d requests queued behind the first commit go in one batch", n-1)
		require.Len(t, rc.batches[1], n-1)
	})

	t.Run("ABadEventFailsAloneNotItsBatch", func(t *testing.T) {
		t.Parallel()
		rc := &recordingCommit{hold: make(chan struct{}), failKey: "bad"}
		g := newTestCommitter(rc.commit)
		results := map[string]error{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		submit := func(k string) {
			wg.Go(func() {
				_, err := g.submit(context.Background(), item(k))
				mu.Lock()
				results[k] = err
				mu.Unlock()
			})
		}
		submit("first")
		require.Eventually(t, func() bool { rc.mu.Lock(); defer rc.mu.Unlock(); return len(rc.batches) == 1 }, 10*time.Second, time.Millisecond)
		for _, k := range []string{"a", "bad", "b"} {
			submit(k)
		}
		require.Eventually(t, func() bool { return g.queued() == 3 }, 10*time.Second, time.Millisecond)
		close(rc.hold)
		wg.Wait()
		require.NoError(t, results["first"])
		require.NoError(t, results["a"])
		require.NoError(t, results["b"])
		require.Error(t, results["bad"])
	})

	t.Run("BatchesAreCapped", func(t *testing.T) {
		t.Parallel()
		rc := &recordingCommit{hold: make(chan struct{})}
		g := newTestCommitter(rc.commit)
		g.maxBatch = 4
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = g.submit(context.Background(), item("first")) })
		require.Eventually(t, func() bool { rc.mu.Lock(); defer rc.mu.Unlock(); return len(rc.batches) == 1 }, 10*time.Second, time.Millisecond)
		for i := range 10 {
			wg.Go(func() { _, _ = g.submit(context.Background(), item(fmt.Sprint(i))) })
		}
		require.Eventually(t, func() bool { return g.queued() == 10 }, 10*time.Second, time.Millisecond)
		close(rc.hold)
		wg.Wait()
		var sizes []int
		for _, b := range rc.batches {
			sizes = append(sizes, len(b))
		}
		require.Equal(t, []int{1, 4, 4, 2}, sizes)
	})

	t.Run("ACancelledRequestDoesNotAbortTheBatch", func(t *testing.T) {
		t.Parallel()
		var sawCancel bool
		g := newTestCommitter(func(ctx context.Context, items []store.Ingest, _ time.Time) ([]bool, error) {
			sawCancel = ctx.Err() != nil
			return make([]bool, len(items)), nil
		})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := g.submit(ctx, item("x"))
		require.NoError(t, err)
		require.False(t, sawCancel, "the commit runs on a context detached from the leader's request")
	})
}
