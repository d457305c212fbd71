package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/cmd/internal/loadgen"
	"github.com/zoomrecon/zoomrecon/relay"
	"github.com/zoomrecon/zoomrecon/store"
)

// side is ingest with k forwarding destinations: its own database, receiver,
// applications and relay.
type side struct {
	k     int
	st    *store.Store
	q     *timedQueue
	reg   *prometheus.Registry
	url   string
	apps  apps
	relay *relay.Relay // nil for 0 destinations

	// backlog is the most deliveries left queued at the end of a phase's
	// load, over the phases since it was last reset.
	backlog int64
}

func (s *side) name() string {
	if s.k == 1 {
		return "1 destination"
	}
	return fmt.Sprintf("%d destinations", s.k)
}

func newSide(ctx context.Context, o options, dbs *databases, k int, sent *sendLog, logger *slog.Logger) (*side, func(), error) {
	var routes []store.ForwardRoute
	for i := range k {
		routes = append(routes, store.ForwardRoute{Name: fmt.Sprintf("d%d", i)}) // nil Match: every event
	}
	st, err := dbs.open(ctx, fmt.Sprintf("ingest%d", k), routes, logger)
	if err != nil {
		return nil, nil, err
	}
	s := &side{k: k, st: st, q: &timedQueue{Store: st}, reg: prometheus.NewRegistry()}
	url, stopReceiver, err := receiver(st, logger, s.reg)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	s.url = url
	as, dests, stopApps, err := serveApps(k)
	if err != nil {
		stopReceiver()
		_ = st.Close()
		return nil, nil, err
	}
	for _, a := range as {
		a.sentAt, a.seq = sent.at, sent.gen.Seq
	}
	s.apps = as
	if k > 0 {
		s.relay = relay.New(relay.Config{Destinations: dests, Batch: o.batch, Poll: o.poll}, s.q, logger, s.reg)
	}
	return s, func() { stopApps(); stopReceiver(); _ = st.Close() }, nil
}

// phase runs load against the side with its relay delivering, then gives the
// relay up to grace to deliver what is left, then stops it; the relay runs
// only during its side's phases, so it takes no CPU from another side's.
func (s *side) phase(ctx context.Context, load func(url string, d time.Duration) (loadgen.Result, error), grace time.Duration) loadgen.Phase {
	return func(d time.Duration) (loadgen.Result, error) {
		stop := func() {}
		if s.relay != nil {
			stop = runRelay(s.relay)
		}
		defer stop()
		res, err := load(s.url, d)
		if err != nil || s.relay == nil {
			return res, err
		}
		left, err := pending(ctx, s.st)
		if err != nil {
			return res, err
		}
		s.backlog = max(s.backlog, left)
		if grace > 0 {
			waitFor(grace, func() bool {
				n, err := pending(ctx, s.st)
				return err == nil && n == 0
			})
		}
		return res, nil
	}
}

// sendLog remembers when each event was sent to zoomrecon, for the
// applications to measure how late its deliveries arrive.
type sendLog struct {
	gen *loadgen.Generator
	mu  sync.Mutex
	m   map[int64]time.Time
}

// next is the next event, its sending time noted.
func (l *sendLog) next() []byte {
	seq, body := l.gen.NextSeq()
	l.mu.Lock()
	l.m[seq] = time.Now()
	l.mu.Unlock()
	return body
}

func (l *sendLog) at(seq int64) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.m[seq]
	return t, ok
}

// kindStats is what a side did over one kind of phase (fixed rate or full
// speed), all rounds together.
type kindStats struct {
	commits   loadgen.CommitStats
	delivered int64
	batches   string
	backlog   int64
	lags      []time.Duration
}

// measureKind runs f, the phases of one kind for every side, and returns
// each side's statistics over it.
func measureKind(sides []*side, f func() error) ([]kindStats, error) {
	before := make([]loadgen.CommitStats, len(sides))
	delivered := make([]int64, len(sides))
	for i, s := range sides {
		c, err := loadgen.Commits(s.reg)
		if err != nil {
			return nil, err
		}
		before[i], delivered[i] = c, s.apps.delivered()
		s.q.reset()
		s.backlog = 0
		s.apps.takeLags()
	}
	if err := f(); err != nil {
		return nil, err
	}
	out := make([]kindStats, len(sides))
	for i, s := range sides {
		c, err := loadgen.Commits(s.reg)
		if err != nil {
			return nil, err
		}
		out[i] = kindStats{commits: c.Since(before[i]), delivered: s.apps.delivered() - delivered[i],
			batches: s.q.batches(), backlog: s.backlog, lags: s.apps.takeLags()}
	}
	return out, nil
}

// ingest is part 1: ingest with 0, 1 and 3 destinations.
func ingest(ctx context.Context, o options, out io.Writer, dbs *databases, logger *slog.Logger) error {
	sent := &sendLog{gen: loadgen.NewGenerator(o.inProgress), m: map[int64]time.Time{}}
	var sides []*side
	for _, k := range []int{0, 1, 3} {
		s, stop, err := newSide(ctx, o, dbs, k, sent, logger)
		if err != nil {
			return err
		}
		defer stop()
		sides = append(sides, s)
	}
	client := loadgen.Client(o.concurrency)
	full := func(url string, d time.Duration) (loadgen.Result, error) {
		return loadgen.ClosedLoop(client, url, zoomSecret, sent.gen.Next, o.concurrency, d)
	}
	fixed := func(url string, d time.Duration) (loadgen.Result, error) {
		return loadgen.OpenLoop(client, url, zoomSecret, sent.next, o.rate, d)
	}
	names := make([]string, len(sides))
	for i, s := range sides {
		names[i] = s.name()
	}

	fmt.Fprintf(out, "relaybench: %s; relay batch %d, poll %s\n", sides[0].st.Dialect(), o.batch, o.poll)
	fmt.Fprintf(out, "\n1. ingest with 0 (baseline), 1 and 3 destinations, the relay delivering to local applications meanwhile\n")
	fmt.Fprintf(out, "   %d events/s for %s a side (then up to %s for the relay to catch up), then %d senders for %s a side; %d rounds; %d meetings in progress\n",
		o.rate, o.rateFor, o.grace, o.concurrency, o.duration, o.rounds, o.inProgress)
	// Warm every side (connections, page cache, prepared plans) before
	// measuring, at the fixed rate so no backlog is left behind.
	for _, s := range sides {
		if _, err := s.phase(ctx, fixed, o.grace)(time.Second); err != nil {
			return fmt.Errorf("warm %s: %w", s.name(), err)
		}
	}
	// The fixed rate first: the relay keeps up with it, so it starts from an
	// empty queue; full speed leaves a backlog behind.
	var (
		rateRes, fullRes       []loadgen.Result
		rateRounds, fullRounds [][]loadgen.Result
	)
	rateStats, err := measureKind(sides, func() error {
		phases := make([]loadgen.Phase, len(sides))
		for i, s := range sides {
			phases[i] = s.phase(ctx, fixed, o.grace)
		}
		var err error
		rateRes, rateRounds, err = loadgen.Alternate(o.rounds, o.rateFor, names, phases)
		return err
	})
	if err != nil {
		return err
	}
	fullStats, err := measureKind(sides, func() error {
		phases := make([]loadgen.Phase, len(sides))
		for i, s := range sides {
			phases[i] = s.phase(ctx, full, 0)
		}
		var err error
		fullRes, fullRounds, err = loadgen.Alternate(o.rounds, o.duration, names, phases)
		return err
	})
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "\nat %d events/s:\n", o.rate)
	fmt.Fprintf(out, "%-16s %9s %9s %26s %8s %12s %21s %9s\n", "", "p50", "p99", "p99 ratio (rounds)", "errors", "ms/commit", "delivery lag p50/p99", "backlog")
	for i, s := range sides {
		r, st := rateRes[i], rateStats[i]
		_, took := st.commits.PerCommit()
		ratio, lag := "", ""
		if i > 0 {
			ratio = ratioCell(loadgen.Ratios(rateRounds, i, 0, func(x, b loadgen.Result) float64 { return float64(x.Pct(99)) / float64(b.Pct(99)) }))
			lag = fmt.Sprintf("%s / %s", loadgen.Ms(pct(st.lags, 50)), loadgen.Ms(pct(st.lags, 99)))
		}
		fmt.Fprintf(out, "%-16s %9s %9s %26s %8d %12s %21s %9d\n", s.name(), loadgen.Ms(r.Pct(50)), loadgen.Ms(r.Pct(99)), ratio, r.Errors, loadgen.Ms(took), lag, st.backlog)
	}
	fmt.Fprintf(out, "\nat full speed:\n")
	fmt.Fprintf(out, "%-16s %9s %26s %9s %9s %8s %10s %12s %14s %9s\n", "", "events/s", "ratio (rounds)", "p50", "p99", "errors", "ev/commit", "ms/commit", "deliveries/s", "backlog")
	for i, s := range sides {
		r, st := fullRes[i], fullStats[i]
		events, took := st.commits.PerCommit()
		ratio := "1"
		if i > 0 {
			ratio = ratioCell(loadgen.Ratios(fullRounds, i, 0, func(x, b loadgen.Result) float64 { return x.Rate() / b.Rate() }))
		}
		fmt.Fprintf(out, "%-16s %9.0f %26s %9s %9s %8d %10.1f %12s %14.0f %9d\n", s.name(), r.Rate(), ratio, loadgen.Ms(r.Pct(50)), loadgen.Ms(r.Pct(99)), r.Errors,
			events, loadgen.Ms(took), float64(st.delivered)/r.Elapsed.Seconds(), st.backlog)
	}
	fmt.Fprintln(out)
	for i, s := range sides[1:] {
		fmt.Fprintf(out, "relay, %s: at %d/s %s; at full speed %s; out of order or repeated: %d\n",
			s.name(), o.rate, rateStats[i+1].batches, fullStats[i+1].batches, s.apps.outOfOrder())
	}
	return nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, len(sorted)*p/100)]
}
