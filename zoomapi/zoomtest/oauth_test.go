package zoomtest_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

func TestTokenEndpoint(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	c := s.Credentials()
	good := url.Values{"grant_type": {"account_credentials"}, "account_id": {c.AccountID}}

	tests := []struct {
		name       string
		id, secret string
		form       url.Values
		query      string
		wantStatus int
		wantError  string
		wantReason string
	}{
		{name: "IssuesATokenForS2SCredentials", id: c.ClientID, secret: c.ClientSecret, form: good, wantStatus: 200},
		{name: "RefusesAWrongSecret", id: c.ClientID, secret: "nope", form: good,
			wantStatus: 400, wantError: "invalid_client", wantReason: "Invalid client_id or client_secret"},
		{name: "RefusesAnUnknownClient", id: "someone", secret: c.ClientSecret, form: good,
			wantStatus: 400, wantError: "invalid_client", wantReason: "Invalid client_id or client_secret"},
		{name: "RefusesClientCredentialsGrant", id: c.ClientID, secret: c.ClientSecret,
			form:       url.Values{"grant_type": {"client_credentials"}, "account_id": {c.AccountID}},
			wantStatus: 400, wantError: "unsupported_grant_type", wantReason: "unsupported grant type"},
		{name: "RefusesFieldsOnlyInTheQueryString", id: c.ClientID, secret: c.ClientSecret, form: url.Values{},
			query: good.Encode(), wantStatus: 400, wantError: "invalid_request", wantReason: "Missing grant type"},
		{name: "RefusesAMissingBasicAuth", form: good, wantStatus: 400, wantError: "invalid_request"},
		{name: "RefusesAnotherAccount", id: c.ClientID, secret: c.ClientSecret,
			form:       url.Values{"grant_type": {"account_credentials"}, "account_id": {"other"}},
			wantStatus: 400, wantError: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			status, body := tokenRequest(t, s, tt.id, tt.secret, tt.form, tt.query)
			require.Equal(t, tt.wantStatus, status, "body: %v", body)
			if tt.wantStatus != 200 {
				require.Equal(t, tt.wantError, body["error"])
				require.NotEmpty(t, body["reason"])
				if tt.wantReason != "" {
					require.Equal(t, tt.wantReason, body["reason"])
				}
				return
			}
			require.NotEmpty(t, body["access_token"])
			require.Equal(t, "bearer", body["token_type"])
			require.EqualValues(t, 3599, body["expires_in"])
			require.Contains(t, body["scope"], "meeting:read:admin")
			require.Equal(t, s.APIURL(), body["api_url"].(string)+"/v2")
			require.NotContains(t, body, "refresh_token")
		})
	}
}

func TestTokenEndpointCountsRequests(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	token(t, s)
	tokenRequest(t, s, "x", "y", url.Values{}, "")
	require.Equal(t, 2, s.TokenRequests())
}

func TestQueryStringTokenRequestsWhenAllowed(t *testing.T) {
	t.Parallel()
	s := newServer(t, zoomtest.WithQueryStringTokenRequests(true))
	c := s.Credentials()
	status, body := tokenRequest(t, s, c.ClientID, c.ClientSecret, url.Values{},
		url.Values{"grant_type": {"account_credentials"}, "account_id": {c.AccountID}}.Encode())
	require.Equal(t, http.StatusOK, status, "body: %v", body)
}

func TestBearerTokens(t *testing.T) {
	t.Parallel()

	t.Run("RefusesMissingAndUnknownTokens", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		get(t, s, "", "/users").requireError(t, 401, 124, "Invalid access token.")
		get(t, s, "made-up", "/users").requireError(t, 401, 124, "Invalid access token.")
		require.Equal(t, 2, s.CallCount("/users"))
	})

	t.Run("ExpiresAfterTheLifetime", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithTokenLifetime(90*time.Second))
		c := s.Credentials()
		_, body := tokenRequest(t, s, c.ClientID, c.ClientSecret,
			url.Values{"grant_type": {"account_credentials"}, "account_id": {c.AccountID}}, "")
		require.EqualValues(t, 90, body["expires_in"])
		tok := body["access_token"].(string)
		require.Equal(t, 200, get(t, s, tok, "/users").Status)
		clk.Advance(90 * time.Second)
		get(t, s, tok, "/users").requireError(t, 401, 124, "Access token is expired.")
		require.Equal(t, 200, get(t, s, token(t, s), "/users").Status)
	})

	t.Run("ExpireTokensExpiresEveryIssuedToken", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		a, b := token(t, s), token(t, s)
		s.ExpireTokens()
		get(t, s, a, "/users").requireError(t, 401, 124, "Access token is expired.")
		get(t, s, b, "/users").requireError(t, 401, 124, "Access token is expired.")
		require.Equal(t, 200, get(t, s, token(t, s), "/users").Status)
	})

	t.Run("TokensCoexistByDefault", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		a, b := token(t, s), token(t, s)
		require.Equal(t, 200, get(t, s, a, "/users").Status)
		require.Equal(t, 200, get(t, s, b, "/users").Status)
	})

	t.Run("NewTokenRevokesPreviousWhenAsked", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, zoomtest.WithRevokeOnNewToken(true))
		a, b := token(t, s), token(t, s)
		get(t, s, a, "/users").requireError(t, 401, 124, "Invalid access token.")
		require.Equal(t, 200, get(t, s, b, "/users").Status)
	})

	t.Run("DisabledAppGetsNoTokenAndItsTokensStop", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		tok := token(t, s)
		s.SetAppDisabled(true)
		get(t, s, tok, "/users").requireError(t, 401, 124, "Invalid access token.")
		c := s.Credentials()
		status, body := tokenRequest(t, s, c.ClientID, c.ClientSecret,
			url.Values{"grant_type": {"account_credentials"}, "account_id": {c.AccountID}}, "")
		require.Equal(t, 400, status)
		require.Equal(t, "The app has been disabled", body["reason"])
	})
}

func TestScopes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		scopes  []string
		path    string
		wantMsg string
	}{
		{name: "ClassicTokenNamesTheClassicScope", scopes: []string{"meeting:read:admin"},
			path:    "/report/meetings/123/participants",
			wantMsg: "Invalid access token, does not contain scopes:[report:read:admin]."},
		{name: "GranularTokenNamesTheGranularScope", scopes: []string{"meeting:read:past_meeting:admin"},
			path:    "/report/meetings/123/participants",
			wantMsg: "Invalid access token, does not contain scopes:[report:read:list_meeting_participants:admin]."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, zoomtest.WithScopes(tt.scopes...))
			get(t, s, token(t, s), tt.path).requireError(t, 400, 4711, tt.wantMsg)
		})
	}

	t.Run("GranularScopeIsEnough", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, zoomtest.WithScopes("user:read:list_users:admin"))
		require.Equal(t, 200, get(t, s, token(t, s), "/users").Status)
	})
}

// TestTokenErrorStyle covers the other 401 of §10: one API family answers a
// bad or expired token with {"status":false,"errorCode":401}, no code 124.
func TestTokenErrorStyle(t *testing.T) {
	t.Parallel()
	const statusFalse = `{"status":false,"errorCode":401}`
	type style struct {
		prefix string
		style  zoomtest.TokenErrorStyle
	}
	tests := []struct {
		name     string
		styles   []style
		token    string // "expired", "unknown" or "" for none
		path     string
		wantBody string // "" expects code 124
		wantMsg  string
	}{
		{name: "Code124ByDefault", token: "expired", path: "/users", wantMsg: "Access token is expired."},
		{name: "EveryPathExpired", styles: []style{{"", zoomtest.TokenErrorStatusFalse}},
			token: "expired", path: "/users", wantBody: statusFalse},
		{name: "EveryPathUnknownToken", styles: []style{{"", zoomtest.TokenErrorStatusFalse}},
			token: "unknown", path: "/metrics/meetings?type=live", wantBody: statusFalse},
		{name: "EveryPathNoToken", styles: []style{{"", zoomtest.TokenErrorStatusFalse}},
			path: "/past_meetings/123", wantBody: statusFalse},
		{name: "TheChosenFamily", styles: []style{{"/metrics/", zoomtest.TokenErrorStatusFalse}},
			token: "expired", path: "/metrics/meetings?type=live", wantBody: statusFalse},
		{name: "NotOtherFamilies", styles: []style{{"/metrics/", zoomtest.TokenErrorStatusFalse}},
			token: "expired", path: "/report/meetings/123/participants", wantMsg: "Access token is expired."},
		{name: "LongestPrefixWins", styles: []style{{"", zoomtest.TokenErrorStatusFalse}, {"/users", zoomtest.TokenErrorCode124}},
			token: "unknown", path: "/users", wantMsg: "Invalid access token."},
		{name: "LongestPrefixWinsElsewhereToo", styles: []style{{"", zoomtest.TokenErrorStatusFalse}, {"/users", zoomtest.TokenErrorCode124}},
			token: "unknown", path: "/metrics/meetings", wantBody: statusFalse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t)
			for _, st := range tt.styles {
				s.SetTokenErrorStyle(st.prefix, st.style)
			}
			var tok string
			switch tt.token {
			case "expired":
				tok = token(t, s)
				s.ExpireTokens()
			case "unknown":
				tok = "made-up"
			}
			a := get(t, s, tok, tt.path)
			if tt.wantBody != "" {
				require.Equal(t, http.StatusUnauthorized, a.Status)
				require.Equal(t, tt.wantBody, string(a.Body))
				return
			}
			a.requireError(t, http.StatusUnauthorized, 124, tt.wantMsg)
		})
	}

	t.Run("AValidTokenIsUnaffected", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		s.SetTokenErrorStyle("", zoomtest.TokenErrorStatusFalse)
		require.Equal(t, http.StatusOK, get(t, s, token(t, s), "/users").Status)
	})
}
