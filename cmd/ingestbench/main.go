// Command ingestbench measures the webhook receiver: it sends correctly
// signed, distinct Zoom events over loopback to the real handler on a real
// database, and in the same run to a baseline handler that only reads the
// body, verifies the signature and answers 200. It prints events/s and p50/p99
// latency for both, and their ratio, at full speed and at a fixed rate.
//
//	go run ./cmd/ingestbench                       # SQLite in a temporary file
//	go run ./cmd/ingestbench -db postgres://...    # PostgreSQL
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/webhook"
)

const secret = "benchSecretToken"

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

type options struct {
	db          string
	duration    time.Duration
	concurrency int
	rate        int
	rateFor     time.Duration
	cpuProfile  string
	rounds      int
}

func run(args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("ingestbench", flag.ContinueOnError)
	fs.StringVar(&o.db, "db", "", "database URL (default: SQLite in a temporary directory)")
	fs.DurationVar(&o.duration, "duration", 15*time.Second, "how long each side runs at full speed, over all rounds")
	fs.IntVar(&o.concurrency, "concurrency", 256, "concurrent senders in the full-speed phases")
	fs.IntVar(&o.rate, "rate", 1000, "events per second in the fixed-rate phases")
	fs.DurationVar(&o.rateFor, "rate-duration", 15*time.Second, "how long each side runs at the fixed rate, over all rounds")
	fs.IntVar(&o.rounds, "rounds", 3, "rounds in which baseline and ingest take turns")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run (both sides) to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	if o.db == "" {
		dir, err := os.MkdirTemp("", "ingestbench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.db = "sqlite:" + filepath.Join(dir, "bench.db")
	}
	if strings.HasPrefix(o.db, "postgres") {
		url, drop, err := benchSchema(ctx, o.db)
		if err != nil {
			return err
		}
		defer drop()
		o.db = url
	}
	st, err := store.Open(ctx, o.db, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	real := webhook.NewHandler(webhook.Config{SecretTokens: []string{secret}}, st,
		slog.New(slog.DiscardHandler), reg)
	baseline := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		if webhook.VerifySignature([]string{secret}, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body) < 0 {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})

	baseURL, stopBase, err := listen(baseline)
	if err != nil {
		return err
	}
	defer stopBase()
	realURL, stopReal, err := listen(real)
	if err != nil {
		return err
	}
	defer stopReal()

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns:        o.concurrency * 2,
		MaxIdleConnsPerHost: o.concurrency * 2,
		IdleConnTimeout:     time.Minute,
	}}
	gen := &generator{run: strconv.FormatInt(time.Now().UnixNano(), 36)}

	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	fmt.Fprintf(out, "ingestbench: %s; %d senders for %s a side, then %d events/s for %s a side; %d rounds\n",
		st.Dialect(), o.concurrency, o.duration, o.rate, o.rateFor, o.rounds)
	// Warm both paths (connections, page cache, prepared plans) before measuring.
	if _, err := closedLoop(client, baseURL, gen, o.concurrency, time.Second); err != nil {
		return err
	}
	if _, err := closedLoop(client, realURL, gen, o.concurrency, time.Second); err != nil {
		return err
	}

	// The two handlers take turns, round by round, so drift on a noisy
	// machine (other load, CPU frequency) hits both alike; the ratio is taken
	// per round and its median reported.
	full := func(url string, d time.Duration) (result, error) {
		return closedLoop(client, url, gen, o.concurrency, d)
	}
	fixed := func(url string, d time.Duration) (result, error) {
		return openLoop(client, url, gen, o.rate, d)
	}
	baseFull, realFull, ratios, err := alternate(o.rounds, o.duration, baseURL, realURL, full,
		func(b, r result) float64 { return r.rate() / b.rate() })
	if err != nil {
		return err
	}
	baseRate, realRate, p99Ratios, err := alternate(o.rounds, o.rateFor, baseURL, realURL, fixed,
		func(b, r result) float64 { return float64(r.pct(99)) / float64(b.pct(99)) })
	if err != nil {
		return err
	}
	n, err := st.CountEvents(ctx)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "\n%-28s %12s %10s %10s %8s\n", "phase", "events/s", "p50", "p99", "errors")
	for _, r := range []struct {
		name string
		res  result
	}{
		{"baseline, full speed", baseFull},
		{"ingest, full speed", realFull},
		{fmt.Sprintf("baseline, %d/s", o.rate), baseRate},
		{fmt.Sprintf("ingest, %d/s", o.rate), realRate},
	} {
		fmt.Fprintf(out, "%-28s %12.0f %10s %10s %8d\n", r.name, r.res.rate(), ms(r.res.pct(50)), ms(r.res.pct(99)), r.res.errors)
	}
	ratio := median(ratios)
	fmt.Fprintf(out, "\nthroughput ratio ingest/baseline: %.2f median of %d rounds %s (target >= 0.50: %s)\n",
		ratio, o.rounds, fmtRatios(ratios), verdict(ratio >= 0.5))
	fmt.Fprintf(out, "ingest p99 at %d/s: %s (target < 20ms: %s); p99 ratio ingest/baseline %.2f median %s\n",
		o.rate, ms(realRate.pct(99)), verdict(realRate.pct(99) < 20*time.Millisecond), median(p99Ratios), fmtRatios(p99Ratios))
	fmt.Fprintf(out, "events stored: %d; %s\n", n, commitStats(reg))
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// listen serves h on a loopback port.
func listen(h http.Handler) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/webhooks/zoom", func() { _ = srv.Close() }, nil
}

// generator makes distinct events shaped like a real meeting's: a start, 24
// joins, 24 leaves and an end per meeting instance.
type generator struct {
	run string
	n   atomic.Int64
}

func (g *generator) next() []byte {
	i := g.n.Add(1)
	meeting, k := i/50, int(i%50)
	uuid := fmt.Sprintf("bench-%s-%d==", g.run, meeting)
	ts := 1709647331000 + i
	obj := fmt.Sprintf(`"id":"8451%07d","uuid":"%s","host_id":"Hs8QeW2rTy5uIo1pAs3dFg","topic":"Bench meeting %d","type":2,"start_time":"2024-03-05T14:02:11Z","timezone":"UTC","duration":45`, meeting%10_000_000, uuid, meeting)
	switch {
	case k == 0:
		return fmt.Appendf(nil, `{"event":"meeting.started","payload":{"account_id":"Acct","object":{%s}},"event_ts":%d}`, obj, ts)
	case k == 49:
		return fmt.Appendf(nil, `{"event":"meeting.ended","payload":{"account_id":"Acct","object":{%s,"end_time":"2024-03-05T14:44:58Z"}},"event_ts":%d}`, obj, ts)
	case k <= 24:
		return fmt.Appendf(nil, `{"event":"meeting.participant_joined","payload":{"account_id":"Acct","object":{%s,"participant":{"user_id":"%d","user_name":"Participant %d","id":"","join_time":"2024-03-05T14:03:%02dZ","email":"p%d@example.org"}}},"event_ts":%d}`, obj, k, k, k, k, ts)
	default:
		return fmt.Appendf(nil, `{"event":"meeting.participant_left","payload":{"account_id":"Acct","object":{%s,"participant":{"user_id":"%d","user_name":"Participant %d","id":"","leave_time":"2024-03-05T14:40:%02dZ","leave_reason":"left","email":"p%d@example.org"}}},"event_ts":%d}`, obj, k-24, k-24, k, k-24, ts)
	}
}

func send(client *http.Client, url string, body []byte) error {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(webhook.HeaderTimestamp, ts)
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(secret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	return nil
}

type result struct {
	latencies []time.Duration
	errors    int
	elapsed   time.Duration
}

func (r result) rate() float64 { return float64(len(r.latencies)) / r.elapsed.Seconds() }

func (r result) pct(p int) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, len(r.latencies)*p/100)]
}

func (r *result) merge(o result) {
	r.latencies = append(r.latencies, o.latencies...)
	r.errors += o.errors
}

func (r *result) finish(elapsed time.Duration) error {
	r.elapsed = elapsed
	slices.Sort(r.latencies)
	if len(r.latencies) == 0 {
		return errors.New("no request succeeded")
	}
	return nil
}

// closedLoop runs senders that each send the next event as soon as the last
// was answered.
func closedLoop(client *http.Client, url string, g *generator, senders int, d time.Duration) (result, error) {
	var (
		mu  sync.Mutex
		all result
		wg  sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range senders {
		wg.Go(func() {
			var mine result
			for time.Now().Before(deadline) {
				t0 := time.Now()
				if err := send(client, url, g.next()); err != nil {
					mine.errors++
					continue
				}
				mine.latencies = append(mine.latencies, time.Since(t0))
			}
			mu.Lock()
			all.merge(mine)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, all.finish(time.Since(start))
}

// openLoop sends at a fixed rate whatever the answers, and measures each
// latency from when the event was due, so a stall counts against every event
// it delays (no coordinated omission).
func openLoop(client *http.Client, url string, g *generator, perSecond int, d time.Duration) (result, error) {
	var (
		mu  sync.Mutex
		all result
		wg  sync.WaitGroup
	)
	interval := time.Second / time.Duration(perSecond)
	total := int(d / interval)
	start := time.Now()
	for i := range total {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			time.Sleep(wait)
		}
		body := g.next()
		wg.Go(func() {
			err := send(client, url, body)
			lat := time.Since(due)
			mu.Lock()
			if err != nil {
				all.errors++
			} else {
				all.latencies = append(all.latencies, lat)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, all.finish(time.Since(start))
}

// commitStats summarises the handler's group-commit histograms.
func commitStats(reg *prometheus.Registry) string {
	mfs, err := reg.Gather()
	if err != nil {
		return err.Error()
	}
	var batches, events, commitSeconds float64
	for _, mf := range mfs {
		switch mf.GetName() {
		case "zoomrecon_webhook_commit_batch_size":
			h := mf.GetMetric()[0].GetHistogram()
			batches, events = float64(h.GetSampleCount()), h.GetSampleSum()
		case "zoomrecon_webhook_commit_duration_seconds":
			commitSeconds = mf.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	if batches == 0 {
		return "no commits"
	}
	return fmt.Sprintf("%.0f commits, %.1f events per commit on average, %.2fms per commit", batches, events/batches, commitSeconds/batches*1000)
}

// alternate runs baseline then ingest, rounds times, each for d/rounds, and
// returns each side's merged result and the per-round ratios.
func alternate(rounds int, d time.Duration, baseURL, realURL string,
	phase func(url string, d time.Duration) (result, error), ratio func(b, r result) float64,
) (base, real result, ratios []float64, err error) {
	rounds = max(rounds, 1)
	for i := range rounds {
		b, err := phase(baseURL, d/time.Duration(rounds))
		if err != nil {
			return result{}, result{}, nil, fmt.Errorf("baseline, round %d: %w", i+1, err)
		}
		r, err := phase(realURL, d/time.Duration(rounds))
		if err != nil {
			return result{}, result{}, nil, fmt.Errorf("ingest, round %d: %w", i+1, err)
		}
		ratios = append(ratios, ratio(b, r))
		base.add(b)
		real.add(r)
	}
	slices.Sort(base.latencies)
	slices.Sort(real.latencies)
	return base, real, ratios, nil
}

func (r *result) add(o result) {
	r.merge(o)
	r.elapsed += o.elapsed
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func fmtRatios(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// benchSchema creates a schema of the run's own on PostgreSQL and returns a
// URL whose search_path selects it, so each run starts from empty tables and
// leaves nothing behind.
func benchSchema(ctx context.Context, dbURL string) (string, func(), error) {
	admin, err := store.Open(ctx, dbURL, store.Options{MaxOpenConns: 1})
	if err != nil {
		return "", nil, err
	}
	schema := fmt.Sprintf("ingestbench_%d", time.Now().UnixNano())
	if _, err := admin.DB().ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop := func() {
		_, _ = admin.DB().ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		_ = admin.Close()
	}
	u, err := neturl.Parse(dbURL)
	if err != nil {
		drop()
		return "", nil, fmt.Errorf("parse -db: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema) // pgx sends unknown parameters as session settings
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}
