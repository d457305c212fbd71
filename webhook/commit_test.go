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
	// failKey makes a batch holding this key's event fail as a database
	// refuses a value, but only while the event carries state.
	failKey string
	// outage makes every commit fail as an unavailable database does.
	outage bool
}

func (r *recordingCommit) commit(_ context.Context, items []store.Ingest, _ time.Time) ([]bool, error) {
	r.mu.Lock()
	first := len(r.batches) == 0
	var keys []string
	for _, it := range items {
		keys = append(keys, it.Event.DedupKey)
	}
	r.batches = append(r.batches, keys)
	outage := r.outage
	r.mu.Unlock()
	if first && r.hold != nil {
		<-r.hold
	}
	if outage {
		return nil, errors.New("connection refused")
	}
	out := make([]bool, len(items))
	for i, it := range items {
		if it.Event.DedupKey == r.failKey && it.Meeting != nil {
			return nil, fmt.Errorf("insert events: %w: value out of range", store.ErrInvalidData)
		}
		out[i] = true
	}
	return out, nil
}

func (r *recordingCommit) commits() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.batches)
}

func newTestCommitter(c commitFunc) *groupCommitter {
	return &groupCommitter{commit: c, maxBatch: 128, timeout: time.Minute, now: time.Now, observe: func(int, time.Duration, error) {}}
}

func (g *groupCommitter) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.queue)
}

func item(key string) store.Ingest {
	return store.Ingest{Event: store.Event{DedupKey: key}, Meeting: &store.MeetingUpdate{UUID: "m=="}}
}

func TestGroupCommit(t *testing.T) {
	t.Parallel()

	t.Run("RequestsArrivingDuringACommitShareTheNext", func(t *testing.T) {
		t.Parallel()
		rc := &recordingCommit{hold: make(chan struct{})}
		g := newTestCommitter(rc.commit)
		const n = 20
		errs := make(chan error, n)
		var wg sync.WaitGroup
		wg.Go(func() { _, err := g.submit(item("first"), time.Minute); errs <- err })
		require.Eventually(t, func() bool { return rc.commits() == 1 }, 10*time.Second, time.Millisecond)
		for i := range n - 1 {
			wg.Go(func() { _, err := g.submit(item(fmt.Sprint(i)), time.Minute); errs <- err })
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

	t.Run("AnEventWhoseStateTheDatabaseRefusesIsStoredRaw", func(t *testing.T) {
		t.Parallel()
		rc := &recordingCommit{hold: make(chan struct{}), failKey: "bad"}
		g := newTestCommitter(rc.commit)
		results := map[string]commitResult{}
		errs := map[string]error{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		submit := func(k string) {
			wg.Go(func() {
				res, err := g.submit(item(k), time.Minute)
				mu.Lock()
				results[k], errs[k] = res, err
				mu.Unlock()
			})
		}
		submit("first")
		require.Eventually(t, func() bool { return rc.commits() == 1 }, 10*time.Second, time.Millisecond)
		for _, k := range []string{"a", "bad", "b"} {
			submit(k)
		}
		require.Eventually(t, func() bool { return g.queued() == 3 }, 10*time.Second, time.Millisecond)
		close(rc.hold)
		wg.Wait()
		for _, k := range []string{"first", "a", "bad", "b"} {
			require.NoError(t, errs[k], k)
			require.True(t, results[k].inserted, k)
		}
		require.Empty(t, results["a"].unapplied)
		require.Contains(t, results["bad"].unapplied, "the database refused its state")
		// first; the batch of a, bad and b (in arrival order); then each
		// alone in that order, bad twice: refused with its state, then raw.
		require.Len(t, rc.batches, 6)
		require.Equal(t, []string{"first"}, rc.batches[0])
		require.ElementsMatch(t, []string{"a", "bad", "b"}, rc.batches[1])
		var alone [][]string
		for _, k := range rc.batches[1] {
			alone = append(alone, []string{k})
			if k == "bad" {
				alone = append(alone, []string{k})
			}
		}
		require.Equal(t, alone, rc.batches[2:])
	})

	t.Run("AnOutageFailsTheBatchWithoutRetryingEachEvent", func(t *testing.T) {
		t.Parallel()
		rc := &recordingCommit{hold: make(chan struct{}), outage: true}
		g := newTestCommitter(rc.commit)
		var wg sync.WaitGroup
		errs := make(chan error, 4)
		wg.Go(func() { _, err := g.submit(item("first"), time.Minute); errs <- err })
		require.Eventually(t, func() bool { return rc.commits() == 1 }, 10*time.Second, time.Millisecond)
		for i := range 3 {
			wg.Go(func() { _, err := g.submit(item(fmt.Sprint(i)), time.Minute); errs <- err })
		}
		require.Eventually(t, func() bool { return g.queued() == 3 }, 10*time.Second, time.Millisecond)
		close(rc.hold)
		wg.Wait()
		close(errs)
		for err := range errs {
			require.ErrorContains(t, err, "connection refused")
		}
		require.Equal(t, 2, rc.commits(), "one commit per batch: an outage is not retried event by event")
	})

	t.Run("AHungCommitStillLetsEveryRequestAnswerInTime", func(t *testing.T) {
		t.Parallel()
		rc := &recordingCommit{hold: make(chan struct{})}
		defer close(rc.hold)
		g := newTestCommitter(rc.commit)
		var wg sync.WaitGroup
		errs := make(chan error, 5)
		for i := range 5 {
			wg.Go(func() { _, err := g.submit(item(fmt.Sprint(i)), 50*time.Millisecond); errs <- err })
		}
		wg.Wait() // returns although the first commit never ends
		close(errs)
		for err := range errs {
			require.ErrorIs(t, err, errNotInTime)
		}
		require.Zero(t, g.queued(), "requests that gave up are withdrawn from the queue")
	})

	t.Run("BatchesAreCapped", func(t *testing.T) {
		t.Parallel()
		rc := &recordingCommit{hold: make(chan struct{})}
		g := newTestCommitter(rc.commit)
		g.maxBatch = 4
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = g.submit(item("first"), time.Minute) })
		require.Eventually(t, func() bool { return rc.commits() == 1 }, 10*time.Second, time.Millisecond)
		for i := range 10 {
			wg.Go(func() { _, _ = g.submit(item(fmt.Sprint(i)), time.Minute) })
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
}
