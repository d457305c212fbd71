package zoomtest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

func TestFaults(t *testing.T) {
	t.Parallel()
	reset := time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name           string
		fault          zoomtest.Fault
		path           string
		wantStatus     int
		wantBody       string
		wantType       string
		wantRetryAfter string
	}{
		{name: "ServerErrorWithJSON", fault: zoomtest.Fault{Status: 500, Body: `{"code":500,"message":"oops"}`},
			path: "/users", wantStatus: 500, wantBody: `{"code":500,"message":"oops"}`, wantType: "QPS"},
		{name: "BadGatewayWithHTML", fault: zoomtest.Fault{Status: 502, Body: "<html>Bad Gateway</html>"},
			path: "/users", wantStatus: 502, wantBody: "<html>Bad Gateway</html>", wantType: "QPS"},
		{name: "EmptyBody", fault: zoomtest.Fault{Status: 503},
			path: "/users", wantStatus: 503, wantBody: "", wantType: "QPS"},
		{name: "PerSecondLimit", fault: zoomtest.QPSFault("", 0),
			path: "/users", wantStatus: 429, wantType: "QPS",
			wantBody: `{"code":429,"message":"` + zoomtest.MessageQPSLimit + `"}`},
		{name: "DailyLimit", fault: zoomtest.DailyFault("/users", 0, reset),
			path: "/users", wantStatus: 429, wantType: "Daily-limit", wantRetryAfter: "2024-03-06T00:00:00Z",
			wantBody: `{"code":429,"message":"` + zoomtest.MessageDailyLimit + `"}`},
		{name: "BareTooManyRequests", fault: zoomtest.Fault{Status: 429, Body: `{"code":429,"message":"You have exceeded the daily rate limit (100) of Meeting Create/Update API requests permitted for this particular user. You may resume these requests at GMT 00:00:00."}`},
			path: "/users", wantStatus: 429, wantType: ""},
		{name: "OnlyItsPath", fault: zoomtest.Fault{Path: "/past_meetings/{meetingId}", Status: 500},
			path: "/users", wantStatus: 200, wantType: "QPS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			tok := token(t, s)
			s.Inject(tt.fault)
			a := get(t, s, tok, tt.path)
			require.Equal(t, tt.wantStatus, a.Status, "body %s", a.Body)
			if tt.wantStatus != 200 {
				require.Equal(t, tt.wantBody != "" || tt.fault.Body != "", len(a.Body) > 0)
				if tt.wantBody != "" {
					require.Equal(t, tt.wantBody, string(a.Body))
				}
			}
			require.Equal(t, tt.wantType, a.Header.Get("X-RateLimit-Type"))
			require.Equal(t, tt.wantRetryAfter, a.Header.Get("Retry-After"))
			require.NotEmpty(t, a.Header.Get("x-zm-trackingid"))
			require.Equal(t, tt.wantStatus, s.Requests()[0].Status)
		})
	}
}

func TestFaultTimesAndClear(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	tok := token(t, s)
	s.Inject(zoomtest.Fault{Path: "/users", Times: 2, Status: 500})
	require.Equal(t, 500, get(t, s, tok, "/users").Status)
	require.Equal(t, 500, get(t, s, tok, "/users").Status)
	require.Equal(t, 200, get(t, s, tok, "/users").Status)

	s.Inject(zoomtest.Fault{Status: 502})
	require.Equal(t, 502, get(t, s, tok, "/users").Status)
	require.Equal(t, 502, get(t, s, tok, "/meetings/1").Status)
	s.ClearFaults()
	require.Equal(t, 200, get(t, s, tok, "/users").Status)
	require.Equal(t, 6, s.CallCount(""))
	require.Equal(t, 5, s.CallCount("/users"))
	require.Equal(t, 1, s.CallCount("/meetings/{meetingId}"))
}

func TestTokenEndpointFault(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.Inject(zoomtest.Fault{Status: 500}) // API paths only
	s.Inject(zoomtest.Fault{Path: "/oauth/token", Times: 1, Status: 503})
	c := s.Credentials()
	form := url.Values{"grant_type": {"account_credentials"}, "account_id": {c.AccountID}}
	req, err := http.NewRequest(http.MethodPost, s.TokenURL(), nil)
	require.NoError(t, err)
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 503, resp.StatusCode)
	status, _ := tokenRequest(t, s, c.ClientID, c.ClientSecret, form, "")
	require.Equal(t, 200, status)
}

func TestFaultDelay(t *testing.T) {
	t.Parallel()

	t.Run("SlowsThenAnswersNormally", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		tok := token(t, s)
		s.Inject(zoomtest.Fault{Path: "/users", Delay: 30 * time.Millisecond})
		began := time.Now()
		require.Equal(t, 200, get(t, s, tok, "/users").Status)
		require.GreaterOrEqual(t, time.Since(began), 30*time.Millisecond)
	})

	t.Run("EndsWhenTheClientGivesUp", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		tok := token(t, s)
		s.Inject(zoomtest.Fault{Path: "/users", Delay: time.Hour, Status: 500})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.APIURL()+"/users", nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
		_, err = http.DefaultClient.Do(req)
		require.True(t, errors.Is(err, context.DeadlineExceeded), "err %v", err)
		waitFor(t, "the abandoned request to be recorded", func() bool { return s.CallCount("/users") == 1 })
		require.Equal(t, 0, s.Requests()[0].Status)
	})
}

func TestQPSLimit(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now))
	tok := token(t, s)
	s.SetQPSLimit(2)

	a := get(t, s, tok, "/users")
	require.Equal(t, 200, a.Status)
	require.Equal(t, "2", a.Header.Get("X-RateLimit-Limit"))
	require.Equal(t, "1", a.Header.Get("X-RateLimit-Remaining"))
	require.Equal(t, 200, get(t, s, tok, "/users").Status)
	a = get(t, s, tok, "/users")
	a.requireError(t, 429, 429, zoomtest.MessageQPSLimit)
	require.Equal(t, "QPS", a.Header.Get("X-RateLimit-Type"))
	require.Equal(t, "Medium", a.Header.Get("X-RateLimit-Category"))

	require.Equal(t, 404, get(t, s, tok, "/meetings/1").Status, "another label has its own budget")
	clk.Advance(time.Second)
	require.Equal(t, 200, get(t, s, tok, "/users").Status)

	s.SetQPSLimit(0)
	for range 5 {
		require.Equal(t, 200, get(t, s, tok, "/users").Status)
	}
}

// TestPerMinuteLimit checks the Resource-intensive limit of the Dashboard
// endpoints: counted per minute, refused with X-RateLimit-Type QPS (§10),
// and apart from the per-second limits of the other labels.
func TestPerMinuteLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		plan      zoomtest.Plan
		limit     int
		wantLimit int
	}{
		{name: "SetLimit", plan: zoomtest.PlanBusiness, limit: 2, wantLimit: 2},
		{name: "BusinessPlanLimit", plan: zoomtest.PlanBusiness, limit: -1, wantLimit: 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithPlan(tt.plan))
			tok := token(t, s)
			path := "/metrics/meetings/1/participants"

			a := get(t, s, tok, path)
			require.Equal(t, "Resource-intensive", a.Header.Get("X-RateLimit-Category"))
			require.Equal(t, "20", a.Header.Get("X-RateLimit-Limit"), "off, the headers still show the plan's limit")
			s.SetPerMinuteLimit(tt.limit)
			s.SetQPSLimit(1) // per second, for the other labels only
			for i := range tt.wantLimit {
				a := get(t, s, tok, path)
				require.Equal(t, 404, a.Status, "call %d: %s", i, a.Body)
				require.Equal(t, fmt.Sprint(tt.wantLimit), a.Header.Get("X-RateLimit-Limit"))
				require.Equal(t, fmt.Sprint(tt.wantLimit-i-1), a.Header.Get("X-RateLimit-Remaining"))
			}
			a = get(t, s, tok, "/metrics/meetings/2")
			a.requireError(t, 429, 429, zoomtest.MessageQPSLimit)
			require.Equal(t, "QPS", a.Header.Get("X-RateLimit-Type"), "§10: a per-minute 429 says QPS")
			require.Equal(t, "Resource-intensive", a.Header.Get("X-RateLimit-Category"))
			require.Equal(t, 200, get(t, s, tok, "/users").Status, "other labels have their own budget")

			clk.Advance(59 * time.Second) // the same minute
			get(t, s, tok, path).requireError(t, 429, 429, "")
			clk.Advance(time.Second)
			require.Equal(t, 404, get(t, s, tok, path).Status, "a new minute")

			s.SetPerMinuteLimit(0)
			for range tt.wantLimit + 1 {
				require.Equal(t, 404, get(t, s, tok, path).Status)
			}
		})
	}
}

func TestDailyLimit(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithTokenLifetime(24*time.Hour))
	tok := token(t, s)
	s.SetDailyLimit(2)

	a := get(t, s, tok, "/users")
	require.Equal(t, 200, a.Status)
	require.Equal(t, "Daily-limit", a.Header.Get("X-RateLimit-Type"))
	require.Equal(t, "1", a.Header.Get("X-RateLimit-Remaining"))
	require.Equal(t, 200, get(t, s, tok, "/users").Status)
	a = get(t, s, tok, "/meetings/1")
	a.requireError(t, 429, 429, zoomtest.MessageDailyLimit)
	require.Equal(t, "Daily-limit", a.Header.Get("X-RateLimit-Type"))
	require.Equal(t, "2024-03-06T00:00:00Z", a.Header.Get("Retry-After"), "ISO 8601, next 00:00 UTC")

	clk.Advance(10 * time.Hour) // past midnight UTC
	require.Equal(t, 200, get(t, s, tok, "/users").Status)
}

func TestRequestLog(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now))
	tok := token(t, s)
	get(t, s, tok, "/users?status=active&page_size=300")
	get(t, s, tok, "/report/meetings/123/participants?include_fields=registrant_id")

	reqs := s.Requests()
	require.Len(t, reqs, 2)
	require.Equal(t, zoomtest.Request{
		Time: clk.Now(), Method: "GET", Path: "/v2/users", Endpoint: "/users",
		Query: url.Values{"status": {"active"}, "page_size": {"300"}}, Status: 200,
	}, reqs[0])
	require.Equal(t, "/report/meetings/{meetingId}/participants", reqs[1].Endpoint)
	require.Equal(t, 404, reqs[1].Status)
	require.Equal(t, 1, s.CallCount("/users"))

	s.ResetRequests()
	require.Empty(t, s.Requests())
	require.Equal(t, 0, s.CallCount(""))
}
