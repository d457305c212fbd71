package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// testBundle is a temp dir for a YAML file and secret files, and an
// environment whose values may say $DIR for that dir.
type testBundle struct {
	dir string
	env map[string]string
}

func setup(t *testing.T, files map[string]string, env map[string]string) *testBundle {
	t.Helper()
	b := &testBundle{dir: t.TempDir(), env: map[string]string{}}
	for name, content := range files {
		name = filepath.Join(b.dir, name)
		if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for k, v := range env {
		b.env[k] = strings.ReplaceAll(v, "$DIR", b.dir)
	}
	return b
}

func (b *testBundle) lookup(key string) (string, bool) {
	v, ok := b.env[key]
	return v, ok
}

// load loads config.yaml from the bundle's dir when that file exists.
func (b *testBundle) load() (*Config, error) {
	path := filepath.Join(b.dir, "config.yaml")
	if _, err := os.Stat(path); err != nil {
		path = ""
	}
	return Load(path, b.lookup)
}

func defaults() Config {
	return Config{
		DatabaseURL:         "sqlite:zoomrecon.db",
		ListenAddr:          ":8080",
		WebhookPath:         "/webhooks/zoom",
		WebhookReplayWindow: 24 * time.Hour,
		LogLevel:            "info",
		EventRetention:      30 * 24 * time.Hour,
		HistoryRetention:    400 * 24 * time.Hour,
		WebSocketAlertAfter: 5 * time.Minute,
		Zoom: ZoomConfig{
			WebSocketURL:   "wss://ws.zoom.us/ws",
			APIBaseURL:     "https://api.zoom.us/v2",
			OAuthTokenURL:  "https://zoom.us/oauth/token",
			APIRateLimit:   10,
			APIDailyBudget: Budget{Share: 0.1},
			// Half of Business's 20 a minute; Zoom's minute (§10).
			ResourceIntensivePerMinute: 10,
			MinuteLimitWait:            time.Minute,
		},
		Reconcile: ReconcileConfig{
			Interval:             5 * time.Minute,
			Lookback:             24 * time.Hour,
			MissedGrace:          15 * time.Minute,
			StaleAfter:           3 * time.Hour,
			SilenceAfter:         30 * time.Minute,
			ZoomRetryHorizon:     90 * time.Minute,
			HostCauseMinMeetings: 3,
			HostCauseWindow:      24 * time.Hour,
		},
		Slack:              SlackConfig{APIURL: "https://slack.com/api/"},
		ForwardGiveUpAfter: 72 * time.Hour,
		ForwardTimeout:     10 * time.Second,
	}
}

// plain returns c without what Load records for Entries, to compare it.
func plain(c Config) Config {
	c.sources, c.forwardSources = nil, nil
	return c
}

// revealed prints c with its secrets, for failure messages only.
func revealed(c Config) string {
	tokens := make([]string, len(c.Zoom.WebhookSecretTokens))
	for i, s := range c.Zoom.WebhookSecretTokens {
		tokens[i] = s.Reveal()
	}
	forward := make([]string, len(c.Forward))
	for i, d := range c.Forward {
		forward[i] = fmt.Sprintf("{%q %q %q %q}", d.Name, d.URL, d.SecretToken.Reveal(), d.Events)
	}
	return fmt.Sprintf("db=%q listen=%q path=%q log=%q ws_alert=%s zoom={%q %q %q %q %q %q %q %q} reconcile=%+v slack={%q %q %q %q} forward=%v give_up=%s timeout=%s",
		c.DatabaseURL.Reveal(), c.ListenAddr, c.WebhookPath, c.LogLevel, c.WebSocketAlertAfter,
		c.Zoom.AccountID, c.Zoom.ClientID, c.Zoom.ClientSecret.Reveal(), tokens,
		c.Zoom.WebSocketSubscriptionID, c.Zoom.WebSocketURL, c.Zoom.APIBaseURL, c.Zoom.OAuthTokenURL,
		c.Reconcile, c.Slack.WebhookURL.Reveal(), c.Slack.BotToken.Reveal(), c.Slack.Channel, c.Slack.APIURL,
		forward, c.ForwardGiveUpAfter, c.ForwardTimeout)
}

func TestLoad(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		files   map[string]string // in the bundle's dir; config.yaml is the YAML file
		env     map[string]string
		want    func(c *Config)   // edits the defaults into the expected Config
		sources map[string]string // env name → expected Entry.Source
	}{
		{
			name:    "DefaultsWithoutFileOrEnv",
			want:    func(*Config) {},
			sources: map[string]string{"ZOOMRECON_LISTEN_ADDR": "default", "SLACK_BOT_TOKEN": "default"},
		},
		{
			name:  "EmptyYAMLFile",
			files: map[string]string{"config.yaml": ""},
			want:  func(*Config) {},
		},
		{
			name: "YAMLNestedKeys",
			files: map[string]string{"config.yaml": `
database_url: postgres://zr@db:5432/zr
listen_addr: 127.0.0.1:9000
webhook_path: /zoom
log_level: DEBUG
zoom:
  account_id: acct
  client_id: cid
  client_secret: csecret
  webhook_secret_tokens: [tok1, tok2]
  api_base_url: http://localhost:1234/v2
reconcile:
  interval: 1m
  lookback: 2d
  missed_grace: 90s
slack:
  bot_token: xoxb-1
  channel: "#alerts"
`},
			want: func(c *Config) {
				c.DatabaseURL = "postgres://zr@db:5432/zr"
				c.ListenAddr = "127.0.0.1:9000"
				c.WebhookPath = "/zoom"
				c.LogLevel = "debug"
				c.Zoom.AccountID, c.Zoom.ClientID, c.Zoom.ClientSecret = "acct", "cid", "csecret"
				c.Zoom.WebhookSecretTokens = []Secret{"tok1", "tok2"}
				c.Zoom.APIBaseURL = "http://localhost:1234/v2"
				c.Reconcile.Interval = time.Minute
				c.Reconcile.Lookback = 48 * time.Hour
				c.Reconcile.MissedGrace = 90 * time.Second
				c.Slack.BotToken, c.Slack.Channel = "xoxb-1", "#alerts"
			},
			sources: map[string]string{"ZOOM_CLIENT_ID": "yaml", "ZOOMRECON_STALE_AFTER": "default"},
		},
		{
			name:  "YAMLSingleTokenString",
			files: map[string]string{"config.yaml": "zoom:\n  webhook_secret_tokens: tok1\n"},
			want:  func(c *Config) { c.Zoom.WebhookSecretTokens = []Secret{"tok1"} },
		},
		{
			name:  "YAMLNullAndEmptyCountAsUnset",
			files: map[string]string{"config.yaml": "listen_addr:\nlog_level: \"\"\nzoom:\nslack: {}\n"},
			want:  func(*Config) {},
		},
		{
			name:  "EnvOverridesYAML",
			files: map[string]string{"config.yaml": "listen_addr: \":9000\"\nslack:\n  channel: \"#yaml\"\n  bot_token: yaml-token\n"},
			env:   map[string]string{"ZOOMRECON_LISTEN_ADDR": ":9100", "SLACK_BOT_TOKEN": "env-token"},
			want: func(c *Config) {
				c.ListenAddr = ":9100"
				c.Slack.Channel, c.Slack.BotToken = "#yaml", "env-token"
			},
			sources: map[string]string{"ZOOMRECON_LISTEN_ADDR": "env", "SLACK_BOT_TOKEN": "env", "SLACK_CHANNEL": "yaml"},
		},
		{
			name: "EmptyEnvCountsAsUnset",
			env:  map[string]string{"ZOOMRECON_RECONCILE_INTERVAL": "", "ZOOM_CLIENT_SECRET": "", "ZOOM_CLIENT_SECRET_FILE": ""},
			want: func(*Config) {},
		},
		{
			name:    "SecretFromEnvFileTrimsTrailingNewline",
			files:   map[string]string{"secret": "from-file\n\n"},
			env:     map[string]string{"SLACK_BOT_TOKEN_FILE": "$DIR/secret", "SLACK_CHANNEL": "C0123456789"},
			want:    func(c *Config) { c.Slack.BotToken, c.Slack.Channel = "from-file", "C0123456789" },
			sources: map[string]string{"SLACK_BOT_TOKEN": "env file"},
		},
		{
			name: "SecretsFromCredentialsDirectory",
			files: map[string]string{
				"ZOOM_WEBHOOK_SECRET_TOKEN": "new, old\n",
				"ZOOMRECON_DATABASE_URL":    "postgres://zr:pw@db/zr\n",
			},
			env: map[string]string{"CREDENTIALS_DIRECTORY": "$DIR"},
			want: func(c *Config) {
				c.Zoom.WebhookSecretTokens = []Secret{"new", "old"}
				c.DatabaseURL = "postgres://zr:pw@db/zr"
			},
			sources: map[string]string{"ZOOM_WEBHOOK_SECRET_TOKEN": "credentials", "ZOOM_CLIENT_SECRET": "default"},
		},
		{
			name: "CommaSeparatedTokensDropEmpties",
			env:  map[string]string{"ZOOM_WEBHOOK_SECRET_TOKEN": " new ,, old,"},
			want: func(c *Config) { c.Zoom.WebhookSecretTokens = []Secret{"new", "old"} },
		},
		{
			name: "BudgetInCalls",
			env:  map[string]string{"ZOOM_API_DAILY_BUDGET": "3000"},
			want: func(c *Config) { c.Zoom.APIDailyBudget = Budget{Calls: 3000} },
		},
		{
			name: "BudgetAsAShare",
			env:  map[string]string{"ZOOM_API_DAILY_BUDGET": "2.5%"},
			want: func(c *Config) { c.Zoom.APIDailyBudget = Budget{Share: 0.025} },
		},
		{
			name: "DurationsInDays",
			env:  map[string]string{"ZOOMRECON_RECONCILE_LOOKBACK": "7d", "ZOOMRECON_STALE_AFTER": "1h30m"},
			want: func(c *Config) {
				c.Reconcile.Lookback = 7 * 24 * time.Hour
				c.Reconcile.StaleAfter = 90 * time.Minute
			},
		},
		{
			name: "RetentionInHoursAndForever",
			env:  map[string]string{"ZOOMRECON_EVENT_RETENTION": "720h", "ZOOMRECON_HISTORY_RETENTION": "forever"},
			want: func(c *Config) { c.EventRetention, c.HistoryRetention = 720*time.Hour, 0 },
		},
		{
			name: "EventRetentionEqualToReplayWindow",
			env:  map[string]string{"ZOOMRECON_EVENT_RETENTION": "1d", "ZOOMRECON_HISTORY_RETENTION": "0"},
			want: func(c *Config) { c.EventRetention, c.HistoryRetention = 24*time.Hour, 0 },
		},
		{
			name: "WebSocketOnly",
			env: map[string]string{"ZOOM_WEBSOCKET_SUBSCRIPTION_ID": "AbC-d_1", "ZOOM_WEBSOCKET_URL": "ws://127.0.0.1:9/ws",
				"ZOOMRECON_WEBSOCKET_ALERT_AFTER": "90s", "ZOOM_ACCOUNT_ID": "a", "ZOOM_CLIENT_ID": "c", "ZOOM_CLIENT_SECRET": "s"},
			want: func(c *Config) {
				c.Zoom.WebSocketSubscriptionID, c.Zoom.WebSocketURL, c.WebSocketAlertAfter = "AbC-d_1", "ws://127.0.0.1:9/ws", 90*time.Second
				c.Zoom.AccountID, c.Zoom.ClientID, c.Zoom.ClientSecret = "a", "c", "s"
			},
		},
		{
			// Zoom shows the whole URL; the ID is what zoomrecon keeps.
			name: "WebSocketSubscriptionFromZoomsURL",
			env: map[string]string{"ZOOM_WEBSOCKET_SUBSCRIPTION_ID": "wss://ws.zoom.us/ws?subscriptionId=XyZ123",
				"ZOOM_ACCOUNT_ID": "a", "ZOOM_CLIENT_ID": "c", "ZOOM_CLIENT_SECRET": "s"},
			want: func(c *Config) {
				c.Zoom.WebSocketSubscriptionID = "XyZ123"
				c.Zoom.AccountID, c.Zoom.ClientID, c.Zoom.ClientSecret = "a", "c", "s"
			},
		},
		{
			name: "SlackWebhook",
			env:  map[string]string{"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T1/B1/abc"},
			want: func(c *Config) { c.Slack.WebhookURL = "https://hooks.slack.com/services/T1/B1/abc" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, tt.files, tt.env)
			got, err := b.load()
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := defaults()
			tt.want(&want)
			gotPlain := plain(*got)
			if !reflect.DeepEqual(gotPlain, want) {
				t.Errorf("Load:\n got %s\nwant %s", revealed(gotPlain), revealed(want))
			}
			for key, wantSrc := range tt.sources {
				if src := got.sources[key]; src != wantSrc {
					t.Errorf("source of %s: got %q, want %q", key, src, wantSrc)
				}
			}
		})
	}
}

func TestLoadSecretPrecedence(t *testing.T) {
	t.Parallel()

	// Each case offers ZOOMRECON_DATABASE_URL from the sources listed; the
	// highest one must win.
	tests := []struct {
		name       string
		sources    []string
		wantValue  string
		wantSource string
	}{
		{"EnvBeatsCredentialsAndYAML", []string{"env", "credentials", "yaml"}, "sqlite:env.db", "env"},
		{"EnvFileBeatsCredentials", []string{"file", "credentials", "yaml"}, "sqlite:file.db", "env file"},
		{"CredentialsBeatYAML", []string{"credentials", "yaml"}, "sqlite:credentials.db", "credentials"},
		{"YAMLBeatsDefault", []string{"yaml"}, "sqlite:yaml.db", "yaml"},
		{"DefaultLast", nil, "sqlite:zoomrecon.db", "default"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			files := map[string]string{}
			env := map[string]string{}
			for _, src := range tt.sources {
				switch src {
				case "env":
					env["ZOOMRECON_DATABASE_URL"] = "sqlite:env.db"
				case "file":
					files["db_url"] = "sqlite:file.db\n"
					env["ZOOMRECON_DATABASE_URL_FILE"] = "$DIR/db_url"
				case "credentials":
					files["ZOOMRECON_DATABASE_URL"] = "sqlite:credentials.db"
					env["CREDENTIALS_DIRECTORY"] = "$DIR"
				case "yaml":
					files["config.yaml"] = "database_url: sqlite:yaml.db\n"
				}
			}
			got, err := setup(t, files, env).load()
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if v := got.DatabaseURL.Reveal(); v != tt.wantValue {
				t.Errorf("DatabaseURL: got %q, want %q", v, tt.wantValue)
			}
			if src := got.sources["ZOOMRECON_DATABASE_URL"]; src != tt.wantSource {
				t.Errorf("source: got %q, want %q", src, tt.wantSource)
			}
		})
	}
}

func TestLoadProblems(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name  string
		files map[string]string
		env   map[string]string
		want  []string // lines of the error; $DIR is the bundle's dir
	}{
		{
			name: "UnknownDatabaseScheme",
			env:  map[string]string{"ZOOMRECON_DATABASE_URL": "mysql://zr:pw@db/zr"},
			want: []string{`ZOOMRECON_DATABASE_URL: unknown scheme "mysql"; use sqlite:PATH (e.g. sqlite:zoomrecon.db) or postgres://USER@HOST:5432/DB`},
		},
		{
			name: "DatabaseWithoutScheme",
			env:  map[string]string{"ZOOMRECON_DATABASE_URL": "//zr:pw@db/zr"},
			want: []string{`ZOOMRECON_DATABASE_URL: has no scheme; use sqlite:PATH (e.g. sqlite:zoomrecon.db) or postgres://USER@HOST:5432/DB`},
		},
		{
			name: "SQLiteWithoutPath",
			env:  map[string]string{"ZOOMRECON_DATABASE_URL": "sqlite:"},
			want: []string{`ZOOMRECON_DATABASE_URL: "sqlite:" needs a path; use sqlite:PATH (e.g. sqlite:zoomrecon.db) or postgres://USER@HOST:5432/DB`},
		},
		{
			name: "PostgresWithoutSlashes",
			env:  map[string]string{"ZOOMRECON_DATABASE_URL": "postgres:zr:pw@db"},
			want: []string{`ZOOMRECON_DATABASE_URL: is not a valid postgres URL; use sqlite:PATH (e.g. sqlite:zoomrecon.db) or postgres://USER@HOST:5432/DB`},
		},
		{
			name: "WebSocketWithoutCredentials",
			env:  map[string]string{"ZOOM_WEBSOCKET_SUBSCRIPTION_ID": "abc"},
			want: []string{`ZOOM_WEBSOCKET_SUBSCRIPTION_ID: needs ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET: ` +
				`Zoom opens the WebSocket only with the Server-to-Server OAuth app's access token; set them to the credentials of the app that owns the subscription`},
		},
		{
			name: "WebSocketBadSubscriptionAndURL",
			env: map[string]string{"ZOOM_WEBSOCKET_SUBSCRIPTION_ID": "a b", "ZOOM_WEBSOCKET_URL": "https://ws.zoom.us/ws",
				"ZOOM_ACCOUNT_ID": "a", "ZOOM_CLIENT_ID": "c", "ZOOM_CLIENT_SECRET": "s"},
			want: []string{
				`ZOOM_WEBSOCKET_SUBSCRIPTION_ID: "a b" must be the subscriptionId Zoom shows in the event subscription's WebSocket URL, e.g. AbCdEfGhIjKlMnOpQrStUv`,
				`ZOOM_WEBSOCKET_URL: "https://ws.zoom.us/ws" must be an absolute wss:// URL, e.g. wss://ws.zoom.us/ws`,
			},
		},
		{
			name: "WebSocketURLWithQuery",
			env:  map[string]string{"ZOOM_WEBSOCKET_URL": "wss://ws.zoom.us/ws?subscriptionId=x"},
			want: []string{`ZOOM_WEBSOCKET_URL: "wss://ws.zoom.us/ws?subscriptionId=x" must have no query: zoomrecon adds subscriptionId and access_token itself; use e.g. wss://ws.zoom.us/ws`},
		},
		{
			name: "MalformedDuration",
			env:  map[string]string{"ZOOMRECON_RECONCILE_INTERVAL": "5 minutes"},
			want: []string{`ZOOMRECON_RECONCILE_INTERVAL: "5 minutes" must be a positive duration, e.g. 5m`},
		},
		{
			name: "ZeroInterval",
			env:  map[string]string{"ZOOMRECON_RECONCILE_INTERVAL": "0s"},
			want: []string{`ZOOMRECON_RECONCILE_INTERVAL: "0s" must be a positive duration, e.g. 5m`},
		},
		{
			name: "NegativeDays",
			env:  map[string]string{"ZOOMRECON_RECONCILE_LOOKBACK": "-1d"},
			want: []string{`ZOOMRECON_RECONCILE_LOOKBACK: "-1d" must be a positive duration, e.g. 24h`},
		},
		{
			name: "RateLimitNotANumber",
			env:  map[string]string{"ZOOM_API_RATE_LIMIT": "fast"},
			want: []string{`ZOOM_API_RATE_LIMIT: "fast" must be a positive number of requests per second, e.g. 10`},
		},
		{
			name: "HostCauseOfOneMeeting",
			env:  map[string]string{"ZOOMRECON_HOST_CAUSE_MIN_MEETINGS": "1"},
			want: []string{`ZOOMRECON_HOST_CAUSE_MIN_MEETINGS: "1" must be a whole number of meetings, 2 or more, e.g. 3`},
		},
		{
			name: "FractionalDays",
			env:  map[string]string{"ZOOMRECON_SILENCE_AFTER": "1.5d"},
			want: []string{`ZOOMRECON_SILENCE_AFTER: "1.5d" must be a positive duration, e.g. 30m`},
		},
		{
			name: "ReplayWindowShorterThanZoomRetries",
			env:  map[string]string{"ZOOMRECON_WEBHOOK_REPLAY_WINDOW": "5m"},
			want: []string{`ZOOMRECON_WEBHOOK_REPLAY_WINDOW: "5m" is shorter than ZOOMRECON_ZOOM_RETRY_HORIZON (1h30m): ` +
				`Zoom's retries may carry their first attempt's timestamp, and refusing one loses that event for good; use at least 1h30m, e.g. 24h`},
		},
		{
			name: "EventRetentionShorterThanReplayWindow",
			env:  map[string]string{"ZOOMRECON_EVENT_RETENTION": "12h"},
			want: []string{`ZOOMRECON_EVENT_RETENTION: "12h" is shorter than ZOOMRECON_WEBHOOK_REPLAY_WINDOW (24h): ` +
				`stored events are what deduplication remembers, and it must remember at least the replay window ` +
				`or a replayed delivery counts as new; use at least 24h, e.g. 30d`},
		},
		{
			name: "EventRetentionNotADuration",
			env:  map[string]string{"ZOOMRECON_EVENT_RETENTION": "a month"},
			want: []string{`ZOOMRECON_EVENT_RETENTION: "a month" must be a positive duration such as 720h or 30d, or forever`},
		},
		{
			name: "HistoryRetentionNegative",
			env:  map[string]string{"ZOOMRECON_HISTORY_RETENTION": "-1h"},
			want: []string{`ZOOMRECON_HISTORY_RETENTION: "-1h" must be a positive duration such as 720h or 400d, or forever`},
		},
		{
			name: "BudgetNeitherCallsNorShare",
			env:  map[string]string{"ZOOM_API_DAILY_BUDGET": "lots"},
			want: []string{`ZOOM_API_DAILY_BUDGET: "lots" must be a number of calls a day or a percentage of the plan's daily quota, e.g. 10% or 3000`},
		},
		{
			name: "BudgetOverAHundredPercent",
			env:  map[string]string{"ZOOM_API_DAILY_BUDGET": "150%"},
			want: []string{`ZOOM_API_DAILY_BUDGET: "150%" must be a number of calls a day or a percentage of the plan's daily quota, e.g. 10% or 3000`},
		},
		{
			name: "OverflowingDays",
			env:  map[string]string{"ZOOMRECON_MISSED_GRACE": "999999999d"},
			want: []string{`ZOOMRECON_MISSED_GRACE: "999999999d" must be a positive duration, e.g. 15m`},
		},
		{
			name:  "BadDurationFromYAMLNamesBothKeys",
			files: map[string]string{"config.yaml": "reconcile:\n  stale_after: 0\n"},
			want:  []string{`ZOOMRECON_STALE_AFTER (yaml reconcile.stale_after): "0" must be a positive duration, e.g. 3h`},
		},
		{
			name: "ListenAddrWithoutPort",
			env:  map[string]string{"ZOOMRECON_LISTEN_ADDR": "8080"},
			want: []string{`ZOOMRECON_LISTEN_ADDR: "8080" must be host:port with a numeric port, e.g. :8080 or 127.0.0.1:8080`},
		},
		{
			name: "ListenAddrNamedPort",
			env:  map[string]string{"ZOOMRECON_LISTEN_ADDR": "localhost:http"},
			want: []string{`ZOOMRECON_LISTEN_ADDR: "localhost:http" must be host:port with a numeric port, e.g. :8080 or 127.0.0.1:8080`},
		},
		{
			name: "MetricsAddrWithoutPort",
			env:  map[string]string{"ZOOMRECON_METRICS_ADDR": "localhost"},
			want: []string{`ZOOMRECON_METRICS_ADDR: "localhost" must be host:port with a numeric port, e.g. :9090 or 127.0.0.1:9090`},
		},
		{
			name: "WebhookPathWithoutSlash",
			env:  map[string]string{"ZOOMRECON_WEBHOOK_PATH": "webhooks/zoom"},
			want: []string{`ZOOMRECON_WEBHOOK_PATH: "webhooks/zoom" must be a URL path starting with /, e.g. /webhooks/zoom`},
		},
		{
			name: "UnknownLogLevel",
			env:  map[string]string{"ZOOMRECON_LOG_LEVEL": "verbose"},
			want: []string{`ZOOMRECON_LOG_LEVEL: "verbose" must be one of debug, info, warn, error, e.g. info`},
		},
		{
			name: "RelativeAPIURL",
			env:  map[string]string{"ZOOM_API_BASE_URL": "api.zoom.us/v2"},
			want: []string{`ZOOM_API_BASE_URL: "api.zoom.us/v2" must be an absolute http(s) URL, e.g. https://api.zoom.us/v2`},
		},
		{
			name: "NonHTTPURLHidesPassword",
			env:  map[string]string{"SLACK_API_URL": "ftp://me:pw@slack.com/api/"},
			want: []string{`SLACK_API_URL: "ftp://me:xxxxx@slack.com/api/" must be an absolute http(s) URL, e.g. https://slack.com/api/`},
		},
		{
			name: "SlackWebhookNotHTTPS",
			env:  map[string]string{"SLACK_WEBHOOK_URL": "http://hooks.slack.com/services/T1/B1/x"},
			want: []string{`SLACK_WEBHOOK_URL: must be an absolute https URL, e.g. https://hooks.slack.com/services/T000/B000/XXXX`},
		},
		{
			name: "BotTokenWithoutChannel",
			env:  map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"},
			want: []string{`SLACK_CHANNEL: required when SLACK_BOT_TOKEN is set, e.g. #zoom-alerts or C0123456789`},
		},
		{
			name: "ChannelWithoutBotToken",
			env:  map[string]string{"SLACK_CHANNEL": "#zoom-alerts"},
			want: []string{`SLACK_CHANNEL: is only used with SLACK_BOT_TOKEN; set SLACK_BOT_TOKEN (e.g. xoxb-...) or unset SLACK_CHANNEL`},
		},
		{
			name: "SlackWebhookAndBotToken",
			env: map[string]string{
				"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T1/B1/x",
				"SLACK_BOT_TOKEN":   "xoxb-1",
				"SLACK_CHANNEL":     "C1",
			},
			want: []string{`SLACK_WEBHOOK_URL: set either SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN (with SLACK_CHANNEL), not both`},
		},
		{
			name: "PartialZoomCredentials",
			env:  map[string]string{"ZOOM_ACCOUNT_ID": "acct"},
			want: []string{
				`ZOOM_CLIENT_ID: required when ZOOM_ACCOUNT_ID is set; set all of ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, or none to run without the Zoom API`,
				`ZOOM_CLIENT_SECRET: required when ZOOM_ACCOUNT_ID is set; set all of ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, or none to run without the Zoom API`,
			},
		},
		{
			name: "ZoomClientIDMissing",
			env:  map[string]string{"ZOOM_ACCOUNT_ID": "acct", "ZOOM_CLIENT_SECRET": "s"},
			want: []string{
				`ZOOM_CLIENT_ID: required when ZOOM_ACCOUNT_ID and ZOOM_CLIENT_SECRET are set; set all of ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, or none to run without the Zoom API`,
			},
		},
		{
			name:  "KeyAndKeyFileBothSet",
			files: map[string]string{"secret": "s"},
			env:   map[string]string{"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_BOT_TOKEN_FILE": "$DIR/secret", "SLACK_CHANNEL": "C1"},
			want:  []string{`SLACK_BOT_TOKEN: set either SLACK_BOT_TOKEN or SLACK_BOT_TOKEN_FILE, not both`},
		},
		{
			name: "UnreadableKeyFile",
			env:  map[string]string{"ZOOMRECON_DATABASE_URL_FILE": "$DIR/missing"},
			want: []string{`ZOOMRECON_DATABASE_URL_FILE: cannot read "$DIR/missing": no such file or directory`},
		},
		{
			name:  "UnreadableCredential",
			files: map[string]string{"ZOOM_CLIENT_SECRET/oops": ""},
			env:   map[string]string{"CREDENTIALS_DIRECTORY": "$DIR"},
			want:  []string{`ZOOM_CLIENT_SECRET: cannot read credential "$DIR/ZOOM_CLIENT_SECRET": is a directory`},
		},
		{
			name:  "UnknownYAMLKey",
			files: map[string]string{"config.yaml": "zoom:\n  account_id: a\n  acount_id: b\n"},
			env:   map[string]string{"ZOOM_CLIENT_ID": "c", "ZOOM_CLIENT_SECRET": "s"},
			want:  []string{`$DIR/config.yaml: line 3: unknown key "zoom.acount_id"; known keys under zoom: account_id, client_id, client_secret, webhook_secret_tokens, websocket_subscription_id, websocket_url, api_base_url, oauth_token_url, api_rate_limit, api_daily_budget, resource_intensive_per_minute, minute_limit_wait`},
		},
		{
			name:  "UnknownTopLevelYAMLKey",
			files: map[string]string{"config.yaml": "listen: :8080\n"},
			want:  []string{`$DIR/config.yaml: line 1: unknown key "listen"; known keys: database_url, listen_addr, metrics_addr, webhook_path, webhook_replay_window, log_level, event_retention, history_retention, websocket_alert_after, zoom, reconcile, slack, forward, forward_give_up_after, forward_timeout`},
		},
		{
			name:  "DuplicateYAMLKey",
			files: map[string]string{"config.yaml": "log_level: info\nlog_level: debug\n"},
			want:  []string{`$DIR/config.yaml: line 2: key "log_level" appears twice`},
		},
		{
			name:  "YAMLSectionNotAMapping",
			files: map[string]string{"config.yaml": "reconcile: 5m\n"},
			want:  []string{`$DIR/config.yaml: line 1: reconcile must be a mapping of keys: interval, lookback, missed_grace, stale_after, silence_after, zoom_retry_horizon, host_cause_min_meetings, host_cause_window`},
		},
		{
			name:  "YAMLListForSingleValue",
			files: map[string]string{"config.yaml": "listen_addr: [\":1\", \":2\"]\n"},
			want:  []string{`ZOOMRECON_LISTEN_ADDR (yaml listen_addr): line 1: must be a single value, e.g. :8080`},
		},
		{
			name:  "YAMLNotAMapping",
			files: map[string]string{"config.yaml": "- a\n"},
			want:  []string{`$DIR/config.yaml: line 1: must be a mapping of keys, e.g. listen_addr: ":8080"`},
		},
		{
			name:  "YAMLSyntaxErrorStopsThere",
			files: map[string]string{"config.yaml": "zoom:\n  account_id: [\n"},
			env:   map[string]string{"ZOOMRECON_LOG_LEVEL": "loud"},
			want:  []string{`$DIR/config.yaml: yaml: line 2: did not find expected node content`},
		},
		{
			name: "SeveralProblemsTogether",
			files: map[string]string{"config.yaml": `
log_level: loud
zoom:
  client_id: c
slak:
  channel: x
`},
			env: map[string]string{
				"ZOOMRECON_RECONCILE_INTERVAL": "0s",
				"ZOOMRECON_DATABASE_URL":       "mysql://zr:pw@db/zr",
				"SLACK_BOT_TOKEN":              "xoxb-1",
			},
			want: []string{
				`$DIR/config.yaml: line 5: unknown key "slak"; known keys: database_url, listen_addr, metrics_addr, webhook_path, webhook_replay_window, log_level, event_retention, history_retention, websocket_alert_after, zoom, reconcile, slack, forward, forward_give_up_after, forward_timeout`,
				`ZOOMRECON_DATABASE_URL: unknown scheme "mysql"; use sqlite:PATH (e.g. sqlite:zoomrecon.db) or postgres://USER@HOST:5432/DB`,
				`ZOOMRECON_LOG_LEVEL (yaml log_level): "loud" must be one of debug, info, warn, error, e.g. info`,
				`ZOOMRECON_RECONCILE_INTERVAL: "0s" must be a positive duration, e.g. 5m`,
				`ZOOM_ACCOUNT_ID: required when ZOOM_CLIENT_ID is set; set all of ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, or none to run without the Zoom API`,
				`ZOOM_CLIENT_SECRET: required when ZOOM_CLIENT_ID is set; set all of ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, or none to run without the Zoom API`,
				`SLACK_CHANNEL: required when SLACK_BOT_TOKEN is set, e.g. #zoom-alerts or C0123456789`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := requireRefused(t, tt.files, tt.env, tt.want)
			if _, ok := errors.AsType[Problem](err); !ok {
				t.Errorf("errors.As(err, Problem): got false, want true")
			}
		})
	}
}

// requireRefused loads files and env and wants Load to refuse them with a
// *ValidationError of exactly the problems want, in order ($DIR in them is
// the config directory). It returns the error.
func requireRefused(t *testing.T, files, env map[string]string, want []string) error {
	t.Helper()
	b := setup(t, files, env)
	got, err := b.load()
	if err == nil {
		t.Fatalf("Load: got %s, want error", revealed(*got))
	}
	joined := strings.ReplaceAll(strings.Join(want, "\n"), "$DIR", b.dir)
	if err.Error() != joined {
		t.Errorf("Load error:\n got %s\nwant %s", err, joined)
	}
	verr, ok := errors.AsType[*ValidationError](err)
	if !ok {
		t.Fatalf("Load error: got %T, want *ValidationError", err)
	}
	if len(verr.Problems) != len(want) {
		t.Errorf("Problems: got %d, want %d", len(verr.Problems), len(want))
	}
	return err
}

func TestLoadMissingYAMLFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nope.yaml")
	_, err := Load(path, func(string) (string, bool) { return "", false })
	want := path + ": cannot read config file: no such file or directory"
	if err == nil || err.Error() != want {
		t.Errorf("Load error:\n got %v\nwant %s", err, want)
	}
}

func TestEntries(t *testing.T) {
	t.Parallel()
	b := setup(t,
		map[string]string{
			"config.yaml":        "log_level: warn\nreconcile:\n  lookback: 7d\nslack:\n  channel: C1\n",
			"bot":                "xoxb-bot\n",
			"ZOOM_CLIENT_SECRET": "csecret",
		},
		map[string]string{
			"ZOOMRECON_DATABASE_URL":    "postgres://zr:hunter2@db:5432/zr?sslmode=disable",
			"ZOOM_ACCOUNT_ID":           "acct",
			"ZOOM_CLIENT_ID":            "cid",
			"CREDENTIALS_DIRECTORY":     "$DIR",
			"ZOOM_WEBHOOK_SECRET_TOKEN": "new,old",
			"SLACK_BOT_TOKEN_FILE":      "$DIR/bot",
		})
	c, err := b.load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	want := []Entry{
		{"ZOOMRECON_DATABASE_URL", "database_url", "postgres://zr:xxxxx@db:5432/zr?sslmode=disable", "env"},
		{"ZOOMRECON_LISTEN_ADDR", "listen_addr", ":8080", "default"},
		{"ZOOMRECON_METRICS_ADDR", "metrics_addr", "", "default"},
		{"ZOOMRECON_WEBHOOK_PATH", "webhook_path", "/webhooks/zoom", "default"},
		{"ZOOMRECON_WEBHOOK_REPLAY_WINDOW", "webhook_replay_window", "24h", "default"},
		{"ZOOMRECON_LOG_LEVEL", "log_level", "warn", "yaml"},
		{"ZOOMRECON_EVENT_RETENTION", "event_retention", "30d", "default"},
		{"ZOOMRECON_HISTORY_RETENTION", "history_retention", "400d", "default"},
		{"ZOOMRECON_WEBSOCKET_ALERT_AFTER", "websocket_alert_after", "5m", "default"},
		{"ZOOM_ACCOUNT_ID", "zoom.account_id", "acct", "env"},
		{"ZOOM_CLIENT_ID", "zoom.client_id", "cid", "env"},
		{"ZOOM_CLIENT_SECRET", "zoom.client_secret", "<redacted>", "credentials"},
		{"ZOOM_WEBHOOK_SECRET_TOKEN", "zoom.webhook_secret_tokens", "<redacted>,<redacted>", "env"},
		{"ZOOM_WEBSOCKET_SUBSCRIPTION_ID", "zoom.websocket_subscription_id", "", "default"},
		{"ZOOM_WEBSOCKET_URL", "zoom.websocket_url", "wss://ws.zoom.us/ws", "default"},
		{"ZOOM_API_BASE_URL", "zoom.api_base_url", "https://api.zoom.us/v2", "default"},
		{"ZOOM_OAUTH_TOKEN_URL", "zoom.oauth_token_url", "https://zoom.us/oauth/token", "default"},
		{"ZOOM_API_RATE_LIMIT", "zoom.api_rate_limit", "10", "default"},
		{"ZOOM_API_DAILY_BUDGET", "zoom.api_daily_budget", "10%", "default"},
		{"ZOOM_RESOURCE_INTENSIVE_PER_MINUTE", "zoom.resource_intensive_per_minute", "10", "default"},
		{"ZOOM_MINUTE_LIMIT_WAIT", "zoom.minute_limit_wait", "1m", "default"},
		{"ZOOMRECON_RECONCILE_INTERVAL", "reconcile.interval", "5m", "default"},
		{"ZOOMRECON_RECONCILE_LOOKBACK", "reconcile.lookback", "168h", "yaml"},
		{"ZOOMRECON_MISSED_GRACE", "reconcile.missed_grace", "15m", "default"},
		{"ZOOMRECON_STALE_AFTER", "reconcile.stale_after", "3h", "default"},
		{"ZOOMRECON_SILENCE_AFTER", "reconcile.silence_after", "30m", "default"},
		{"ZOOMRECON_ZOOM_RETRY_HORIZON", "reconcile.zoom_retry_horizon", "1h30m", "default"},
		{"ZOOMRECON_HOST_CAUSE_MIN_MEETINGS", "reconcile.host_cause_min_meetings", "3", "default"},
		{"ZOOMRECON_HOST_CAUSE_WINDOW", "reconcile.host_cause_window", "24h", "default"},
		{"SLACK_WEBHOOK_URL", "slack.webhook_url", "", "default"},
		{"SLACK_BOT_TOKEN", "slack.bot_token", "<redacted>", "env file"},
		{"SLACK_CHANNEL", "slack.channel", "C1", "yaml"},
		{"SLACK_API_URL", "slack.api_url", "https://slack.com/api/", "default"},
		{"ZOOMRECON_FORWARD_URL", "", "", "default"},
		{"ZOOMRECON_FORWARD_SECRET_TOKEN", "", "", "default"},
		{"ZOOMRECON_FORWARD_EVENTS", "", "", "default"},
		{"ZOOMRECON_FORWARD_GIVE_UP_AFTER", "forward_give_up_after", "72h", "default"},
		{"ZOOMRECON_FORWARD_TIMEOUT", "forward_timeout", "10s", "default"},
	}
	got := c.Entries()
	if len(got) != len(want) {
		t.Fatalf("Entries: got %d, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Entries[%d]:\n got %+v\nwant %+v", i, got[i], want[i])
		}
	}
	if got, want := c.ZoomConfigured(), true; got != want {
		t.Errorf("ZoomConfigured: got %v, want %v", got, want)
	}
	if got, want := c.SlackMode(), "bot"; got != want {
		t.Errorf("SlackMode: got %q, want %q", got, want)
	}
}

func TestMaskDatabaseURL(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"SQLiteAsIs", "sqlite:/var/lib/zoomrecon/zr.db", "sqlite:/var/lib/zoomrecon/zr.db"},
		{"PostgresWithoutPassword", "postgres://zr@db/zr", "postgres://zr@db/zr"},
		{"PostgresPassword", "postgresql://zr:pw@db/zr", "postgresql://zr:xxxxx@db/zr"},
		{"PostgresQueryPassword", "postgres://db/zr?user=zr&password=pw", "postgres://db/zr?password=xxxxx&user=zr"},
		{"Unparseable", "postgres://zr:pw@db:port/zr", "<redacted>"},
		{"Empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := maskDatabaseURL(Secret(tt.in)); got != tt.want {
				t.Errorf("maskDatabaseURL(%q): got %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestSlackModeAndZoomConfigured(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		slack    SlackConfig
		wantMode string
	}{
		{"Webhook", SlackConfig{WebhookURL: "https://hooks.slack.com/x"}, "webhook"},
		{"Bot", SlackConfig{BotToken: "xoxb-1", Channel: "C1"}, "bot"},
		{"Log", SlackConfig{}, "log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := &Config{Slack: tt.slack}
			if got := c.SlackMode(); got != tt.wantMode {
				t.Errorf("SlackMode: got %q, want %q", got, tt.wantMode)
			}
			if got := c.ZoomConfigured(); got {
				t.Errorf("ZoomConfigured: got %v, want false", got)
			}
		})
	}
}

// leaks are distinctive secret values; none may appear in any output.
var leaks = []string{"leak-db-password", "leak-query-password", "leak-client-secret", "leak-token-1", "leak-token-2", "leak-webhook-path", "leak-bot-token",
	"leak-forward-secret", "leak-forward-yaml-secret", "leak-forward-credential", "leak-forward-url-password"}

func assertNoLeak(t *testing.T, what, out string) {
	t.Helper()
	for _, l := range leaks {
		if strings.Contains(out, l) {
			t.Errorf("%s contains secret %q:\n%s", what, l, out)
		}
	}
}

func TestLoadLeaksNoSecret(t *testing.T) {
	t.Parallel()

	files := map[string]string{
		"ZOOM_CLIENT_SECRET":                 "leak-client-secret\n",
		"bot":                                "leak-bot-token",
		"ZOOMRECON_FORWARD_OPS_SECRET_TOKEN": "leak-forward-credential\n",
		"config.yaml": "forward:\n" +
			"  - {name: billing, url: \"https://billing.internal/zoom\", secret_token: leak-forward-yaml-secret}\n" +
			"  - {name: ops, url: \"https://ops.internal/zoom\", events: [\"meeting.*\"]}\n",
	}
	secrets := map[string]string{
		"ZOOMRECON_FORWARD_URL":          "https://app.internal/zoom",
		"ZOOMRECON_FORWARD_SECRET_TOKEN": "leak-forward-secret",
		"ZOOMRECON_DATABASE_URL":         "postgres://zr:leak-db-password@db:5432/zr?password=leak-query-password",
		"ZOOM_ACCOUNT_ID":                "acct",
		"ZOOM_CLIENT_ID":                 "cid",
		"CREDENTIALS_DIRECTORY":          "$DIR",
		"ZOOM_WEBHOOK_SECRET_TOKEN":      "leak-token-1, leak-token-2",
		"SLACK_BOT_TOKEN_FILE":           "$DIR/bot",
		"SLACK_CHANNEL":                  "C1",
	}

	t.Run("ErrorsWithOtherKeysInvalid", func(t *testing.T) {
		t.Parallel()
		env := map[string]string{
			"SLACK_WEBHOOK_URL":            "https://hooks.slack.com/services/leak-webhook-path",
			"ZOOMRECON_RECONCILE_INTERVAL": "0s",
			"ZOOMRECON_LISTEN_ADDR":        "nope",
			"ZOOM_ACCOUNT_ID":              "", // partial Zoom credentials
		}
		for k, v := range secrets {
			if _, ok := env[k]; !ok {
				env[k] = v
			}
		}
		_, err := setup(t, files, env).load()
		if err == nil {
			t.Fatal("Load: got nil error, want problems")
		}
		assertNoLeak(t, "Load error", err.Error())
		t.Logf("Load error:\n%v", err)
	})

	t.Run("ErrorsAboutSecretValues", func(t *testing.T) {
		t.Parallel()
		files := map[string]string{
			"config.yaml": "database_url: mysql://zr:leak-db-password@db/zr\nzoom:\n  client_secret: [leak-client-secret]\n" +
				"forward:\n  - name: billing\n    url: https://me:leak-forward-url-password@billing.internal/zoom\n" +
				"    secret_token: [leak-forward-yaml-secret]\n",
			"bot": "leak-bot-token",
			"fwd": "leak-forward-secret",
		}
		env := map[string]string{
			"SLACK_WEBHOOK_URL":                   "http://hooks.slack.com/services/leak-webhook-path",
			"SLACK_BOT_TOKEN":                     "leak-bot-token",
			"SLACK_BOT_TOKEN_FILE":                "$DIR/bot",
			"ZOOMRECON_FORWARD_URL":               "ftp://leak-forward-url-password@app.internal/zoom",
			"ZOOMRECON_FORWARD_SECRET_TOKEN":      "leak-forward-secret",
			"ZOOMRECON_FORWARD_SECRET_TOKEN_FILE": "$DIR/fwd",
		}
		_, err := setup(t, files, env).load()
		if err == nil {
			t.Fatal("Load: got nil error, want problems")
		}
		verr, ok := errors.AsType[*ValidationError](err)
		if !ok {
			t.Fatalf("Load error: got %T, want *ValidationError", err)
		}
		if got, want := len(verr.Problems), 8; got != want {
			t.Errorf("Problems: got %d, want %d:\n%v", got, want, err)
		}
		assertNoLeak(t, "Load error", err.Error())
		t.Logf("Load error:\n%v", err)
	})

	t.Run("PrintedConfig", func(t *testing.T) {
		t.Parallel()
		env := map[string]string{}
		for k, v := range secrets {
			env[k] = v
		}
		delete(env, "SLACK_BOT_TOKEN_FILE")
		delete(env, "SLACK_CHANNEL")
		env["SLACK_WEBHOOK_URL"] = "https://hooks.slack.com/services/leak-webhook-path"
		c, err := setup(t, files, env).load()
		if err != nil {
			t.Fatalf("Load: %v", err)
		}
		if c.Slack.WebhookURL.Reveal() == "" || c.Zoom.ClientSecret.Reveal() == "" || len(c.Zoom.WebhookSecretTokens) != 2 ||
			len(c.Forward) != 3 || c.Forward[0].SecretToken == "" || c.Forward[1].SecretToken == "" || c.Forward[2].SecretToken == "" {
			t.Fatalf("Load: secrets not loaded: %s", revealed(*c))
		}

		assertNoLeak(t, "Entries", fmt.Sprintf("%+v", c.Entries()))
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q"} {
			assertNoLeak(t, verb+" of *Config", fmt.Sprintf(verb, c))
			assertNoLeak(t, verb+" of Config", fmt.Sprintf(verb, *c))
		}
		js, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		assertNoLeak(t, "json.Marshal", string(js))
		ys, err := yaml.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		assertNoLeak(t, "yaml.Marshal", string(ys))

		var logs bytes.Buffer
		for _, h := range []slog.Handler{slog.NewJSONHandler(&logs, nil), slog.NewTextHandler(&logs, nil)} {
			slog.New(h).Info("loaded", "config", c, "secret", c.Zoom.ClientSecret, "tokens", c.Zoom.WebhookSecretTokens,
				"forward", c.Forward, "destination", c.Forward[1])
		}
		assertNoLeak(t, "slog output", logs.String())
		if !strings.Contains(logs.String(), redacted) {
			t.Errorf("slog output: got %s, want it to contain %s", logs.String(), redacted)
		}
	})
}

func TestBudgetOf(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		b     Budget
		quota int
		want  int
	}{
		{Budget{Share: 0.1}, 30_000, 3_000},
		{Budget{Share: 0.1}, 60_000, 6_000},
		{Budget{Calls: 500}, 60_000, 500},
		{Budget{Share: 0.0001}, 100, 1},
	} {
		if got := tc.b.Of(tc.quota); got != tc.want {
			t.Errorf("%v of %d: got %d, want %d", tc.b, tc.quota, got, tc.want)
		}
	}
}

func TestWarnings(t *testing.T) {
	t.Parallel()
	const (
		token = "ZOOM_WEBHOOK_SECRET_TOKEN is not set: every webhook delivery will be refused with 401; " +
			"set it to the Secret Token of your Zoom app's event subscription, " +
			"or receive events over a WebSocket subscription instead (ZOOM_WEBSOCKET_SUBSCRIPTION_ID)"
		zoom = "ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET are not set: " +
			"nothing checks the webhooks against Zoom's API or backfills what they missed; " +
			"set them to your Server-to-Server OAuth app's credentials"
		slack = "Slack is not configured: alerts are only logged; " +
			"set SLACK_WEBHOOK_URL, or SLACK_BOT_TOKEN with SLACK_CHANNEL, to deliver them"
	)
	complete := map[string]string{
		"ZOOM_WEBHOOK_SECRET_TOKEN": "whToken",
		"ZOOM_ACCOUNT_ID":           "acct", "ZOOM_CLIENT_ID": "id", "ZOOM_CLIENT_SECRET": "secret",
		"SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/x",
	}
	without := func(keys ...string) map[string]string {
		env := map[string]string{}
		for k, v := range complete {
			env[k] = v
		}
		for _, k := range keys {
			delete(env, k)
		}
		return env
	}
	cases := []struct {
		name string
		env  map[string]string
		want []string
	}{
		{name: "NoneWhenEverythingIsSet", env: complete, want: nil},
		{name: "BotTokenIsASlackRoute", env: func() map[string]string {
			env := without("SLACK_WEBHOOK_URL")
			env["SLACK_BOT_TOKEN"], env["SLACK_CHANNEL"] = "xoxb-1", "#alerts"
			return env
		}(), want: nil},
		{name: "NoWebhookSecret", env: without("ZOOM_WEBHOOK_SECRET_TOKEN"), want: []string{token}},
		{name: "BlankWebhookSecretIsNone", env: func() map[string]string {
			env := without()
			env["ZOOM_WEBHOOK_SECRET_TOKEN"] = " , "
			return env
		}(), want: []string{token}},
		{name: "WebSocketInsteadOfWebhooks", env: func() map[string]string {
			env := without("ZOOM_WEBHOOK_SECRET_TOKEN")
			env["ZOOM_WEBSOCKET_SUBSCRIPTION_ID"] = "sub"
			return env
		}(), want: nil},
		{name: "NoZoomCredentials", env: without("ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET"), want: []string{zoom}},
		{name: "NoSlackRoute", env: without("SLACK_WEBHOOK_URL"), want: []string{slack}},
		{name: "NothingSet", env: map[string]string{},
			want: []string{token, zoom, slack}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := setup(t, nil, tc.env).load()
			if err != nil {
				t.Fatalf("%s: load: %v", tc.name, err)
			}
			if got := c.Warnings(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("%s: Warnings()\n got %q\nwant %q", tc.name, got, tc.want)
			}
		})
	}
}
