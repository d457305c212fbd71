package reconciler_test

import (
	"cmp"
	"fmt"
	"log/slog"
	"runtime"
	"runtime/metrics"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zoomrecon/zoomrecon/reconciler"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/zoomapi"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// The identifiers of this file start with "bench" so that they cannot clash
// with the package's other test files.

const (
	// benchHosts is how many users host the day's meetings.
	benchHosts = 50
	// benchGrace is the reconciler's MissedGrace (its default).
	benchGrace = 15 * time.Minute
	// benchIngestBatch is how many webhook events one IngestBatch stores.
	benchIngestBatch = 500
	// benchSteadyAfter is how long after the first pass the steady-state pass
	// runs: the loop's default interval.
	benchSteadyAfter = 5 * time.Minute
)

// benchListingEndpoints are the endpoints that list a window's meetings, on
// the dashboard path and on the report path. Every other endpoint asks about
// one meeting.
var benchListingEndpoints = map[string]bool{
	"/metrics/meetings":               true,
	"/metrics/webinars":               true,
	"/users":                          true,
	"/report/users/{userId}/meetings": true,
}

// BenchmarkPass10kMeetingsADay measures reconcile passes over one busy day:
// n meetings (10,000, and 1,000 to compare) spread over benchHosts hosts,
// each with two or three participant sessions and all ended, whose webhooks
// all arrived except for 1 % of the meetings, which each lost one (a
// meeting.ended, or one participant_left).
//
// Each iteration builds the day afresh with the timer stopped, then times
// two passes over the day's window:
//
//   - first: every meeting is newly ended, so the pass fetches each one's
//     participant report once, finds exactly the lost webhooks and marks
//     every meeting confirmed-complete;
//   - steady: the same window five minutes later. Confirmed meetings are not
//     fetched again, and the window's listing waits its turn in the day's
//     budget, so the only calls are the live listing's; the benchmark fails
//     if any other endpoint is called.
//
// Besides ns/op (both passes) it reports, averaged over iterations, for each
// pass: its API calls, calls per meeting, wall time, discrepancies found, and
// two heap peaks sampled every 2ms: every heap object (HeapAlloc; it peaks
// near the collector's goal, about twice the live heap) and the live heap
// (what the pass keeps). setup-heap-MiB is the live heap the setup leaves
// behind. The fake Zoom runs in the same process: its model, its request log
// and the webhook bodies it keeps count in the heap, and its work counts in
// the wall times, B/op and allocs/op. Run it with -benchtime=1x: an
// iteration takes seconds, most of them setup (make bench-reconcile).
func BenchmarkPass10kMeetingsADay(b *testing.B) {
	for _, n := range []int{1_000, 10_000} {
		b.Run(fmt.Sprintf("meetings=%d", n), func(b *testing.B) {
			sum := map[string]float64{}
			for b.Loop() {
				b.StopTimer()
				day := newBenchDay(b, n)
				b.StartTimer()

				figures := day.measure(b)

				b.StopTimer()
				day.zoom.Close()
				for unit, v := range figures {
					sum[unit] += v
				}
				b.StartTimer()
			}
			avg := map[string]float64{}
			for unit, v := range sum {
				avg[unit] = v / float64(b.N)
				b.ReportMetric(avg[unit], unit)
			}
			row := func(pass string) string {
				return fmt.Sprintf("%-6s  %9.0f  %13.4f  %13.0f  %8.2fs  %9.1f MiB  %9.1f MiB", pass,
					avg[pass+"-pass-calls"], avg[pass+"-calls/meeting"], avg[pass+"-discrepancies"],
					avg[pass+"-pass-s"], avg[pass+"-peak-heap-MiB"], avg[pass+"-peak-live-MiB"])
			}
			b.Logf("%d meetings in a day, %d hosts, %d with a lost webhook; averages of %d iteration(s)\n"+
				"pass    API calls  calls/meeting  discrepancies  wall time  peak heap      peak live\n%s\n%s\n"+
				"live heap after setup: %.1f MiB; setup took %.1fs",
				n, benchHosts, benchLossy(n), b.N, row("first"), row("steady"), avg["setup-heap-MiB"], avg["setup-s"])
		})
	}
}

// benchClock is the one clock the fake Zoom, the client and the reconciler
// share, so the day passes without waiting.
type benchClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *benchClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *benchClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// benchDay is one played day: Zoom's truth in the fake, the webhooks that
// arrived in the store, and a reconciler over both.
type benchDay struct {
	n      int
	clk    *benchClock
	zoom   *zoomtest.Server
	st     *store.Store
	r      *reconciler.Reconciler
	window reconciler.Window
	// want is the discrepancy each meeting with a lost webhook must get, by
	// meeting UUID; no other meeting may get one.
	want         map[string]store.Kind
	setupSeconds float64
	setupHeapMiB float64
}

// benchLossy counts the meetings of a day of n that lose a webhook: those
// whose index is 37 modulo 100.
func benchLossy(n int) int { return (n + 62) / 100 }

// newBenchDay plays n meetings on the fake Zoom over one day and stores their
// webhooks as a working receiver would have, minus the lost ones.
func newBenchDay(b *testing.B, n int) *benchDay {
	b.Helper()
	began := time.Now()
	ctx := b.Context()
	dayStart := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	clk := &benchClock{now: dayStart}
	logger := slog.New(slog.NewTextHandler(benchLogWriter{b}, &slog.HandlerOptions{Level: slog.LevelWarn}))

	zoom := zoomtest.New(zoomtest.WithClock(clk.Now))
	b.Cleanup(zoom.Close)
	creds := zoom.Credentials()
	client, err := zoomapi.New(zoomapi.Config{
		AccountID: creds.AccountID, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret,
		TokenURL: zoom.TokenURL(), APIURL: zoom.APIURL(),
		RequestsPerSecond: -1, // unlimited: the benchmark measures our work, not Zoom's limits
		RetryMax:          2, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
		Logger: logger, Now: clk.Now,
	})
	if err != nil {
		b.Fatalf("zoomapi.New: %v", err)
	}
	st := storetest.Open(b, storetest.SQLiteURL(b))
	r := reconciler.New(reconciler.Config{MissedGrace: benchGrace, NowFunc: clk.Now, Logger: logger}, st, client)

	hosts := make([]string, benchHosts)
	for h := range hosts {
		hosts[h] = fmt.Sprintf("BenchHost%013d", h) // 22 characters, like Zoom's user IDs
		zoom.AddUser(zoomtest.User{ID: hosts[h], FirstName: "Host", LastName: fmt.Sprint(h)})
	}

	// Meetings start from 00:30 to 22:30, last 15 to 60 minutes and have
	// the host, a colleague and, every other one, an external guest. Every
	// meeting has two or more people, so Zoom's report has it (§5).
	want := map[string]store.Kind{}
	var items []store.Ingest
	spacing := 22 * time.Hour / time.Duration(n)
	for i := range n {
		start := dayStart.Add(30*time.Minute + time.Duration(i)*spacing)
		end := start.Add(time.Duration(15+i*7%46) * time.Minute)
		host, colleague := hosts[i%benchHosts], hosts[(i+1)%benchHosts]
		uuid := zoom.StartMeeting(zoomtest.MeetingSpec{
			ID: 81_000_000_000 + int64(i), HostID: host, Topic: fmt.Sprintf("Meeting %d", i), Start: start,
		})
		zoom.Join(uuid, zoomtest.Person{ParticipantUserID: host}, start)
		c := zoom.Join(uuid, zoomtest.Person{ParticipantUserID: colleague}, start.Add(time.Minute))
		if i%2 == 0 {
			g := zoom.Join(uuid, zoomtest.Person{Name: fmt.Sprintf("Guest %d", i), Email: fmt.Sprintf("guest%d@example.org", i)},
				start.Add(3*time.Minute))
			zoom.Leave(uuid, g.UserID, end.Add(-time.Minute), "")
		}
		zoom.Leave(uuid, c.UserID, end.Add(-2*time.Minute), "")
		zoom.EndMeeting(uuid, end) // the host leaves with it

		var lost benchLost
		if i%100 == 37 {
			if i/100%2 == 0 {
				lost.ended = true
				want[uuid] = store.KindMissedMeetingEnded
			} else {
				lost.leaveOf = c.UserID
				want[uuid] = store.KindMissedParticipantLeft
			}
		}
		inst, ok := zoom.Truth(uuid)
		if !ok {
			b.Fatalf("Truth(%q): no such instance", uuid)
		}
		items = benchWebhooks(items, inst, lost)
	}
	if len(want) != benchLossy(n) {
		b.Fatalf("%d meetings lost a webhook, want %d", len(want), benchLossy(n))
	}

	// Webhooks arrive in the order things happened, so the last one stored
	// is the day's last leave or end, and the pass sees no silence.
	slices.SortStableFunc(items, func(x, y store.Ingest) int { return x.Event.ReceivedAt.Compare(y.Event.ReceivedAt) })
	for chunk := range slices.Chunk(items, benchIngestBatch) {
		if _, err := st.IngestBatch(ctx, chunk, chunk[len(chunk)-1].Event.ReceivedAt); err != nil {
			b.Fatalf("IngestBatch: %v", err)
		}
	}

	// The pass runs once the day is over and the grace has passed, as the
	// scheduled one after midnight would.
	window := reconciler.Window{Since: dayStart, Until: dayStart.Add(24 * time.Hour)}
	clk.Set(window.Until.Add(benchGrace + 5*time.Minute))

	runtime.GC()
	return &benchDay{
		n: n, clk: clk, zoom: zoom, st: st, r: r, window: window, want: want,
		setupSeconds: time.Since(began).Seconds(), setupHeapMiB: benchMiB(benchHeapNow().live),
	}
}

// benchLost says which of a meeting's webhooks never reached us.
type benchLost struct {
	ended   bool
	leaveOf string // the per-session user_id whose participant_left was lost
}

// benchWebhooks appends the store's view of an instance's webhooks, as the
// receiver (package webhook) builds it, except the lost ones. Each is
// received when it happened.
func benchWebhooks(items []store.Ingest, inst zoomtest.Instance, lost benchLost) []store.Ingest {
	meeting := store.MeetingUpdate{UUID: inst.UUID, MeetingID: inst.ID, HostID: inst.HostID, Topic: inst.Topic,
		Type: store.TypeMeeting, ZoomType: inst.Type, StartTime: inst.Start, Source: store.SourceWebhook}
	add := func(event, key string, at time.Time, m store.MeetingUpdate, p *store.ParticipantUpdate) {
		items = append(items, store.Ingest{
			Event: store.Event{DedupKey: event + "|" + inst.UUID + "|" + key, Type: event, EventTS: &at, ReceivedAt: at,
				MeetingUUID: inst.UUID, Body: []byte(`{"event":"` + event + `"}`)},
			Meeting: &m, Participant: p,
		})
	}
	started := meeting
	started.Started = true
	add("meeting.started", "", inst.Start, started, nil)
	for _, s := range inst.Sessions {
		who := store.Participant{UserID: s.Person.UserID, ParticipantUserID: s.Person.ParticipantUserID,
			ParticipantUUID: s.Person.ParticipantUUID, RegistrantID: s.Person.RegistrantID,
			UserName: s.Person.Name, Email: s.Person.Email}
		add("meeting.participant_joined", who.Key(), s.JoinTime, meeting,
			&store.ParticipantUpdate{MeetingUUID: inst.UUID, Participant: who, JoinTime: s.JoinTime, Source: store.SourceWebhook})
		if s.LeaveTime.IsZero() || s.Person.UserID == lost.leaveOf {
			continue
		}
		add("meeting.participant_left", who.Key(), s.LeaveTime, meeting,
			&store.ParticipantUpdate{MeetingUUID: inst.UUID, Participant: who, LeaveTime: s.LeaveTime,
				LeaveReason: s.LeaveReason, Source: store.SourceWebhook})
	}
	if !lost.ended {
		ended := meeting
		ended.EndTime, ended.Ended = inst.End, true
		add("meeting.ended", "", inst.End, ended, nil)
	}
	return items
}

// measure runs the first and the steady-state pass, checks what they did,
// and returns their figures by metric unit.
func (d *benchDay) measure(b *testing.B) map[string]float64 {
	b.Helper()
	figures := map[string]float64{"setup-s": d.setupSeconds, "setup-heap-MiB": d.setupHeapMiB}
	pass := func(name string) reconciler.Result {
		b.StopTimer()
		d.zoom.ResetRequests()
		runtime.GC() // each pass starts from its live heap, not the last one's garbage
		b.StartTimer()
		stop := benchSampleHeap()
		res, err := d.r.Pass(b.Context(), reconciler.PassOptions{Window: d.window, Trigger: store.TriggerSchedule})
		peak := stop()
		if err != nil {
			b.Fatalf("%s pass: %v", name, err)
		}
		figures[name+"-pass-calls"] = float64(res.APICalls)
		figures[name+"-calls/meeting"] = float64(res.APICalls) / float64(d.n)
		figures[name+"-pass-s"] = res.Duration.Seconds()
		figures[name+"-discrepancies"] = float64(len(res.Discrepancies))
		figures[name+"-peak-heap-MiB"] = benchMiB(peak.objects)
		figures[name+"-peak-live-MiB"] = benchMiB(peak.live)
		return res
	}

	first := pass("first")
	b.StopTimer()
	d.checkFirst(b, first)
	d.clk.Set(d.clk.Now().Add(benchSteadyAfter))
	b.StartTimer()

	steady := pass("steady")
	b.StopTimer()
	d.checkSteady(b, steady)
	b.StartTimer()
	return figures
}

// benchListingPages is how many listing calls a pass over n ended meetings
// needs on the dashboard path: the past meetings 300 a page, plus one page
// each for live meetings, live webinars, one-person meetings and past
// webinars, all empty.
func benchListingPages(n int) int { return (n+299)/300 + 4 }

// benchLivePages is what the steady pass lists when the window's listing is
// not due again yet (its cost is spread over the day): what is live, two
// empty pages.
const benchLivePages = 2

// checkFirst fails b unless the first pass found exactly the lost webhooks,
// asked Zoom about each meeting once, and left every meeting confirmed.
func (d *benchDay) checkFirst(b *testing.B, res reconciler.Result) {
	b.Helper()
	if len(res.Errors) > 0 {
		b.Fatalf("first pass: %d meetings could not be checked; first: %s", len(res.Errors), res.Errors[0])
	}
	if res.Path != reconciler.PathDashboard {
		b.Errorf("first pass listed through %q, want %q", res.Path, reconciler.PathDashboard)
	}
	if res.MeetingsChecked != d.n {
		b.Errorf("first pass checked %d meetings, want %d", res.MeetingsChecked, d.n)
	}
	var wrong []string
	found := map[string]bool{}
	for _, f := range res.Discrepancies {
		if d.want[f.MeetingUUID] != f.Kind || found[f.MeetingUUID] {
			wrong = append(wrong, fmt.Sprintf("%s %s (%s): %s", f.Kind, f.MeetingUUID, f.Topic, f.Detail))
			continue
		}
		found[f.MeetingUUID] = true
	}
	if len(wrong) > 0 {
		b.Errorf("first pass found %d discrepancies no lost webhook explains, e.g.:\n%s",
			len(wrong), strings.Join(wrong[:min(len(wrong), 10)], "\n"))
	}
	if len(found) != len(d.want) {
		var missed []string
		for uuid, kind := range d.want {
			if !found[uuid] {
				missed = append(missed, fmt.Sprintf("%s %s", kind, uuid))
			}
		}
		slices.Sort(missed)
		b.Errorf("first pass found %d of the %d lost webhooks; missed e.g.:\n%s",
			len(found), len(d.want), strings.Join(missed[:min(len(missed), 10)], "\n"))
	}
	// One participant report per meeting, plus the listing.
	if got, want := res.APICalls, int64(d.n+benchListingPages(d.n)); got != want {
		b.Errorf("first pass made %d API calls, want %d (by endpoint: %v)", got, want, benchCallsByEndpoint(d.zoom))
	}

	// Every meeting must now be confirmed, or the steady pass fetches it again.
	open, err := d.st.OpenMeetings(b.Context())
	if err != nil {
		b.Fatalf("OpenMeetings: %v", err)
	}
	unverified, err := d.st.EndedUnverified(b.Context(), d.clk.Now().Add(24*time.Hour), d.clk.Now().Add(24*time.Hour))
	if err != nil {
		b.Fatalf("EndedUnverified: %v", err)
	}
	if len(open)+len(unverified) > 0 {
		var uuids []string
		for _, m := range slices.Concat(open, unverified) {
			uuids = append(uuids, fmt.Sprintf("%s (%s, %s)", m.UUID, m.Topic, m.Status))
		}
		b.Errorf("after the first pass %d meetings are open and %d ended but unconfirmed, e.g.: %s",
			len(open), len(unverified), strings.Join(uuids[:min(len(uuids), 10)], ", "))
	}
}

// checkSteady fails b if the steady-state pass called Zoom about any one
// meeting, or found anything.
func (d *benchDay) checkSteady(b *testing.B, res reconciler.Result) {
	b.Helper()
	if len(res.Errors) > 0 {
		b.Fatalf("steady-state pass: %d meetings could not be checked; first: %s", len(res.Errors), res.Errors[0])
	}
	var perMeeting []string
	for _, r := range d.zoom.Requests() {
		if !benchListingEndpoints[r.Endpoint] {
			perMeeting = append(perMeeting, r.Method+" "+r.Path)
		}
	}
	if len(perMeeting) > 0 {
		b.Fatalf("the steady-state pass made %d calls about single meetings; with every meeting confirmed "+
			"by the first pass it should only list the window (by endpoint: %v), e.g.:\n%s", len(perMeeting), benchCallsByEndpoint(d.zoom),
			strings.Join(perMeeting[:min(len(perMeeting), 10)], "\n"))
	}
	if got := res.APICalls; got != benchLivePages && got != int64(benchListingPages(d.n)) {
		b.Errorf("steady-state pass made %d API calls, want the %d live pages, or %d if the window's listing was due again (by endpoint: %v)",
			got, benchLivePages, benchListingPages(d.n), benchCallsByEndpoint(d.zoom))
	}
	if len(res.Discrepancies) > 0 {
		f := res.Discrepancies[0]
		b.Errorf("steady-state pass found %d new discrepancies, want none; first: %s %s: %s",
			len(res.Discrepancies), f.Kind, f.MeetingUUID, f.Detail)
	}
}

// benchCallsByEndpoint counts the fake's recorded requests by endpoint template.
func benchCallsByEndpoint(zoom *zoomtest.Server) map[string]int {
	out := map[string]int{}
	for _, r := range zoom.Requests() {
		out[cmp.Or(r.Endpoint, r.Path)]++
	}
	return out
}

// benchHeap is one reading of the heap, in bytes.
type benchHeap struct {
	// objects is every heap object, reachable or not yet swept: what
	// runtime.MemStats calls HeapAlloc. Its peak follows the collector's
	// goal, about twice the live heap.
	objects uint64
	// live is what the last collection found reachable: what the pass
	// keeps, as opposed to what it churns through.
	live uint64
}

// benchHeapNow reads the heap without stopping the world.
func benchHeapNow() benchHeap {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(s)
	return benchHeap{objects: s[0].Value.Uint64(), live: s[1].Value.Uint64()}
}

// benchSampleHeap samples the heap every 2ms until the returned function is
// called, which returns the highest readings.
func benchSampleHeap() (stop func() benchHeap) {
	var (
		wg   sync.WaitGroup
		peak = benchHeapNow()
		done = make(chan struct{})
	)
	sample := func() {
		h := benchHeapNow()
		peak.objects, peak.live = max(peak.objects, h.objects), max(peak.live, h.live)
	}
	wg.Go(func() {
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				sample()
			}
		}
	})
	return func() benchHeap {
		close(done)
		wg.Wait()
		sample()
		return peak
	}
}

func benchMiB(n uint64) float64 { return float64(n) / (1 << 20) }

// benchLogWriter sends the reconciler's and the client's warnings to the
// benchmark's log.
type benchLogWriter struct{ tb testing.TB }

func (w benchLogWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
