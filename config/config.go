package config

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Config is zoomrecon's configuration, as returned by Load. The keys table
// below gives each field's env name, YAML key and default.
type Config struct {
	// DatabaseURL is sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB.
	// It is a Secret because it may carry a password.
	DatabaseURL Secret
	// ListenAddr is the host:port the HTTP server binds, e.g. ":8080".
	ListenAddr string
	// MetricsAddr, when set, is a second host:port serving /metrics, /healthz
	// and /readyz, so the ListenAddr exposed to Zoom serves only WebhookPath.
	// Empty (the default) serves them all on ListenAddr.
	MetricsAddr string
	// WebhookPath is the path Zoom posts events to, e.g. "/webhooks/zoom".
	WebhookPath string
	// WebhookReplayWindow is how far an authentically signed delivery's
	// x-zm-request-timestamp may be from now before it is refused as a replay.
	// It covers Zoom's retry schedule (its retries may keep their first
	// timestamp), and it must stay within what deduplication remembers (every
	// stored event), so an authentic replay inside it is a no-op.
	WebhookReplayWindow time.Duration
	// LogLevel is "debug", "info", "warn" or "error".
	LogLevel string
	// EventRetention is how long raw webhook events are kept; 0 keeps them
	// for ever. The events table is also the deduplication ledger, so it is
	// at least WebhookReplayWindow.
	EventRetention time.Duration
	// HistoryRetention is how long meetings, participant sessions, resolved
	// discrepancies and delivered alerts are kept; 0 keeps them for ever.
	// Open discrepancies and pending alerts are kept whatever their age.
	HistoryRetention time.Duration
	// WebSocketAlertAfter is how long the WebSocket event subscription may
	// stay disconnected, while zoomrecon tries to reconnect, before an urgent
	// websocket_disconnected alert is raised.
	WebSocketAlertAfter time.Duration

	Zoom      ZoomConfig
	Reconcile ReconcileConfig
	Slack     SlackConfig

	// Forward lists the applications every event is forwarded to: the env
	// form's destination ("default") first, then the YAML forward list's in
	// order. Empty means nothing is forwarded.
	Forward []ForwardDestination
	// ForwardGiveUpAfter is how long a delivery to a destination is retried
	// before it is dead-lettered with an alert.
	ForwardGiveUpAfter time.Duration
	// ForwardTimeout bounds each delivery request. It is shorter than
	// ForwardGiveUpAfter.
	ForwardTimeout time.Duration

	// sources maps each env name to where its value came from, for Entries.
	sources map[string]string
	// forwardSources says, by name, where each destination of the YAML
	// forward list was read and where its values came from, for Entries.
	forwardSources map[string]listedSource
}

// ZoomConfig holds the Zoom app's credentials and endpoints.
type ZoomConfig struct {
	// AccountID, ClientID and ClientSecret are the Server-to-Server OAuth
	// app's credentials: all three, or none to run without the REST API.
	AccountID    string
	ClientID     string
	ClientSecret Secret
	// WebhookSecretTokens verify webhook signatures. There are several while
	// a token is being rotated.
	WebhookSecretTokens []Secret
	// WebSocketSubscriptionID, when set, turns on the WebSocket intake: the
	// ID of an event subscription whose method is WebSockets (Zoom shows it
	// in the subscription's URL, zoom-platform.md §11). It needs the
	// Server-to-Server OAuth credentials, whose token opens the connection.
	WebSocketSubscriptionID string
	// WebSocketURL is Zoom's WebSocket host, without the query, e.g.
	// "wss://ws.zoom.us/ws".
	WebSocketURL string
	// APIBaseURL is the REST API root, e.g. "https://api.zoom.us/v2".
	APIBaseURL string
	// OAuthTokenURL is the token endpoint, e.g. "https://zoom.us/oauth/token".
	OAuthTokenURL string
	// APIRateLimit caps our REST requests per second. Zoom's limits are per
	// account and shared with every other app on it (zoom-platform.md §6).
	APIRateLimit float64
	// APIDailyBudget is the most Heavy and Resource-intensive calls a day
	// zoomrecon makes: a number of calls, or a share of the daily quota of
	// the account's plan, which every app on the account shares (§6).
	APIDailyBudget Budget
	// ResourceIntensivePerMinute paces our Dashboard (/metrics) requests,
	// which Zoom limits per minute: 20 on Business, shared with the
	// account's other apps (zoom-platform.md §6, §10).
	ResourceIntensivePerMinute int
	// MinuteLimitWait is how long Dashboard requests pause after Zoom's
	// per-minute 429 without a Retry-After (zoom-platform.md §10).
	MinuteLimitWait time.Duration
}

// Budget is a number of calls, or a share of a quota.
type Budget struct {
	// Calls, when not zero, is the budget.
	Calls int
	// Share is the budget as a fraction of the quota, when Calls is zero.
	Share float64
}

// Of returns the budget out of quota calls, at least one call.
func (b Budget) Of(quota int) int {
	if b.Calls > 0 {
		return b.Calls
	}
	return max(1, int(b.Share*float64(quota)))
}

func (b Budget) String() string {
	if b.Calls > 0 {
		return strconv.Itoa(b.Calls)
	}
	return strconv.FormatFloat(b.Share*100, 'g', -1, 64) + "%"
}

// ReconcileConfig holds the reconciler's timing. Every duration is positive.
type ReconcileConfig struct {
	// Interval is the time between reconcile passes.
	Interval time.Duration
	// Lookback is how far back a pass asks Zoom about meetings.
	Lookback time.Duration
	// MissedGrace is how long after a meeting ended its webhook may still arrive.
	MissedGrace time.Duration
	// StaleAfter is when a meeting still in progress is considered stale.
	StaleAfter time.Duration
	// SilenceAfter is how long without any webhook before alerting on silence.
	SilenceAfter time.Duration
	// ZoomRetryHorizon is how long after an event Zoom may still redeliver its
	// webhook (retries at about +5, +25 and +85 minutes, zoom-platform.md §3).
	// A "missed" verdict about an event Zoom tried to deliver while zoomrecon
	// was down or answering 503 waits this long.
	ZoomRetryHorizon time.Duration
	// HostCauseMinMeetings is how many of one host's latest meetings in a
	// row must lose the same webhook, while other hosts' arrive, before the
	// host is named as their cause. At least 2.
	HostCauseMinMeetings int
	// HostCauseWindow is how far back a host's meetings are looked at for
	// that.
	HostCauseWindow time.Duration
}

// SlackConfig says where alerts go: an incoming webhook, a bot token with a
// channel, or neither (alerts are only logged).
type SlackConfig struct {
	// WebhookURL is an incoming-webhook URL; the URL itself is the secret.
	WebhookURL Secret
	// BotToken is a bot token (xoxb-...) used with Channel.
	BotToken Secret
	// Channel is a channel name or ID, e.g. "#zoom-alerts" or "C0123456789".
	Channel string
	// APIURL is the Web API root, e.g. "https://slack.com/api/".
	APIURL string
}

// ZoomConfigured reports whether all three OAuth credentials are present, so
// zoomrecon can call Zoom's REST API.
func (c *Config) ZoomConfigured() bool {
	return c.Zoom.AccountID != "" && c.Zoom.ClientID != "" && c.Zoom.ClientSecret != ""
}

// WebSocketConfigured reports whether events are received over the WebSocket
// event subscription.
func (c *Config) WebSocketConfigured() bool { return c.Zoom.WebSocketSubscriptionID != "" }

// WebSocketOnly reports whether the WebSocket is the only route Zoom's events
// take to zoomrecon: no webhook secret is set. Then nothing is ever retried
// (Zoom neither retries nor replays WebSocket events), and what happened
// while the connection was down is certainly lost.
func (c *Config) WebSocketOnly() bool {
	return c.WebSocketConfigured() && len(c.Zoom.WebhookSecretTokens) == 0
}

// Warnings lists the settings that are valid but leave zoomrecon unable to do
// part of its job, each naming the keys to set. serve logs them at start and
// config check prints them, from this one list, so the two never disagree.
func (c *Config) Warnings() []string {
	var out []string
	if len(c.Zoom.WebhookSecretTokens) == 0 && !c.WebSocketConfigured() {
		out = append(out, "ZOOM_WEBHOOK_SECRET_TOKEN is not set: every webhook delivery will be refused with 401; "+
			"set it to the Secret Token of your Zoom app's event subscription, "+
			"or receive events over a WebSocket subscription instead (ZOOM_WEBSOCKET_SUBSCRIPTION_ID)")
	}
	// Validation already refuses some of the three without the others.
	if !c.ZoomConfigured() {
		out = append(out, "ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET are not set: "+
			"nothing checks the webhooks against Zoom's API or backfills what they missed; "+
			"set them to your Server-to-Server OAuth app's credentials")
	}
	if c.SlackMode() == "log" {
		out = append(out, "Slack is not configured: alerts are only logged; "+
			"set SLACK_WEBHOOK_URL, or SLACK_BOT_TOKEN with SLACK_CHANNEL, to deliver them")
	}
	return out
}

// SlackMode returns how alerts are delivered: "webhook", "bot", or "log" when
// Slack is not configured.
func (c *Config) SlackMode() string {
	switch {
	case c.Slack.WebhookURL != "":
		return "webhook"
	case c.Slack.BotToken != "":
		return "bot"
	default:
		return "log"
	}
}

// Entry is one setting as `zoomrecon config check` prints it.
type Entry struct {
	// Key is the env name, e.g. "ZOOMRECON_LISTEN_ADDR"; for a destination
	// of the YAML forward list, its path, e.g. "forward[billing].url".
	Key string
	// YAMLKey is the dotted YAML key, e.g. "listen_addr", or the path of a
	// destination's value; "" for a key only the environment sets.
	YAMLKey string
	// Value shows secrets as "<redacted>" (or "" if unset), a database
	// password as "xxxxx", and a destination's empty filter list as "*".
	Value string
	// Source is "default", "env", "env file", "credentials" or "yaml"; ""
	// if c was not built by Load.
	Source string
}

// Entries returns every setting in table order, then three rows (url,
// secret_token, events) for each destination of the YAML forward list, safe
// to print. The env form's destination is the ZOOMRECON_FORWARD_ rows.
func (c *Config) Entries() []Entry {
	out := make([]Entry, 0, len(keys))
	for _, k := range keys {
		out = append(out, Entry{Key: k.env, YAMLKey: k.yaml, Value: k.field.show(c), Source: c.sources[k.env]})
	}
	return append(out, c.forwardEntries()...)
}

// Where a value came from, as shown in Entry.Source.
const (
	sourceDefault     = "default"
	sourceEnv         = "env"
	sourceEnvFile     = "env file"
	sourceCredentials = "credentials"
	sourceYAML        = "yaml"
)

// key describes one setting. Adding a setting means adding a Config field and
// a row here; Load, the YAML reader and Entries follow the table.
type key struct {
	env     string // environment name; also the KEY_FILE prefix and the credential name
	yaml    string // dotted path in the YAML file; "" for a key only the environment sets
	def     string // default, in env syntax; must be valid (TestLoad checks)
	example string // a good value for error messages when def is empty
	secret  bool   // also read from KEY_FILE and $CREDENTIALS_DIRECTORY; never echoed
	field   field
}

// eg returns a good value to show in error messages.
func (k *key) eg() string {
	if k.example != "" {
		return k.example
	}
	return k.def
}

var keys = []key{
	{env: "ZOOMRECON_DATABASE_URL", yaml: "database_url", def: "sqlite:zoomrecon.db", secret: true,
		field: secretField(func(c *Config) *Secret { return &c.DatabaseURL }, checkDatabaseURL, maskDatabaseURL)},
	{env: "ZOOMRECON_LISTEN_ADDR", yaml: "listen_addr", def: ":8080",
		field: stringField(func(c *Config) *string { return &c.ListenAddr }, parseListenAddr)},
	{env: "ZOOMRECON_METRICS_ADDR", yaml: "metrics_addr", example: ":9090",
		field: stringField(func(c *Config) *string { return &c.MetricsAddr }, parseOptionalListenAddr)},
	{env: "ZOOMRECON_WEBHOOK_PATH", yaml: "webhook_path", def: "/webhooks/zoom",
		field: stringField(func(c *Config) *string { return &c.WebhookPath }, parseWebhookPath)},
	{env: "ZOOMRECON_WEBHOOK_REPLAY_WINDOW", yaml: "webhook_replay_window", def: "24h",
		field: durationField(func(c *Config) *time.Duration { return &c.WebhookReplayWindow })},
	{env: "ZOOMRECON_LOG_LEVEL", yaml: "log_level", def: "info",
		field: stringField(func(c *Config) *string { return &c.LogLevel }, parseLogLevel)},
	{env: "ZOOMRECON_EVENT_RETENTION", yaml: "event_retention", def: "30d",
		field: retentionField(func(c *Config) *time.Duration { return &c.EventRetention })},
	{env: "ZOOMRECON_HISTORY_RETENTION", yaml: "history_retention", def: "400d",
		field: retentionField(func(c *Config) *time.Duration { return &c.HistoryRetention })},
	{env: "ZOOMRECON_WEBSOCKET_ALERT_AFTER", yaml: "websocket_alert_after", def: "5m",
		field: durationField(func(c *Config) *time.Duration { return &c.WebSocketAlertAfter })},

	{env: "ZOOM_ACCOUNT_ID", yaml: "zoom.account_id",
		field: stringField(func(c *Config) *string { return &c.Zoom.AccountID }, anyString)},
	{env: "ZOOM_CLIENT_ID", yaml: "zoom.client_id",
		field: stringField(func(c *Config) *string { return &c.Zoom.ClientID }, anyString)},
	{env: "ZOOM_CLIENT_SECRET", yaml: "zoom.client_secret", secret: true,
		field: secretField(func(c *Config) *Secret { return &c.Zoom.ClientSecret }, anySecret, Secret.String)},
	{env: "ZOOM_WEBHOOK_SECRET_TOKEN", yaml: "zoom.webhook_secret_tokens", secret: true,
		field: secretList(func(c *Config) *[]Secret { return &c.Zoom.WebhookSecretTokens })},
	{env: "ZOOM_WEBSOCKET_SUBSCRIPTION_ID", yaml: "zoom.websocket_subscription_id", example: "AbCdEfGhIjKlMnOpQrStUv",
		field: stringField(func(c *Config) *string { return &c.Zoom.WebSocketSubscriptionID }, parseSubscriptionID)},
	{env: "ZOOM_WEBSOCKET_URL", yaml: "zoom.websocket_url", def: "wss://ws.zoom.us/ws",
		field: stringField(func(c *Config) *string { return &c.Zoom.WebSocketURL }, parseWebSocketURL)},
	{env: "ZOOM_API_BASE_URL", yaml: "zoom.api_base_url", def: "https://api.zoom.us/v2",
		field: stringField(func(c *Config) *string { return &c.Zoom.APIBaseURL }, parseHTTPURL)},
	{env: "ZOOM_OAUTH_TOKEN_URL", yaml: "zoom.oauth_token_url", def: "https://zoom.us/oauth/token",
		field: stringField(func(c *Config) *string { return &c.Zoom.OAuthTokenURL }, parseHTTPURL)},

	{env: "ZOOM_API_RATE_LIMIT", yaml: "zoom.api_rate_limit", def: "10",
		field: binding[float64]{func(c *Config) *float64 { return &c.Zoom.APIRateLimit }, parseRate, formatRate}},
	{env: "ZOOM_API_DAILY_BUDGET", yaml: "zoom.api_daily_budget", def: "10%",
		field: binding[Budget]{func(c *Config) *Budget { return &c.Zoom.APIDailyBudget }, parseBudget, Budget.String}},
	{env: "ZOOM_RESOURCE_INTENSIVE_PER_MINUTE", yaml: "zoom.resource_intensive_per_minute", def: "10",
		field: binding[int]{func(c *Config) *int { return &c.Zoom.ResourceIntensivePerMinute }, parsePerMinute, strconv.Itoa}},
	{env: "ZOOM_MINUTE_LIMIT_WAIT", yaml: "zoom.minute_limit_wait", def: "1m",
		field: durationField(func(c *Config) *time.Duration { return &c.Zoom.MinuteLimitWait })},

	{env: "ZOOMRECON_RECONCILE_INTERVAL", yaml: "reconcile.interval", def: "5m",
		field: durationField(func(c *Config) *time.Duration { return &c.Reconcile.Interval })},
	{env: "ZOOMRECON_RECONCILE_LOOKBACK", yaml: "reconcile.lookback", def: "24h",
		field: durationField(func(c *Config) *time.Duration { return &c.Reconcile.Lookback })},
	{env: "ZOOMRECON_MISSED_GRACE", yaml: "reconcile.missed_grace", def: "15m",
		field: durationField(func(c *Config) *time.Duration { return &c.Reconcile.MissedGrace })},
	{env: "ZOOMRECON_STALE_AFTER", yaml: "reconcile.stale_after", def: "3h",
		field: durationField(func(c *Config) *time.Duration { return &c.Reconcile.StaleAfter })},
	{env: "ZOOMRECON_SILENCE_AFTER", yaml: "reconcile.silence_after", def: "30m",
		field: durationField(func(c *Config) *time.Duration { return &c.Reconcile.SilenceAfter })},
	{env: "ZOOMRECON_ZOOM_RETRY_HORIZON", yaml: "reconcile.zoom_retry_horizon", def: "90m",
		field: durationField(func(c *Config) *time.Duration { return &c.Reconcile.ZoomRetryHorizon })},
	{env: "ZOOMRECON_HOST_CAUSE_MIN_MEETINGS", yaml: "reconcile.host_cause_min_meetings", def: "3",
		field: binding[int]{func(c *Config) *int { return &c.Reconcile.HostCauseMinMeetings }, parseMinMeetings, strconv.Itoa}},
	{env: "ZOOMRECON_HOST_CAUSE_WINDOW", yaml: "reconcile.host_cause_window", def: "24h",
		field: durationField(func(c *Config) *time.Duration { return &c.Reconcile.HostCauseWindow })},

	{env: "SLACK_WEBHOOK_URL", yaml: "slack.webhook_url", example: "https://hooks.slack.com/services/T000/B000/XXXX", secret: true,
		field: secretField(func(c *Config) *Secret { return &c.Slack.WebhookURL }, checkSlackWebhookURL, Secret.String)},
	{env: "SLACK_BOT_TOKEN", yaml: "slack.bot_token", secret: true,
		field: secretField(func(c *Config) *Secret { return &c.Slack.BotToken }, anySecret, Secret.String)},
	{env: "SLACK_CHANNEL", yaml: "slack.channel",
		field: stringField(func(c *Config) *string { return &c.Slack.Channel }, anyString)},
	{env: "SLACK_API_URL", yaml: "slack.api_url", def: "https://slack.com/api/",
		field: stringField(func(c *Config) *string { return &c.Slack.APIURL }, parseHTTPURL)},

	// The env form of one destination, named "default". They have no YAML
	// key: in the file, the forward list holds every destination.
	{env: forwardURLKey, example: forwardURLExample, field: forwardURLField},
	{env: forwardSecretKey, secret: true, field: forwardSecretField},
	{env: forwardEventsKey, example: "meeting.*,webinar.ended", field: forwardEventsField},
	{env: "ZOOMRECON_FORWARD_GIVE_UP_AFTER", yaml: "forward_give_up_after", def: "72h",
		field: durationField(func(c *Config) *time.Duration { return &c.ForwardGiveUpAfter })},
	{env: "ZOOMRECON_FORWARD_TIMEOUT", yaml: "forward_timeout", def: "10s",
		field: durationField(func(c *Config) *time.Duration { return &c.ForwardTimeout })},
}

// field stores a key's text into its Config field and shows it back.
type field interface {
	// set parses s (never empty) into c. Its error is the message after
	// "KEY: " and must not contain s if the key is secret.
	set(c *Config, s, eg string) error
	// show formats the field for Entries, redacting secrets.
	show(c *Config) string
}

// listField is a field that also takes a YAML sequence.
type listField interface {
	field
	setList(c *Config, items []string) error
}

// binding is a field of type T with its parser and printer.
type binding[T any] struct {
	ptr   func(*Config) *T
	parse func(s, eg string) (T, error)
	print func(T) string
}

func (b binding[T]) set(c *Config, s, eg string) error {
	v, err := b.parse(s, eg)
	if err != nil {
		return err
	}
	*b.ptr(c) = v
	return nil
}

func (b binding[T]) show(c *Config) string { return b.print(*b.ptr(c)) }

func stringField(ptr func(*Config) *string, parse func(s, eg string) (string, error)) field {
	return binding[string]{ptr, parse, func(s string) string { return s }}
}

// secretField makes a Secret field. check must not echo the value.
func secretField(ptr func(*Config) *Secret, check func(s, eg string) error, print func(Secret) string) field {
	parse := func(s, eg string) (Secret, error) { return Secret(s), check(s, eg) }
	return binding[Secret]{ptr, parse, print}
}

func durationField(ptr func(*Config) *time.Duration) field {
	return binding[time.Duration]{ptr, parseDuration, formatDuration}
}

// retentionField is a duration that also takes "forever" (or 0), stored as 0.
func retentionField(ptr func(*Config) *time.Duration) field {
	return binding[time.Duration]{ptr, parseRetention, formatRetention}
}

// secretList is a []Secret field. From the environment (or a single YAML
// string) it takes comma-separated items, so tokens can be rotated in one
// variable.
type secretList func(*Config) *[]Secret

func (p secretList) set(c *Config, s, _ string) error { return p.setList(c, strings.Split(s, ",")) }

func (p secretList) setList(c *Config, items []string) error {
	var out []Secret
	for _, it := range items {
		if it = strings.TrimSpace(it); it != "" {
			out = append(out, Secret(it))
		}
	}
	*p(c) = out
	return nil
}

func (p secretList) show(c *Config) string {
	shown := make([]string, len(*p(c)))
	for i, s := range *p(c) {
		shown[i] = s.String()
	}
	return strings.Join(shown, ",")
}

// formatDuration prints d the way it would be written: 5m rather than 5m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// formatRetention prints a retention as written: whole days as 30d, and 0 as
// forever.
func formatRetention(d time.Duration) string {
	switch {
	case d == 0:
		return "forever"
	case d%(24*time.Hour) == 0:
		return strconv.FormatInt(int64(d/(24*time.Hour)), 10) + "d"
	default:
		return formatDuration(d)
	}
}

// maskDatabaseURL shows a database URL with any password replaced by xxxxx.
func maskDatabaseURL(s Secret) string {
	v := s.Reveal()
	if v == "" || strings.HasPrefix(v, "sqlite:") {
		return v
	}
	u, err := url.Parse(v)
	if err != nil {
		return s.String() // cannot tell where a password would be; hide it all
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}
