package zoomapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// maxEarlyRenewal is how long before expiry a token is renewed: Zoom's
// tokens live an hour and zoom-platform.md §1 suggests renewing about five
// minutes early. Short-lived tokens (tests) renew at 90% of their lifetime.
const maxEarlyRenewal = 5 * time.Minute

// tokenCache holds one access token for the whole client and renews it
// shortly before expiry, like oauth2.ReuseTokenSourceWithExpiry. It exists
// instead of that because it takes the caller's ctx (a renewal stops when the
// call is cancelled), uses the injected clock, and can be invalidated after a
// 401 (code 124, or another API family's {"errorCode":401}) for exactly the
// token that failed, so concurrent 401s renew once (generation check).
type tokenCache struct {
	cc   *clientcredentials.Config
	http *http.Client // retrying client for the token endpoint
	now  func() time.Time
	log  *slog.Logger
	m    *metrics

	// sem is held by the one caller fetching a token; others wait on it or
	// on their ctx.
	sem chan struct{}

	mu      sync.Mutex
	token   string
	renewAt time.Time
	gen     uint64
}

func newTokenCache(cfg Config, httpClient *http.Client, log *slog.Logger, m *metrics) *tokenCache {
	return &tokenCache{
		cc: &clientcredentials.Config{
			ClientID:     cfg.ClientID,
			ClientSecret: cfg.ClientSecret,
			TokenURL:     cfg.TokenURL,
			// Zoom's grant is account_credentials, not client_credentials, and
			// needs account_id in the form body (§1). clientcredentials lets
			// EndpointParams override grant_type and no other preset key.
			EndpointParams: url.Values{
				"grant_type": {"account_credentials"},
				"account_id": {cfg.AccountID},
			},
			// Basic auth only: auto-detect would retry a failure with the
			// secret in the body, doubling failed calls (§1).
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		http: httpClient,
		now:  cfg.Now,
		log:  log,
		m:    m,
		sem:  make(chan struct{}, 1),
	}
}

// get returns a valid access token and its generation, fetching one if the
// cached token is missing or due for renewal.
func (t *tokenCache) get(ctx context.Context) (string, uint64, error) {
	if tok, gen, ok := t.cached(); ok {
		return tok, gen, nil
	}
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return "", 0, ctx.Err()
	}
	defer func() { <-t.sem }()
	// Another caller may have fetched one while we waited.
	if tok, gen, ok := t.cached(); ok {
		return tok, gen, nil
	}
	start := t.now()
	tok, err := t.cc.Token(context.WithValue(ctx, oauth2.HTTPClient, t.http))
	if err != nil {
		t.m.tokenErrors.Inc()
		return "", 0, t.wrapErr(err)
	}
	lifetime := time.Duration(tok.ExpiresIn) * time.Second
	if lifetime <= 0 && !tok.Expiry.IsZero() {
		lifetime = time.Until(tok.Expiry)
	}
	if lifetime <= 0 {
		lifetime = time.Hour // Zoom's documented lifetime (§1)
	}
	early := min(maxEarlyRenewal, lifetime/10)
	t.m.tokens.Inc()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.token = tok.AccessToken
	t.renewAt = start.Add(lifetime - early)
	t.gen++
	t.log.DebugContext(ctx, "obtained zoom access token", slog.Duration("lifetime", lifetime))
	return t.token, t.gen, nil
}

func (t *tokenCache) cached() (string, uint64, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.token == "" || !t.now().Before(t.renewAt) {
		return "", 0, false
	}
	return t.token, t.gen, true
}

// invalidate drops the token of generation gen, if it is still the cached
// one, so the next get fetches a new token.
func (t *tokenCache) invalidate(gen uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen == gen {
		t.token = ""
	}
}

// renewAtOf returns when the token of generation gen is due for renewal; the
// zero time if it is no longer the cached one (due at once).
func (t *tokenCache) renewAtOf(gen uint64) time.Time {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.gen != gen {
		return time.Time{}
	}
	return t.renewAt
}

// forget drops token if it is the cached one.
func (t *tokenCache) forget(token string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if token != "" && t.token == token {
		t.token = ""
	}
}

// wrapErr turns a token failure into an error that carries Zoom's reason
// but nothing of the request: *oauth2.RetrieveError keeps the response,
// whose request holds the Basic credentials, so it is not wrapped.
func (t *tokenCache) wrapErr(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		te := &TokenError{ErrorCode: cleanText(re.ErrorCode, 100)}
		if re.Response != nil {
			te.HTTPStatus = re.Response.StatusCode
		}
		var body zoomErrorBody
		if json.Unmarshal(re.Body, &body) == nil {
			te.Reason = cleanText(body.Reason, maxMessage)
			if te.Reason == "" {
				te.Reason = cleanText(body.Message, maxMessage)
			}
			if te.ErrorCode == "" {
				te.ErrorCode = cleanText(body.Error, 100)
			}
		}
		if secret := t.cc.ClientSecret; secret != "" {
			te.Reason = strings.ReplaceAll(te.Reason, secret, "<redacted>")
			te.ErrorCode = strings.ReplaceAll(te.ErrorCode, secret, "<redacted>")
		}
		return te
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &TokenError{Err: ue.Err, unreachable: true}
	}
	return &TokenError{Err: err}
}

// AccessToken returns a valid Server-to-Server OAuth access token, the cached
// one unless it is due for renewal, and when it will be: a holder of the
// token, such as Zoom's WebSocket event subscription, which takes it as a
// query parameter (zoom-platform.md §11), should get a new one by then. It
// is a secret: never log it.
func (c *Client) AccessToken(ctx context.Context) (string, time.Time, error) {
	tok, gen, err := c.tokens.get(ctx)
	if err != nil {
		return "", time.Time{}, err
	}
	return tok, c.tokens.renewAtOf(gen), nil
}

// ForgetAccessToken drops token from the cache if it is the cached one, so
// the next call fetches a new one: Zoom refused it somewhere the client does
// not see (the WebSocket's build_connection).
func (c *Client) ForgetAccessToken(token string) {
	c.tokens.forget(token)
}
