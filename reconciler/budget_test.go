package reconciler_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/reconciler"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// TestBudget holds the reconciler to Zoom's limits (zoom-platform.md §6,
// §10): a listing longer than a pass goes on in the next, listings are spread
// over the day within the budget, and a spent budget stops the listing, not
// the checks of single meetings.
func TestBudget(t *testing.T) {
	t.Parallel()
	runOnEveryBackend(t, map[string]func(t *testing.T, dbURL string){
		"AListingLongerThanAPassGoesOnInTheNext": testListingResumes,
		"ListingsStayWithinTheDaysBudget":        testBudgetHeld,
		"ASpentBudgetStopsListingNotChecks":      testBudgetSpent,
		"TheDaysCountOutlivesTheProcess":         testUsageCarriesOver,
		"ProListsOnlyHostsWithNewMeetings":       testProHosts,
	})
}

// scheduled runs a pass as the loop does, with its deadline.
func (b *testBundle) scheduled(t *testing.T, deadline time.Duration) reconciler.Result {
	t.Helper()
	b.heartbeat(t)
	return b.pass(t, func(o *reconciler.PassOptions) { o.Deadline = b.clk.Now().Add(deadline) })
}

// manyMeetings plays n ended meetings of two people, all delivered, one
// minute apart from start.
func (b *testBundle) manyMeetings(t *testing.T, n int, start time.Time) {
	t.Helper()
	for i := range n {
		at := start.Add(time.Duration(i) * time.Second)
		uuid := b.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Busy", Start: at})
		b.zoom.Join(uuid, zoomtest.Person{Name: "A"}, at)
		b.zoom.Join(uuid, zoomtest.Person{Name: "B"}, at)
		b.zoom.EndMeeting(uuid, at.Add(10*time.Minute))
		b.deliver(t, uuid, lost{})
	}
}

func testListingResumes(t *testing.T, dbURL string) {
	// Resource-intensive calls paced at 10 a minute, 6 s apart, on the clock.
	b := setupWith(t, dbURL, func(clk *clock, zc *zoomapi.Config, _ *reconciler.Config) {
		zc.ResourceIntensivePerMinute, zc.SleepFunc = 10, clk.Sleep
	})
	b.clk.Advance(time.Minute)
	start := b.clk.Now()
	b.manyMeetings(t, 650, start) // three pages of 300
	b.meeting(t, "Never heard", false)
	b.clk.Advance(30*time.Minute + grace)

	pastPages := func() int {
		n := 0
		for _, r := range b.zoom.Requests() {
			if r.Endpoint == zoomapi.EndpointDashboardMeetings && r.Query.Get("type") == "past" {
				n++
			}
		}
		return n
	}
	var found []string
	for pass := 0; pass < 10 && pastPages() < 3; pass++ {
		res := b.scheduled(t, 10*time.Second) // room for two or three calls 6 s apart
		require.Empty(t, res.Errors)
		found = append(found, kinds(res)...)
		if pass == 0 {
			require.Less(t, pastPages(), 3, "the listing does not fit one pass")
		}
		b.clk.Advance(5 * time.Minute)
	}
	require.Equal(t, []string{"missed_meeting_started Never heard "}, found)
	require.Equal(t, 3, pastPages(), "each page fetched once: resumed, not restarted")
}

func testBudgetHeld(t *testing.T, dbURL string) {
	const budget = 200
	b := setupWith(t, dbURL, func(_ *clock, _ *zoomapi.Config, rc *reconciler.Config) {
		rc.DailyBudget = func(int) int { return budget }
	})
	b.clk.Advance(time.Minute)
	lostAt := b.clk.Now().Add(18 * time.Hour) // late: the budget must last the day
	for pass := range 24 * 12 {
		if b.clk.Now().Equal(lostAt) {
			b.meeting(t, "Lost in the day", false)
		}
		if pass%12 == 0 {
			uuid, _, _ := b.meeting(t, "Hourly", false)
			b.deliver(t, uuid, lost{})
		}
		res := b.scheduled(t, 4*time.Minute)
		for _, k := range kinds(res) {
			require.Equal(t, "missed_meeting_started Lost in the day ", k)
		}
		used := b.client.Spent().Budgeted()
		require.LessOrEqual(t, used, budget, "pass %d", pass)
		b.clk.Advance(5 * time.Minute)
	}
	d, err := b.st.DiscrepanciesSince(context.Background(), b.since)
	require.NoError(t, err)
	require.Len(t, d, 1, "the lost meeting was found within the budget")
	calls := 0
	for _, day := range b.zoom.CallHistory() {
		for label, n := range day.ByLabel {
			if zoomapi.Label(label).Budgeted() {
				calls += n
			}
		}
		require.LessOrEqual(t, calls, budget, "Zoom saw no more than the budget on %s", day.Day)
		calls = 0
	}
	raw, err := b.st.State(context.Background(), reconciler.StateBudget)
	require.NoError(t, err)
	var got reconciler.Budget
	require.NoError(t, json.Unmarshal([]byte(raw), &got))
	require.Equal(t, budget, got.Budget)
	require.Equal(t, zoomapi.PlanBusiness, got.Plan)
	require.Equal(t, 60_000, got.Quota)
}

func testBudgetSpent(t *testing.T, dbURL string) {
	b := setupWith(t, dbURL, func(_ *clock, _ *zoomapi.Config, rc *reconciler.Config) {
		rc.DailyBudget = func(int) int { return 1 }
	})
	uuid, _, bob := b.meeting(t, "Lost leave", false)
	b.deliver(t, uuid, lost{leaves: map[string]bool{bob: true}})
	b.clk.Advance(30*time.Minute + grace + time.Minute)
	res := b.scheduled(t, 4*time.Minute)
	require.Equal(t, []string{"missed_participant_left Lost leave Bob Lost leave"}, kinds(res),
		"the attendance check is Medium, outside the budget")
	require.Equal(t, 1, b.client.Spent().Budgeted())
	require.Empty(t, res.Errors, "a spent budget is a planned stop, not a failure to check")
}

func testUsageCarriesOver(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	b.clk.Advance(time.Minute)
	b.scheduled(t, 4*time.Minute)
	spent := b.client.Spent().Budgeted()
	require.Positive(t, spent)
	usage, err := b.st.APIUsage(context.Background(), store.APIDay(b.clk.Now()))
	require.NoError(t, err)
	require.EqualValues(t, spent, usage[string(zoomapi.LabelResourceIntensive)]+usage[string(zoomapi.LabelHeavy)])

	// A new process (or a reconcile run) the same day counts on from there.
	creds := b.zoom.Credentials()
	client, err := zoomapi.New(zoomapi.Config{AccountID: creds.AccountID, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret,
		TokenURL: b.zoom.TokenURL(), APIURL: b.zoom.APIURL(), RequestsPerSecond: -1, Now: b.clk.Now})
	require.NoError(t, err)
	r := reconciler.New(reconciler.Config{MissedGrace: grace, NowFunc: b.clk.Now}, b.st, client)
	b.clk.Advance(5 * time.Minute)
	_, err = r.Pass(context.Background(), reconciler.PassOptions{Window: reconciler.Window{Since: b.since, Until: b.clk.Now()}, Trigger: store.TriggerSchedule})
	require.NoError(t, err)
	require.Greater(t, client.Spent().Budgeted(), spent, "seeded with the day's count")
}

func testProHosts(t *testing.T, dbURL string) {
	b := setup(t, dbURL, zoomtest.WithPlan(zoomtest.PlanPro))
	b.clk.Advance(time.Minute)
	hosts := []string{"HostA000000000000000001", "HostB000000000000000001", "HostC000000000000000001"}
	play := func(host, topic string, lose bool) {
		start := b.clk.Now()
		uuid := b.zoom.StartMeeting(zoomtest.MeetingSpec{HostID: host, Topic: topic, Start: start})
		b.zoom.Join(uuid, zoomtest.Person{Name: "A " + topic}, start)
		b.zoom.Join(uuid, zoomtest.Person{Name: "B " + topic}, start)
		b.zoom.EndMeeting(uuid, start.Add(10*time.Minute))
		if !lose {
			b.deliver(t, uuid, lost{})
		}
	}
	for _, h := range hosts {
		play(h, "First of "+h[:5], false)
	}
	b.clk.Advance(30 * time.Minute)
	listedHosts := func() map[string]int {
		out := map[string]int{}
		for _, r := range b.zoom.Requests() {
			if r.Endpoint == zoomapi.EndpointReportUserMeetings {
				out[strings.Split(r.Path, "/")[4]]++
			}
		}
		return out
	}
	require.Empty(t, kinds(b.scheduled(t, 4*time.Minute)))
	require.Len(t, listedHosts(), 3, "the first walk lists every active host")

	// Only host B has a new meeting, and it was lost; the walk that lists it
	// comes while its grace runs.
	b.zoom.ResetRequests()
	play(hosts[1], "Lost", true)
	b.clk.Advance(10*time.Minute + time.Minute)
	var found []string
	for range 12 {
		found = append(found, kinds(b.scheduled(t, 4*time.Minute))...)
		b.clk.Advance(5 * time.Minute)
	}
	require.Equal(t, []string{"missed_meeting_started Lost "}, found, "listed again until it could be judged")
	got := listedHosts()
	require.NotContains(t, got, "HostA000000000000000001", "a host with nothing new is not listed again")
	require.NotContains(t, got, "HostC000000000000000001")
	require.Positive(t, got["HostB000000000000000001"])
}
