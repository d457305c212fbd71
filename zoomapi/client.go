package zoomapi

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Config configures a Client. A zero value in an optional field means its
// default.
type Config struct {
	// AccountID is the Server-to-Server OAuth app's Account ID. Required.
	AccountID string
	// ClientID is the app's Client ID. Required.
	ClientID string
	// ClientSecret is the app's Client Secret. Required. It is sent only to
	// TokenURL, in the Authorization header, and never logged.
	ClientSecret string
	// TokenURL is the OAuth token endpoint. Default https://zoom.us/oauth/token.
	TokenURL string
	// APIURL is the REST API root including the version. Default
	// https://api.zoom.us/v2.
	APIURL string
	// RequestsPerSecond caps the client's own request rate, with a burst of
	// one, before Zoom's per-account limits (§6) are reached. Default 10;
	// negative means unlimited, and then Resource-intensive calls are not
	// paced either unless ResourceIntensivePerMinute is set.
	RequestsPerSecond float64
	// ResourceIntensivePerMinute paces calls of Resource-intensive
	// endpoints (the Dashboard's /metrics): at most this many a minute,
	// evenly spaced, each waiting its turn (as long as its ctx allows)
	// rather than failing. Zoom allows 20 a minute on Business+ and 10 on
	// Pro, per account and shared with every other app on it (§6, §10); the
	// default, 10, leaves half of Business's to the others. Negative means
	// no pacing; 0 means the default, or no pacing when RequestsPerSecond is
	// negative.
	ResourceIntensivePerMinute int
	// MinuteLimitWait is how long every Resource-intensive call is held
	// after Zoom refuses one with a per-minute 429 (X-RateLimit-Type QPS,
	// §10) that has no Retry-After; the refused call is then retried, up to
	// three times, however long RetryWaitMax is. Default 60s, the window of
	// the limit. Tests set milliseconds.
	MinuteLimitWait time.Duration
	// DailyBudget is the most Heavy and Resource-intensive requests the
	// client sends per UTC day (by Now), every attempt counted as Zoom
	// counts them. Zoom's daily quota for the two (30,000 on Pro, 60,000 on
	// Business+, DailyQuota) is shared with every other app on the account
	// (§6), so a budget keeps some for them. Beyond it, calls of those labels
	// fail at once with a *BudgetError (ErrBudgetExhausted) until 00:00 UTC;
	// Light and Medium calls are never refused. 0 means no budget.
	// SetDailyBudget changes it at run time.
	DailyBudget int
	// Timeout bounds one HTTP attempt, from sending to reading the whole
	// body. Default 30s.
	Timeout time.Duration
	// RetryMax is how many times a request is retried after a network error,
	// a timeout, a 5xx or a per-second 429. Default 4; negative means none.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the wait between retries.
	// Exponential backoff with jitter starts at RetryWaitMin; a per-second
	// 429 without Retry-After waits RetryWaitMin to 2×RetryWaitMin. Defaults
	// 1s and 30s. Tests set milliseconds.
	RetryWaitMin, RetryWaitMax time.Duration
	// HTTPClient supplies the base transport (its Transport field only).
	// Default http.DefaultTransport.
	HTTPClient *http.Client
	// Logger receives retries, token renewals and quota blocks. Default:
	// discard.
	Logger *slog.Logger
	// Registerer registers the client's metrics; nil means no metrics are
	// exported.
	Registerer prometheus.Registerer
	// Now is the clock for token expiry, quota blocks and the daily budget's
	// UTC day. Default time.Now.
	Now func() time.Time
	// SleepFunc waits d, or until ctx ends and then returns ctx.Err(). It
	// runs the waits of Resource-intensive pacing and of per-minute 429s,
	// which last seconds to a minute. Default: a timer. When it is set, that
	// pacing reads the time from Now instead of the real clock, so a test
	// whose SleepFunc advances a manual clock runs minutes of pacing at once.
	SleepFunc func(ctx context.Context, d time.Duration) error
}

// Defaults for Config.
const (
	DefaultTokenURL          = "https://zoom.us/oauth/token"
	DefaultAPIURL            = "https://api.zoom.us/v2"
	DefaultRequestsPerSecond = 10
	DefaultTimeout           = 30 * time.Second
	DefaultRetryMax          = 4
	DefaultRetryWaitMin      = time.Second
	DefaultRetryWaitMax      = 30 * time.Second
	// DefaultResourceIntensivePerMinute is half of Business's 20 a minute,
	// since the limit is shared with the account's other apps (§6).
	DefaultResourceIntensivePerMinute = 10
	// DefaultMinuteLimitWait is the window of the per-minute limit (§10).
	DefaultMinuteLimitWait = time.Minute
)

const (
	// maxMinuteWaits is how often one call waits out a per-minute 429.
	maxMinuteWaits = 3
	// maxMinuteWait bounds a per-minute 429's Retry-After that the client
	// waits for; a longer one is no per-minute limit, and the call gives up
	// with ErrRateLimited rather than hold its caller.
	maxMinuteWait = 2 * time.Minute
	// maxBody bounds a response body; a 300-participant page is a few hundred KB.
	maxBody   = 32 << 20
	userAgent = "zoomrecon"
)

// errAttemptTimeout is the cause recorded when Config.Timeout ends an attempt.
var errAttemptTimeout = errors.New("zoom request attempt timed out")

// Client calls Zoom's REST API. It is safe for concurrent use.
type Client struct {
	cfg     Config
	log     *slog.Logger
	m       *metrics
	tokens  *tokenCache
	limiter *rate.Limiter
	apiHTTP *http.Client // one attempt per Do; retries are driven by send
	calls   atomic.Int64
	quota   quotaBlocks
	budget  *budget
	// riPacer paces Resource-intensive calls and holds them after a
	// per-minute 429.
	riPacer       *pacer
	sleepInjected bool
	// categories maps an endpoint template to the Label Zoom last reported
	// for it in X-RateLimit-Category.
	categories sync.Map
}

// New validates cfg, fills defaults and returns a Client. It does not
// contact Zoom; the first call fetches a token.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.TokenURL = cmp.Or(cfg.TokenURL, DefaultTokenURL)
	cfg.APIURL = strings.TrimRight(cmp.Or(cfg.APIURL, DefaultAPIURL), "/")
	cfg.RequestsPerSecond = cmp.Or(cfg.RequestsPerSecond, DefaultRequestsPerSecond)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.RetryMax = cmp.Or(cfg.RetryMax, DefaultRetryMax)
	if cfg.RetryMax < 0 {
		cfg.RetryMax = 0
	}
	cfg.RetryWaitMin = cmp.Or(cfg.RetryWaitMin, DefaultRetryWaitMin)
	cfg.RetryWaitMax = max(cmp.Or(cfg.RetryWaitMax, DefaultRetryWaitMax), cfg.RetryWaitMin)
	switch {
	case cfg.ResourceIntensivePerMinute == 0 && cfg.RequestsPerSecond < 0:
		cfg.ResourceIntensivePerMinute = -1
	case cfg.ResourceIntensivePerMinute == 0:
		cfg.ResourceIntensivePerMinute = DefaultResourceIntensivePerMinute
	}
	cfg.MinuteLimitWait = cmp.Or(cfg.MinuteLimitWait, DefaultMinuteLimitWait)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	sleepInjected := cfg.SleepFunc != nil
	if !sleepInjected {
		cfg.SleepFunc = sleep
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "zoomapi")
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("zoomapi: register metrics: %w", err)
	}
	base := http.DefaultTransport
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		base = cfg.HTTPClient.Transport
	}
	limit := rate.Limit(cfg.RequestsPerSecond)
	if cfg.RequestsPerSecond < 0 {
		limit = rate.Inf
	}
	var interval time.Duration
	if cfg.ResourceIntensivePerMinute > 0 {
		interval = time.Minute / time.Duration(cfg.ResourceIntensivePerMinute)
	}
	c := &Client{
		cfg:           cfg,
		log:           log,
		m:             m,
		limiter:       rate.NewLimiter(limit, 1),
		budget:        &budget{now: cfg.Now, limit: cfg.DailyBudget},
		riPacer:       &pacer{interval: interval},
		sleepInjected: sleepInjected,
	}
	m.usage.add(c.budget)
	c.apiHTTP = &http.Client{
		Transport: &attemptTransport{c: c, base: base},
		// The transport adds the bearer token to every hop, so following a
		// redirect could hand it to another host. Zoom's API does not redirect.
		CheckRedirect: noRedirects,
	}
	tokenHTTP := &retryablehttp.Client{
		HTTPClient:   &http.Client{Transport: base, Timeout: cfg.Timeout, CheckRedirect: noRedirects},
		RetryWaitMin: cfg.RetryWaitMin,
		RetryWaitMax: cfg.RetryWaitMax,
		RetryMax:     cfg.RetryMax,
		CheckRetry:   tokenRetryPolicy,
		Backoff:      func(lo, hi time.Duration, n int, _ *http.Response) time.Duration { return expBackoff(lo, hi, n) },
		// Hand the last answer to oauth2, which turns it into a RetrieveError.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	c.tokens = newTokenCache(cfg, tokenHTTP.StandardClient(), log, m)
	return c, nil
}

func (cfg *Config) validate() error {
	var errs []error
	for _, f := range []struct{ name, value, label string }{
		{"AccountID", cfg.AccountID, "Account ID"}, {"ClientID", cfg.ClientID, "Client ID"}, {"ClientSecret", cfg.ClientSecret, "Client Secret"},
	} {
		if strings.TrimSpace(f.value) == "" {
			errs = append(errs, fmt.Errorf("zoomapi: Config.%s is empty; set it to the %s on the App Credentials page of the Server-to-Server OAuth app in the Zoom App Marketplace", f.name, f.label))
		}
	}
	for _, f := range []struct{ name, value, example string }{
		{"TokenURL", cfg.TokenURL, DefaultTokenURL}, {"APIURL", cfg.APIURL, DefaultAPIURL},
	} {
		if f.value == "" {
			continue
		}
		u, err := url.Parse(f.value)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			// No query either: Zoom refuses token parameters in the query
			// string (§1), and API paths are appended to APIURL.
			errs = append(errs, fmt.Errorf("zoomapi: Config.%s %q must be an http(s) URL without credentials or query, e.g. %s", f.name, redactURL(f.value), f.example))
		}
	}
	for _, f := range []struct {
		name       string
		d, example time.Duration
	}{
		{"Timeout", cfg.Timeout, DefaultTimeout}, {"RetryWaitMin", cfg.RetryWaitMin, DefaultRetryWaitMin},
		{"RetryWaitMax", cfg.RetryWaitMax, DefaultRetryWaitMax}, {"MinuteLimitWait", cfg.MinuteLimitWait, DefaultMinuteLimitWait},
	} {
		if f.d < 0 {
			errs = append(errs, fmt.Errorf("zoomapi: Config.%s %s must not be negative; use e.g. %s, or 0 for that default", f.name, f.d, f.example))
		}
	}
	if math.IsNaN(cfg.RequestsPerSecond) {
		errs = append(errs, errors.New("zoomapi: Config.RequestsPerSecond is NaN; use e.g. 10, or a negative value for no client-side limit"))
	}
	if cfg.DailyBudget < 0 {
		errs = append(errs, fmt.Errorf("zoomapi: Config.DailyBudget %d must not be negative; use e.g. %d (half of a Business account's daily quota), or 0 for no budget",
			cfg.DailyBudget, DailyQuota(PlanBusiness)/2))
	}
	return errors.Join(errs...)
}

// redactURL hides user info and query of a URL that failed validation.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "<unparseable>"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Calls returns how many HTTP requests the client has sent to the REST API,
// retries included (token requests are not counted).
func (c *Client) Calls() int64 { return c.calls.Load() }

// callState follows one API call through its attempts. The transport and the
// retry hooks run one after another on the caller's goroutine, so it needs
// no lock.
type callState struct {
	endpoint string
	attempts int
	tokenGen uint64
	reason   string // why the last attempt is being retried
}

type callStateKey struct{}

// get performs one API call: GET path?query, with retries, one token renewal
// on any 401, and decoding of a 2xx body into out. buf, if not nil, is
// reused for the body.
func (c *Client) get(ctx context.Context, endpoint, path string, q url.Values, buf *bytes.Buffer, out any) error {
	st := &callState{endpoint: endpoint}
	ctx = context.WithValue(ctx, callStateKey{}, st)
	rawURL := c.cfg.APIURL + path
	if len(q) > 0 {
		rawURL += "?" + q.Encode()
	}
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	renewed, minuteWaits := false, 0
	for {
		resp, err := c.send(ctx, st, rawURL)
		if err != nil {
			return c.sendError(st, err)
		}
		err = readBody(resp, buf)
		if err != nil {
			return fmt.Errorf("zoom GET %s: read response: %w", endpoint, err)
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			if buf.Len() == 0 {
				return nil
			}
			if err := json.Unmarshal(buf.Bytes(), out); err != nil {
				return fmt.Errorf("zoom GET %s: decode response: %w", endpoint, err)
			}
			return nil
		}
		if resp.StatusCode == http.StatusTooManyRequests && isDailyLimit(resp) {
			return c.quotaExceeded(ctx, st, resp, buf.Bytes())
		}
		apiErr := newAPIError(endpoint, resp, buf.Bytes(), st.attempts)
		if c.perMinute429(st, resp) {
			if wait, ok := c.minuteWait(resp); ok && minuteWaits < maxMinuteWaits && ctx.Err() == nil {
				// §10: a Resource-intensive endpoint's per-minute limit says
				// "QPS" but lasts a minute; hold the label, then retry.
				minuteWaits++
				c.riPacer.holdUntil(c.pacerNow().Add(wait))
				c.m.retries.WithLabelValues(endpoint, reasonRateLimit).Inc()
				c.log.InfoContext(ctx, "zoom refused a Resource-intensive call for its per-minute limit; holding those calls",
					slog.String("endpoint", endpoint), slog.Duration("wait", wait), slog.Int("attempt", st.attempts),
					slog.String("tracking_id", apiErr.TrackingID))
				continue
			}
			return apiErr
		}
		if resp.StatusCode == http.StatusUnauthorized && !renewed {
			// §1: tokens can be revoked early (another replica fetched one, the
			// app was re-enabled); renew once and retry once. Any 401, not only
			// code 124: one API family answers a refused token with
			// {"status":false,"errorCode":401} (§10).
			renewed = true
			c.tokens.invalidate(st.tokenGen)
			c.m.retries.WithLabelValues(endpoint, reasonToken).Inc()
			c.log.InfoContext(ctx, "zoom rejected the access token; renewing it once",
				slog.String("endpoint", endpoint), slog.String("tracking_id", apiErr.TrackingID),
				slog.Int("code", apiErr.Code), slog.String("message", apiErr.Message))
			continue
		}
		return apiErr
	}
}

// send runs the attempts of one request through go-retryablehttp.
func (c *Client) send(ctx context.Context, st *callState, rawURL string) (*http.Response, error) {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("zoom GET %s: build request: %w", st.endpoint, err)
	}
	rc := &retryablehttp.Client{
		HTTPClient:   c.apiHTTP,
		RetryWaitMin: c.cfg.RetryWaitMin,
		RetryWaitMax: c.cfg.RetryWaitMax,
		RetryMax:     c.cfg.RetryMax,
		CheckRetry: func(ctx context.Context, resp *http.Response, err error) (bool, error) {
			return c.checkRetry(ctx, st, resp, err)
		},
		Backoff: func(lo, hi time.Duration, n int, resp *http.Response) time.Duration {
			return c.backoff(ctx, st, lo, hi, n, resp)
		},
		// Keep the last response after the retries run out, so that a 5xx or
		// 429 becomes an Error with Zoom's code and tracking ID.
		ErrorHandler: retryablehttp.PassthroughErrorHandler,
	}
	resp, err := rc.Do(req)
	if err != nil && resp != nil {
		drain(resp.Body)
		resp = nil
	}
	return resp, err
}

// sendError describes a call that got no usable response.
func (c *Client) sendError(st *callState, err error) error {
	var pe *permanentError
	if errors.As(err, &pe) {
		err = pe.err
	}
	var qe *QuotaError
	if errors.As(err, &qe) {
		return qe
	}
	var be *BudgetError
	if errors.As(err, &be) {
		return be
	}
	// *url.Error repeats the full URL; the endpoint template says enough.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if st.attempts > 1 {
		return fmt.Errorf("zoom GET %s: giving up after %d attempts: %w", st.endpoint, st.attempts, err)
	}
	return fmt.Errorf("zoom GET %s: %w", st.endpoint, err)
}

// checkRetry is the CheckRetry policy for API calls (§6, §7): retry network
// errors, attempt timeouts, 5xx and per-second 429s; never a 4xx otherwise,
// never a daily-limit 429, never after ctx ends.
func (c *Client) checkRetry(ctx context.Context, st *callState, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		var pe *permanentError
		if errors.As(err, &pe) {
			return false, pe
		}
		if !retryableNetErr(err) {
			return false, err
		}
		st.reason = reasonNetwork
		if errors.Is(err, errAttemptTimeout) {
			st.reason = reasonTimeout
		}
		return true, nil
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		if isDailyLimit(resp) || c.perMinute429(st, resp) {
			// Not retried here: a daily 429 never, a per-minute one by get
			// after holding the label for the minute.
			return false, nil
		}
		// Never retry faster than Retry-After; if that is beyond our longest
		// wait, give up now rather than hold the caller.
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), c.cfg.Now()); ok && d > c.cfg.RetryWaitMax {
			return false, nil
		}
		st.reason = reasonRateLimit
		return true, nil
	case resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented:
		st.reason = reasonServerError
		return true, nil
	}
	return false, nil
}

// backoff is the Backoff policy; retryablehttp calls it only when it is
// about to retry, so it also counts and logs the retry.
func (c *Client) backoff(ctx context.Context, st *callState, lo, hi time.Duration, n int, resp *http.Response) time.Duration {
	var wait time.Duration
	status, tracking := 0, ""
	if resp != nil {
		status, tracking = resp.StatusCode, resp.Header.Get("x-zm-trackingid")
	}
	switch {
	case status == http.StatusTooManyRequests:
		// §6: QPS 429s often carry no Retry-After; wait about 1–2 s
		// (RetryWaitMin to twice that), a little longer on each repeat.
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), c.cfg.Now()); ok {
			wait = max(d, lo)
		} else {
			wait = min(lo*time.Duration(n+1)+jitter(lo), hi)
		}
		c.m.waits.WithLabelValues(waitQPS).Inc()
		c.m.waitSeconds.Add(wait.Seconds())
	case status == http.StatusServiceUnavailable:
		if d, ok := retryAfter(resp.Header.Get("Retry-After"), c.cfg.Now()); ok {
			wait = min(max(d, lo), hi)
			break
		}
		wait = expBackoff(lo, hi, n)
	default:
		wait = expBackoff(lo, hi, n)
	}
	c.m.retries.WithLabelValues(st.endpoint, st.reason).Inc()
	level := slog.LevelWarn
	if st.reason == reasonRateLimit {
		level = slog.LevelDebug // expected under load; the metrics show it
	}
	c.log.LogAttrs(ctx, level, "retrying zoom request",
		slog.String("endpoint", st.endpoint), slog.String("reason", st.reason),
		slog.Int("attempt", st.attempts), slog.Int("status", status),
		slog.String("tracking_id", cleanText(tracking, 200)), slog.Duration("wait", wait))
	return wait
}

// expBackoff doubles from lo per attempt, capped at hi, with "equal jitter":
// half the step fixed, half random, so waits never collapse to zero.
func expBackoff(lo, hi time.Duration, n int) time.Duration {
	d := hi
	if n < 30 {
		d = min(lo<<n, hi)
	}
	return d/2 + jitter(d/2)
}

// tokenRetryPolicy retries the token endpoint on network errors, 5xx and
// 429; a 4xx is a verdict on the credentials and is not retried.
func tokenRetryPolicy(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		return retryableNetErr(err), nil
	}
	return resp.StatusCode == http.StatusTooManyRequests ||
		(resp.StatusCode >= 500 && resp.StatusCode != http.StatusNotImplemented), nil
}

// retryableNetErr reports whether a transport error may pass on retrying:
// not certificate or URL-scheme problems.
func retryableNetErr(err error) bool {
	var verifyErr *tls.CertificateVerificationError
	var authorityErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &verifyErr) || errors.As(err, &authorityErr) || errors.As(err, &hostErr) {
		return false
	}
	return !strings.Contains(err.Error(), "unsupported protocol scheme")
}

// jitter returns a random duration in [0, d).
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d)))
}

func isDailyLimit(resp *http.Response) bool {
	return strings.EqualFold(strings.TrimSpace(resp.Header.Get("X-RateLimit-Type")), "Daily-limit")
}

// retryAfter reads a Retry-After header as a wait from now. Zoom sends an
// ISO 8601 date-time on daily-limit 429s (§6); seconds and HTTP dates are
// accepted too.
func retryAfter(v string, now time.Time) (time.Duration, bool) {
	t, ok := retryAfterTime(v, now)
	if !ok {
		return 0, false
	}
	return max(t.Sub(now), 0), true
}

func retryAfterTime(v string, now time.Time) (time.Time, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 && n < 1<<31 {
		return now.Add(time.Duration(n) * time.Second), true
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05Z0700", "2006-01-02T15:04:05", "2006-01-02 15:04:05"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

// quotaExceeded handles a daily-limit 429: it blocks the category (or every
// call when Zoom named none) until Retry-After, else the next 00:00 UTC.
func (c *Client) quotaExceeded(ctx context.Context, st *callState, resp *http.Response, body []byte) error {
	now := c.cfg.Now()
	until, ok := retryAfterTime(resp.Header.Get("Retry-After"), now)
	if !ok {
		until = now.UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	}
	apiErr := newAPIError(st.endpoint, resp, body, st.attempts)
	qe := &QuotaError{
		Endpoint:   st.endpoint,
		Category:   cleanText(strings.TrimSpace(resp.Header.Get("X-RateLimit-Category")), 50),
		Until:      until,
		Message:    apiErr.Message,
		TrackingID: apiErr.TrackingID,
	}
	c.quota.block(qe)
	c.log.WarnContext(ctx, "zoom daily rate limit reached; refusing calls in this category until reset",
		slog.String("endpoint", st.endpoint), slog.String("category", cmp.Or(qe.Category, "all")),
		slog.Time("until", until), slog.String("tracking_id", qe.TrackingID))
	return qe
}

// labelOf is the rate-limit label Zoom last reported for endpoint, or the
// table's (LabelOf).
func (c *Client) labelOf(endpoint string) Label {
	if v, ok := c.categories.Load(endpoint); ok {
		return v.(Label)
	}
	return LabelOf(endpoint)
}

// perMinute429 reports whether resp is a Resource-intensive endpoint's
// per-minute refusal: a 429 that is not the daily limit (it says QPS, §10,
// or nothing) from an endpoint Zoom or the table labels Resource-intensive.
func (c *Client) perMinute429(st *callState, resp *http.Response) bool {
	if resp.StatusCode != http.StatusTooManyRequests || isDailyLimit(resp) {
		return false
	}
	label, ok := parseLabel(resp.Header.Get("X-RateLimit-Category"))
	if !ok {
		label = c.labelOf(st.endpoint)
	}
	return label == LabelResourceIntensive
}

// minuteWait is how long to hold Resource-intensive calls after a
// per-minute 429: its Retry-After, else MinuteLimitWait. ok is false when
// Retry-After asks for longer than maxMinuteWait.
func (c *Client) minuteWait(resp *http.Response) (time.Duration, bool) {
	d, ok := retryAfter(resp.Header.Get("Retry-After"), c.cfg.Now())
	if !ok {
		return c.cfg.MinuteLimitWait, true
	}
	return d, d <= maxMinuteWait
}

// quotaBlocks remembers daily-limit 429s per category ("" blocks everything).
type quotaBlocks struct {
	mu     sync.Mutex
	blocks map[string]*QuotaError // by lower-case category
}

// block remembers e for its category. Heavy and Resource-intensive calls
// share one daily total on paid plans (§6), so either's daily 429 blocks
// both. (On Basic they have separate quotas, but none of our Heavy or
// Resource-intensive endpoints is open to Basic accounts.)
func (q *quotaBlocks) block(e *QuotaError) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.blocks == nil {
		q.blocks = make(map[string]*QuotaError)
	}
	keys := []string{strings.ToLower(e.Category)}
	if l, ok := parseLabel(e.Category); ok && l.Budgeted() {
		keys = []string{strings.ToLower(string(LabelHeavy)), strings.ToLower(string(LabelResourceIntensive))}
	}
	for _, k := range keys {
		q.blocks[k] = e
	}
}

// check returns a copy of the block covering category at now, or nil.
func (q *quotaBlocks) check(category, endpoint string, now time.Time) *QuotaError {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.blocks) == 0 {
		return nil
	}
	for _, k := range []string{"", strings.ToLower(category)} {
		e, ok := q.blocks[k]
		if !ok {
			continue
		}
		if !now.Before(e.Until) {
			delete(q.blocks, k)
			continue
		}
		cp := *e
		cp.Endpoint = endpoint
		cp.FailedFast = true
		return &cp
	}
	return nil
}

// permanentError marks a transport error that must not be retried: a quota
// block, a token failure, a cancelled limiter wait.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// attemptTransport performs one attempt: quota check, client-side rate
// limit, token, per-attempt timeout, metrics.
type attemptTransport struct {
	c    *Client
	base http.RoundTripper
}

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.c
	ctx := req.Context()
	st, _ := ctx.Value(callStateKey{}).(*callState)
	if st == nil {
		return nil, &permanentError{errors.New("zoomapi: request sent outside Client.get")}
	}
	if err := ctx.Err(); err != nil {
		return nil, &permanentError{err}
	}
	label := c.labelOf(st.endpoint)
	if qe := c.quota.check(string(label), st.endpoint, c.cfg.Now()); qe != nil {
		c.m.quotaRejected.WithLabelValues(cmp.Or(qe.Category, "all")).Inc()
		return nil, &permanentError{qe}
	}
	// The budget is checked before any wait, so a refused call fails at
	// once, and again when the call is counted, after the waits.
	if be := c.budget.refusal(st.endpoint, label, false); be != nil {
		return nil, &permanentError{c.refused(ctx, be)}
	}
	if label == LabelResourceIntensive {
		if err := c.pace(ctx); err != nil {
			return nil, &permanentError{err}
		}
	}
	if err := c.waitLimiter(ctx); err != nil {
		return nil, &permanentError{err}
	}
	tok, gen, err := c.tokens.get(ctx)
	if err != nil {
		return nil, &permanentError{err}
	}
	st.tokenGen = gen
	if be := c.budget.refusal(st.endpoint, label, true); be != nil {
		return nil, &permanentError{c.refused(ctx, be)}
	}

	actx, cancel := context.WithTimeoutCause(ctx, c.cfg.Timeout, errAttemptTimeout)
	out := req.Clone(actx)
	out.Header.Set("Authorization", "Bearer "+tok)
	out.Header.Set("Accept", "application/json")
	out.Header.Set("User-Agent", userAgent)
	st.attempts++
	c.calls.Add(1)
	start := time.Now()
	resp, err := t.base.RoundTrip(out)
	c.m.duration.WithLabelValues(st.endpoint).Observe(time.Since(start).Seconds())
	if err != nil {
		timedOut := errors.Is(context.Cause(actx), errAttemptTimeout) && ctx.Err() == nil
		cancel()
		c.m.requests.WithLabelValues(st.endpoint, "error").Inc()
		if timedOut {
			return nil, fmt.Errorf("%w after %s: %w", errAttemptTimeout, c.cfg.Timeout, err)
		}
		return nil, err
	}
	c.m.requests.WithLabelValues(st.endpoint, strconv.Itoa(resp.StatusCode)).Inc()
	if l, ok := parseLabel(resp.Header.Get("X-RateLimit-Category")); ok && l != label {
		c.categories.Store(st.endpoint, l)
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

// cancelOnClose ends an attempt's timeout context once its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// refused counts and logs a budget refusal (the first of the day at Warn).
func (c *Client) refused(ctx context.Context, be *BudgetError) *BudgetError {
	c.m.refusals.WithLabelValues(string(be.Label)).Inc()
	if c.budget.firstRefusal(be.Until) {
		c.log.WarnContext(ctx, "zoom daily budget spent; refusing Heavy and Resource-intensive calls until reset",
			slog.Int("budget", be.Budget), slog.Time("until", be.Until), slog.String("endpoint", be.Endpoint))
	}
	return be
}

// waitLimiter waits for the client-side limiter, honouring ctx.
func (c *Client) waitLimiter(ctx context.Context) error {
	r := c.limiter.Reserve()
	d := r.Delay()
	if d <= 0 {
		return nil
	}
	c.m.waits.WithLabelValues(waitClient).Inc()
	c.m.waitSeconds.Add(d.Seconds())
	if err := sleep(ctx, d); err != nil {
		r.Cancel()
		return err
	}
	return nil
}

func readBody(resp *http.Response, buf *bytes.Buffer) error {
	defer resp.Body.Close()
	buf.Reset()
	n, err := buf.ReadFrom(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: %w", errAttemptTimeout, err)
		}
		return err
	}
	if n > maxBody {
		return fmt.Errorf("response body exceeds %d bytes", maxBody)
	}
	return nil
}

func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 64<<10))
	_ = body.Close()
}
