package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLoadForward(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name    string
		files   map[string]string // in the bundle's dir; config.yaml is the YAML file
		env     map[string]string
		want    func(c *Config)   // edits the defaults into the expected Config
		sources map[string]string // Entry.Key → expected Entry.Source
	}{
		{
			name: "NoneByDefault",
			want: func(*Config) {},
			sources: map[string]string{
				"ZOOMRECON_FORWARD_URL": "default", "ZOOMRECON_FORWARD_SECRET_TOKEN": "default",
				"ZOOMRECON_FORWARD_GIVE_UP_AFTER": "default", "ZOOMRECON_FORWARD_TIMEOUT": "default",
			},
		},
		{
			name: "EnvFormIsTheDefaultDestination",
			env:  map[string]string{"ZOOMRECON_FORWARD_URL": "https://app.internal/zoom", "ZOOMRECON_FORWARD_SECRET_TOKEN": "app-token"},
			want: func(c *Config) {
				c.Forward = []ForwardDestination{{Name: "default", URL: "https://app.internal/zoom", SecretToken: "app-token"}}
			},
			sources: map[string]string{"ZOOMRECON_FORWARD_URL": "env", "ZOOMRECON_FORWARD_SECRET_TOKEN": "env", "ZOOMRECON_FORWARD_EVENTS": "default"},
		},
		{
			name: "EnvFormFiltersDropEmpties",
			env: map[string]string{"ZOOMRECON_FORWARD_URL": "http://127.0.0.1:9000/events", "ZOOMRECON_FORWARD_SECRET_TOKEN": "t",
				"ZOOMRECON_FORWARD_EVENTS": " meeting.* ,, webinar.ended,app_deauthorized,"},
			want: func(c *Config) {
				c.Forward = []ForwardDestination{{Name: "default", URL: "http://127.0.0.1:9000/events", SecretToken: "t",
					Events: []string{"meeting.*", "webinar.ended", "app_deauthorized"}}}
			},
			sources: map[string]string{"ZOOMRECON_FORWARD_EVENTS": "env"},
		},
		{
			name:  "EnvFormSecretFromEnvFile",
			files: map[string]string{"fwd": "from-file\n"},
			env:   map[string]string{"ZOOMRECON_FORWARD_URL": "https://app.internal/zoom", "ZOOMRECON_FORWARD_SECRET_TOKEN_FILE": "$DIR/fwd"},
			want: func(c *Config) {
				c.Forward = []ForwardDestination{{Name: "default", URL: "https://app.internal/zoom", SecretToken: "from-file"}}
			},
			sources: map[string]string{"ZOOMRECON_FORWARD_SECRET_TOKEN": "env file"},
		},
		{
			name:  "EnvFormSecretFromCredentials",
			files: map[string]string{"ZOOMRECON_FORWARD_SECRET_TOKEN": "from-credential\n"},
			env:   map[string]string{"ZOOMRECON_FORWARD_URL": "https://app.internal/zoom", "CREDENTIALS_DIRECTORY": "$DIR"},
			want: func(c *Config) {
				c.Forward = []ForwardDestination{{Name: "default", URL: "https://app.internal/zoom", SecretToken: "from-credential"}}
			},
			sources: map[string]string{"ZOOMRECON_FORWARD_SECRET_TOKEN": "credentials"},
		},
		{
			name: "YAMLList",
			files: map[string]string{"config.yaml": `forward:
  - name: billing
    url: https://billing.internal/zoom
    secret_token: billing-token
    events: [meeting.ended, "webinar.*"]
  - name: ops_eu-2
    url: http://ops.internal:8080/hook?team=eu
    secret_token: ops-token
    events: "*"
`},
			want: func(c *Config) {
				c.Forward = []ForwardDestination{
					{Name: "billing", URL: "https://billing.internal/zoom", SecretToken: "billing-token", Events: []string{"meeting.ended", "webinar.*"}},
					{Name: "ops_eu-2", URL: "http://ops.internal:8080/hook?team=eu", SecretToken: "ops-token", Events: []string{"*"}},
				}
			},
			sources: map[string]string{
				"forward[billing].url": "yaml", "forward[billing].secret_token": "yaml", "forward[billing].events": "yaml",
				"forward[ops_eu-2].secret_token": "yaml", "ZOOMRECON_FORWARD_URL": "default",
			},
		},
		{
			name: "YAMLEventsAsOneStringAndEmptyList",
			files: map[string]string{"config.yaml": `forward:
  - {name: a, url: "https://a.internal/", secret_token: ta, events: "meeting.started, meeting.ended"}
  - {name: b, url: "https://b.internal/", secret_token: tb, events: []}
  - {name: c, url: "https://c.internal/", secret_token: tc, events: ~}
`},
			want: func(c *Config) {
				c.Forward = []ForwardDestination{
					{Name: "a", URL: "https://a.internal/", SecretToken: "ta", Events: []string{"meeting.started", "meeting.ended"}},
					{Name: "b", URL: "https://b.internal/", SecretToken: "tb"},
					{Name: "c", URL: "https://c.internal/", SecretToken: "tc"},
				}
			},
			sources: map[string]string{"forward[a].events": "yaml", "forward[b].events": "default", "forward[c].events": "default"},
		},
		{
			name:  "YAMLSecretFromEnvWinsOverTheFile",
			files: map[string]string{"config.yaml": "forward:\n  - name: billing\n    url: https://billing.internal/zoom\n    secret_token: file-token\n"},
			env:   map[string]string{"ZOOMRECON_FORWARD_BILLING_SECRET_TOKEN": "env-token"},
			want: func(c *Config) {
				c.Forward = []ForwardDestination{{Name: "billing", URL: "https://billing.internal/zoom", SecretToken: "env-token"}}
			},
			sources: map[string]string{"forward[billing].secret_token": "env"},
		},
		{
			name: "YAMLSecretFromEnvFile",
			files: map[string]string{
				"config.yaml": "forward:\n  - name: billing\n    url: https://billing.internal/zoom\n",
				"billing":     "file-token\n",
			},
			env: map[string]string{"ZOOMRECON_FORWARD_BILLING_SECRET_TOKEN_FILE": "$DIR/billing"},
			want: func(c *Config) {
				c.Forward = []ForwardDestination{{Name: "billing", URL: "https://billing.internal/zoom", SecretToken: "file-token"}}
			},
			sources: map[string]string{"forward[billing].secret_token": "env file"},
		},
		{
			// '-' becomes '_' in the variable's name.
			name: "YAMLSecretFromCredentialsOfADashedName",
			files: map[string]string{
				"config.yaml":                           "forward:\n  - name: ops-eu\n    url: https://ops.internal/zoom\n    secret_token: file-token\n",
				"ZOOMRECON_FORWARD_OPS_EU_SECRET_TOKEN": "credential-token\n",
			},
			env: map[string]string{"CREDENTIALS_DIRECTORY": "$DIR"},
			want: func(c *Config) {
				c.Forward = []ForwardDestination{{Name: "ops-eu", URL: "https://ops.internal/zoom", SecretToken: "credential-token"}}
			},
			sources: map[string]string{"forward[ops-eu].secret_token": "credentials"},
		},
		{
			name:  "EnvFormFirstThenTheList",
			files: map[string]string{"config.yaml": "forward:\n  - name: billing\n    url: https://billing.internal/zoom\n    secret_token: b\n"},
			env:   map[string]string{"ZOOMRECON_FORWARD_URL": "https://app.internal/zoom", "ZOOMRECON_FORWARD_SECRET_TOKEN": "a"},
			want: func(c *Config) {
				c.Forward = []ForwardDestination{
					{Name: "default", URL: "https://app.internal/zoom", SecretToken: "a"},
					{Name: "billing", URL: "https://billing.internal/zoom", SecretToken: "b"},
				}
			},
			sources: map[string]string{"ZOOMRECON_FORWARD_URL": "env", "forward[billing].url": "yaml"},
		},
		{
			// Without the env form, "default" is a name like any other.
			name:  "YAMLDestinationNamedDefault",
			files: map[string]string{"config.yaml": "forward:\n  - name: default\n    url: https://app.internal/zoom\n"},
			env:   map[string]string{"ZOOMRECON_FORWARD_DEFAULT_SECRET_TOKEN": "d"},
			want: func(c *Config) {
				c.Forward = []ForwardDestination{{Name: "default", URL: "https://app.internal/zoom", SecretToken: "d"}}
			},
			sources: map[string]string{"forward[default].secret_token": "env", "ZOOMRECON_FORWARD_URL": "default"},
		},
		{
			name:  "YAMLNullListIsNone",
			files: map[string]string{"config.yaml": "forward:\n"},
			want:  func(*Config) {},
		},
		{
			name:  "GiveUpAndTimeoutFromYAMLAndEnv",
			files: map[string]string{"config.yaml": "forward_give_up_after: 7d\n"},
			env:   map[string]string{"ZOOMRECON_FORWARD_TIMEOUT": "2500ms"},
			want:  func(c *Config) { c.ForwardGiveUpAfter, c.ForwardTimeout = 7*24*time.Hour, 2500*time.Millisecond },
			sources: map[string]string{
				"ZOOMRECON_FORWARD_GIVE_UP_AFTER": "yaml", "ZOOMRECON_FORWARD_TIMEOUT": "env",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := setup(t, tt.files, tt.env).load()
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			want := defaults()
			tt.want(&want)
			if gotPlain := plain(*got); !reflect.DeepEqual(gotPlain, want) {
				t.Errorf("Load:\n got %s\nwant %s", revealed(gotPlain), revealed(want))
			}
			entries := map[string]string{}
			for _, e := range got.Entries() {
				entries[e.Key] = e.Source
			}
			for key, wantSrc := range tt.sources {
				if src, ok := entries[key]; !ok || src != wantSrc {
					t.Errorf("source of %s: got %q (listed: %v), want %q", key, src, ok, wantSrc)
				}
			}
		})
	}
}

func TestForwardDestinationMatches(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name   string
		events []string
		match  []string
		miss   []string
	}{
		{"NoFilterTakesEveryEvent", nil, []string{"meeting.ended", "app_deauthorized"}, nil},
		{"StarTakesEveryEvent", []string{"*"}, []string{"meeting.ended", "recording.completed"}, nil},
		{"ExactName", []string{"meeting.ended"}, []string{"meeting.ended"}, []string{"meeting.started", "meeting.ended.x", "webinar.ended"}},
		{"PrefixKeepsItsDot", []string{"meeting.*"},
			[]string{"meeting.ended", "meeting.participant_joined", "meeting.a.b"},
			[]string{"meeting", "meetings.ended", "webinar.ended"}},
		{"AnyFilterMatches", []string{"webinar.ended", "recording.*"},
			[]string{"webinar.ended", "recording.completed"},
			[]string{"webinar.started", "meeting.ended"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d := ForwardDestination{Name: "x", Events: tt.events}
			for _, e := range tt.match {
				if !d.Matches(e) {
					t.Errorf("Matches(%q) with %q: got false, want true", e, tt.events)
				}
			}
			for _, e := range tt.miss {
				if d.Matches(e) {
					t.Errorf("Matches(%q) with %q: got true, want false", e, tt.events)
				}
			}
		})
	}
}

func TestLoadForwardProblems(t *testing.T) {
	t.Parallel()

	const (
		needSecret = "ZOOMRECON_FORWARD_SECRET_TOKEN: required when ZOOMRECON_FORWARD_URL is set; set ZOOMRECON_FORWARD_SECRET_TOKEN, " +
			"ZOOMRECON_FORWARD_SECRET_TOKEN_FILE or the credential ZOOMRECON_FORWARD_SECRET_TOKEN to the Secret Token the application verifies deliveries with"
		forms = "use an event name as Zoom sends it (e.g. meeting.ended), a prefix ending in .* (e.g. meeting.*), or * for every event"
		keys  = "name, url, secret_token, events"
	)
	ok := map[string]string{"ZOOMRECON_FORWARD_URL": "https://app.internal/zoom", "ZOOMRECON_FORWARD_SECRET_TOKEN": "t"}
	with := func(extra map[string]string) map[string]string {
		env := map[string]string{}
		for k, v := range ok {
			env[k] = v
		}
		for k, v := range extra {
			if v == "" {
				delete(env, k)
			} else {
				env[k] = v
			}
		}
		return env
	}

	tests := []struct {
		name  string
		files map[string]string
		env   map[string]string
		want  []string // lines of the error; $DIR is the bundle's dir
	}{
		{
			name: "EnvURLNotHTTP",
			env:  with(map[string]string{"ZOOMRECON_FORWARD_URL": "ftp://app.internal/zoom"}),
			want: []string{`ZOOMRECON_FORWARD_URL: "ftp://app.internal/zoom" must be an absolute http(s) URL, e.g. https://app.example.com/zoom/events`},
		},
		{
			name: "EnvURLRelative",
			env:  with(map[string]string{"ZOOMRECON_FORWARD_URL": "app.internal/zoom"}),
			want: []string{`ZOOMRECON_FORWARD_URL: "app.internal/zoom" must be an absolute http(s) URL, e.g. https://app.example.com/zoom/events`},
		},
		{
			name: "EnvURLUnparseable",
			env:  with(map[string]string{"ZOOMRECON_FORWARD_URL": "https://app.internal/%zz"}),
			want: []string{`ZOOMRECON_FORWARD_URL: is not a valid URL; use an absolute http(s) URL, e.g. https://app.example.com/zoom/events`},
		},
		{
			name: "EnvURLWithCredentialsShownRedacted",
			env:  with(map[string]string{"ZOOMRECON_FORWARD_URL": "https://bob:hunter2@app.internal/zoom"}),
			want: []string{`ZOOMRECON_FORWARD_URL: "https://xxxxx@app.internal/zoom" must not carry a user name or password: ` +
				`each delivery is signed with the destination's secret token instead; use e.g. https://app.example.com/zoom/events`},
		},
		{
			name: "EnvURLWithoutSecret",
			env:  map[string]string{"ZOOMRECON_FORWARD_URL": "https://app.internal/zoom"},
			want: []string{needSecret},
		},
		{
			name:  "EnvSecretCredentialWithoutURL",
			files: map[string]string{"ZOOMRECON_FORWARD_SECRET_TOKEN": "t"},
			env:   map[string]string{"CREDENTIALS_DIRECTORY": "$DIR"},
			want: []string{`ZOOMRECON_FORWARD_SECRET_TOKEN: is only used with ZOOMRECON_FORWARD_URL; ` +
				`set ZOOMRECON_FORWARD_URL (e.g. https://app.example.com/zoom/events) or remove the credential ZOOMRECON_FORWARD_SECRET_TOKEN`},
		},
		{
			name:  "EnvSecretFileWithoutURL",
			files: map[string]string{"fwd": "t"},
			env:   map[string]string{"ZOOMRECON_FORWARD_SECRET_TOKEN_FILE": "$DIR/fwd"},
			want: []string{`ZOOMRECON_FORWARD_SECRET_TOKEN: is only used with ZOOMRECON_FORWARD_URL; ` +
				`set ZOOMRECON_FORWARD_URL (e.g. https://app.example.com/zoom/events) or unset ZOOMRECON_FORWARD_SECRET_TOKEN_FILE`},
		},
		{
			name: "EnvEventsWithoutURL",
			env:  map[string]string{"ZOOMRECON_FORWARD_EVENTS": "meeting.*"},
			want: []string{`ZOOMRECON_FORWARD_EVENTS: is only used with ZOOMRECON_FORWARD_URL; ` +
				`set ZOOMRECON_FORWARD_URL (e.g. https://app.example.com/zoom/events) or unset ZOOMRECON_FORWARD_EVENTS`},
		},
		{
			name: "EnvBadFilters",
			env:  with(map[string]string{"ZOOMRECON_FORWARD_EVENTS": "meeting*,meeting.ended,*.ended"}),
			want: []string{`ZOOMRECON_FORWARD_EVENTS: "meeting*" and "*.ended" are not event filters; ` + forms},
		},
		{
			name: "EnvFilterNotAsZoomSendsIt",
			env:  with(map[string]string{"ZOOMRECON_FORWARD_EVENTS": "Meeting.Ended"}),
			want: []string{`ZOOMRECON_FORWARD_EVENTS: "Meeting.Ended" is not an event filter; ` + forms},
		},
		{
			name:  "EnvSecretAndItsFileBothSet",
			files: map[string]string{"fwd": "t"},
			env:   with(map[string]string{"ZOOMRECON_FORWARD_SECRET_TOKEN_FILE": "$DIR/fwd"}),
			want:  []string{`ZOOMRECON_FORWARD_SECRET_TOKEN: set either ZOOMRECON_FORWARD_SECRET_TOKEN or ZOOMRECON_FORWARD_SECRET_TOKEN_FILE, not both`},
		},
		{
			name:  "EnvFormClashesWithYAMLDefault",
			files: map[string]string{"config.yaml": "log_level: info\nforward:\n  - name: default\n    url: https://other.internal/zoom\n    secret_token: o\n"},
			env:   ok,
			want: []string{`ZOOMRECON_FORWARD_URL: sets the destination named "default", and the forward list in $DIR/config.yaml has one named "default" too (line 3); ` +
				`rename that one, or move this destination into the list`},
		},
		{
			name: "TimeoutNotShorterThanGiveUp",
			env:  map[string]string{"ZOOMRECON_FORWARD_TIMEOUT": "2h", "ZOOMRECON_FORWARD_GIVE_UP_AFTER": "1h"},
			want: []string{`ZOOMRECON_FORWARD_TIMEOUT: "2h" is not shorter than ZOOMRECON_FORWARD_GIVE_UP_AFTER (1h): ` +
				`a delivery would be given up before its first request timed out; use e.g. 10s`},
		},
		{
			name: "GiveUpNotADuration",
			env:  map[string]string{"ZOOMRECON_FORWARD_GIVE_UP_AFTER": "never"},
			want: []string{`ZOOMRECON_FORWARD_GIVE_UP_AFTER: "never" must be a positive duration, e.g. 72h`},
		},
		{
			name:  "YAMLHasNoForwardURLKey",
			files: map[string]string{"config.yaml": "forward_url: https://app.internal/zoom\n"},
			want: []string{`$DIR/config.yaml: line 1: unknown key "forward_url"; known keys: database_url, listen_addr, metrics_addr, webhook_path, ` +
				`webhook_replay_window, log_level, event_retention, history_retention, websocket_alert_after, zoom, reconcile, slack, forward, forward_give_up_after, forward_timeout`},
		},
		{
			name:  "YAMLForwardTwice",
			files: map[string]string{"config.yaml": "forward: []\nforward: []\n"},
			want:  []string{`$DIR/config.yaml: line 2: key "forward" appears twice`},
		},
		{
			name:  "YAMLForwardNotAList",
			files: map[string]string{"config.yaml": "forward:\n  url: https://app.internal/zoom\n"},
			want:  []string{`$DIR/config.yaml: line 2: forward must be a list of destinations, each a mapping of keys: ` + keys},
		},
		{
			name:  "YAMLItemNotAMapping",
			files: map[string]string{"config.yaml": "forward:\n  - billing\n"},
			want:  []string{`$DIR/config.yaml: line 2: forward item 1 must be a mapping of keys: ` + keys},
		},
		{
			name: "YAMLUnknownAndRepeatedKeys",
			files: map[string]string{"config.yaml": `forward:
  - name: billing
    url: https://billing.internal/zoom
    secret: x
    secret_token: t
    url: https://billing.internal/other
`},
			want: []string{
				`$DIR/config.yaml: line 4: unknown key "secret" in forward[billing]; known keys in a destination: ` + keys,
				`$DIR/config.yaml: line 6: key "url" appears twice in forward[billing]`,
			},
		},
		{
			name:  "YAMLMissingName",
			files: map[string]string{"config.yaml": "forward:\n  - name: a\n    url: https://a.internal/\n    secret_token: t\n  - url: https://b.internal/\n"},
			want:  []string{`$DIR/config.yaml: line 5: forward item 2 has no name; give each destination its own, e.g. name: billing`},
		},
		{
			name:  "YAMLBadName",
			files: map[string]string{"config.yaml": "forward:\n  - name: Billing EU\n    url: https://b.internal/\n    secret_token: t\n"},
			want: []string{`$DIR/config.yaml: line 2: forward item 1: name "Billing EU" must be lower-case letters, digits, _ and -, ` +
				`starting with a letter or digit, e.g. billing`},
		},
		{
			name:  "YAMLNameStartingWithDash",
			files: map[string]string{"config.yaml": "forward:\n  - {name: -b, url: \"https://b.internal/\", secret_token: t}\n"},
			want: []string{`$DIR/config.yaml: line 2: forward item 1: name "-b" must be lower-case letters, digits, _ and -, ` +
				`starting with a letter or digit, e.g. billing`},
		},
		{
			name:  "YAMLNameNotASingleValue",
			files: map[string]string{"config.yaml": "forward:\n  - name: [b]\n    url: https://b.internal/\n"},
			want:  []string{`$DIR/config.yaml: line 2: forward item 1: name must be a single value, e.g. billing`},
		},
		{
			name: "YAMLDuplicateNames",
			files: map[string]string{"config.yaml": `forward:
  - {name: billing, url: "https://a.internal/", secret_token: a}
  - {name: billing, url: "https://b.internal/", secret_token: b}
`},
			want: []string{`$DIR/config.yaml: line 3: forward item 2: name "billing" is already the name of the destination at line 2; give each destination its own name`},
		},
		{
			name: "YAMLNamesSharingASecretVariable",
			files: map[string]string{"config.yaml": `forward:
  - {name: a-b, url: "https://a.internal/", secret_token: a}
  - {name: a_b, url: "https://b.internal/", secret_token: b}
`},
			want: []string{`$DIR/config.yaml: line 3: forward[a_b]: its secret token's variable ZOOMRECON_FORWARD_A_B_SECRET_TOKEN is also forward[a-b]'s (line 2); rename one of them`},
		},
		{
			name:  "YAMLMissingURL",
			files: map[string]string{"config.yaml": "forward:\n  - name: billing\n    secret_token: t\n"},
			want: []string{`$DIR/config.yaml: line 2: forward[billing] has no url; set it to the absolute http(s) URL the events are POSTed to, ` +
				`e.g. https://app.example.com/zoom/events`},
		},
		{
			name:  "YAMLURLNotHTTP",
			files: map[string]string{"config.yaml": "forward:\n  - name: billing\n    url: ftp://billing.internal/zoom\n    secret_token: t\n"},
			want:  []string{`$DIR/config.yaml: line 3: forward[billing].url: "ftp://billing.internal/zoom" must be an absolute http(s) URL, e.g. https://app.example.com/zoom/events`},
		},
		{
			name:  "YAMLURLWithCredentialsShownRedacted",
			files: map[string]string{"config.yaml": "forward:\n  - name: billing\n    url: https://tok3n@billing.internal/zoom\n    secret_token: t\n"},
			want: []string{`$DIR/config.yaml: line 3: forward[billing].url: "https://xxxxx@billing.internal/zoom" must not carry a user name or password: ` +
				`each delivery is signed with the destination's secret token instead; use e.g. https://app.example.com/zoom/events`},
		},
		{
			name:  "YAMLURLNotASingleValue",
			files: map[string]string{"config.yaml": "forward:\n  - name: billing\n    url: [https://billing.internal/zoom]\n    secret_token: t\n"},
			want:  []string{`$DIR/config.yaml: line 3: forward[billing].url must be a single value, e.g. https://app.example.com/zoom/events`},
		},
		{
			name:  "YAMLMissingSecretNamesItsSources",
			files: map[string]string{"config.yaml": "forward:\n  - name: ops-eu\n    url: https://ops.internal/zoom\n"},
			want: []string{`$DIR/config.yaml: line 2: forward[ops-eu] has no secret_token; set secret_token, or ZOOMRECON_FORWARD_OPS_EU_SECRET_TOKEN, ` +
				`ZOOMRECON_FORWARD_OPS_EU_SECRET_TOKEN_FILE or the credential ZOOMRECON_FORWARD_OPS_EU_SECRET_TOKEN, to the Secret Token the application verifies deliveries with`},
		},
		{
			name:  "YAMLSecretNotASingleValue",
			files: map[string]string{"config.yaml": "forward:\n  - name: billing\n    url: https://billing.internal/zoom\n    secret_token: {a: b}\n"},
			want:  []string{`$DIR/config.yaml: line 4: forward[billing].secret_token must be a single value`},
		},
		{
			name:  "YAMLSecretVariableAndItsFileBothSet",
			files: map[string]string{"config.yaml": "forward:\n  - name: billing\n    url: https://billing.internal/zoom\n", "b": "t"},
			env:   map[string]string{"ZOOMRECON_FORWARD_BILLING_SECRET_TOKEN": "t", "ZOOMRECON_FORWARD_BILLING_SECRET_TOKEN_FILE": "$DIR/b"},
			want: []string{`ZOOMRECON_FORWARD_BILLING_SECRET_TOKEN: set either ZOOMRECON_FORWARD_BILLING_SECRET_TOKEN or ` +
				`ZOOMRECON_FORWARD_BILLING_SECRET_TOKEN_FILE, not both`},
		},
		{
			name:  "YAMLBadFilters",
			files: map[string]string{"config.yaml": "forward:\n  - name: billing\n    url: https://billing.internal/zoom\n    secret_token: t\n    events: [\"meeting*\"]\n"},
			want:  []string{`$DIR/config.yaml: line 5: forward[billing].events: "meeting*" is not an event filter; ` + forms},
		},
		{
			name:  "YAMLEventsNotAList",
			files: map[string]string{"config.yaml": "forward:\n  - name: billing\n    url: https://billing.internal/zoom\n    secret_token: t\n    events: {meeting: ended}\n"},
			want:  []string{`$DIR/config.yaml: line 5: forward[billing].events must be a list of event filters, e.g. [meeting.ended, "webinar.*"]`},
		},
		{
			name:  "YAMLEventsItemNotAString",
			files: map[string]string{"config.yaml": "forward:\n  - name: billing\n    url: https://billing.internal/zoom\n    secret_token: t\n    events: [[meeting.ended]]\n"},
			want:  []string{`$DIR/config.yaml: line 5: forward[billing].events items must be strings, e.g. "meeting.*"`},
		},
		{
			// A nameless destination's other problems are still reported.
			name:  "YAMLEverythingWrongAtOnce",
			files: map[string]string{"config.yaml": "forward:\n  - url: ftp://x/\n    events: \"*.ended\"\n    secret_token: [s]\n"},
			env:   map[string]string{"ZOOMRECON_FORWARD_EVENTS": "meeting.*"},
			want: []string{
				`$DIR/config.yaml: line 2: forward item 1 has no name; give each destination its own, e.g. name: billing`,
				`$DIR/config.yaml: line 2: forward item 1.url: "ftp://x/" must be an absolute http(s) URL, e.g. https://app.example.com/zoom/events`,
				`$DIR/config.yaml: line 3: forward item 1.events: "*.ended" is not an event filter; ` + forms,
				`$DIR/config.yaml: line 4: forward item 1.secret_token must be a single value`,
				`ZOOMRECON_FORWARD_EVENTS: is only used with ZOOMRECON_FORWARD_URL; ` +
					`set ZOOMRECON_FORWARD_URL (e.g. https://app.example.com/zoom/events) or unset ZOOMRECON_FORWARD_EVENTS`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireRefused(t, tt.files, tt.env, tt.want)
		})
	}
}

func TestEntriesForward(t *testing.T) {
	t.Parallel()
	b := setup(t,
		map[string]string{
			"config.yaml": `forward:
  - name: billing
    url: https://billing.internal/zoom
    secret_token: billing-token
    events: [meeting.ended, "webinar.*"]
  - name: ops
    url: http://ops.internal:8080/hook
`,
			"ZOOMRECON_FORWARD_OPS_SECRET_TOKEN": "ops-token",
		},
		map[string]string{
			"ZOOMRECON_FORWARD_URL":          "https://app.internal/zoom",
			"ZOOMRECON_FORWARD_SECRET_TOKEN": "app-token",
			"CREDENTIALS_DIRECTORY":          "$DIR",
		})
	c, err := b.load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	all := c.Entries()
	want := []Entry{
		{"ZOOMRECON_FORWARD_URL", "", "https://app.internal/zoom", "env"},
		{"ZOOMRECON_FORWARD_SECRET_TOKEN", "", "<redacted>", "env"},
		{"ZOOMRECON_FORWARD_EVENTS", "", "*", "default"},
		{"ZOOMRECON_FORWARD_GIVE_UP_AFTER", "forward_give_up_after", "72h", "default"},
		{"ZOOMRECON_FORWARD_TIMEOUT", "forward_timeout", "10s", "default"},
		{"forward[billing].url", "forward[billing].url", "https://billing.internal/zoom", "yaml"},
		{"forward[billing].secret_token", "forward[billing].secret_token", "<redacted>", "yaml"},
		{"forward[billing].events", "forward[billing].events", "meeting.ended,webinar.*", "yaml"},
		{"forward[ops].url", "forward[ops].url", "http://ops.internal:8080/hook", "yaml"},
		{"forward[ops].secret_token", "forward[ops].secret_token", "<redacted>", "credentials"},
		{"forward[ops].events", "forward[ops].events", "*", "default"},
	}
	if len(all) < len(want) {
		t.Fatalf("Entries: got %d, want at least %d", len(all), len(want))
	}
	got := all[len(all)-len(want):]
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Entries[%d]:\n got %+v\nwant %+v", len(all)-len(want)+i, got[i], want[i])
		}
	}

	t.Run("BuiltByHandListsEveryDestination", func(t *testing.T) {
		t.Parallel()
		c := &Config{Forward: []ForwardDestination{{Name: "default", URL: "https://u:p@app.internal/", SecretToken: "s"}}}
		var got []Entry
		for _, e := range c.Entries() {
			if strings.HasPrefix(e.Key, "forward[") {
				got = append(got, e)
			}
		}
		want := []Entry{
			{"forward[default].url", "forward[default].url", "https://xxxxx@app.internal/", ""},
			{"forward[default].secret_token", "forward[default].secret_token", "<redacted>", ""},
			{"forward[default].events", "forward[default].events", "*", ""},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Entries:\n got %+v\nwant %+v", got, want)
		}
	})
}
