package zoomtest

import (
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"
)

// Plan is the fake account's Zoom plan. It gates endpoints as the plan
// column of zoom-platform.md §5 says, and sets the rate limits of §6.
type Plan string

// Plans the fake knows. Report endpoints and past participants need Pro or
// higher; Dashboard (/metrics) endpoints need Business or higher.
const (
	PlanBasic    Plan = "basic"
	PlanPro      Plan = "pro"
	PlanBusiness Plan = "business"
)

func (p Plan) rank() int {
	switch p {
	case PlanBasic:
		return 0
	case PlanPro:
		return 1
	default:
		return 2
	}
}

// Credentials are a Server-to-Server OAuth app's credentials (zoom-platform.md §1).
type Credentials struct {
	AccountID    string
	ClientID     string
	ClientSecret string
}

// Option configures a Server in New.
type Option func(*Server)

// WithClock sets the clock. It drives token and page-token expiry, the report
// delay, rate-limit windows, generated times and webhook timestamps. Default
// time.Now.
func WithClock(now func() time.Time) Option { return func(s *Server) { s.now = now } }

// WithPlan sets the account's plan. Default PlanBusiness.
func WithPlan(p Plan) Option { return func(s *Server) { s.plan = p } }

// WithTokenLifetime sets how long an access token lives; expires_in reports
// it in whole seconds, rounded up. Default 3599s, as Zoom (§1).
func WithTokenLifetime(d time.Duration) Option { return func(s *Server) { s.tokenLifetime = d } }

// WithRevokeOnNewToken turns on the 2022–2023 behaviour in which issuing a
// token invalidates every earlier one, so that they answer 401 code 124
// "Invalid access token." (§1). Default off: tokens coexist, as Zoom documents today.
func WithRevokeOnNewToken(on bool) Option { return func(s *Server) { s.revokeOnNew = on } }

// WithScopes sets the scopes granted in tokens, classic or granular (§1, §5).
// An endpoint answers 400 code 4711 when a token holds neither its classic
// nor its granular scope. Default: every classic scope the endpoints need.
func WithScopes(scopes ...string) Option {
	return func(s *Server) { s.scopes = append([]string(nil), scopes...) }
}

// WithPageTokenTTL sets how long a next_page_token stays valid. Default 15m (§5).
func WithPageTokenTTL(d time.Duration) Option { return func(s *Server) { s.pageTTL = d } }

// WithHeavyPageSize sets the largest page that Heavy list endpoints (the
// report lists) serve, whatever page_size asks for. Zoom caps them at 30, 50
// or 100 depending on the endpoint (§10 "Page sizes"). Default 100; other
// endpoints serve up to 300 (§5).
func WithHeavyPageSize(n int) Option { return func(s *Server) { s.heavyPageSize = n } }

// WithQueryStringTokenRequests makes the token endpoint accept grant_type and
// account_id in the query string, as Zoom did before late 2024 (§1). Default
// false: they must be in the form body, and a query-string-only request gets 400.
func WithQueryStringTokenRequests(allowed bool) Option {
	return func(s *Server) { s.allowQueryToken = allowed }
}

// WithCredentials fixes the app's credentials instead of random ones.
func WithCredentials(c Credentials) Option { return func(s *Server) { s.creds = c } }

// WithLogger sets where the fake logs webhook delivery failures. Default: discarded.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// WithWebhookTimeout sets how long a receiver has to answer a delivery or a
// URL validation. Default 3s, as Zoom (§2, §3).
func WithWebhookTimeout(d time.Duration) Option { return func(s *Server) { s.webhookTimeout = d } }

// WithWebhookHTTPClient sets the client webhooks are sent with, e.g. one that
// trusts an httptest TLS receiver. Its Timeout is ignored; WithWebhookTimeout
// bounds each try.
func WithWebhookHTTPClient(c *http.Client) Option { return func(s *Server) { s.webhookClient = c } }

// WithListenAddrs makes the OAuth and API servers listen on fixed addresses
// (e.g. "127.0.0.1:9001"), for the demo. Default: a free port on 127.0.0.1 each.
func WithListenAddrs(oauth, api string) Option {
	return func(s *Server) { s.oauthAddr, s.apiAddr = oauth, api }
}

// defaultScopes are the classic scopes of every endpoint the fake serves (§5).
var defaultScopes = []string{
	"user:read:admin",
	"meeting:read:admin",
	"webinar:read:admin",
	"report:read:admin",
	"dashboard_meetings:read:admin",
	"dashboard_webinars:read:admin",
}

// Server is a fake Zoom: an OAuth server, an API server over an in-memory
// account, fault injection, a request log and a webhook emitter. Create it
// with New and stop it with Close.
type Server struct {
	// Fixed at New.
	now             func() time.Time
	logger          *slog.Logger
	creds           Credentials
	tokenLifetime   time.Duration
	revokeOnNew     bool
	allowQueryToken bool
	pageTTL         time.Duration
	heavyPageSize   int
	webhookTimeout  time.Duration
	webhookClient   *http.Client
	oauthAddr       string
	apiAddr         string
	routes          []*route
	wsSubscription  string
	wsDefaultMode   bool
	wsHeartbeat     time.Duration
	wsHub           *wsHub           // nil without WithWebSocketSubscription
	ws              *httptest.Server // the WebSocket host ("ws.zoom.us"), if wsHub

	oauth, api *httptest.Server
	hooks      *emitter
	closing    chan struct{}
	closeOnce  sync.Once

	mu sync.Mutex // guards everything below
	// OAuth.
	scopes        []string
	tokens        map[string]*accessToken
	tokenRequests int
	appDisabled   bool
	tokenStyles   map[string]TokenErrorStyle // SetTokenErrorStyle, by path prefix
	// REST.
	plan        Plan
	reportDelay time.Duration
	pages       map[string]*cursor
	// Faults and limits.
	faults      []*faultState
	qpsLimit    int
	minuteLimit int
	qps         map[string]*qpsWindow
	// Daily quotas: SetDailyLimit's override (0: the plan's, < 0: none)
	// and its count, and the calls charged per UTC day, ours and other apps'.
	dailyLimit    int
	overrideDay   time.Time
	overrideCount int
	charged       map[time.Time]*dayCounts
	others        map[time.Time]*dayCounts
	requests      []Request
	// Model.
	users       map[string]*userRecord
	userOrder   []string
	meetings    map[int64]*meeting
	instances   map[string]*instance
	started     []*instance // every instance, in StartMeeting order
	defaultHost string
}

// New starts a fake Zoom: an OAuth server ("zoom.us") and an API server
// ("api.zoom.us"), each on its own listener. It panics if it cannot listen,
// as httptest does.
func New(opts ...Option) *Server {
	s := &Server{
		now:            time.Now,
		plan:           PlanBusiness,
		tokenLifetime:  3599 * time.Second,
		pageTTL:        15 * time.Minute,
		heavyPageSize:  defaultHeavyPageSize,
		webhookTimeout: 3 * time.Second,
		wsHeartbeat:    30 * time.Second,
		scopes:         slices.Clone(defaultScopes),
		tokens:         map[string]*accessToken{},
		pages:          map[string]*cursor{},
		qps:            map[string]*qpsWindow{},
		charged:        map[time.Time]*dayCounts{},
		others:         map[time.Time]*dayCounts{},
		users:          map[string]*userRecord{},
		meetings:       map[int64]*meeting{},
		instances:      map[string]*instance{},
		closing:        make(chan struct{}),
	}
	for _, opt := range opts {
		opt(s)
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	s.logger = s.logger.With("component", "zoomtest")
	s.creds.AccountID = cmp.Or(s.creds.AccountID, randString(22, alnum))
	s.creds.ClientID = cmp.Or(s.creds.ClientID, randString(22, alnum))
	s.creds.ClientSecret = cmp.Or(s.creds.ClientSecret, randString(32, alnum))
	if s.webhookClient == nil {
		s.webhookClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	s.routes = routes()
	s.hooks = newEmitter(s.now, s.logger, s.webhookClient, s.webhookTimeout, s.creds.ClientID)
	if s.wsSubscription != "" {
		s.wsHub = &wsHub{now: s.now, subscription: s.wsSubscription, heartbeat: s.wsHeartbeat, check: s.wsRefusal, live: map[*wsConn]struct{}{}}
		s.hooks.ws = s.wsHub.deliver
		if s.wsDefaultMode {
			s.hooks.mode.Store(int32(DeliverWebSocket))
		}
		s.ws = start("", s.wsHub)
	}

	oauthMux := http.NewServeMux()
	oauthMux.HandleFunc("/oauth/token", s.handleToken)
	// The API server first: the token endpoint names its URL, and its
	// handlers must find s.api set before they can run.
	s.api = start(s.apiAddr, http.HandlerFunc(s.serveAPI))
	s.oauth = start(s.oauthAddr, oauthMux)
	return s
}

func start(addr string, h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			panic(fmt.Sprintf("zoomtest: listen on %s: %v", addr, err))
		}
		srv.Listener.Close()
		srv.Listener = l
	}
	srv.Start()
	return srv
}

// Close stops the webhook emitter (pending deliveries and retries are
// abandoned), closes WebSocket connections, then the servers. Slow fault responses end at once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.closing)
		s.hooks.close()
		if s.wsHub != nil {
			// Ends every connection first: httptest waits for their handlers.
			s.wsHub.close()
			s.ws.Close()
		}
		s.api.Close()
		s.oauth.Close()
	})
}

// TokenURL is the token endpoint, <oauth server>/oauth/token.
func (s *Server) TokenURL() string { return s.oauth.URL + "/oauth/token" }

// APIURL is the REST base URL, <api server>/v2.
func (s *Server) APIURL() string { return s.api.URL + "/v2" }

// Credentials are the S2S app's credentials, random per server unless set
// with WithCredentials.
func (s *Server) Credentials() Credentials { return s.creds }

// SetPlan changes the account's plan.
func (s *Server) SetPlan(p Plan) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.plan = p
}

// SetScopes changes the scopes granted to tokens issued from now on.
func (s *Server) SetScopes(scopes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scopes = append([]string(nil), scopes...)
}

// SetReportDelay makes past-meeting, report and Dashboard "past" data appear
// only d after an instance ends; until then those endpoints answer as for a
// meeting that has not ended (zoom-platform.md §5, "When data appears"). Default 0.
func (s *Server) SetReportDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reportDelay = d
}
