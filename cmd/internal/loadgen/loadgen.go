// Package loadgen is the load of zoomrecon's benchmarks (cmd/ingestbench,
// cmd/relaybench): it makes distinct Zoom events shaped like real meetings',
// sends them signed over loopback HTTP, closed-loop or at a fixed rate, and
// summarises what came back (rates, latency percentiles, per-round ratios).
// It also gives each run a fresh PostgreSQL schema. It leaves what is
// measured, and the baseline it is compared with, to each benchmark.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
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

// Generator makes distinct events shaped like real meetings': per meeting
// instance a start, Participants joins, Participants leaves and an end. It is
// safe for concurrent use.
type Generator struct {
	// Meetings is how many meetings are in progress at once: their events
	// interleave, as concurrent meetings' do. 0 or 1: one meeting's events,
	// then the next meeting's.
	Meetings int
	// Participants is how many join and leave each meeting. Default 24.
	Participants int
	// Epoch is the first event's event_ts; each next event's is 1 ms later.
	// Default 2024-03-05 14:02:11 UTC.
	Epoch time.Time

	run string
	n   atomic.Int64
}

var defaultEpoch = time.UnixMilli(1709647331000)

// NewGenerator returns a generator whose meeting UUIDs no other run's share,
// so events from earlier runs on the same database are never duplicates.
func NewGenerator(meetings int) *Generator {
	return &Generator{Meetings: meetings, run: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// Next is the next event's body.
func (g *Generator) Next() []byte {
	_, body := g.NextSeq()
	return body
}

// NextSeq is the next event's body and its sequence number (from 0), which
// Seq reads back from the body.
func (g *Generator) NextSeq() (int64, []byte) {
	i := g.n.Add(1) - 1
	return i, g.event(i)
}

// Seq reads the sequence number back from a body Next made (its event_ts),
// without decoding the JSON; false if it has none.
func (g *Generator) Seq(body []byte) (int64, bool) {
	ts, ok := EventTS(body)
	return ts - g.epoch().UnixMilli(), ok
}

// EventTS reads a body's event_ts (Unix ms), which grows with the sequence
// number whatever the generator, without decoding the JSON; false if it
// has none.
func EventTS(body []byte) (int64, bool) {
	const key = `"event_ts":`
	at := strings.LastIndex(string(body), key)
	if at < 0 {
		return 0, false
	}
	rest := string(body[at+len(key):])
	end := strings.IndexAny(rest, ",}")
	if end < 0 {
		return 0, false
	}
	ts, err := strconv.ParseInt(rest[:end], 10, 64)
	if err != nil {
		return 0, false
	}
	return ts, true
}

func (g *Generator) epoch() time.Time {
	if g.Epoch.IsZero() {
		return defaultEpoch
	}
	return g.Epoch
}

// event is event i: meetings in progress at once take turns, and each
// meeting's events run start, joins, leaves, end.
func (g *Generator) event(i int64) []byte {
	parts := int64(g.Participants)
	if parts <= 0 {
		parts = 24
	}
	at := int64(max(g.Meetings, 1))
	per := 2 + 2*parts
	wave, j := i/(at*per), i%(at*per)
	meeting, k := wave*at+j%at, j/at
	uuid := fmt.Sprintf("bench-%s-%d==", g.run, meeting)
	ts := g.epoch().UnixMilli() + i
	obj := fmt.Sprintf(`"id":"8451%07d","uuid":"%s","host_id":"Hs8QeW2rTy5uIo1pAs3dFg","topic":"Bench meeting %d","type":2,"start_time":"2024-03-05T14:02:11Z","timezone":"UTC","duration":45`, meeting%10_000_000, uuid, meeting)
	switch {
	case k == 0:
		return fmt.Appendf(nil, `{"event":"meeting.started","payload":{"account_id":"Acct","object":{%s}},"event_ts":%d}`, obj, ts)
	case k == per-1:
		return fmt.Appendf(nil, `{"event":"meeting.ended","payload":{"account_id":"Acct","object":{%s,"end_time":"2024-03-05T14:44:58Z"}},"event_ts":%d}`, obj, ts)
	case k <= parts:
		return fmt.Appendf(nil, `{"event":"meeting.participant_joined","payload":{"account_id":"Acct","object":{%s,"participant":{"user_id":"%d","user_name":"Participant %d","id":"","join_time":"2024-03-05T14:03:%02dZ","email":"p%d@example.org"}}},"event_ts":%d}`, obj, k, k, k%60, k, ts)
	default:
		p := k - parts
		return fmt.Appendf(nil, `{"event":"meeting.participant_left","payload":{"account_id":"Acct","object":{%s,"participant":{"user_id":"%d","user_name":"Participant %d","id":"","leave_time":"2024-03-05T14:40:%02dZ","leave_reason":"left","email":"p%d@example.org"}}},"event_ts":%d}`, obj, p, p, k%60, p, ts)
	}
}

// Send posts body to url as Zoom posts a webhook, signed with secret, and
// fails unless the answer is 200.
func Send(client *http.Client, url, secret string, body []byte) error {
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

// Client is an HTTP client that keeps a connection per concurrent sender.
func Client(senders int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        senders * 2,
		MaxIdleConnsPerHost: senders * 2,
		IdleConnTimeout:     time.Minute,
	}}
}

// Listen serves h on a loopback port and returns its base URL
// (http://127.0.0.1:PORT) and a function that stops it.
func Listen(h http.Handler) (string, func(), error) {
	return Serve(&http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second})
}

// Serve is Listen with a server of the caller's.
func Serve(srv *http.Server) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// Result is what one phase's requests came to.
type Result struct {
	Latencies []time.Duration // sorted once finished
	Errors    int
	Elapsed   time.Duration
}

// Rate is the successful requests per second.
func (r Result) Rate() float64 { return float64(len(r.Latencies)) / r.Elapsed.Seconds() }

// Pct is the p-th percentile latency.
func (r Result) Pct(p int) time.Duration {
	if len(r.Latencies) == 0 {
		return 0
	}
	return r.Latencies[min(len(r.Latencies)-1, len(r.Latencies)*p/100)]
}

func (r *Result) merge(o Result) {
	r.Latencies = append(r.Latencies, o.Latencies...)
	r.Errors += o.Errors
}

// Add merges o, a later phase of the same side, into r.
func (r *Result) Add(o Result) {
	r.merge(o)
	r.Elapsed += o.Elapsed
	slices.Sort(r.Latencies)
}

func (r *Result) finish(elapsed time.Duration) error {
	r.Elapsed = elapsed
	slices.Sort(r.Latencies)
	if len(r.Latencies) == 0 {
		return errors.New("no request succeeded")
	}
	return nil
}

// ClosedLoop runs senders that each post the next body as soon as the last
// was answered, for d or until next returns nil.
func ClosedLoop(client *http.Client, url, secret string, next func() []byte, senders int, d time.Duration) (Result, error) {
	var (
		mu  sync.Mutex
		all Result
		wg  sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(d)
	for range senders {
		wg.Go(func() {
			var mine Result
			for time.Now().Before(deadline) {
				body := next()
				if body == nil {
					break
				}
				t0 := time.Now()
				if err := Send(client, url, secret, body); err != nil {
					mine.Errors++
					continue
				}
				mine.Latencies = append(mine.Latencies, time.Since(t0))
			}
			mu.Lock()
			all.merge(mine)
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, all.finish(time.Since(start))
}

// OpenLoop posts perSecond bodies a second for d whatever the answers, and
// measures each latency from when the body was due, so a stall counts against
// every event it delays (no coordinated omission).
func OpenLoop(client *http.Client, url, secret string, next func() []byte, perSecond int, d time.Duration) (Result, error) {
	var (
		mu  sync.Mutex
		all Result
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
		body := next()
		wg.Go(func() {
			err := Send(client, url, secret, body)
			lat := time.Since(due)
			mu.Lock()
			if err != nil {
				all.Errors++
			} else {
				all.Latencies = append(all.Latencies, lat)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, all.finish(time.Since(start))
}

// Phase runs one side of a comparison for d.
type Phase func(d time.Duration) (Result, error)

// Alternate runs the sides in turn, rounds times, each for d/rounds, so drift
// on a noisy machine (other load, CPU frequency) hits every side alike. It
// returns each side's merged result and each round's results, side by side.
func Alternate(rounds int, d time.Duration, names []string, sides []Phase) (merged []Result, byRound [][]Result, err error) {
	rounds = max(rounds, 1)
	merged = make([]Result, len(sides))
	for i := range rounds {
		round := make([]Result, len(sides))
		for s, phase := range sides {
			r, err := phase(d / time.Duration(rounds))
			if err != nil {
				return nil, nil, fmt.Errorf("%s, round %d: %w", names[s], i+1, err)
			}
			round[s] = r
			merged[s].Add(r)
		}
		byRound = append(byRound, round)
	}
	return merged, byRound, nil
}

// Ratios is f of each round's side and baseline results.
func Ratios(byRound [][]Result, side, baseline int, f func(side, baseline Result) float64) []float64 {
	out := make([]float64, len(byRound))
	for i, r := range byRound {
		out[i] = f(r[side], r[baseline])
	}
	return out
}

// Median is v's median (the upper one of an even count).
func Median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

// FormatRatios prints v as [0.41 0.46 0.45].
func FormatRatios(v []float64) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprintf("%.2f", x)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// Ms prints d in milliseconds.
func Ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond)) }

// CommitStats is the webhook handler's group commits so far, from its
// histograms on reg: how many, and the average events and time per commit.
type CommitStats struct {
	Commits, Events float64
	Seconds         float64
}

// Commits reads the handler's commit histograms from reg.
func Commits(reg prometheus.Gatherer) (CommitStats, error) {
	mfs, err := reg.Gather()
	if err != nil {
		return CommitStats{}, err
	}
	var c CommitStats
	for _, mf := range mfs {
		switch mf.GetName() {
		case "zoomrecon_webhook_commit_batch_size":
			h := mf.GetMetric()[0].GetHistogram()
			c.Commits, c.Events = float64(h.GetSampleCount()), h.GetSampleSum()
		case "zoomrecon_webhook_commit_duration_seconds":
			c.Seconds = mf.GetMetric()[0].GetHistogram().GetSampleSum()
		}
	}
	return c, nil
}

// Since is what was committed between since and c.
func (c CommitStats) Since(since CommitStats) CommitStats {
	return CommitStats{Commits: c.Commits - since.Commits, Events: c.Events - since.Events, Seconds: c.Seconds - since.Seconds}
}

// PerCommit is the average events and time per commit.
func (c CommitStats) PerCommit() (events float64, took time.Duration) {
	if c.Commits == 0 {
		return 0, 0
	}
	return c.Events / c.Commits, time.Duration(c.Seconds / c.Commits * float64(time.Second))
}

func (c CommitStats) String() string {
	if c.Commits == 0 {
		return "no commits"
	}
	events, took := c.PerCommit()
	return fmt.Sprintf("%.0f commits, %.1f events per commit on average, %s per commit", c.Commits, events, Ms(took))
}

// PostgresSchema creates a schema of the run's own on PostgreSQL, named
// prefix and the time, and returns a URL whose search_path selects it, so
// each run starts from empty tables and leaves nothing behind; drop removes
// it.
func PostgresSchema(ctx context.Context, dbURL, prefix string) (url string, drop func(), err error) {
	admin, err := store.Open(ctx, dbURL, store.Options{MaxOpenConns: 1})
	if err != nil {
		return "", nil, err
	}
	schema := fmt.Sprintf("%s_%d", prefix, time.Now().UnixNano())
	if _, err := admin.DB().ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop = func() {
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
