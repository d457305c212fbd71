package reconciler_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zoomrecon/zoomrecon/reconciler"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/zoomapi"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// dayAccount is an account whose whole day BenchmarkReconcileADay plays.
type dayAccount struct {
	name     string
	plan     zoomtest.Plan
	users    int // the account's users; hosts are drawn from them
	hosts    int // how many of them host meetings that day
	meetings int
}

// BenchmarkReconcileADay plays a whole working day of an account on the fake
// Zoom, with Zoom's real quotas and per-minute limits on (zoom-platform.md
// §6, §10), and runs the scheduled pass every five minutes of the shared
// clock, as `zoomrecon serve` does, with the default budget (a tenth of the
// plan's daily quota) and the default pacing of Resource-intensive calls
// (their waits pass on the shared clock). Meetings run from 07:00 to 20:00
// with two to four people, one in twenty alone; one in two hundred loses a
// webhook (its end, its start alone, everything, or one person's leave), and
// so do a few one-person meetings, which lose everything. Webhooks arrive,
// minus the lost ones, when things happen.
//
// It fails unless every planned loss is reported, once, with the right kind,
// nothing else is reported, the budget and Zoom's quotas hold, Zoom never
// answered 429, and at the day's end no listing is left partial. It reports
// the day's calls per rate-limit label against the quota and the budget. Run
// it with -benchtime=1x (make bench-reconcile).
func BenchmarkReconcileADay(b *testing.B) {
	for _, a := range []dayAccount{
		{name: "pro-300-users", plan: zoomtest.PlanPro, users: 300, hosts: 200, meetings: 600},
		{name: "business-20k-meetings", plan: zoomtest.PlanBusiness, users: 2_000, hosts: 1_500, meetings: 20_000},
	} {
		b.Run(a.name, func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				d := newDay(b, a)
				b.StartTimer()
				d.play(b)
				b.StopTimer()
				d.check(b)
				d.zoom.Close()
				b.StartTimer()
			}
		})
	}
}

// day is one played day.
type day struct {
	acct   dayAccount
	start  time.Time
	clk    *benchClock
	zoom   *zoomtest.Server
	client *zoomapi.Client
	st     *store.Store
	r      *reconciler.Reconciler
	events []dayEvent
	// want is the discrepancy each lossy meeting must get, by topic.
	want   map[string]store.Kind
	passes int
	took   time.Duration
}

// dayEvent is one thing that happens to a meeting, at its time.
type dayEvent struct {
	at   time.Time
	what string // start, join, leave, end
	m    *dayMeeting
	who  int // the participant, for join and leave
}

type dayMeeting struct {
	topic      string
	uuid       string
	host       string
	people     []zoomtest.Person
	start, end time.Time
	lose       string // "", "end", "start", "all" or "leave"
}

func newDay(b *testing.B, a dayAccount) *day {
	b.Helper()
	start := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	clk := &benchClock{now: start}
	logger := slog.New(slog.NewTextHandler(benchLogWriter{b}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	zoom := zoomtest.New(zoomtest.WithClock(clk.Now), zoomtest.WithPlan(a.plan))
	zoom.SetPerMinuteLimit(-1) // Zoom's: 10 a minute on Pro, 20 on Business
	creds := zoom.Credentials()
	client, err := zoomapi.New(zoomapi.Config{
		AccountID: creds.AccountID, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret,
		TokenURL: zoom.TokenURL(), APIURL: zoom.APIURL(), RequestsPerSecond: -1,
		ResourceIntensivePerMinute: zoomapi.DefaultResourceIntensivePerMinute,
		SleepFunc: func(ctx context.Context, d time.Duration) error {
			clk.Set(clk.Now().Add(d)) // pacing waits pass on the day's clock
			return ctx.Err()
		},
		RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond,
		Logger: logger, Now: clk.Now,
	})
	if err != nil {
		b.Fatalf("zoomapi.New: %v", err)
	}
	st := storetest.Open(b, storetest.SQLiteURL(b))
	r := reconciler.New(reconciler.Config{MissedGrace: benchGrace, NowFunc: clk.Now, Logger: logger}, st, client)
	if _, err := st.InitState(b.Context(), store.StateFirstStart, start.Format(time.RFC3339), start); err != nil {
		b.Fatalf("InitState: %v", err)
	}
	users := make([]string, a.users)
	for i := range users {
		users[i] = fmt.Sprintf("DayUser%015d", i)
		zoom.AddUser(zoomtest.User{ID: users[i], FirstName: "User", LastName: fmt.Sprint(i)})
	}

	rng := rand.New(rand.NewPCG(uint64(a.meetings), uint64(a.users)))
	d := &day{acct: a, start: start, clk: clk, zoom: zoom, client: client, st: st, r: r, want: map[string]store.Kind{}}
	losses := []string{"end", "start", "all", "leave"}
	for i := range a.meetings {
		m := &dayMeeting{
			topic: fmt.Sprintf("Meeting %d", i),
			host:  users[rng.IntN(a.hosts)],
			start: start.Add(7*time.Hour + time.Duration(rng.Int64N(int64(12*time.Hour)))).Truncate(time.Second),
		}
		m.end = m.start.Add(time.Duration(15+rng.IntN(46)) * time.Minute)
		n := 2 + rng.IntN(3)
		if i%20 == 7 {
			n = 1
		}
		for p := range n {
			m.people = append(m.people, zoomtest.Person{Name: fmt.Sprintf("Person %d of %d", p, i)})
		}
		switch {
		case i%200 == 37:
			m.lose = losses[i/200%len(losses)]
		case i%1000 == 507: // a one-person meeting no webhook of which arrives
			m.lose = "all"
		}
		switch m.lose {
		case "end":
			d.want[m.topic] = store.KindMissedMeetingEnded
		case "start", "all":
			d.want[m.topic] = store.KindMissedMeetingStarted
		case "leave":
			if n == 1 {
				m.lose = "" // nobody leaves before the end
			} else {
				d.want[m.topic] = store.KindMissedParticipantLeft
			}
		}
		d.events = append(d.events, dayEvent{at: m.start, what: "start", m: m})
		for p := range n {
			d.events = append(d.events, dayEvent{at: m.start.Add(time.Duration(p) * time.Second), what: "join", m: m, who: p})
			if p > 0 {
				d.events = append(d.events, dayEvent{at: m.end.Add(-time.Duration(p) * time.Minute), what: "leave", m: m, who: p})
			}
		}
		d.events = append(d.events, dayEvent{at: m.end, what: "end", m: m})
	}
	sort.SliceStable(d.events, func(i, j int) bool { return d.events[i].at.Before(d.events[j].at) })
	return d
}

// play runs the day: every five minutes, what happened meanwhile happens in
// Zoom, its webhooks (minus the lost ones) reach the store, and a scheduled
// pass runs with the loop's deadline.
func (d *day) play(b *testing.B) {
	began := time.Now()
	next := 0
	interval := 5 * time.Minute
	for tick := d.start.Add(interval); !tick.After(d.start.Add(24 * time.Hour)); tick = tick.Add(interval) {
		d.clk.Set(maxTime(d.clk.Now(), tick))
		var items []store.Ingest
		for ; next < len(d.events) && !d.events[next].at.After(tick); next++ {
			items = d.happen(b, d.events[next], items)
		}
		if len(items) > 0 {
			if _, err := d.st.IngestBatch(b.Context(), items, d.clk.Now()); err != nil {
				b.Fatalf("IngestBatch: %v", err)
			}
		}
		now := d.clk.Now()
		_, err := d.r.Pass(b.Context(), reconciler.PassOptions{
			Window:  reconciler.Window{Since: maxTime(d.start, now.Add(-24*time.Hour)), Until: now},
			Trigger: store.TriggerSchedule, Deadline: now.Add(interval * 3 / 4),
		})
		if err != nil {
			b.Fatalf("pass at %s: %v", now.Format(time.TimeOnly), err)
		}
		d.passes++
	}
	d.took = time.Since(began)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// happen plays one event in Zoom and appends its webhook unless it is lost.
func (d *day) happen(b *testing.B, e dayEvent, items []store.Ingest) []store.Ingest {
	m := e.m
	var (
		meeting     = store.MeetingUpdate{UUID: m.uuid, Topic: m.topic, HostID: m.host, StartTime: m.start, Source: store.SourceWebhook}
		participant *store.ParticipantUpdate
		lost        = m.lose == "all"
	)
	switch e.what {
	case "start":
		m.uuid = d.zoom.StartMeeting(zoomtest.MeetingSpec{HostID: m.host, Topic: m.topic, Start: m.start})
		meeting.UUID, meeting.Started = m.uuid, true
		lost = lost || m.lose == "start"
	case "join":
		m.people[e.who] = d.zoom.Join(m.uuid, m.people[e.who], e.at)
		p := m.people[e.who]
		participant = &store.ParticipantUpdate{MeetingUUID: m.uuid, Participant: store.Participant{UserID: p.UserID, UserName: p.Name},
			JoinTime: e.at, Source: store.SourceWebhook}
	case "leave":
		d.zoom.Leave(m.uuid, m.people[e.who].UserID, e.at, "")
		p := m.people[e.who]
		participant = &store.ParticipantUpdate{MeetingUUID: m.uuid, Participant: store.Participant{UserID: p.UserID, UserName: p.Name},
			LeaveTime: e.at, Source: store.SourceWebhook}
		lost = lost || m.lose == "leave" && e.who == 1
	case "end":
		d.zoom.EndMeeting(m.uuid, m.end) // the host leaves with it
		inst, _ := d.zoom.Truth(m.uuid)
		host := inst.Sessions[0].Person
		if !lost {
			items = append(items, dayIngest(m.uuid, "meeting.participant_left", host.UserID, e.at, meeting,
				&store.ParticipantUpdate{MeetingUUID: m.uuid, Participant: store.Participant{UserID: host.UserID, UserName: host.Name},
					LeaveTime: e.at, Source: store.SourceWebhook}))
		}
		meeting.EndTime, meeting.Ended = m.end, true
		lost = lost || m.lose == "end"
	}
	meeting.UUID = m.uuid
	if participant != nil {
		participant.MeetingUUID = m.uuid
	}
	if lost {
		return items
	}
	key := e.what
	if participant != nil {
		key += participant.Participant.UserID
	}
	return append(items, dayIngest(m.uuid, "meeting."+e.what, key, e.at, meeting, participant))
}

func dayIngest(uuid, event, key string, at time.Time, m store.MeetingUpdate, p *store.ParticipantUpdate) store.Ingest {
	return store.Ingest{
		Event: store.Event{DedupKey: uuid + "|" + event + "|" + key, Type: event, EventTS: &at, ReceivedAt: at,
			MeetingUUID: uuid, Body: []byte(`{"event":"` + event + `"}`)},
		Meeting: &m, Participant: p,
	}
}

// check fails b unless the day ended as it must, and reports its figures.
func (d *day) check(b *testing.B) {
	ctx := b.Context()
	ds, err := d.st.DiscrepanciesSince(ctx, d.start)
	if err != nil {
		b.Fatalf("DiscrepanciesSince: %v", err)
	}
	byTopic := map[string]*dayMeeting{}
	for _, e := range d.events {
		byTopic[e.m.topic] = e.m
	}
	found := map[string]store.Kind{}
	var (
		wrong  []string
		delays []time.Duration // from when the thing happened to its report
	)
	for _, x := range ds {
		if d.want[x.Topic] != x.Kind || found[x.Topic] != "" {
			wrong = append(wrong, fmt.Sprintf("%s %q: %s", x.Kind, x.Topic, x.Detail))
			continue
		}
		found[x.Topic] = x.Kind
		m := byTopic[x.Topic]
		happened := m.start
		if x.Kind == store.KindMissedMeetingEnded {
			happened = m.end
		} else if x.Kind == store.KindMissedParticipantLeft {
			happened = m.end // reported once the meeting's attendance is compared
		}
		delays = append(delays, x.DetectedAt.Sub(happened))
	}
	slices.Sort(delays)
	var missed []string
	for topic, kind := range d.want {
		if found[topic] == "" {
			missed = append(missed, fmt.Sprintf("%s %q", kind, topic))
		}
	}
	slices.Sort(missed)
	if len(wrong) > 0 {
		b.Errorf("%d discrepancies no planned loss explains, e.g.:\n%s", len(wrong), strings.Join(wrong[:min(10, len(wrong))], "\n"))
	}
	if len(missed) > 0 {
		b.Errorf("%d of %d planned losses not found by the day's end, e.g.:\n%s", len(missed), len(d.want), strings.Join(missed[:min(10, len(missed))], "\n"))
	}
	// No listing left partial: one that began after the day's last meeting
	// had ended has finished (a walk begun since may be under way).
	lastEnd := d.start
	for _, e := range d.events {
		lastEnd = maxTime(lastEnd, e.at)
	}
	partial := false
	if raw, err := d.st.State(ctx, reconciler.StateListingWalk); err == nil && raw != "{}" {
		var w struct {
			Started time.Time `json:"started"`
		}
		if json.Unmarshal([]byte(raw), &w) != nil || !w.Started.After(lastEnd) {
			partial = true
			b.Errorf("a listing begun at %s, before the day's last meeting ended (%s), is still partial at the day's end",
				w.Started.Format(time.TimeOnly), lastEnd.Format(time.TimeOnly))
		}
	}
	var (
		calls   = map[string]int{}
		refused = 0
	)
	for _, h := range d.zoom.CallHistory() {
		if !h.Day.Equal(d.start) {
			continue
		}
		for label, n := range h.ByLabel {
			calls[label] += n
		}
	}
	for _, r := range d.zoom.Requests() {
		if r.Status == 429 {
			refused++
		}
	}
	if refused > 0 {
		b.Errorf("Zoom answered 429 %d times", refused)
	}
	plan := zoomapi.PlanPro
	if d.acct.plan == zoomtest.PlanBusiness {
		plan = zoomapi.PlanBusiness
	}
	quota := zoomapi.DailyQuota(plan)
	budget := quota / 10
	budgeted := calls[string(zoomapi.LabelHeavy)] + calls[string(zoomapi.LabelResourceIntensive)]
	if budgeted > budget {
		b.Errorf("%d Heavy and Resource-intensive calls, over the budget of %d", budgeted, budget)
	}
	b.ReportMetric(float64(budgeted), "budgeted-calls/day")
	b.ReportMetric(float64(budgeted)/float64(budget), "of-budget")
	b.ReportMetric(float64(budgeted)/float64(quota), "of-quota")
	b.ReportMetric(float64(len(found)), "losses-found")
	b.ReportMetric(d.took.Seconds(), "day-s")
	var p50, worst time.Duration
	if len(delays) > 0 {
		p50, worst = delays[len(delays)/2], delays[len(delays)-1]
	}
	b.ReportMetric(p50.Minutes(), "report-delay-p50-min")
	b.ReportMetric(worst.Minutes(), "report-delay-max-min")
	var rows []string
	for _, l := range zoomapi.Labels() {
		rows = append(rows, fmt.Sprintf("%-18s %8d", l, calls[string(l)]))
	}
	b.Logf("%s: %d meetings by %d of %d users, plan %s, %d passes in %.1fs\n"+
		"calls of the day by label:\n%s\n"+
		"Heavy + Resource-intensive: %d of a budget of %d (%.0f%%), of the plan's quota of %d (%.1f%%); 429s: %d\n"+
		"planned losses found: %d of %d, reported %.0f min after they happened (median; at most %.0f); other discrepancies: %d; listing left partial: %v",
		d.acct.name, d.acct.meetings, d.acct.hosts, d.acct.users, plan, d.passes, d.took.Seconds(),
		strings.Join(rows, "\n"), budgeted, budget, 100*float64(budgeted)/float64(budget), quota,
		100*float64(budgeted)/float64(quota), refused, len(found), len(d.want), p50.Minutes(), worst.Minutes(), len(wrong), partial)
}
