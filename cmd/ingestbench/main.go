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
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/cmd/internal/loadgen"
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
		url, drop, err := loadgen.PostgresSchema(ctx, o.db, "ingestbench")
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

	baseURL, stopBase, err := loadgen.Listen(baseline)
	if err != nil {
		return err
	}
	defer stopBase()
	realURL, stopReal, err := loadgen.Listen(real)
	if err != nil {
		return err
	}
	defer stopReal()
	baseURL += "/webhooks/zoom"
	realURL += "/webhooks/zoom"

	client := loadgen.Client(o.concurrency)
	gen := loadgen.NewGenerator(1)

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
	full := func(url string) loadgen.Phase {
		return func(d time.Duration) (loadgen.Result, error) {
			return loadgen.ClosedLoop(client, url, secret, gen.Next, o.concurrency, d)
		}
	}
	fixed := func(url string) loadgen.Phase {
		return func(d time.Duration) (loadgen.Result, error) {
			return loadgen.OpenLoop(client, url, secret, gen.Next, o.rate, d)
		}
	}
	// Warm both paths (connections, page cache, prepared plans) before measuring.
	if _, err := full(baseURL)(time.Second); err != nil {
		return err
	}
	if _, err := full(realURL)(time.Second); err != nil {
		return err
	}

	// The two handlers take turns, round by round; the ratio is taken per
	// round and its median reported.
	names := []string{"baseline", "ingest"}
	fullRes, fullRounds, err := loadgen.Alternate(o.rounds, o.duration, names, []loadgen.Phase{full(baseURL), full(realURL)})
	if err != nil {
		return err
	}
	rateRes, rateRounds, err := loadgen.Alternate(o.rounds, o.rateFor, names, []loadgen.Phase{fixed(baseURL), fixed(realURL)})
	if err != nil {
		return err
	}
	ratios := loadgen.Ratios(fullRounds, 1, 0, func(r, b loadgen.Result) float64 { return r.Rate() / b.Rate() })
	p99Ratios := loadgen.Ratios(rateRounds, 1, 0, func(r, b loadgen.Result) float64 { return float64(r.Pct(99)) / float64(b.Pct(99)) })
	baseFull, realFull, baseRate, realRate := fullRes[0], fullRes[1], rateRes[0], rateRes[1]
	n, err := st.CountEvents(ctx)
	if err != nil {
		return err
	}

	fmt.Fprintf(out, "\n%-28s %12s %10s %10s %8s\n", "phase", "events/s", "p50", "p99", "errors")
	for _, r := range []struct {
		name string
		res  loadgen.Result
	}{
		{"baseline, full speed", baseFull},
		{"ingest, full speed", realFull},
		{fmt.Sprintf("baseline, %d/s", o.rate), baseRate},
		{fmt.Sprintf("ingest, %d/s", o.rate), realRate},
	} {
		fmt.Fprintf(out, "%-28s %12.0f %10s %10s %8d\n", r.name, r.res.Rate(), loadgen.Ms(r.res.Pct(50)), loadgen.Ms(r.res.Pct(99)), r.res.Errors)
	}
	ratio := loadgen.Median(ratios)
	fmt.Fprintf(out, "\nthroughput ratio ingest/baseline: %.2f median of %d rounds %s (target >= 0.50: %s)\n",
		ratio, o.rounds, loadgen.FormatRatios(ratios), verdict(ratio >= 0.5))
	fmt.Fprintf(out, "ingest p99 at %d/s: %s (target < 20ms: %s); p99 ratio ingest/baseline %.2f median %s\n",
		o.rate, loadgen.Ms(realRate.Pct(99)), verdict(realRate.Pct(99) < 20*time.Millisecond), loadgen.Median(p99Ratios), loadgen.FormatRatios(p99Ratios))
	commits, err := loadgen.Commits(reg)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "events stored: %d; %s\n", n, commits)
	return nil
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}
