package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/relay/relaytest"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// Our own lint for deploy/: Grafana's dashboard linter is not available, and
// promtool (make check-deploy) cannot know which metrics zoomrecon exports.

const (
	rulesFile     = "../../deploy/prometheus/zoomrecon.rules.yml"
	dashboardFile = "../../deploy/grafana/zoomrecon.json"
)

type dashboard struct {
	UID        string `json:"uid"`
	Templating struct {
		List []dashboardVariable `json:"list"`
	} `json:"templating"`
	Panels []dashboardPanel `json:"panels"`
}

type dashboardVariable struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Query string `json:"query"`
}

type dashboardPanel struct {
	ID         int               `json:"id"`
	Title      string            `json:"title"`
	Type       string            `json:"type"`
	Datasource *dashboardSource  `json:"datasource"`
	Targets    []dashboardTarget `json:"targets"`
	Panels     []dashboardPanel  `json:"panels"` // a collapsed row's
}

type dashboardSource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type dashboardTarget struct {
	Datasource *dashboardSource `json:"datasource"`
	Expr       string           `json:"expr"`
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d dashboard
	require.NoError(t, json.Unmarshal(raw, &d), "the dashboard is valid JSON")
	return d
}

// allPanels flattens rows.
func allPanels(ps []dashboardPanel) []dashboardPanel {
	var out []dashboardPanel
	for _, p := range ps {
		out = append(out, p)
		out = append(out, allPanels(p.Panels)...)
	}
	return out
}

func TestDashboardLint(t *testing.T) {
	t.Parallel()
	d := readDashboard(t)
	require.NotEmpty(t, d.UID, "a uid keeps links stable across imports")
	require.True(t, slices.ContainsFunc(d.Templating.List, func(v dashboardVariable) bool {
		return v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus"
	}), "a Prometheus datasource template variable named datasource")

	ids := map[int]string{}
	panels := allPanels(d.Panels)
	require.NotEmpty(t, panels)
	for _, p := range panels {
		if p.Type == "row" {
			continue
		}
		require.NotZero(t, p.ID, "panel %q has an id", p.Title)
		if other, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", other, p.Title, p.ID)
		}
		ids[p.ID] = p.Title
		require.NotNil(t, p.Datasource, "panel %q has a datasource", p.Title)
		require.Equal(t, "${datasource}", p.Datasource.UID, "panel %q uses the template variable", p.Title)
		require.NotEmpty(t, p.Targets, "panel %q has queries", p.Title)
		for _, tg := range p.Targets {
			if tg.Datasource != nil {
				require.Equal(t, "${datasource}", tg.Datasource.UID, "panel %q: %s", p.Title, tg.Expr)
			}
			require.NoError(t, lintExpr(tg.Expr), "panel %q: %s", p.Title, tg.Expr)
		}
	}
}

func TestLintExpr(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr string
		ok         bool
	}{
		{"RateOverRateInterval", `sum by (kind) (rate(zoomrecon_x_total{a="b"}[$__rate_interval]))`, true},
		{"IncreaseOverRange", `sum(increase(zoomrecon_x_total[$__range]))`, true},
		{"BraceInAStringIsNotCounted", `zoomrecon_x{a="}"}`, true},
		{"FixedRateWindow", `rate(zoomrecon_x_total[5m])`, false},
		{"RateOverRange", `rate(zoomrecon_x_total[$__range])`, false},
		{"UnclosedParen", `sum(rate(zoomrecon_x_total[$__rate_interval])`, false},
		{"MismatchedBrackets", `zoomrecon_x{a="b")`, false},
		{"Empty", ``, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := lintExpr(tt.expr)
			require.Equal(t, tt.ok, err == nil, "%s: got error %v", tt.expr, err)
		})
	}
}

var rangeFuncRE = regexp.MustCompile(`\b(rate|irate|increase)\(`)

// lintExpr checks what a PromQL parser would reject most often: brackets
// balanced outside strings, and rate windows Grafana can size
// ($__rate_interval; increase may also count over the dashboard's $__range).
func lintExpr(expr string) error {
	if strings.TrimSpace(expr) == "" {
		return fmt.Errorf("empty expression")
	}
	var stack []rune
	closing := map[rune]rune{')': '(', ']': '[', '}': '{'}
	inString := false
	for i := 0; i < len(expr); i++ {
		c := rune(expr[i])
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case inString:
		case c == '(' || c == '[' || c == '{':
			stack = append(stack, c)
		case closing[c] != 0:
			if len(stack) == 0 || stack[len(stack)-1] != closing[c] {
				return fmt.Errorf("unbalanced %q at %d", c, i)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if inString || len(stack) > 0 {
		return fmt.Errorf("unclosed string or bracket")
	}
	for _, m := range rangeFuncRE.FindAllStringSubmatchIndex(expr, -1) {
		fn := expr[m[2]:m[3]]
		rest := expr[m[1]:]
		open, end := strings.IndexByte(rest, '['), strings.IndexByte(rest, ']')
		if open < 0 || end < open {
			return fmt.Errorf("%s( without a range", fn)
		}
		window := rest[open+1 : end]
		if window != "$__rate_interval" && (fn != "increase" || window != "$__range") {
			return fmt.Errorf("%s over [%s]: use [$__rate_interval]", fn, window)
		}
	}
	return nil
}

var metricNameRE = regexp.MustCompile(`\bzoomrecon_[a-z_]+[a-z]\b`)

// TestDeployMetricNamesExist scrapes a real daemon that has received a
// webhook and finished a pass, and checks every zoomrecon_* name the
// alerting rules and the dashboard use against it.
func TestDeployMetricNamesExist(t *testing.T) {
	t.Parallel()
	used := map[string][]string{}
	rules, err := os.ReadFile(rulesFile)
	require.NoError(t, err)
	for _, n := range metricNameRE.FindAllString(string(rules), -1) {
		used[n] = append(used[n], rulesFile)
	}
	for _, p := range allPanels(readDashboard(t).Panels) {
		for _, tg := range p.Targets {
			for _, n := range metricNameRE.FindAllString(tg.Expr, -1) {
				used[n] = append(used[n], "dashboard panel "+p.Title)
			}
		}
	}
	require.Greater(t, len(used), 10)

	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			exported := exportedNames(t, be.URL(t))
			for name, where := range used {
				if !exported[name] {
					// Clone: the backends' subtests run in parallel over the same slices.
					t.Errorf("%s, used in %s, is not in a real /metrics scrape", name, strings.Join(slices.Compact(slices.Clone(where)), ", "))
				}
			}
		})
	}
}

// exportedNames runs serve against a fake Zoom, with a relay destination,
// until a webhook has been stored and a pass has checked it, and returns the
// metric names it serves.
func exportedNames(t *testing.T, dbURL string) map[string]bool {
	t.Helper()
	// Both routes, so the WebSocket's metrics are there too.
	zoom := zoomtest.New(zoomtest.WithWebSocketSubscription("lint"))
	t.Cleanup(zoom.Close)
	zoom.SetDeliveryMode(zoomtest.DeliverBoth)
	// A relay destination, so the relay's metrics are there too: the queue's
	// gauges exist for every configured destination.
	app := relaytest.New("lint-secret")
	t.Cleanup(app.Close)
	creds := zoom.Credentials()
	passes := &passLog{}
	srv := startServe(t, map[string]string{
		"ZOOMRECON_DATABASE_URL": dbURL, "ZOOM_WEBHOOK_SECRET_TOKEN": crashSecret,
		"ZOOM_ACCOUNT_ID": creds.AccountID, "ZOOM_CLIENT_ID": creds.ClientID, "ZOOM_CLIENT_SECRET": creds.ClientSecret,
		"ZOOM_API_BASE_URL": zoom.APIURL(), "ZOOM_OAUTH_TOKEN_URL": zoom.TokenURL(),
		"ZOOM_WEBSOCKET_SUBSCRIPTION_ID": "lint", "ZOOM_WEBSOCKET_URL": strings.Split(zoom.WebSocketURL(), "?")[0],
		"ZOOMRECON_RECONCILE_INTERVAL": "200ms", "ZOOMRECON_MISSED_GRACE": "1s",
		"ZOOMRECON_FORWARD_URL": app.URL, "ZOOMRECON_FORWARD_SECRET_TOKEN": "lint-secret",
		"ZOOM_RESOURCE_INTENSIVE_PER_MINUTE": "6000",
	}, passes.hook)
	zoom.SetWebhookTarget(srv.baseURL+"/webhooks/zoom", crashSecret)
	zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Linted", HostID: "hostLint"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, zoom.WaitDelivered(ctx, 1))
	passes.waitFor(t, store.RunOK)

	names := map[string]bool{}
	for series := range scrape(t, srv.baseURL) {
		names[strings.SplitN(series, "{", 2)[0]] = true
	}
	return names
}
