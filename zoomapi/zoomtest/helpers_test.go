package zoomtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// clock is a manual clock for WithClock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2024, 3, 5, 14, 0, 0, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newServer starts a fake Zoom closed at the end of the test.
func newServer(t *testing.T, opts ...zoomtest.Option) *zoomtest.Server {
	t.Helper()
	s := zoomtest.New(opts...)
	t.Cleanup(s.Close)
	return s
}

// tokenRequest posts to the token endpoint the way Zoom wants (§1) unless
// the arguments say otherwise, and returns the status and decoded body.
func tokenRequest(t *testing.T, s *zoomtest.Server, clientID, secret string, form url.Values, query string) (int, map[string]any) {
	t.Helper()
	u := s.TokenURL()
	if query != "" {
		u += "?" + query
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, u, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if clientID != "" || secret != "" {
		req.SetBasicAuth(clientID, secret)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body
}

// token gets an access token.
func token(t *testing.T, s *zoomtest.Server) string {
	t.Helper()
	c := s.Credentials()
	status, body := tokenRequest(t, s, c.ClientID, c.ClientSecret,
		url.Values{"grant_type": {"account_credentials"}, "account_id": {c.AccountID}}, "")
	require.Equal(t, http.StatusOK, status, "token answer: %v", body)
	return body["access_token"].(string)
}

// answer is one API answer.
type answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic map.
func (a answer) JSON(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(a.Body, &m), "body: %s", a.Body)
	return m
}

// requireError checks a Zoom error answer (§7).
func (a answer) requireError(t *testing.T, status, code int, message string) {
	t.Helper()
	require.Equal(t, status, a.Status, "status; body %s", a.Body)
	m := a.JSON(t)
	require.EqualValues(t, code, m["code"], "code; body %s", a.Body)
	if message != "" {
		require.Equal(t, message, m["message"])
	}
}

// get calls the API with a bearer token; pathAndQuery is sent as written,
// so tests control how a UUID is encoded.
func get(t *testing.T, s *zoomtest.Server, tok, pathAndQuery string) answer {
	t.Helper()
	return getCtx(t, context.Background(), s, tok, pathAndQuery)
}

func getCtx(t *testing.T, ctx context.Context, s *zoomtest.Server, tok, pathAndQuery string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.APIURL()+pathAndQuery, nil)
	require.NoError(t, err)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// once encodes a UUID for a path once, as in the table of §5 ('+' to %2B,
// '=' to %3D, '/' to %2F); twice encodes it twice.
func once(uuid string) string  { return url.QueryEscape(uuid) }
func twice(uuid string) string { return url.QueryEscape(url.QueryEscape(uuid)) }

// enc encodes a UUID as a correct client does: twice when it begins with '/'
// or contains "//", else once (§5). Generated UUIDs need it.
func enc(uuid string) string {
	if strings.HasPrefix(uuid, "/") || strings.Contains(uuid, "//") {
		return twice(uuid)
	}
	return once(uuid)
}

// waitFor polls cond until it holds or a deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, 2*time.Millisecond, "waiting for %s", what)
}

// endedMeeting runs a meeting with the given people, each joining then
// leaving, and returns its UUID.
func endedMeeting(s *zoomtest.Server, spec zoomtest.MeetingSpec, people ...zoomtest.Person) string {
	start := spec.Start
	uuid := s.StartMeeting(spec)
	for i, p := range people {
		p = s.Join(uuid, p, start.Add(time.Duration(i+1)*time.Minute))
		s.Leave(uuid, p.UserID, start.Add(time.Duration(i+10)*time.Minute), "")
	}
	s.EndMeeting(uuid, start.Add(30*time.Minute))
	return uuid
}

func ctxTimeout(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}
