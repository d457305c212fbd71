package reconciler_test

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/reconciler"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/zoomapi"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

var (
	_ reconciler.Store = (*store.Store)(nil)
	_ reconciler.Zoom  = (*zoomapi.Client)(nil)
)

const grace = 15 * time.Minute

// clock is the one time the fake Zoom, the client and the reconciler share,
// so a test moves through hours without waiting.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Sleep is a zoomapi SleepFunc that lets d pass on the clock at once.
func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.Advance(d)
	return nil
}

type testBundle struct {
	clk    *clock
	zoom   *zoomtest.Server
	client *zoomapi.Client
	st     *store.Store
	r      *reconciler.Reconciler
	// since is the window start: the daemon's first start.
	since time.Time
}

func setup(t *testing.T, dbURL string, opts ...zoomtest.Option) *testBundle {
	t.Helper()
	return setupWith(t, dbURL, nil, opts...)
}

// setupWith is setup with the client's and the reconciler's configuration
// changed by tune before they are built.
func setupWith(t *testing.T, dbURL string, tune func(*clock, *zoomapi.Config, *reconciler.Config), opts ...zoomtest.Option) *testBundle {
	t.Helper()
	clk := &clock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	zoom := zoomtest.New(append([]zoomtest.Option{zoomtest.WithClock(clk.Now)}, opts...)...)
	t.Cleanup(zoom.Close)
	creds := zoom.Credentials()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
	zc := zoomapi.Config{
		AccountID: creds.AccountID, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret,
		TokenURL: zoom.TokenURL(), APIURL: zoom.APIURL(), RequestsPerSecond: -1,
		RetryMax: 2, RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, Now: clk.Now,
	}
	rc := reconciler.Config{
		MissedGrace: grace, StaleAfter: 3 * time.Hour, SilenceAfter: 30 * time.Minute,
		NowFunc: clk.Now, Logger: logger,
	}
	if tune != nil {
		tune(clk, &zc, &rc)
	}
	client, err := zoomapi.New(zc)
	require.NoError(t, err)
	st := storetest.Open(t, dbURL)
	r := reconciler.New(rc, st, client)
	_, err = st.InitState(context.Background(), store.StateFirstStart, clk.Now().Format(time.RFC3339), clk.Now())
	require.NoError(t, err)
	return &testBundle{clk: clk, zoom: zoom, client: client, st: st, r: r, since: clk.Now()}
}

// heartbeat stores an unrelated webhook received now, as an account with
// other meetings keeps sending, so a test about something else does not
// also look like a silent Zoom.
func (b *testBundle) heartbeat(t *testing.T) {
	t.Helper()
	now := b.clk.Now()
	_, err := b.st.IngestBatch(context.Background(), []store.Ingest{{Event: store.Event{
		DedupKey: "heartbeat|" + now.String(), Type: "recording.completed", EventTS: &now, ReceivedAt: now, Body: []byte("{}"),
	}}}, now)
	require.NoError(t, err)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// pass runs a pass over [since, now].
func (b *testBundle) pass(t *testing.T, mod ...func(*reconciler.PassOptions)) reconciler.Result {
	t.Helper()
	opts := reconciler.PassOptions{Window: reconciler.Window{Since: b.since, Until: b.clk.Now()}, Trigger: store.TriggerSchedule}
	for _, m := range mod {
		m(&opts)
	}
	res, err := b.r.Pass(context.Background(), opts)
	require.NoError(t, err)
	return res
}

// lost says which of a meeting's webhooks never reached us.
type lost struct {
	started, ended bool
	joins, leaves  map[string]bool // by per-session user_id
	// renamed gives the user_id the webhooks used for a session, where it
	// differs from Zoom's reports.
	renamed map[string]string
}

// deliver stores the meeting's webhooks as the receiver would have, except
// the lost ones.
func (b *testBundle) deliver(t *testing.T, uuid string, l lost) {
	t.Helper()
	inst, ok := b.zoom.Truth(uuid)
	require.True(t, ok)
	var items []store.Ingest
	// Each arrives when it happened, as a working receiver gets them.
	add := func(key string, at time.Time, m *store.MeetingUpdate, p *store.ParticipantUpdate) {
		items = append(items, store.Ingest{
			Event:   store.Event{DedupKey: uuid + "|" + key, Type: key, EventTS: &at, ReceivedAt: at, MeetingUUID: uuid, Body: []byte("{}")},
			Meeting: m, Participant: p,
		})
	}
	typ := store.TypeMeeting
	if inst.Webinar {
		typ = store.TypeWebinar
	}
	meeting := store.MeetingUpdate{UUID: uuid, MeetingID: inst.ID, HostID: inst.HostID, Topic: inst.Topic, Type: typ,
		StartTime: inst.Start, Source: store.SourceWebhook}
	if !l.started {
		m := meeting
		m.Started = true
		add("started", inst.Start, &m, nil)
	}
	for _, s := range inst.Sessions {
		if s.Status == zoomtest.StatusInWaitingRoom {
			continue // waiting-room events carry no join or leave (§10)
		}
		who := store.Participant{UserID: cmp.Or(l.renamed[s.Person.UserID], s.Person.UserID), ParticipantUserID: s.Person.ParticipantUserID,
			ParticipantUUID: s.Person.ParticipantUUID, UserName: s.Person.Name, Email: s.Person.Email}
		if !l.joins[s.Person.UserID] {
			m := meeting
			add("joined"+s.Person.UserID, s.JoinTime, &m, &store.ParticipantUpdate{MeetingUUID: uuid, Participant: who, JoinTime: s.JoinTime, Source: store.SourceWebhook})
		}
		if !s.LeaveTime.IsZero() && !l.leaves[s.Person.UserID] {
			m := meeting
			add("left"+s.Person.UserID, s.LeaveTime, &m, &store.ParticipantUpdate{MeetingUUID: uuid, Participant: who, LeaveTime: s.LeaveTime, Source: store.SourceWebhook})
		}
	}
	if !inst.End.IsZero() && !l.ended {
		m := meeting
		m.EndTime, m.Ended = inst.End, true
		add("ended", inst.End, &m, nil)
	}
	slices.SortStableFunc(items, func(a, b store.Ingest) int { return a.Event.ReceivedAt.Compare(b.Event.ReceivedAt) })
	if len(items) > 0 {
		_, err := b.st.IngestBatch(context.Background(), items, b.clk.Now())
		require.NoError(t, err)
	}
}

// meeting plays a meeting of two in Zoom: Ann and Bob join a minute apart,
// Bob leaves after 20 minutes, and the host ends it after 30 unless open.
func (b *testBundle) meeting(t *testing.T, topic string, open bool) (uuid, ann, bob string) {
	t.Helper()
	start := b.clk.Now()
	uuid = b.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: topic, Start: start})
	a := b.zoom.Join(uuid, zoomtest.Person{Name: "Ann " + topic, Email: "ann@example.org"}, start)
	o := b.zoom.Join(uuid, zoomtest.Person{Name: "Bob " + topic}, start.Add(time.Minute))
	b.zoom.Leave(uuid, o.UserID, start.Add(20*time.Minute), "")
	if !open {
		b.zoom.EndMeeting(uuid, start.Add(30*time.Minute))
	}
	return uuid, a.UserID, o.UserID
}

func kinds(res reconciler.Result) []string {
	out := []string{}
	for _, f := range res.Discrepancies {
		out = append(out, string(f.Kind)+" "+f.Topic+" "+f.Participant)
	}
	return out
}

func TestPass(t *testing.T) {
	t.Parallel()
	cases := map[string]func(t *testing.T, dbURL string){
		"MissedEndWaitsForGraceThenBackfillsOnce":   testMissedEnd,
		"MissedSessionsAreComparedOneByOne":         testMissedSessions,
		"NeverDeliveredMeetingIsOneDiscrepancy":     testNeverDelivered,
		"LiveUnheardMeetingIsNotReportedTwice":      testNeverDeliveredLive,
		"FirstPassReportsWhatItCanAlreadyKnow":      testFirstPassComplete,
		"APIErrorIsNeverEvidence":                   testAPIErrorNotEvidence,
		"HistoryIsNotNews":                          testHistory,
		"StaleMeetingAlertsOnceAndStaysOpen":        testStale,
		"SilenceNeedsZoomActivityAndEndsWithEvents": testSilence,
		"ProPlanFallsBackToReportListing":           testProPlan,
		"DryRunWritesNothing":                       testDryRun,
		"CompleteMeetingsAreNotFetchedAgain":        testSteadyState,
	}
	runOnEveryBackend(t, cases)
}

// runOnEveryBackend runs each case, in parallel, on a fresh database of every
// backend.
func runOnEveryBackend(t *testing.T, cases map[string]func(t *testing.T, dbURL string)) {
	t.Helper()
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			for name, fn := range cases {
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					fn(t, be.URL(t))
				})
			}
		})
	}
}

func testMissedEnd(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	uuid, _, _ := b.meeting(t, "Lost end", false)
	b.deliver(t, uuid, lost{ended: true})
	b.clk.Advance(30 * time.Minute) // now = end
	require.Empty(t, kinds(b.pass(t)), "inside the grace period Zoom may still be retrying")

	b.clk.Advance(grace + time.Minute)
	res := b.pass(t)
	require.Equal(t, []string{"missed_meeting_ended Lost end "}, kinds(res))
	require.True(t, res.Discrepancies[0].Backfilled)
	m, err := b.st.Meeting(context.Background(), uuid)
	require.NoError(t, err)
	truth, _ := b.zoom.Truth(uuid)
	require.Equal(t, store.StatusEnded, m.Status)
	require.Equal(t, store.SourceReconciled, m.EndSource)
	require.True(t, truth.End.Equal(*m.EndTime), "end %v, want %v", m.EndTime, truth.End)
	requireSessionsMatch(t, b, uuid)
	alerts, err := b.st.AlertOutboxStats(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, alerts.Pending, "one alert queued with the discrepancy")

	require.Empty(t, kinds(b.pass(t)), "a second pass finds nothing new")
	alerts, err = b.st.AlertOutboxStats(context.Background())
	require.NoError(t, err)
	require.Equal(t, 1, alerts.Pending, "and queues no second alert")

	// Backfilled is history, not a task: closed as it was recorded.
	d, err := b.st.Discrepancy(context.Background(), store.KindMissedMeetingEnded, uuid, "")
	require.NoError(t, err)
	require.Equal(t, store.ResolvedBackfilled, d.Resolution)
	require.NotNil(t, d.ResolvedAt)
	require.True(t, d.ResolvedAt.Equal(d.DetectedAt), "resolved %v, detected %v", d.ResolvedAt, d.DetectedAt)
	open, err := b.st.OpenDiscrepancies(context.Background())
	require.NoError(t, err)
	require.Empty(t, open)

	// The lost webhook arriving late changes nothing: it is closed already.
	b.clk.Advance(time.Minute)
	b.deliver(t, uuid, lost{})
	again, err := b.st.Discrepancy(context.Background(), store.KindMissedMeetingEnded, uuid, "")
	require.NoError(t, err)
	require.Equal(t, d, again)
}

// requireSessionsMatch checks the stored sessions equal Zoom's truth.
func requireSessionsMatch(t *testing.T, b *testBundle, uuid string) {
	t.Helper()
	truth, ok := b.zoom.Truth(uuid)
	require.True(t, ok)
	got, err := b.st.Sessions(context.Background(), uuid)
	require.NoError(t, err)
	want := map[string]string{}
	for _, s := range truth.Sessions {
		if s.Status == zoomtest.StatusInWaitingRoom {
			continue // no attendance
		}
		want["uid:"+s.Person.UserID] = fmt.Sprint(s.JoinTime.UTC(), " ", s.LeaveTime.UTC())
	}
	have := map[string]string{}
	for _, s := range got {
		require.NotNil(t, s.JoinTime, "session %s has no join", s.ParticipantKey)
		require.NotNil(t, s.LeaveTime, "session %s has no leave", s.ParticipantKey)
		have[s.ParticipantKey] = fmt.Sprint(s.JoinTime.UTC(), " ", s.LeaveTime.UTC())
	}
	require.Equal(t, want, have)
}

func testMissedSessions(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	uuid, ann, bob := b.meeting(t, "Lost sides", false)
	b.deliver(t, uuid, lost{joins: map[string]bool{bob: true}, leaves: map[string]bool{ann: true}})
	b.clk.Advance(30*time.Minute + grace + time.Minute)
	res := b.pass(t)
	require.ElementsMatch(t, []string{
		"missed_participant_joined Lost sides Bob Lost sides",
		"missed_participant_left Lost sides Ann Lost sides <ann@example.org>",
	}, kinds(res))
	requireSessionsMatch(t, b, uuid)
	require.Empty(t, kinds(b.pass(t)))
}

func testNeverDelivered(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	b.clk.Advance(time.Minute) // after the daemon's first start
	uuid, _, _ := b.meeting(t, "Never heard of", false)
	b.clk.Advance(30*time.Minute + grace + time.Minute)
	b.heartbeat(t)
	res := b.pass(t)
	require.Equal(t, []string{"missed_meeting_started Never heard of "}, kinds(res),
		"its end and its sessions are not reported again")
	requireSessionsMatch(t, b, uuid)
	m, err := b.st.Meeting(context.Background(), uuid)
	require.NoError(t, err)
	require.Equal(t, store.SourceReconciled, m.StartSource)
	require.Equal(t, store.StatusEnded, m.Status)
	require.Empty(t, kinds(b.pass(t)))
}

func testAPIErrorNotEvidence(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	uuid, _, bob := b.meeting(t, "Flaky", false)
	b.deliver(t, uuid, lost{ended: true, leaves: map[string]bool{bob: true}})
	b.clk.Advance(30*time.Minute + grace + time.Minute)
	for _, path := range []string{zoomapi.EndpointDashboardMeetings, "/past_meetings/{meetingId}", "/report/meetings/{meetingId}/participants"} {
		b.zoom.Inject(zoomtest.Fault{Path: path, Status: 500})
	}
	res := b.pass(t)
	require.Empty(t, kinds(res), "Zoom could not be asked: nothing is concluded")
	require.NotEmpty(t, res.Errors)
	m, err := b.st.Meeting(context.Background(), uuid)
	require.NoError(t, err)
	require.Equal(t, store.StatusStarted, m.Status)

	b.zoom.ClearFaults()
	res = b.pass(t)
	require.Equal(t, []string{"missed_meeting_ended Flaky "}, kinds(res))
	require.Empty(t, res.Errors)
	requireSessionsMatch(t, b, uuid)
}

func testHistory(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	b.clk.Advance(-3 * time.Hour)
	b.meeting(t, "Before we ran", false)
	b.clk.Advance(3*time.Hour + grace + time.Minute)
	res := b.pass(t)
	require.Empty(t, kinds(res), "a meeting from before the first start is not news")
	// zoomrecon reconcile --since: a manual pass over an older window.
	since := func(d time.Duration) func(*reconciler.PassOptions) {
		return func(o *reconciler.PassOptions) { o.Window.Since, o.Trigger = b.since.Add(-d), store.TriggerManual }
	}
	require.Empty(t, kinds(b.pass(t, since(2*time.Hour))), "it ended before this window too")
	res = b.pass(t, since(4*time.Hour))
	require.Equal(t, []string{"missed_meeting_started Before we ran "}, kinds(res), "reconcile --since reaches it")
}

// testFirstPassComplete: a pass reports everything it can already know, so
// a second pass over the same window finds nothing new. A meeting never heard
// of, backfilled as live for longer than the stale limit, is stale in the
// pass that found it.
func testFirstPassComplete(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	b.clk.Advance(time.Minute)
	b.meeting(t, "Unheard marathon", true)
	ended, _, bob := b.meeting(t, "Lost leave", false)
	b.deliver(t, ended, lost{leaves: map[string]bool{bob: true}})
	b.clk.Advance(4 * time.Hour)
	b.heartbeat(t)
	// As zoomrecon reconcile --since runs it.
	manual := func(o *reconciler.PassOptions) { o.Trigger = store.TriggerManual }
	first := b.pass(t, manual)
	require.ElementsMatch(t, []string{
		"missed_meeting_started Unheard marathon ",
		"stale_meeting Unheard marathon ",
		"missed_participant_left Lost leave Bob Lost leave",
	}, kinds(first))
	require.Equal(t, store.RunOK, first.Outcome)
	second := b.pass(t, manual)
	require.Empty(t, kinds(second), "the second pass over the same window finds nothing new")
	require.Equal(t, store.RunOK, second.Outcome)
}

func testStale(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	uuid, _, _ := b.meeting(t, "Marathon", true)
	b.deliver(t, uuid, lost{})
	b.clk.Advance(2 * time.Hour)
	require.Empty(t, kinds(b.pass(t)))
	b.clk.Advance(2 * time.Hour)
	require.Equal(t, []string{"stale_meeting Marathon "}, kinds(b.pass(t)))
	require.Empty(t, kinds(b.pass(t)), "alerted once")
	m, err := b.st.Meeting(context.Background(), uuid)
	require.NoError(t, err)
	require.Equal(t, store.StatusStarted, m.Status, "only Zoom can say it ended")
	stale, err := b.st.Discrepancy(context.Background(), store.KindStaleMeeting, uuid, "")
	require.NoError(t, err)
	require.Nil(t, stale.ResolvedAt, "a stuck meeting is a task: it stays open")

	b.zoom.EndMeeting(uuid, b.clk.Now())
	b.clk.Advance(grace + time.Minute)
	b.heartbeat(t)
	require.Equal(t, []string{"missed_meeting_ended Marathon "}, kinds(b.pass(t)))
	d, err := b.st.Discrepancy(context.Background(), store.KindStaleMeeting, uuid, "")
	require.NoError(t, err)
	require.NotNil(t, d.ResolvedAt, "the stale meeting is resolved once it ended")
	require.Equal(t, store.ResolvedEnded, d.Resolution)
	ended, err := b.st.Discrepancy(context.Background(), store.KindMissedMeetingEnded, uuid, "")
	require.NoError(t, err)
	require.Equal(t, store.ResolvedBackfilled, ended.Resolution, "the end Zoom reported is backfilled")
}

func testSilence(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	first, _, _ := b.meeting(t, "Before silence", false)
	b.deliver(t, first, lost{})
	b.clk.Advance(40 * time.Minute)
	require.Empty(t, kinds(b.pass(t)), "quiet, but Zoom shows nothing happening: not silence")

	b.clk.Advance(5 * time.Minute)
	b.meeting(t, "During silence", false)
	b.clk.Advance(40 * time.Minute) // its end was 10 minutes ago: not yet missed
	res := b.pass(t)
	require.ElementsMatch(t, []string{"webhook_silence  ", "missed_meeting_started During silence "}, kinds(res))
	require.Empty(t, kinds(b.pass(t)), "one alert while it lasts")

	b.clk.Advance(time.Minute)
	next, _, _ := b.meeting(t, "Events flow again", false)
	b.deliver(t, next, lost{})
	open, err := b.st.OpenDiscrepancies(context.Background())
	require.NoError(t, err)
	for _, d := range open {
		require.NotEqual(t, store.KindWebhookSilence, d.Kind, "events flowing again resolve the silence")
	}
}

func testProPlan(t *testing.T, dbURL string) {
	b := setup(t, dbURL, zoomtest.WithPlan(zoomtest.PlanPro))
	uuid, _, _ := b.meeting(t, "On Pro", false)
	b.deliver(t, uuid, lost{ended: true})
	b.clk.Advance(30*time.Minute + grace + time.Minute)
	res := b.pass(t)
	require.Equal(t, reconciler.PathReport, res.Path)
	require.Equal(t, []string{"missed_meeting_ended On Pro "}, kinds(res))
	requireSessionsMatch(t, b, uuid)
}

func testDryRun(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	uuid, _, _ := b.meeting(t, "Dry", false)
	b.deliver(t, uuid, lost{ended: true})
	b.clk.Advance(30*time.Minute + grace + time.Minute)
	res := b.pass(t, func(o *reconciler.PassOptions) { o.DryRun = true })
	require.Equal(t, []string{"missed_meeting_ended Dry "}, kinds(res))
	open, err := b.st.OpenDiscrepancies(context.Background())
	require.NoError(t, err)
	require.Empty(t, open)
	m, err := b.st.Meeting(context.Background(), uuid)
	require.NoError(t, err)
	require.Equal(t, store.StatusStarted, m.Status)
	_, err = b.st.LastRun(context.Background())
	require.ErrorIs(t, err, store.ErrNotFound, "a dry run records no run either")
	usage, err := b.st.APIUsage(context.Background(), store.APIDay(b.clk.Now()))
	require.NoError(t, err)
	require.Empty(t, usage, "a dry run counts no API calls in the database")
	_, err = b.st.State(context.Background(), reconciler.StateBudget)
	require.ErrorIs(t, err, store.ErrNotFound, "a dry run leaves no budget")
	require.Equal(t, []string{"missed_meeting_ended Dry "}, kinds(b.pass(t)), "the real pass still finds it")
	usage, err = b.st.APIUsage(context.Background(), store.APIDay(b.clk.Now()))
	require.NoError(t, err)
	require.NotEmpty(t, usage, "the real pass counts its calls")
}

func testSteadyState(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	for i := range 5 {
		uuid, _, _ := b.meeting(t, fmt.Sprint("Complete ", i), false)
		b.deliver(t, uuid, lost{})
	}
	// One person alone: Zoom's report never covers it, the dashboard's
	// pastOne list does.
	alone := b.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Alone", Start: b.clk.Now()})
	b.zoom.Join(alone, zoomtest.Person{Name: "Solo"}, b.clk.Now())
	b.zoom.EndMeeting(alone, b.clk.Now().Add(10*time.Minute))
	b.deliver(t, alone, lost{})
	b.clk.Advance(30*time.Minute + grace + time.Minute)
	first := b.pass(t)
	require.Empty(t, kinds(first), "no discrepancy for meetings whose webhooks all arrived")
	require.Empty(t, first.Errors)
	require.Equal(t, 6, b.zoom.CallCount("/past_meetings/{meetingId}/participants"), "each ended meeting's attendance is checked once")
	require.Zero(t, b.zoom.CallCount("/report/meetings/{meetingId}/participants"), "never with the Heavy report")

	b.zoom.ResetRequests()
	second := b.pass(t)
	require.Empty(t, kinds(second))
	for _, r := range b.zoom.Requests() {
		require.Contains(t, []string{zoomapi.EndpointDashboardMeetings, zoomapi.EndpointDashboardWebinars}, r.Endpoint,
			"a steady pass only lists: %s", r.Path)
	}
	require.Equal(t, int64(len(b.zoom.Requests())), second.APICalls)
}

func testNeverDeliveredLive(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	b.clk.Advance(time.Minute)
	uuid, _, _ := b.meeting(t, "Found live", true)
	b.clk.Advance(grace + time.Minute)
	b.heartbeat(t)
	require.Equal(t, []string{"missed_meeting_started Found live "}, kinds(b.pass(t)))

	b.zoom.EndMeeting(uuid, b.clk.Now())
	b.clk.Advance(grace + time.Minute)
	b.heartbeat(t)
	require.Empty(t, kinds(b.pass(t)), "its end, lost too, is part of the same discrepancy")
	requireSessionsMatch(t, b, uuid)
	m, err := b.st.Meeting(context.Background(), uuid)
	require.NoError(t, err)
	require.Equal(t, store.StatusEnded, m.Status)
}
