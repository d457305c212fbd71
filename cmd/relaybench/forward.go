package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/cmd/internal/loadgen"
	"github.com/zoomrecon/zoomrecon/migrations"
	"github.com/zoomrecon/zoomrecon/relay"
	"github.com/zoomrecon/zoomrecon/store"
)

// eventSet is events stored once and queued again for each drain.
type eventSet struct {
	name     string
	gen      *loadgen.Generator
	n        int
	meetings int
}

func newEventSet(name string, n, meetings int, epoch time.Time) *eventSet {
	g := loadgen.NewGenerator(meetings)
	g.Participants = max(1, (n/meetings-2)/2) // each meeting is 2 + 2×participants events
	g.Epoch = epoch
	return &eventSet{name: name, gen: g, n: n, meetings: meetings}
}

// filter chooses the set's events: the generator's event_ts run from its
// epoch, 1 ms apart.
func (e *eventSet) filter() store.ReplayFilter {
	return store.ReplayFilter{Since: e.gen.Epoch, Until: e.gen.Epoch.Add(time.Duration(e.n) * time.Millisecond)}
}

// drain is one way the relay is run against a queue.
type drain struct {
	name  string
	set   *eventSet
	k     int
	poll  time.Duration
	limit time.Duration
	// client, if set, replaces the relay's default HTTP client.
	client *http.Client
}

// drainStats is what the relay did in one drain.
type drainStats struct {
	rate       float64
	delivered  int64
	queued     int64
	batches    string
	connsPer   float64 // TCP connections the applications accepted per delivery
	outOfOrder int64
}

// forwarding is part 2: how fast the relay drains a queue.
func forwarding(ctx context.Context, o options, out io.Writer, dbs *databases, logger *slog.Logger) error {
	st, err := dbs.open(ctx, "forward", nil, logger)
	if err != nil {
		return err
	}
	defer st.Close()
	url, stopReceiver, err := receiver(st, logger, prometheus.NewRegistry())
	if err != nil {
		return err
	}
	defer stopReceiver()
	as, dests, stopApps, err := serveApps(3)
	if err != nil {
		return err
	}
	defer stopApps()

	// Two sets of events, stored through the receiver once: many meetings
	// and a few long ones, each set's meetings all in progress at once.
	// Their event_ts ranges are apart, so a replay filter chooses one.
	epoch := time.Date(2024, 3, 5, 14, 0, 0, 0, time.UTC)
	many := newEventSet("many", o.queued, o.many, epoch)
	few := newEventSet("few", o.queued, o.few, epoch.Add(24*time.Hour))
	fmt.Fprintf(out, "\n2. the relay draining %d queued events (a delivery each per destination), vs raw signed POSTs to the same applications (%d concurrent per application)\n",
		o.queued, o.batch)
	client := loadgen.Client(64)
	for _, set := range []*eventSet{many, few} {
		var mu sync.Mutex
		left := set.n
		next := func() []byte {
			mu.Lock()
			defer mu.Unlock()
			if left == 0 {
				return nil
			}
			left--
			return set.gen.Next()
		}
		start := time.Now()
		res, err := loadgen.ClosedLoop(client, url, zoomSecret, next, 64, 10*time.Minute)
		if err != nil {
			return fmt.Errorf("store the %s-meetings events: %w", set.name, err)
		}
		if res.Errors > 0 || len(res.Latencies) != set.n {
			return fmt.Errorf("store the %s-meetings events: %d stored, %d failed", set.name, len(res.Latencies), res.Errors)
		}
		fmt.Fprintf(out, "   stored the %s-meetings set (%d meetings, %d events each) in %s\n",
			set.name, set.meetings, set.n/set.meetings, time.Since(start).Round(10*time.Millisecond))
	}

	drains := []drain{
		{name: fmt.Sprintf("%d meetings, 1 destination", many.meetings), set: many, k: 1, poll: o.poll, limit: o.drainLimit},
		{name: fmt.Sprintf("%d meetings, 3 destinations", many.meetings), set: many, k: 3, poll: o.poll, limit: o.drainLimit},
		{name: fmt.Sprintf("%d meetings, 1 destination", few.meetings), set: few, k: 1, poll: o.poll, limit: o.fewFor},
		{name: fmt.Sprintf("%d meetings, 3 destinations", few.meetings), set: few, k: 3, poll: o.poll, limit: o.fewFor},
	}
	if o.diagnostics {
		pooled := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 3 * o.batch, MaxIdleConnsPerHost: o.batch, IdleConnTimeout: time.Minute,
		}}
		drains = append(drains,
			drain{name: fmt.Sprintf("%d meetings, 1 dest., pooled client", many.meetings), set: many, k: 1, poll: o.poll, limit: o.drainLimit, client: pooled},
			drain{name: fmt.Sprintf("%d meetings, 1 dest., 5ms poll", few.meetings), set: few, k: 1, poll: 5 * time.Millisecond, limit: o.fewFor},
		)
	}

	baseClient := loadgen.Client(3 * o.batch)
	baseGen := loadgen.NewGenerator(o.many)
	baseline := func(k int) (float64, error) {
		as[:k].reset()
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			rate float64
			errs []error
		)
		for i := range k {
			wg.Go(func() {
				r, err := loadgen.ClosedLoop(baseClient, dests[i].URL, dests[i].SecretToken, baseGen.Next, o.batch, o.baseFor)
				mu.Lock()
				defer mu.Unlock()
				rate += r.Rate()
				if err == nil && r.Errors > 0 {
					err = fmt.Errorf("%d posts failed", r.Errors)
				}
				if err != nil {
					errs = append(errs, err)
				}
			})
		}
		wg.Wait()
		if len(errs) > 0 {
			return 0, fmt.Errorf("baseline, %d applications: %w", k, errs[0])
		}
		return rate, nil
	}

	baseRates := map[int][]float64{}
	results := make([][]drainStats, len(drains))
	for round := range max(o.fwdRounds, 1) {
		for _, k := range []int{1, 3} {
			r, err := baseline(k)
			if err != nil {
				return err
			}
			baseRates[k] = append(baseRates[k], r)
		}
		for i, d := range drains {
			s, err := d.run(ctx, st, as, dests, o, fmt.Sprintf("v%dr%d", i, round), logger)
			if err != nil {
				return fmt.Errorf("%s, round %d: %w", d.name, round+1, err)
			}
			results[i] = append(results[i], s)
		}
	}

	rounds := float64(len(results[0]))
	fmt.Fprintf(out, "\n%-38s %14s %26s %18s %16s\n", "", "deliveries/s", "ratio to raw (rounds)", "delivered/queued", "conns/delivery")
	for _, k := range []int{1, 3} {
		fmt.Fprintf(out, "%-38s %14.0f %26s\n", fmt.Sprintf("raw POSTs, %d application(s)", k), loadgen.Median(baseRates[k]), formatRates(baseRates[k]))
	}
	for i, d := range drains {
		rates, ratios := make([]float64, len(results[i])), make([]float64, len(results[i]))
		var delivered, queued int64
		var conns float64
		for r, s := range results[i] {
			rates[r], ratios[r] = s.rate, s.rate/baseRates[d.k][r]
			delivered += s.delivered
			queued += s.queued
			conns += s.connsPer / rounds
		}
		fmt.Fprintf(out, "%-38s %14.0f %26s %18s %16.2f\n", d.name, loadgen.Median(rates), ratioCell(ratios),
			fmt.Sprintf("%.0f/%.0f", float64(delivered)/rounds, float64(queued)/rounds), conns)
	}
	fmt.Fprintln(out)
	for i, d := range drains {
		var disorder int64
		for _, s := range results[i] {
			disorder += s.outOfOrder
		}
		fmt.Fprintf(out, "%s: %s (last round); out of order or repeated: %d\n", d.name, results[i][len(results[i])-1].batches, disorder)
	}
	return nil
}

// formatRates prints each round's rate as [21596 21377].
func formatRates(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.0f", x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// run queues the set for k fresh destinations named after tag and lets a
// relay deliver them until all are delivered or the limit passes.
func (d drain) run(ctx context.Context, st *store.Store, as apps, dests []relay.Destination, o options, tag string, logger *slog.Logger) (drainStats, error) {
	var routes []store.ForwardRoute
	var ds []relay.Destination
	for i := range d.k {
		name := fmt.Sprintf("%s-d%d", tag, i)
		routes = append(routes, store.ForwardRoute{Name: name})
		dest := dests[i]
		dest.Name = name
		ds = append(ds, dest)
	}
	queued, err := st.QueueReplay(ctx, routes, d.set.filter(), time.Now())
	if err != nil {
		return drainStats{}, err
	}
	if queued != int64(d.k*d.set.n) {
		return drainStats{}, fmt.Errorf("queued %d deliveries, want %d", queued, d.k*d.set.n)
	}
	if o.analyze && st.Dialect() == migrations.Postgres {
		// 20,000 rows queued at once leave the planner's statistics behind,
		// and with them it may probe the queue through the wrong index
		// (BENCHMARKS.md): measure the plan a table of this size gets once
		// autovacuum has analyzed it.
		if _, err := st.DB().ExecContext(ctx, "ANALYZE forward_deliveries"); err != nil {
			return drainStats{}, fmt.Errorf("analyze: %w", err)
		}
	}
	mine := as[:d.k]
	mine.reset()
	q := &timedQueue{Store: st}
	r := relay.New(relay.Config{Destinations: ds, Batch: o.batch, Poll: d.poll, HTTPClient: d.client}, q, logger, prometheus.NewRegistry())
	start := time.Now()
	stop := runRelay(r)
	done := waitFor(d.limit, func() bool { return mine.delivered() >= queued })
	end, n := time.Now(), mine.delivered()
	if done {
		end = mine.lastAt()
	}
	stop()
	conns := mine.sum(func(a *app) int64 { return a.conns.Load() })
	return drainStats{
		rate: float64(n) / end.Sub(start).Seconds(), delivered: n, queued: queued,
		batches: q.batches(), connsPer: float64(conns) / float64(max(n, 1)), outOfOrder: mine.outOfOrder(),
	}, nil
}
