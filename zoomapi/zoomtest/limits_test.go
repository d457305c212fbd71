package zoomtest_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// One endpoint per label, open to the plan that the case names (§5).
const (
	lightPath  = "/meetings/1"                      // Light, any plan
	mediumPath = "/past_meetings/1/instances"       // Medium, any plan
	heavyPath  = "/report/meetings/1"               // Heavy, Pro or higher
	riPath     = "/metrics/meetings/1/participants" // Resource-intensive, Business or higher
	nextReset  = "2024-03-06T00:00:00Z"             // newClock's next 00:00 UTC
	okStatus   = http.StatusNotFound                // these IDs do not exist: answered, not refused
	dailyLimit = zoomtest.MessageDailyLimit
)

// requireDaily429 checks Zoom's daily-limit answer (§6).
func requireDaily429(t *testing.T, a answer, label string, quota string) {
	t.Helper()
	a.requireError(t, 429, 429, dailyLimit)
	require.Equal(t, "Daily-limit", a.Header.Get("X-RateLimit-Type"))
	require.Equal(t, label, a.Header.Get("X-RateLimit-Category"))
	require.Equal(t, quota, a.Header.Get("X-RateLimit-Limit"))
	require.Equal(t, "0", a.Header.Get("X-RateLimit-Remaining"))
	require.Equal(t, nextReset, a.Header.Get("Retry-After"), "ISO 8601, the next 00:00 UTC by the fake's clock")
}

// TestDailyQuotas holds the fake's default daily quotas to §6 for each
// plan: Basic's per label, Pro's and Business's shared by Heavy and
// Resource-intensive calls, none for Light and Medium on paid plans. Other
// apps' calls fill the quota up to one below it; the last call allowed and
// the first refused are real requests.
func TestDailyQuotas(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		plan zoomtest.Plan
		// others spends so many calls of a label as other apps.
		others map[string]int
		// last is the path of the last call the quota allows; over is
		// refused after it with the quota in X-RateLimit-Limit, and also
		// refused are the paths of alsoOver. free are never refused.
		last, over string
		label      string
		quota      string
		alsoOver   []string
		free       []string
	}{
		{name: "BasicLight", plan: zoomtest.PlanBasic, others: map[string]int{"Light": 5_999},
			last: lightPath, over: lightPath, label: "Light", quota: "6000", free: []string{mediumPath}},
		{name: "BasicMedium", plan: zoomtest.PlanBasic, others: map[string]int{"Medium": 1_999},
			last: mediumPath, over: mediumPath, label: "Medium", quota: "2000", free: []string{lightPath}},
		{name: "ProSharesHeavyAndResourceIntensive", plan: zoomtest.PlanPro, others: map[string]int{"Heavy": 20_000, "Resource-intensive": 9_999},
			last: heavyPath, over: heavyPath, label: "Heavy", quota: "30000", free: []string{lightPath, mediumPath}},
		{name: "BusinessSharesHeavyAndResourceIntensive", plan: zoomtest.PlanBusiness, others: map[string]int{"Heavy": 59_999},
			last: riPath, over: heavyPath, label: "Heavy", quota: "60000", alsoOver: []string{riPath}, free: []string{lightPath, mediumPath}},
		{name: "ProLightAndMediumAreUnlimited", plan: zoomtest.PlanPro, others: map[string]int{"Light": 10_000_000, "Medium": 10_000_000},
			last: lightPath, free: []string{lightPath, mediumPath, heavyPath}},
		{name: "BusinessLightAndMediumAreUnlimited", plan: zoomtest.PlanBusiness, others: map[string]int{"Light": 10_000_000, "Medium": 10_000_000},
			last: mediumPath, free: []string{lightPath, mediumPath, heavyPath, riPath}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithPlan(tt.plan), zoomtest.WithTokenLifetime(48*time.Hour))
			tok := token(t, s)
			for label, n := range tt.others {
				s.SpendByOtherApps(label, n)
			}
			a := get(t, s, tok, tt.last)
			require.Equal(t, okStatus, a.Status, "the last call the quota allows: %s", a.Body)
			require.Equal(t, "QPS", a.Header.Get("X-RateLimit-Type"), "answers within the quota describe the rate limit")
			if tt.over != "" {
				requireDaily429(t, get(t, s, tok, tt.over), tt.label, tt.quota)
				for _, p := range tt.alsoOver {
					a := get(t, s, tok, p)
					require.Equal(t, 429, a.Status, "%s shares the quota", p)
				}
			}
			for _, p := range tt.free {
				require.Equal(t, okStatus, get(t, s, tok, p).Status, "%s is not limited by the quota", p)
			}

			// 00:00 UTC starts a new day's quota.
			clk.Advance(10 * time.Hour)
			require.Equal(t, okStatus, get(t, s, tok, tt.last).Status)
			if tt.over != "" {
				require.Equal(t, okStatus, get(t, s, tok, tt.over).Status)
			}
		})
	}
}

// TestDailyQuotaAtZoomsNumbers makes Pro's 30,000 Heavy calls for real, in
// process, and the 30,001st is refused (§6).
func TestDailyQuotaAtZoomsNumbers(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithPlan(zoomtest.PlanPro))
	tok := token(t, s)
	h := s.APIHandler()
	call := func() *httptest.ResponseRecorder {
		req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/v2/report/meetings/1", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := range 30_000 {
		if rec := call(); rec.Code != okStatus {
			t.Fatalf("call %d: status %d, want %d: %s", i+1, rec.Code, okStatus, rec.Body)
		}
	}
	rec := call()
	require.Equal(t, 429, rec.Code, "the 30,001st Heavy call")
	require.Equal(t, "Daily-limit", rec.Header().Get("X-RateLimit-Type"))
	require.Equal(t, nextReset, rec.Header().Get("Retry-After"))
	require.Equal(t, map[string]int{"Light": 0, "Medium": 0, "Heavy": 30_000, "Resource-intensive": 0}, s.CallsByLabel())
}

// TestSetDailyLimit checks the override: one small quota for every label
// together, counted from when it is set; and off.
func TestSetDailyLimit(t *testing.T) {
	t.Parallel()

	t.Run("ReplacesThePlansQuotas", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		s := newServer(t, zoomtest.WithClock(clk.Now))
		tok := token(t, s)
		require.Equal(t, okStatus, get(t, s, tok, heavyPath).Status) // before the override: not counted in it
		s.SetDailyLimit(2)
		require.Equal(t, okStatus, get(t, s, tok, lightPath).Status)
		require.Equal(t, okStatus, get(t, s, tok, heavyPath).Status)
		requireDaily429(t, get(t, s, tok, mediumPath), "Medium", "2")
		s.SetDailyLimit(0) // back to Business's 60,000 shared; Medium unlimited
		require.Equal(t, okStatus, get(t, s, tok, mediumPath).Status)
	})

	t.Run("NegativeTurnsQuotasOff", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithPlan(zoomtest.PlanBasic))
		tok := token(t, s)
		s.SpendByOtherApps("Light", 6_000)
		require.Equal(t, 429, get(t, s, tok, lightPath).Status)
		s.SetDailyLimit(-1)
		require.Equal(t, okStatus, get(t, s, tok, lightPath).Status)
	})

	t.Run("UnknownLabelPanics", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		require.PanicsWithValue(t, `zoomtest: SpendByOtherApps: unknown label "heavy-ish"`, func() { s.SpendByOtherApps("heavy-ish", 1) })
	})
}

// TestCallHistory checks what the fake charged per UTC day and label: our
// calls that reached the endpoint, not faults, refusals or other apps'.
func TestCallHistory(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithTokenLifetime(48*time.Hour))
	tok := token(t, s)
	day1 := time.Date(2024, 3, 5, 0, 0, 0, 0, time.UTC)

	get(t, s, tok, lightPath)
	get(t, s, tok, mediumPath)
	get(t, s, tok, heavyPath)
	get(t, s, tok, heavyPath)
	get(t, s, tok, riPath)
	s.Inject(zoomtest.Fault{Path: "/past_meetings/{meetingId}/instances", Times: 1, Status: 500})
	require.Equal(t, 500, get(t, s, tok, mediumPath).Status, "a fault is not charged")
	require.Equal(t, 401, get(t, s, "bad-token", mediumPath).Status, "a refused token is not charged")
	s.SpendByOtherApps("Heavy", 100)
	s.SetPerMinuteLimit(1) // a new count: one more call this minute
	require.Equal(t, okStatus, get(t, s, tok, riPath).Status)
	require.Equal(t, 429, get(t, s, tok, riPath).Status, "a per-minute refusal is not charged")
	today := map[string]int{"Light": 1, "Medium": 1, "Heavy": 2, "Resource-intensive": 2}
	require.Equal(t, today, s.CallsByLabel())

	clk.Advance(10 * time.Hour) // the next UTC day
	require.Equal(t, map[string]int{"Light": 0, "Medium": 0, "Heavy": 0, "Resource-intensive": 0}, s.CallsByLabel())
	get(t, s, tok, heavyPath)
	require.Equal(t, []zoomtest.DayCalls{
		{Day: day1, ByLabel: today},
		{Day: day1.AddDate(0, 0, 1), ByLabel: map[string]int{"Light": 0, "Medium": 0, "Heavy": 1, "Resource-intensive": 0}},
	}, s.CallHistory())
	require.True(t, strings.HasPrefix(s.CallHistory()[0].Day.Location().String(), "UTC"))
}
