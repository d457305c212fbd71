package webhook

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
)

// commitFunc stores a batch in one transaction and reports, per item, whether
// it was new. It is EventStore.IngestBatch.
type commitFunc func(ctx context.Context, items []store.Ingest, now time.Time) ([]bool, error)

// groupCommitter lets concurrent requests share one transaction, so that the
// fixed cost of a commit (on SQLite an fsync of the WAL) is paid once per batch
// rather than once per event. Each request still returns only after the
// commit that holds its event.
//
// There is no background goroutine: the first request to arrive while no
// commit runs becomes the leader and commits everything queued, itself
// included; when it is done it hands the lead to the first request still
// waiting. A request that waits therefore either gets its result or becomes
// the next leader.
type groupCommitter struct {
	commit   commitFunc
	maxBatch int
	timeout  time.Duration
	now      func() time.Time
	// observe is told each batch's size and how long its commit took.
	observe func(size int, took time.Duration, err error)

	mu      sync.Mutex
	queue   []*pendingIngest
	leading bool
}

type pendingIngest struct {
	item store.Ingest
	// lead is closed when this request must commit the next batch; done when
	// its result is set.
	lead, done chan struct{}
	inserted   bool
	err        error
}

// submit stores item and reports whether it was new.
func (g *groupCommitter) submit(ctx context.Context, item store.Ingest) (bool, error) {
	p := &pendingIngest{item: item, lead: make(chan struct{}), done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, p)
	if g.leading {
		g.mu.Unlock()
		// Not on ctx: a request that gave up could be handed the lead, and
		// every request behind it would then wait forever. The commit is
		// bounded by g.timeout, so this wait is too.
		select {
		case <-p.done:
			return p.inserted, p.err
		case <-p.lead:
		}
	} else {
		g.leading = true
		g.mu.Unlock()
	}
	g.lead(ctx)
	<-p.done
	return p.inserted, p.err
}

// lead commits one batch from the head of the queue, then hands the lead on.
func (g *groupCommitter) lead(ctx context.Context) {
	g.mu.Lock()
	n := min(len(g.queue), g.maxBatch)
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()

	g.commitBatch(ctx, batch)

	g.mu.Lock()
	if len(g.queue) > 0 {
		close(g.queue[0].lead)
	} else {
		g.leading = false
	}
	g.mu.Unlock()
}

func (g *groupCommitter) commitBatch(ctx context.Context, batch []*pendingIngest) {
	// The batch belongs to many requests: one client hanging up must not
	// abort the others' commit.
	ctx, cancel := context.WithTimeoutCause(context.WithoutCancel(ctx), g.timeout,
		errors.New("webhook commit timed out"))
	defer cancel()

	items := make([]store.Ingest, len(batch))
	for i, p := range batch {
		items[i] = p.item
	}
	start := g.now()
	inserted, err := g.commit(ctx, items, start)
	g.observe(len(batch), g.now().Sub(start), err)
	if err != nil && len(batch) > 1 {
		// One bad event must not fail its neighbours: retry each alone, so
		// only the events the store really refuses are answered 503.
		for _, p := range batch {
			start := g.now()
			res, err := g.commit(ctx, []store.Ingest{p.item}, start)
			g.observe(1, g.now().Sub(start), err)
			if err == nil {
				p.inserted = res[0]
			}
			p.err = err
			close(p.done)
		}
		return
	}
	for i, p := range batch {
		if err == nil {
			p.inserted = inserted[i]
		}
		p.err = err
		close(p.done)
	}
}
