// Command relaybench measures the relay (issue 17) in two parts, each against
// a baseline measured in the same run:
//
//  1. What forwarding adds to ingest: signed Zoom events go over loopback to
//     the real webhook.Handler on a database configured with 0 (the
//     baseline), 1 and 3 forwarding destinations, so each stored event is
//     also queued for each destination in its transaction; beside it the
//     relay runs and delivers to fast local applications, claiming from the
//     queue while ingest writes to it, as in serve. The three take turns,
//     round by round: closed-loop throughput and p50/p99, then p99 at a fixed
//     rate, with ratios against 0 destinations.
//  2. How fast the relay drains a queue: N events already stored (over many
//     meetings in progress at once, and over a few long ones, whose
//     deliveries must go one at a time per meeting) are queued for 1 and for
//     3 destinations, and the relay delivers them. The baseline is the raw
//     rate of signed POSTs from this process to the same applications, with
//     as many concurrent senders per application as the relay's batch.
//
// The relay runs as serve configures it (its default HTTP client, Poll and
// Batch) unless flags say otherwise.
//
//	go run ./cmd/relaybench                       # SQLite files in a temporary directory
//	go run ./cmd/relaybench -db postgres://...    # PostgreSQL, a fresh schema per database
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/cmd/internal/loadgen"
	"github.com/zoomrecon/zoomrecon/relay"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/webhook"
)

// zoomSecret signs the events sent to zoomrecon; each destination has its own.
const zoomSecret = "benchZoomSecretToken"

func destSecret(i int) string { return fmt.Sprintf("benchDestinationSecret%d", i) }

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "relaybench:", err)
		os.Exit(1)
	}
}

type options struct {
	db          string
	rounds      int
	concurrency int
	duration    time.Duration
	rate        int
	rateFor     time.Duration
	grace       time.Duration
	inProgress  int

	queued      int
	many        int
	few         int
	fwdRounds   int
	baseFor     time.Duration
	fewFor      time.Duration
	drainLimit  time.Duration
	diagnostics bool
	analyze     bool

	batch int
	poll  time.Duration
	only  string
}

func run(args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("relaybench", flag.ContinueOnError)
	fs.StringVar(&o.db, "db", "", "database URL (default: SQLite files in a temporary directory)")
	fs.IntVar(&o.rounds, "rounds", 3, "ingest: rounds in which 0, 1 and 3 destinations take turns")
	fs.IntVar(&o.concurrency, "concurrency", 256, "ingest: concurrent senders at full speed")
	fs.DurationVar(&o.duration, "duration", 6*time.Second, "ingest: how long each side runs at full speed, over all rounds")
	fs.IntVar(&o.rate, "rate", 500, "ingest: events per second at the fixed rate")
	fs.DurationVar(&o.rateFor, "rate-duration", 6*time.Second, "ingest: how long each side runs at the fixed rate, over all rounds")
	fs.DurationVar(&o.grace, "grace", 3*time.Second, "ingest: after each fixed-rate phase, how long the relay may take to deliver the rest before it is stopped")
	fs.IntVar(&o.inProgress, "meetings", 100, "ingest: meetings in progress at once, whose events interleave")
	fs.IntVar(&o.queued, "queued", 20000, "forwarding: events queued for each destination")
	fs.IntVar(&o.many, "many", 400, "forwarding: meetings of the many-meetings queue (queued/many events each), all in progress at once")
	fs.IntVar(&o.few, "few", 4, "forwarding: meetings of the few-meetings queue (queued/few events each)")
	fs.IntVar(&o.fwdRounds, "forward-rounds", 2, "forwarding: rounds of baselines and drains")
	fs.DurationVar(&o.baseFor, "baseline-duration", 2*time.Second, "forwarding: how long each raw-POST baseline runs per round")
	fs.DurationVar(&o.fewFor, "few-duration", 3*time.Second, "forwarding: how long the relay drains the few-meetings queue per round")
	fs.DurationVar(&o.drainLimit, "drain-limit", 10*time.Second, "forwarding: the longest a many-meetings drain runs; a slower relay is measured over this much of its queue")
	fs.BoolVar(&o.analyze, "analyze", true, "forwarding, PostgreSQL: ANALYZE the queue once it is filled, as autovacuum eventually does; false keeps the statistics of before")
	fs.BoolVar(&o.diagnostics, "diagnostics", true, "forwarding: also drain with a client that keeps a connection per concurrent delivery, and the few meetings with a 5ms poll")
	fs.IntVar(&o.batch, "batch", 0, "relay Batch (default: the relay's, 16)")
	fs.DurationVar(&o.poll, "poll", 0, "relay Poll (default: the relay's, 500ms)")
	fs.StringVar(&o.only, "only", "", `run only "ingest" or "forward"`)
	if err := fs.Parse(args); err != nil {
		return err
	}
	// relay.Config's defaults, spelled out: the baselines' concurrency is
	// the batch, and the report prints both.
	o.batch = cmp.Or(o.batch, 16)
	o.poll = cmp.Or(o.poll, 500*time.Millisecond)

	ctx := context.Background()
	dbs := &databases{base: o.db}
	defer dbs.close()
	if o.db == "" {
		dir, err := os.MkdirTemp("", "relaybench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		dbs.dir = dir
	}
	logs := &warnings{}
	logger := slog.New(logs)

	if o.only != "forward" {
		if err := ingest(ctx, o, out, dbs, logger); err != nil {
			return err
		}
	}
	if o.only != "ingest" {
		if err := forwarding(ctx, o, out, dbs, logger); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "\nwarnings and errors logged by the receiver and the relay: %s\n", logs)
	return nil
}

// databases opens a fresh database per use: a SQLite file in dir, or a
// schema of its own on PostgreSQL, so no side's tables or indexes are
// larger for another's work.
type databases struct {
	base  string
	dir   string
	drops []func()
}

func (d *databases) open(ctx context.Context, name string, routes []store.ForwardRoute, logger *slog.Logger) (*store.Store, error) {
	url := "sqlite:" + filepath.Join(d.dir, name+".db")
	if d.dir == "" {
		if !strings.HasPrefix(d.base, "postgres") {
			return nil, errors.New("-db: only PostgreSQL URLs are accepted; leave it out for SQLite")
		}
		u, drop, err := loadgen.PostgresSchema(ctx, d.base, "relaybench_"+name)
		if err != nil {
			return nil, err
		}
		d.drops = append(d.drops, drop)
		url = u
	}
	st, err := store.Open(ctx, url, store.Options{Forward: routes, Logger: logger})
	if err != nil {
		return nil, err
	}
	if _, err := st.Migrate(ctx); err != nil {
		_ = st.Close()
		return nil, err
	}
	return st, nil
}

func (d *databases) close() {
	for _, drop := range d.drops {
		drop()
	}
}

// receiver serves the real webhook handler on st and returns its URL.
func receiver(st *store.Store, logger *slog.Logger, reg prometheus.Registerer) (string, func(), error) {
	h := webhook.NewHandler(webhook.Config{SecretTokens: []string{zoomSecret}}, st, logger, reg)
	url, stop, err := loadgen.Listen(h)
	return url + "/webhooks/zoom", stop, err
}

// serveApps starts k applications, each on its own port, and returns them
// and the relay's destinations for them.
func serveApps(k int) (apps, []relay.Destination, func(), error) {
	var (
		as    apps
		dests []relay.Destination
		stops []func()
	)
	stop := func() {
		for _, s := range stops {
			s()
		}
	}
	for i := range k {
		a := newApp(destSecret(i))
		srv := &http.Server{Handler: a, ReadHeaderTimeout: 5 * time.Second, ConnState: a.connState}
		url, s, err := loadgen.Serve(srv)
		if err != nil {
			stop()
			return nil, nil, nil, err
		}
		stops = append(stops, s)
		as = append(as, a)
		dests = append(dests, relay.Destination{Name: fmt.Sprintf("d%d", i), URL: url + "/zoom", SecretToken: destSecret(i)})
	}
	return as, dests, stop, nil
}

// runRelay runs r until the returned function is called.
func runRelay(r *relay.Relay) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = r.Run(ctx) })
	return func() { cancel(); wg.Wait() }
}

// pending counts the deliveries still queued in st.
func pending(ctx context.Context, st *store.Store) (int64, error) {
	stats, err := st.ForwardQueueStats(ctx)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, s := range stats {
		n += s.Pending
	}
	return n, nil
}

// waitFor polls cond every 5ms until it holds or limit passes, and reports
// whether it held.
func waitFor(limit time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

func ratioCell(v []float64) string {
	return fmt.Sprintf("%.2f %s", loadgen.Median(v), loadgen.FormatRatios(v))
}
