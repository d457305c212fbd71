package zoomapi_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

func TestNew(t *testing.T) {
	t.Parallel()
	const secret = "s3cr3t-value-never-printed"
	tests := []struct {
		name    string
		cfg     zoomapi.Config
		wantErr []string // substrings, all must appear
	}{
		{"NamesEveryMissingKey", zoomapi.Config{}, []string{"Config.AccountID is empty", "Config.ClientID is empty", "Config.ClientSecret is empty"}},
		{"NamesOnlyTheMissingKey", zoomapi.Config{AccountID: "a", ClientSecret: secret}, []string{"Config.ClientID is empty; set it to the Client ID on the App Credentials page"}},
		{"RejectsBadURL", zoomapi.Config{AccountID: "a", ClientID: "c", ClientSecret: secret, APIURL: "ftp://api.zoom.us/v2"}, []string{"Config.APIURL", "e.g. https://api.zoom.us/v2"}},
		{"HidesURLCredentials", zoomapi.Config{AccountID: "a", ClientID: "c", ClientSecret: secret, TokenURL: "ftp://user:" + secret + "@zoom.us/oauth/token"}, []string{"Config.TokenURL"}},
		{"RejectsNegativeTimeout", zoomapi.Config{AccountID: "a", ClientID: "c", ClientSecret: secret, Timeout: -time.Second}, []string{"Config.Timeout -1s must not be negative; use e.g. 30s"}},
		{"RejectsNegativeRetryWait", zoomapi.Config{AccountID: "a", ClientID: "c", ClientSecret: secret, RetryWaitMin: -time.Second}, []string{"Config.RetryWaitMin -1s must not be negative; use e.g. 1s"}},
		{"RejectsNegativeMinuteLimitWait", zoomapi.Config{AccountID: "a", ClientID: "c", ClientSecret: secret, MinuteLimitWait: -time.Second}, []string{"Config.MinuteLimitWait -1s must not be negative; use e.g. 1m0s"}},
		{"RejectsNegativeDailyBudget", zoomapi.Config{AccountID: "a", ClientID: "c", ClientSecret: secret, DailyBudget: -1}, []string{"Config.DailyBudget -1 must not be negative; use e.g. 30000 (half of a Business account's daily quota), or 0 for no budget"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := zoomapi.New(tt.cfg)
			require.Error(t, err)
			for _, want := range tt.wantErr {
				require.Contains(t, err.Error(), want)
			}
			require.NotContains(t, err.Error(), secret)
		})
	}

	t.Run("AcceptsMinimalConfig", func(t *testing.T) {
		t.Parallel()
		c, err := zoomapi.New(zoomapi.Config{AccountID: "a", ClientID: "c", ClientSecret: secret})
		require.NoError(t, err)
		require.Zero(t, c.Calls())
	})

	t.Run("SharesMetricsOnOneRegistry", func(t *testing.T) {
		t.Parallel()
		zoom := zoomtest.New()
		t.Cleanup(zoom.Close)
		creds := zoom.Credentials()
		reg := prometheus.NewRegistry()
		for range 2 {
			c, err := zoomapi.New(zoomapi.Config{AccountID: creds.AccountID, ClientID: creds.ClientID, ClientSecret: creds.ClientSecret,
				TokenURL: zoom.TokenURL(), APIURL: zoom.APIURL(), RequestsPerSecond: -1, Registerer: reg})
			require.NoError(t, err)
			collect(t, c.Users(t.Context(), ""))
		}
		require.EqualValues(t, 2, metricValue(t, reg, "zoomrecon_zoomapi_requests_total", map[string]string{"endpoint": zoomapi.EndpointUsers, "status": "200"}),
			"the second client counts into the collectors the first registered")
		require.EqualValues(t, 2, metricValue(t, reg, "zoomrecon_zoomapi_calls_today", map[string]string{"label": "Medium"}),
			"the day's calls add up over the clients")
	})
}

func TestToken(t *testing.T) {
	t.Parallel()

	t.Run("SendsFormBodyAndBasicAuthAsZoomNeeds", func(t *testing.T) {
		t.Parallel()
		type tokenRequest struct {
			form        url.Values
			query       string
			contentType string
			user, pass  string
			basic       bool
		}
		var (
			mu   sync.Mutex
			seen []tokenRequest
		)
		mux := http.NewServeMux()
		mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
			require.NoError(t, r.ParseForm())
			user, pass, ok := r.BasicAuth()
			mu.Lock()
			seen = append(seen, tokenRequest{r.PostForm, r.URL.RawQuery, r.Header.Get("Content-Type"), user, pass, ok})
			mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"tok-1","token_type":"bearer","expires_in":3599,"scope":"user:read:admin","api_url":"https://api.zoom.us"}`))
		})
		mux.HandleFunc("GET /v2/users", func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Authorization") != "Bearer tok-1" {
				w.WriteHeader(http.StatusUnauthorized)
				_, _ = w.Write([]byte(`{"code":124,"message":"Invalid access token."}`))
				return
			}
			_, _ = w.Write([]byte(`{"next_page_token":"","users":[{"id":"u1","email":"ana@example.org"}]}`))
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		c, err := zoomapi.New(zoomapi.Config{
			AccountID: "acct-123", ClientID: "client-abc", ClientSecret: "secret-xyz",
			TokenURL: srv.URL + "/oauth/token", APIURL: srv.URL + "/v2", RequestsPerSecond: -1,
		})
		require.NoError(t, err)

		users := collect(t, c.Users(t.Context(), ""))
		require.Len(t, users, 1)
		require.Len(t, seen, 1)
		got := seen[0]
		// §1: grant_type=account_credentials and account_id in the form body,
		// credentials only in the Basic header, nothing in the query string.
		require.Equal(t, url.Values{"grant_type": {"account_credentials"}, "account_id": {"acct-123"}}, got.form)
		require.Empty(t, got.query)
		require.Equal(t, "application/x-www-form-urlencoded", got.contentType)
		require.True(t, got.basic)
		require.Equal(t, "client-abc", got.user)
		require.Equal(t, "secret-xyz", got.pass)
	})

	t.Run("FetchesOnceAndReuses", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		for range 3 {
			collect(t, b.client.Users(t.Context(), "active"))
		}
		require.Equal(t, 1, b.zoom.TokenRequests())
		require.EqualValues(t, 3, b.client.Calls())
		require.EqualValues(t, 1, metricValue(t, b.reg, "zoomrecon_zoomapi_token_refreshes_total", nil))
	})

	t.Run("RenewsShortlyBeforeExpiry", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{clock: true, zoom: []zoomtest.Option{zoomtest.WithTokenLifetime(10 * time.Minute)}})
		collect(t, b.client.Users(t.Context(), ""))
		b.clock.Advance(8 * time.Minute) // renewal is due at 9m (a tenth of the lifetime early)
		collect(t, b.client.Users(t.Context(), ""))
		require.Equal(t, 1, b.zoom.TokenRequests())
		b.clock.Advance(90 * time.Second) // 9m30s: still valid at Zoom, renewed anyway
		collect(t, b.client.Users(t.Context(), ""))
		require.Equal(t, 2, b.zoom.TokenRequests())
		b.clock.Advance(20 * time.Minute) // both tokens long expired
		collect(t, b.client.Users(t.Context(), ""))
		require.Equal(t, 3, b.zoom.TokenRequests())
		require.Equal(t, []int{200, 200, 200, 200}, b.statuses(t, ""), "no request may reach Zoom with an expired token")
	})

	// The WebSocket takes the token itself (§11): it needs to know when to
	// renew it, and to drop one Zoom refused over the socket.
	t.Run("AccessTokenSaysWhenToRenewAndForgets", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{clock: true, zoom: []zoomtest.Option{zoomtest.WithTokenLifetime(10 * time.Minute)}})
		tok, renewAt, err := b.client.AccessToken(t.Context())
		require.NoError(t, err)
		require.NotEmpty(t, tok)
		require.WithinDuration(t, b.clock.Now().Add(9*time.Minute), renewAt, time.Second, "a tenth of the lifetime early")
		again, _, err := b.client.AccessToken(t.Context())
		require.NoError(t, err)
		require.Equal(t, tok, again, "cached")
		require.Equal(t, 1, b.zoom.TokenRequests())

		b.client.ForgetAccessToken("some-other-token")
		again, _, err = b.client.AccessToken(t.Context())
		require.NoError(t, err)
		require.Equal(t, tok, again, "forgetting another token keeps this one")
		b.client.ForgetAccessToken(tok)
		fresh, _, err := b.client.AccessToken(t.Context())
		require.NoError(t, err)
		require.NotEqual(t, tok, fresh)
		require.Equal(t, 2, b.zoom.TokenRequests())
	})

	// Zoom refuses a token with 401 code 124, or, on one API family, with
	// 401 {"status":false,"errorCode":401} (§10): either renews it once.
	renewals := []struct {
		name   string
		style  zoomtest.TokenErrorStyle
		prefix string
	}{
		{name: "RenewsOnceOnCode124", style: zoomtest.TokenErrorCode124},
		{name: "RenewsOnceOnStatusFalse", style: zoomtest.TokenErrorStatusFalse, prefix: "/users"},
	}
	for _, tt := range renewals {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{})
			b.zoom.SetTokenErrorStyle(tt.prefix, tt.style)
			collect(t, b.client.Users(t.Context(), ""))
			b.zoom.ExpireTokens()
			collect(t, b.client.Users(t.Context(), "")) // succeeds after one renewal
			require.Equal(t, []int{200, 401, 200}, b.statuses(t, "/users"))
			require.Equal(t, 2, b.zoom.TokenRequests())
			require.EqualValues(t, 3, b.client.Calls())
			require.EqualValues(t, 1, metricValue(t, b.reg, "zoomrecon_zoomapi_retries_total", map[string]string{"endpoint": zoomapi.EndpointUsers, "reason": "token"}))
			require.Contains(t, b.logs.String(), "zoom rejected the access token; renewing it once")
		})
	}

	t.Run("ConcurrentRejectionsRenewOnce", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		collect(t, b.client.Users(t.Context(), ""))
		b.zoom.ExpireTokens()
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() {
				for _, err := range b.client.Users(t.Context(), "") {
					if err != nil {
						errs[i] = err
					}
				}
			})
		}
		wg.Wait()
		require.NoError(t, errors.Join(errs...))
		require.Equal(t, 2, b.zoom.TokenRequests())
	})

	refusals := []struct {
		name        string
		body        string
		wantCode    int
		wantMessage string
	}{
		{name: "UnauthorizedWhenRenewalDoesNotHelp", body: `{"code":124,"message":"Invalid access token."}`,
			wantCode: 124, wantMessage: "Invalid access token."},
		{name: "UnauthorizedWhenRenewalDoesNotHelpStatusFalse", body: `{"status":false,"errorCode":401}`,
			wantCode: 401, wantMessage: "Unauthorized"},
		{name: "UnauthorizedWhenRenewalDoesNotHelpEmptyBody", wantMessage: "Unauthorized (empty body)"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{})
			b.zoom.Inject(zoomtest.Fault{Path: "/users", Times: 2, Status: http.StatusUnauthorized, Body: tt.body})
			_, err := collectErr(t, b.client.Users(t.Context(), ""))
			requireOnly(t, err, zoomapi.ErrUnauthorized)
			var apiErr *zoomapi.Error
			require.ErrorAs(t, err, &apiErr)
			require.Equal(t, http.StatusUnauthorized, apiErr.HTTPStatus)
			require.Equal(t, tt.wantCode, apiErr.Code)
			require.Equal(t, tt.wantMessage, apiErr.Message)
			require.Equal(t, zoomapi.EndpointUsers, apiErr.Endpoint)
			require.Contains(t, err.Error(), "Zoom refused the access token", "the error says what to check")
			require.Equal(t, []int{401, 401}, b.statuses(t, "/users"), "one renewal, one retry, no more")
			require.Equal(t, 2, b.zoom.TokenRequests())
			require.EqualValues(t, 1, metricValue(t, b.reg, "zoomrecon_zoomapi_retries_total", map[string]string{"endpoint": zoomapi.EndpointUsers, "reason": "token"}))
		})
	}

	t.Run("StatusFalseAfterRenewalFromTheFake", func(t *testing.T) {
		t.Parallel()
		// Every token the fake issues is already expired: Zoom refusing the
		// renewed token as well.
		b := setup(t, setupOpts{clock: true, zoom: []zoomtest.Option{zoomtest.WithTokenLifetime(0)}})
		b.zoom.SetTokenErrorStyle("", zoomtest.TokenErrorStatusFalse)
		_, err := collectErr(t, b.client.Users(t.Context(), ""))
		requireOnly(t, err, zoomapi.ErrUnauthorized)
		var apiErr *zoomapi.Error
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, 401, apiErr.Code)
		require.NotErrorIs(t, err, zoomapi.ErrNoToken, "a token was had; Zoom refused it")
		require.Equal(t, []int{401, 401}, b.statuses(t, "/users"), "no loop")
		require.Equal(t, 2, b.zoom.TokenRequests())
	})

	t.Run("ReportsZoomsReasonForBadCredentials", func(t *testing.T) {
		t.Parallel()
		const wrong = "wrong-secret-0123456789"
		b := setup(t, setupOpts{cfg: func(c *zoomapi.Config) { c.ClientSecret = wrong }})
		_, err := collectErr(t, b.client.Users(t.Context(), ""))
		requireOnly(t, err, zoomapi.ErrUnauthorized)
		var te *zoomapi.TokenError
		require.ErrorAs(t, err, &te)
		require.Equal(t, zoomapi.TokenError{HTTPStatus: 400, ErrorCode: "invalid_client", Reason: "Invalid client_id or client_secret"}, *te)
		require.Contains(t, err.Error(), "check the Account ID, Client ID and Client Secret", "the error says what to do")
		require.ErrorIs(t, err, zoomapi.ErrNoToken)
		require.NotContains(t, err.Error(), wrong)
		require.Equal(t, 1, b.zoom.TokenRequests(), "a 4xx from the token endpoint is not retried, nor re-sent with the secret in the body")
		require.Zero(t, b.callCount(t, ""), "no API request without a token")
		require.Zero(t, b.client.Calls())
		require.EqualValues(t, 1, metricValue(t, b.reg, "zoomrecon_zoomapi_token_errors_total", nil))
	})

	t.Run("SaysWhatToCheckWhenTheTokenEndpointIsUnreachable", func(t *testing.T) {
		t.Parallel()
		// A listener closed at once: the port refuses connections.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		unreachable := "http://" + ln.Addr().String() + "/oauth/token"
		require.NoError(t, ln.Close())
		b := setup(t, setupOpts{cfg: func(c *zoomapi.Config) { c.TokenURL = unreachable; c.RetryMax = 0 }})
		_, err = collectErr(t, b.client.Users(t.Context(), ""))
		require.ErrorIs(t, err, zoomapi.ErrNoToken)
		require.NotErrorIs(t, err, zoomapi.ErrUnauthorized, "nothing was refused")
		require.ErrorIs(t, err, syscall.ECONNREFUSED, "the cause stays inspectable")
		require.Contains(t, err.Error(), "ZOOM_OAUTH_TOKEN_URL", "the error says what to check")
		require.NotContains(t, err.Error(), b.cfg.ClientSecret)
		require.Zero(t, b.client.Calls())
	})

	t.Run("RetriesTokenEndpointServerErrors", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.zoom.Inject(zoomtest.Fault{Path: "/oauth/token", Times: 2, Status: http.StatusServiceUnavailable})
		collect(t, b.client.Users(t.Context(), ""))
		require.Equal(t, 3, b.zoom.TokenRequests())
	})
}

func TestRetries(t *testing.T) {
	t.Parallel()

	t.Run("RetriesServerErrorThenSucceeds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.zoom.AddUser(zoomtest.User{ID: "u1", Email: "ana@example.org"})
		b.zoom.Inject(zoomtest.Fault{Path: "/users", Times: 2, Status: http.StatusInternalServerError, Body: `{"code":500,"message":"Internal Error"}`})
		users := collect(t, b.client.Users(t.Context(), ""))
		require.Len(t, users, 1)
		require.Equal(t, []int{500, 500, 200}, b.statuses(t, "/users"))
		require.EqualValues(t, 3, b.client.Calls())
		require.EqualValues(t, 2, metricValue(t, b.reg, "zoomrecon_zoomapi_retries_total", map[string]string{"endpoint": zoomapi.EndpointUsers, "reason": "server_error"}))
		require.EqualValues(t, 2, metricValue(t, b.reg, "zoomrecon_zoomapi_requests_total", map[string]string{"endpoint": zoomapi.EndpointUsers, "status": "500"}))
		require.EqualValues(t, 1, metricValue(t, b.reg, "zoomrecon_zoomapi_requests_total", map[string]string{"endpoint": zoomapi.EndpointUsers, "status": "200"}))
		require.EqualValues(t, 3, metricValue(t, b.reg, "zoomrecon_zoomapi_request_duration_seconds", map[string]string{"endpoint": zoomapi.EndpointUsers}))
		require.Contains(t, b.logs.String(), `tracking_id="v=2.0;`, "retries are logged with Zoom's tracking ID")
	})

	t.Run("ExhaustedServerErrorsAreNotNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.zoom.Inject(zoomtest.Fault{Path: "/past_meetings/{meetingId}", Status: http.StatusBadGateway, Body: "<html><body>Bad gateway</body></html>"})
		_, err := b.client.PastMeeting(t.Context(), "t6WJ0cK+QvOe2m/hY1Lx9A==")
		requireOnly(t, err, nil)
		var apiErr *zoomapi.Error
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, http.StatusBadGateway, apiErr.HTTPStatus)
		require.Equal(t, testRetryMax+1, apiErr.Attempts)
		require.Equal(t, zoomapi.EndpointPastMeeting, apiErr.Endpoint)
		require.NotEmpty(t, apiErr.TrackingID)
		require.NotContains(t, err.Error(), "<html>", "a non-JSON body is described, not copied")
		require.Equal(t, testRetryMax+1, b.callCount(t, "/past_meetings/{meetingId}"))
	})

	t.Run("RetriesAnAttemptThatTimesOut", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{cfg: func(c *zoomapi.Config) { c.Timeout = 100 * time.Millisecond }})
		b.zoom.Inject(zoomtest.Fault{Path: "/users", Times: 1, Delay: time.Minute})
		collect(t, b.client.Users(t.Context(), ""))
		require.Equal(t, 2, b.callCount(t, "/users"))
		require.EqualValues(t, 1, metricValue(t, b.reg, "zoomrecon_zoomapi_retries_total", map[string]string{"endpoint": zoomapi.EndpointUsers, "reason": "timeout"}))
	})

	t.Run("TimeoutExhaustionIsNotNotFound", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{cfg: func(c *zoomapi.Config) { c.Timeout = 50 * time.Millisecond; c.RetryMax = 1 }})
		b.zoom.Inject(zoomtest.Fault{Path: "/past_meetings/{meetingId}", Delay: time.Minute})
		_, err := b.client.PastMeeting(t.Context(), "t6WJ0cK+QvOe2m/hY1Lx9A==")
		requireOnly(t, err, nil)
		require.Contains(t, err.Error(), "giving up after 2 attempts")
		require.Contains(t, err.Error(), "timed out")
		require.NotContains(t, err.Error(), "http://", "errors name the endpoint template, not the URL")
	})

	t.Run("DoesNotRetryOtherClientErrors", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.zoom.Inject(zoomtest.Fault{Path: "/users", Times: 1, Status: http.StatusBadRequest, Body: `{"code":300,"message":"Validation Failed."}`})
		_, err := collectErr(t, b.client.Users(t.Context(), ""))
		requireOnly(t, err, nil)
		var apiErr *zoomapi.Error
		require.ErrorAs(t, err, &apiErr)
		require.Equal(t, zoomapi.Error{Endpoint: zoomapi.EndpointUsers, HTTPStatus: 400, Code: 300, Message: "Validation Failed.", TrackingID: apiErr.TrackingID, Attempts: 1}, *apiErr)
		require.Equal(t, 1, b.callCount(t, "/users"))
	})

	t.Run("EmptyBody404IsNotEvidence", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.zoom.Inject(zoomtest.Fault{Path: "/past_meetings/{meetingId}", Times: 1, Status: http.StatusNotFound})
		_, err := b.client.PastMeeting(t.Context(), "t6WJ0cK+QvOe2m/hY1Lx9A==")
		requireOnly(t, err, nil)
		require.Contains(t, err.Error(), "empty body")
	})

	t.Run("StopsWhenContextEnds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		collect(t, b.client.Users(t.Context(), "")) // token
		b.zoom.Inject(zoomtest.Fault{Path: "/users", Delay: time.Minute})
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err := collectErr(t, b.client.Users(ctx, ""))
		require.ErrorIs(t, err, context.DeadlineExceeded)
		requireOnly(t, err, nil)
		require.Equal(t, 2, b.callCount(t, "/users"), "not retried after the context ended")

		cancelled, cancelNow := context.WithCancel(t.Context())
		cancelNow()
		_, err = b.client.GetMeeting(cancelled, 81234567890)
		require.ErrorIs(t, err, context.Canceled)
		require.Zero(t, b.callCount(t, "/meetings/{meetingId}"))
	})
}

func TestRateLimits(t *testing.T) {
	t.Parallel()

	t.Run("WaitsOutAPerSecond429", func(t *testing.T) {
		t.Parallel()
		const waitMin = 30 * time.Millisecond
		b := setup(t, setupOpts{cfg: func(c *zoomapi.Config) { c.RetryWaitMin = waitMin; c.RetryWaitMax = time.Second }})
		b.zoom.Inject(zoomtest.QPSFault("/users", 1))
		collect(t, b.client.Users(t.Context(), ""))
		reqs := b.requests(t)
		require.Len(t, reqs, 2)
		require.Equal(t, []int{429, 200}, []int{reqs[0].Status, reqs[1].Status})
		require.GreaterOrEqual(t, reqs[1].Time.Sub(reqs[0].Time), waitMin, "the retry waited at least RetryWaitMin")
		require.EqualValues(t, 1, metricValue(t, b.reg, "zoomrecon_zoomapi_rate_limit_waits_total", map[string]string{"type": "qps"}))
		require.GreaterOrEqual(t, metricValue(t, b.reg, "zoomrecon_zoomapi_rate_limit_wait_seconds_total", nil), waitMin.Seconds())
		require.EqualValues(t, 1, metricValue(t, b.reg, "zoomrecon_zoomapi_retries_total", map[string]string{"endpoint": zoomapi.EndpointUsers, "reason": "rate_limit"}))
	})

	t.Run("TreatsABare429AsPerSecond", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.zoom.Inject(zoomtest.Fault{Path: "/users", Times: 1, Status: http.StatusTooManyRequests,
			Body: `{"code":429,"message":"You have exceeded the daily rate limit (100) of Meeting Create/Update API requests permitted for this particular user."}`})
		collect(t, b.client.Users(t.Context(), ""))
		require.Equal(t, []int{429, 200}, b.statuses(t, "/users"))
	})

	t.Run("GivesUpWithErrRateLimited", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{})
		b.zoom.Inject(zoomtest.QPSFault("/users", 0))
		_, err := collectErr(t, b.client.Users(t.Context(), ""))
		requireOnly(t, err, zoomapi.ErrRateLimited)
		require.Equal(t, testRetryMax+1, b.callCount(t, "/users"))
	})

	t.Run("DailyQuotaStopsTheCategoryUntilReset", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{clock: true})
		b.clock.Set(time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC))
		b.zoom.SetDailyLimit(1)
		collect(t, b.client.Users(t.Context(), "")) // the day's only call

		_, err := collectErr(t, b.client.Users(t.Context(), ""))
		requireOnly(t, err, zoomapi.ErrDailyQuota)
		var qe *zoomapi.QuotaError
		require.ErrorAs(t, err, &qe)
		reset := time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC)
		require.Equal(t, "Medium", qe.Category)
		require.True(t, qe.Until.Equal(reset), "until %s, want %s", qe.Until, reset)
		require.False(t, qe.FailedFast)
		require.Equal(t, []int{200, 429}, b.statuses(t, "/users"), "a daily 429 is not retried")

		// Same category (Medium): refused without contacting Zoom.
		_, err = collectErr(t, b.client.Users(t.Context(), ""))
		require.ErrorAs(t, err, &qe)
		require.True(t, qe.FailedFast)
		_, err = b.client.PastMeetingInstances(t.Context(), 81234567890)
		requireOnly(t, err, zoomapi.ErrDailyQuota)
		require.Len(t, b.requests(t), 2)
		require.EqualValues(t, 2, metricValue(t, b.reg, "zoomrecon_zoomapi_daily_quota_rejections_total", map[string]string{"category": "Medium"}))

		// Another category is still asked (and here refused in its own right).
		_, err = b.client.GetMeeting(t.Context(), 81234567890)
		require.ErrorAs(t, err, &qe)
		require.Equal(t, "Light", qe.Category)
		require.Len(t, b.requests(t), 3)

		// After the reset, calls go out again.
		b.clock.Set(reset.Add(time.Second))
		collect(t, b.client.Users(t.Context(), ""))
		require.Equal(t, []int{200, 429, 200}, b.statuses(t, "/users"))
	})

	t.Run("DailyQuotaWithoutCategoryBlocksEverything", func(t *testing.T) {
		t.Parallel()
		var calls int
		var mu sync.Mutex
		mux := http.NewServeMux()
		mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"tok","token_type":"bearer","expires_in":3599}`))
		})
		mux.HandleFunc("GET /v2/", func(w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			calls++
			mu.Unlock()
			w.Header().Set("X-RateLimit-Type", "Daily-limit")
			w.Header().Set("Retry-After", "2099-01-01T00:00:00Z")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = w.Write([]byte(`{"code":429,"message":"` + zoomtest.MessageDailyLimit + `"}`))
		})
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		c, err := zoomapi.New(zoomapi.Config{AccountID: "a", ClientID: "c", ClientSecret: "s",
			TokenURL: srv.URL + "/oauth/token", APIURL: srv.URL + "/v2", RequestsPerSecond: -1})
		require.NoError(t, err)
		_, err = c.GetMeeting(t.Context(), 81234567890)
		var qe *zoomapi.QuotaError
		require.ErrorAs(t, err, &qe)
		require.Empty(t, qe.Category)
		require.Equal(t, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC), qe.Until)
		_, err = collectErr(t, c.ReportUserMeetings(t.Context(), "u1", time.Now(), time.Now()))
		require.ErrorIs(t, err, zoomapi.ErrDailyQuota)
		require.Equal(t, 1, calls)
	})

	t.Run("ClientSideLimiterSpacesRequests", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{cfg: func(c *zoomapi.Config) { c.RequestsPerSecond = 5 }})
		for range 2 {
			collect(t, b.client.Users(t.Context(), ""))
		}
		reqs := b.requests(t)
		require.Len(t, reqs, 2)
		require.GreaterOrEqual(t, reqs[1].Time.Sub(reqs[0].Time), 150*time.Millisecond, "5 per second with a burst of one")
		require.EqualValues(t, 1, metricValue(t, b.reg, "zoomrecon_zoomapi_rate_limit_waits_total", map[string]string{"type": "client"}))
	})
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  setupOpts
		call  func(t *testing.T, b *testBundle) error
		want  error
		check func(t *testing.T, err error)
	}{
		{
			name: "UnknownMeetingIsNotFound",
			call: func(t *testing.T, b *testBundle) error {
				_, err := b.client.PastMeeting(t.Context(), "doesNotExist+AAAAAAAAAA==")
				return err
			},
			want: zoomapi.ErrNotFound,
			check: func(t *testing.T, err error) {
				var apiErr *zoomapi.Error
				require.ErrorAs(t, err, &apiErr)
				require.Equal(t, 3001, apiErr.Code)
				require.Equal(t, http.StatusNotFound, apiErr.HTTPStatus)
			},
		},
		{
			name: "UnknownMeetingNumberIsNotFound",
			call: func(t *testing.T, b *testBundle) error {
				_, err := b.client.GetMeeting(t.Context(), 89999999999)
				return err
			},
			want: zoomapi.ErrNotFound,
		},
		{
			name: "UnknownUserIsNotFound",
			call: func(t *testing.T, b *testBundle) error {
				_, err := collectErr(t, b.client.ReportUserMeetings(t.Context(), "nobody@example.org", time.Now().AddDate(0, 0, -1), time.Now()))
				return err
			},
			want: zoomapi.ErrNotFound,
			check: func(t *testing.T, err error) {
				var apiErr *zoomapi.Error
				require.ErrorAs(t, err, &apiErr)
				require.Equal(t, 1001, apiErr.Code)
			},
		},
		{
			name: "RunningMeetingIsNotReady",
			call: func(t *testing.T, b *testBundle) error {
				uuid := b.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Running"})
				_, err := b.client.ReportMeeting(t.Context(), uuid)
				return err
			},
			want: zoomapi.ErrNotReady,
		},
		{
			name: "RejectedTokenIsUnauthorized",
			call: func(t *testing.T, b *testBundle) error {
				b.zoom.Inject(zoomtest.Fault{Path: "/meetings/{meetingId}", Status: http.StatusUnauthorized, Body: `{"code":124,"message":"Access token is expired."}`})
				_, err := b.client.GetMeeting(t.Context(), 81234567890)
				return err
			},
			want: zoomapi.ErrUnauthorized,
		},
		{
			name: "MissingScope",
			opts: setupOpts{zoom: []zoomtest.Option{zoomtest.WithScopes("meeting:read:admin", "user:read:admin")}},
			call: func(t *testing.T, b *testBundle) error {
				_, err := b.client.ReportMeeting(t.Context(), "t6WJ0cK+QvOe2m/hY1Lx9A==")
				return err
			},
			want: zoomapi.ErrMissingScope,
			check: func(t *testing.T, err error) {
				var apiErr *zoomapi.Error
				require.ErrorAs(t, err, &apiErr)
				require.Equal(t, []string{"report:read:admin"}, apiErr.MissingScopes())
				require.Contains(t, err.Error(), "add the scope report:read:admin to the Server-to-Server OAuth app")
			},
		},
		{
			name: "MissingGranularScope",
			opts: setupOpts{zoom: []zoomtest.Option{zoomtest.WithScopes("meeting:read:past_meeting:admin")}},
			call: func(t *testing.T, b *testBundle) error {
				_, err := collectErr(t, b.client.DashboardMeetings(t.Context(), zoomapi.DashboardPast, time.Now().AddDate(0, 0, -1), time.Now()))
				return err
			},
			want: zoomapi.ErrMissingScope,
			check: func(t *testing.T, err error) {
				var apiErr *zoomapi.Error
				require.ErrorAs(t, err, &apiErr)
				require.Equal(t, []string{"dashboard:read:list_meetings:admin"}, apiErr.MissingScopes())
				require.Contains(t, err.Error(), "add the scope dashboard:read:list_meetings:admin")
			},
		},
		{
			name: "DashboardOnProIsPlan",
			opts: setupOpts{zoom: []zoomtest.Option{zoomtest.WithPlan(zoomtest.PlanPro)}},
			call: func(t *testing.T, b *testBundle) error {
				_, err := collectErr(t, b.client.DashboardMeetings(t.Context(), zoomapi.DashboardLive, time.Now(), time.Now()))
				return err
			},
			want: zoomapi.ErrPlan,
		},
		{
			name: "ReportOnBasicIsPlan",
			opts: setupOpts{zoom: []zoomtest.Option{zoomtest.WithPlan(zoomtest.PlanBasic)}},
			call: func(t *testing.T, b *testBundle) error {
				_, err := collectErr(t, b.client.ReportMeetingParticipants(t.Context(), "t6WJ0cK+QvOe2m/hY1Lx9A=="))
				return err
			},
			want: zoomapi.ErrPlan,
		},
		{
			name: "PersistentQPSIsRateLimited",
			call: func(t *testing.T, b *testBundle) error {
				b.zoom.Inject(zoomtest.QPSFault("/metrics/meetings", 0))
				_, err := collectErr(t, b.client.DashboardMeetings(t.Context(), zoomapi.DashboardLive, time.Now(), time.Now()))
				return err
			},
			want: zoomapi.ErrRateLimited,
		},
		{
			name: "DailyLimitIsDailyQuota",
			call: func(t *testing.T, b *testBundle) error {
				reset := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
				b.zoom.Inject(zoomtest.DailyFault("/report/meetings/{meetingId}/participants", 1, reset))
				_, err := collectErr(t, b.client.ReportMeetingParticipants(t.Context(), "t6WJ0cK+QvOe2m/hY1Lx9A=="))
				return err
			},
			want: zoomapi.ErrDailyQuota,
			check: func(t *testing.T, err error) {
				var qe *zoomapi.QuotaError
				require.ErrorAs(t, err, &qe)
				require.Equal(t, "Heavy", qe.Category)
				require.Equal(t, zoomapi.EndpointReportMeetingParticipants, qe.Endpoint)
			},
		},
		{
			name: "ServerErrorMatchesNothing",
			call: func(t *testing.T, b *testBundle) error {
				b.zoom.Inject(zoomtest.Fault{Path: "/past_meetings/{meetingId}/participants", Status: http.StatusInternalServerError})
				_, err := collectErr(t, b.client.PastMeetingParticipants(t.Context(), "t6WJ0cK+QvOe2m/hY1Lx9A=="))
				return err
			},
			want: nil,
		},
		{
			name: "NonJSON404MatchesNothing",
			call: func(t *testing.T, b *testBundle) error {
				b.zoom.Inject(zoomtest.Fault{Path: "/past_meetings/{meetingId}", Status: http.StatusNotFound, Body: "<html>404</html>"})
				_, err := b.client.PastMeeting(t.Context(), "t6WJ0cK+QvOe2m/hY1Lx9A==")
				return err
			},
			want: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.opts)
			err := tt.call(t, b)
			requireOnly(t, err, tt.want)
			require.NotContains(t, err.Error(), b.cfg.ClientSecret)
			if tt.check != nil {
				tt.check(t, err)
			}
		})
	}
}

// TestSecretsNeverLeak drives successes and failures and checks that neither
// errors, logs nor metrics ever carry the client secret or an access token.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	var errs []error
	record := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	collect(t, b.client.Users(t.Context(), ""))
	b.zoom.ExpireTokens()
	collect(t, b.client.Users(t.Context(), ""))
	b.zoom.Inject(zoomtest.Fault{Path: "/meetings/{meetingId}", Times: 2, Status: http.StatusUnauthorized, Body: `{"code":124,"message":"Invalid access token."}`})
	_, err := b.client.GetMeeting(t.Context(), 81234567890)
	record(err)
	b.zoom.SetTokenErrorStyle("", zoomtest.TokenErrorStatusFalse)
	b.zoom.ExpireTokens()
	collect(t, b.client.Users(t.Context(), ""))
	b.zoom.Inject(zoomtest.Fault{Path: "/meetings/{meetingId}", Times: 2, Status: http.StatusUnauthorized, Body: `{"status":false,"errorCode":401}`})
	_, err = b.client.GetMeeting(t.Context(), 81234567890)
	record(err)
	b.zoom.Inject(zoomtest.Fault{Path: "/past_meetings/{meetingId}", Status: http.StatusServiceUnavailable})
	_, err = b.client.PastMeeting(t.Context(), "t6WJ0cK+QvOe2m/hY1Lx9A==")
	record(err)
	b.zoom.Inject(zoomtest.Fault{Path: "/oauth/token", Status: http.StatusBadRequest, Body: `{"reason":"Invalid client_id or client_secret","error":"invalid_client"}`})
	b.zoom.ExpireTokens()
	_, err = collectErr(t, b.client.Users(t.Context(), ""))
	record(err)
	require.Len(t, errs, 4)

	bad, err := zoomapi.New(zoomapi.Config{AccountID: "a", ClientID: "c", ClientSecret: b.cfg.ClientSecret,
		TokenURL: b.zoom.TokenURL(), APIURL: b.zoom.APIURL(), RequestsPerSecond: -1, Logger: testLogger(t, b.logs)})
	require.NoError(t, err)
	_, err = collectErr(t, bad.Users(t.Context(), ""))
	record(err)

	var metrics strings.Builder
	families, err := b.reg.Gather()
	require.NoError(t, err)
	for _, f := range families {
		_, err := expfmt.MetricFamilyToText(&metrics, f)
		require.NoError(t, err)
	}
	var all strings.Builder
	for _, e := range errs {
		all.WriteString(e.Error() + "\n")
	}
	all.WriteString(b.logs.String())
	all.WriteString(metrics.String())
	out := all.String()
	require.NotEmpty(t, b.logs.String())
	for _, secret := range []string{b.cfg.ClientSecret, "eyJ", "Bearer", "Basic "} {
		require.NotContains(t, out, secret)
	}
}
