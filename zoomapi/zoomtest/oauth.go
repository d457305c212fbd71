package zoomtest

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// accessToken is one issued token.
type accessToken struct {
	scopes  []string
	expires time.Time
	expired bool // ExpireTokens
	revoked bool // a newer token replaced it (WithRevokeOnNewToken)
}

// tokenAnswer is the token endpoint's success body (§1). There is no
// refresh_token: to renew, a client asks again.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
	APIURL      string `json:"api_url"`
}

// tokenError is the token endpoint's error body: reason and error, not RFC
// 6749's error_description (§1).
type tokenError struct {
	Reason string `json:"reason"`
	Error  string `json:"error"`
}

// TokenRequests counts every request to the token endpoint, failed ones included.
func (s *Server) TokenRequests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests
}

// ExpireTokens makes every token issued so far answer 401 code 124 "Access
// token is expired." (§7); tokens issued afterwards work.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.tokens {
		t.expired = true
	}
	s.wsRecheck()
}

// wsRecheck makes open WebSocket connections check their tokens again.
func (s *Server) wsRecheck() {
	if s.wsHub != nil {
		s.wsHub.recheckAll()
	}
}

// TokenErrorStyle is how the API answers a request whose access token is
// missing, unknown, revoked or expired.
type TokenErrorStyle int

const (
	// TokenErrorCode124 answers 401 {"code":124,"message":"Invalid access
	// token."} or "Access token is expired." (§7). The default.
	TokenErrorCode124 TokenErrorStyle = iota
	// TokenErrorStatusFalse answers 401 {"status":false,"errorCode":401},
	// without code 124, as one Zoom API family has since July 2024 (§10).
	TokenErrorStatusFalse
)

// statusFalseBody is the body of TokenErrorStatusFalse (§10).
type statusFalseBody struct {
	Status    bool `json:"status"`
	ErrorCode int  `json:"errorCode"`
}

// SetTokenErrorStyle makes API paths that begin with pathPrefix answer a
// bad or expired token in style. pathPrefix is the escaped path below /v2,
// e.g. "/metrics/" for the Dashboard family; "" means every path. The
// longest matching prefix wins; TokenErrorCode124 restores the default for
// its prefix.
func (s *Server) SetTokenErrorStyle(pathPrefix string, style TokenErrorStyle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tokenStyles == nil {
		s.tokenStyles = map[string]TokenErrorStyle{}
	}
	s.tokenStyles[pathPrefix] = style
}

// tokenRefusalLocked is the body that refuses r's token: e, Zoom's usual
// 401 code 124, unless SetTokenErrorStyle chose another style for r's path.
func (s *Server) tokenRefusalLocked(r *http.Request, e *apiError) any {
	path := strings.TrimPrefix(r.URL.EscapedPath(), "/v2")
	style, longest := TokenErrorCode124, -1
	for prefix, st := range s.tokenStyles {
		if strings.HasPrefix(path, prefix) && len(prefix) > longest {
			style, longest = st, len(prefix)
		}
	}
	if style == TokenErrorStatusFalse {
		return statusFalseBody{Status: false, ErrorCode: http.StatusUnauthorized}
	}
	return e
}

// SetAppDisabled deactivates the app (or reactivates it): the token
// endpoint refuses it and its tokens stop working (§1).
func (s *Server) SetAppDisabled(disabled bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appDisabled = disabled
	s.wsRecheck()
}

// handleToken is POST /oauth/token on the "zoom.us" server (§1, §9 OAuth):
// Basic auth with the client ID and secret, and grant_type=account_credentials
// and account_id in the form body.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
	w.Header().Set("x-zm-trackingid", newTrackingID())
	if f, ok := s.takeFault(tokenPath); ok && s.applyFault(w, r, f) {
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		writeJSON(w, http.StatusMethodNotAllowed, tokenError{Reason: "Method Not Allowed", Error: "invalid_request"})
		return
	}
	// ParseForm fills PostForm from the body only; the query string stays apart.
	if err := r.ParseForm(); err != nil {
		writeJSON(w, http.StatusBadRequest, tokenError{Reason: "Invalid request body", Error: "invalid_request"})
		return
	}
	grant, account := r.PostForm.Get("grant_type"), r.PostForm.Get("account_id")
	if s.allowQueryToken {
		q := r.URL.Query()
		if grant == "" {
			grant = q.Get("grant_type")
		}
		if account == "" {
			account = q.Get("account_id")
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	id, secret, ok := r.BasicAuth()
	switch {
	case !ok || id == "" || secret == "":
		writeJSON(w, http.StatusBadRequest, tokenError{Reason: "Client ID or client secret is missing", Error: "invalid_request"})
	case id != s.creds.ClientID || secret != s.creds.ClientSecret:
		writeJSON(w, http.StatusBadRequest, tokenError{Reason: "Invalid client_id or client_secret", Error: "invalid_client"})
	case s.appDisabled:
		writeJSON(w, http.StatusBadRequest, tokenError{Reason: "The app has been disabled", Error: "invalid_client"})
	case grant == "":
		// Also the answer to grant_type sent only in the query string, which
		// Zoom began refusing with 400 in late 2024 (§1).
		writeJSON(w, http.StatusBadRequest, tokenError{Reason: "Missing grant type", Error: "invalid_request"})
	case grant != "account_credentials":
		writeJSON(w, http.StatusBadRequest, tokenError{Reason: "unsupported grant type", Error: "unsupported_grant_type"})
	case account == "":
		// The exact text for a missing or wrong account ID is not known (§1 [U]).
		writeJSON(w, http.StatusBadRequest, tokenError{Reason: "Missing account_id", Error: "invalid_request"})
	case account != s.creds.AccountID:
		writeJSON(w, http.StatusBadRequest, tokenError{Reason: "Invalid account_id", Error: "invalid_request"})
	default:
		writeJSON(w, http.StatusOK, s.issueLocked())
	}
}

func (s *Server) issueLocked() tokenAnswer {
	now := s.now()
	if s.revokeOnNew {
		for _, t := range s.tokens {
			t.revoked = true
		}
		s.wsRecheck()
	}
	for k, t := range s.tokens { // forget tokens long dead
		if now.Sub(t.expires) > time.Hour {
			delete(s.tokens, k)
		}
	}
	tok := "eyJzdiI6IjAwMDAwMiIsImFsZyI6IkhTNTEyIiwidiI6IjIuMCJ9." + randString(120, alnum) + "." + randString(86, alnum+"-_")
	s.tokens[tok] = &accessToken{scopes: s.scopes, expires: now.Add(s.tokenLifetime)}
	return tokenAnswer{
		AccessToken: tok,
		TokenType:   "bearer",
		ExpiresIn:   int(math.Ceil(s.tokenLifetime.Seconds())),
		Scope:       strings.Join(s.scopes, " "),
		APIURL:      s.api.URL, // like "https://api.zoom.us": the host, without /v2
	}
}

// authenticateLocked checks the bearer token of an API request (§5, §7).
// Tokens in the query string are not accepted (refused by Zoom since 2023).
func (s *Server) authenticateLocked(r *http.Request) (*accessToken, *apiError) {
	invalid := &apiError{status: http.StatusUnauthorized, Code: 124, Message: "Invalid access token."}
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil, invalid
	}
	t, ok := s.tokens[strings.TrimSpace(raw)]
	if !ok || t.revoked || s.appDisabled {
		return nil, invalid
	}
	if t.expired || !s.now().Before(t.expires) {
		return nil, &apiError{status: http.StatusUnauthorized, Code: 124, Message: "Access token is expired."}
	}
	return t, nil
}

// writeJSON answers with a JSON body as Zoom does.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		panic("zoomtest: encode answer: " + err.Error()) // our own structs always encode
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
