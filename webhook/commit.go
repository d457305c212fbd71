package webhook

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
)

// commitFunc stores a batch in one transaction and reports, per item, whether
// it was new. It is EventStore.IngestBatch.
type commitFunc func(ctx context.Context, items []store.Ingest, now time.Time) ([]bool, error)

// errNotInTime is a request whose event was not committed before the request
// had to be answered; it is answered 503 and Zoom retries it.
var errNotInTime = errors.New("not committed in time to answer Zoom within 3s")

// groupCommitter lets concurrent requests share one transaction, so that the
// fixed cost of a commit (on SQLite an fsync of the WAL) is paid once per batch
// rather than once per event. Each request still returns only after the
// commit that holds its event, or when it must answer, whichever comes first.
//
// One goroutine commits while there is work: it takes up to maxBatch queued
// events, commits them, and goes on while more are queued. A request never
// commits on its own goroutine, so a commit that hangs (a database locked by
// another process, say) cannot keep any request from answering in time.
type groupCommitter struct {
	commit   commitFunc
	maxBatch int
	timeout  time.Duration
	now      func() time.Time
	// observe is told each batch's size and how long its commit took.
	observe func(size int, took time.Duration, err error)

	mu      sync.Mutex
	queue   []*pendingIngest
	running bool
	wg      sync.WaitGroup // the committing goroutine
}

type pendingIngest struct {
	item store.Ingest
	done chan struct{} // closed when res and err are set
	res  commitResult
	err  error
}

// commitResult is what became of one event.
type commitResult struct {
	inserted bool
	// unapplied, when the database refused the event's state, says why; the
	// event itself was stored raw.
	unapplied string
}

// submit stores item and reports whether it was new. It returns
// errNotInTime once wait has passed without a commit of the item. An item
// whose batch is committing by then may still be stored; Zoom's retry of it is
// then a duplicate.
func (g *groupCommitter) submit(item store.Ingest, wait time.Duration) (commitResult, error) {
	p := &pendingIngest{item: item, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	if !g.running {
		g.running = true
		g.wg.Go(g.run)
	}
	g.mu.Unlock()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.res, p.err
	case <-timer.C:
	}
	// Not yet taken into a batch: withdraw it, so a long outage does not
	// pile up events that were already answered 503.
	g.mu.Lock()
	if i := slices.Index(g.queue, p); i >= 0 {
		g.queue = slices.Delete(g.queue, i, i+1)
	}
	g.mu.Unlock()
	return commitResult{}, errNotInTime
}

// wait returns once no commit is running; the caller stops submitting first.
func (g *groupCommitter) wait() { g.wg.Wait() }

// run commits batches until the queue is empty.
func (g *groupCommitter) run() {
	for first := true; ; first = false {
		if !first {
			// Let the requests a commit woke, and those arriving, queue up
			// before the next batch is taken: bigger batches, fewer fsyncs.
			runtime.Gosched()
		}
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		n := min(len(g.queue), g.maxBatch)
		batch := slices.Clone(g.queue[:n])
		g.queue = slices.Delete(g.queue, 0, n)
		g.mu.Unlock()
		g.commitBatch(batch)
	}
}

func (g *groupCommitter) commitBatch(batch []*pendingIngest) {
	// The batch belongs to many requests; none of them may abort it.
	ctx, cancel := context.WithTimeoutCause(context.Background(), g.timeout, errors.New("webhook commit timed out"))
	defer cancel()

	items := make([]store.Ingest, len(batch))
	for i, p := range batch {
		items[i] = p.item
	}
	inserted, err := g.commitTimed(ctx, items)
	switch {
	case err == nil:
		for i, p := range batch {
			p.finish(commitResult{inserted: inserted[i]}, nil)
		}
	case errors.Is(err, store.ErrInvalidData):
		// The database refused a value of some event: commit each alone, so
		// only that one is stored without its state, and nobody waits on it.
		for _, p := range batch {
			p.finish(g.commitAlone(ctx, p.item))
		}
	default:
		// An outage fails every event alike; retrying each alone would only
		// make every request wait longer before its 503.
		for _, p := range batch {
			p.finish(commitResult{}, err)
		}
	}
}

// commitAlone commits one event; if the database refuses its state, it stores
// the event raw, so that an authentic event is never refused for what it
// contains.
func (g *groupCommitter) commitAlone(ctx context.Context, it store.Ingest) (commitResult, error) {
	inserted, err := g.commitTimed(ctx, []store.Ingest{it})
	if err == nil {
		return commitResult{inserted: inserted[0]}, nil
	}
	if !errors.Is(err, store.ErrInvalidData) || (it.Meeting == nil && it.Participant == nil) {
		return commitResult{}, err
	}
	raw := store.Ingest{Event: it.Event}
	inserted, rawErr := g.commitTimed(ctx, []store.Ingest{raw})
	if rawErr != nil {
		return commitResult{}, rawErr
	}
	return commitResult{inserted: inserted[0], unapplied: "the database refused its state: " + err.Error()}, nil
}

func (g *groupCommitter) commitTimed(ctx context.Context, items []store.Ingest) ([]bool, error) {
	start := g.now()
	inserted, err := g.commit(ctx, items, start)
	g.observe(len(items), g.now().Sub(start), err)
	return inserted, err
}

func (p *pendingIngest) finish(res commitResult, err error) {
	p.res, p.err = res, err
	close(p.done)
}
