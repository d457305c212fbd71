package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Problem is one thing wrong with the configuration. It never contains a
// secret value.
type Problem struct {
	// Key is the env name, e.g. "ZOOMRECON_RECONCILE_INTERVAL", or the YAML
	// file's path for a problem with the file itself.
	Key string
	// YAMLKey is the dotted YAML key when the bad value came from the file.
	YAMLKey string
	// Message says what is wrong and shows a good value.
	Message string
}

// Error returns the problem as one line: "KEY: message", or
// "KEY (yaml a.b): message" when the value came from the YAML file.
func (p Problem) Error() string {
	if p.YAMLKey != "" {
		return fmt.Sprintf("%s (yaml %s): %s", p.Key, p.YAMLKey, p.Message)
	}
	return p.Key + ": " + p.Message
}

// ValidationError is every problem Load found, in a stable order: the YAML
// file's, then each key's in table order, then those between keys.
type ValidationError struct {
	Problems []Problem
}

// Error returns one line per problem.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap returns the problems, as errors.Join would, for errors.As.
func (e *ValidationError) Unwrap() []error {
	errs := make([]error, len(e.Problems))
	for i, p := range e.Problems {
		errs[i] = p
	}
	return errs
}

// check validates combinations of keys. It skips a combination when one of
// its keys already failed, since that key's value is unknown.
func (c *Config) check(failed map[string]bool) []Problem {
	var problems []Problem
	anyFailed := func(names ...string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return failed[n] })
	}

	// Server-to-Server OAuth needs all three; none means offline use.
	zoom := []struct {
		key string
		set bool
	}{
		{"ZOOM_ACCOUNT_ID", c.Zoom.AccountID != ""},
		{"ZOOM_CLIENT_ID", c.Zoom.ClientID != ""},
		{"ZOOM_CLIENT_SECRET", c.Zoom.ClientSecret != ""},
	}
	var have, missing []string
	for _, z := range zoom {
		if z.set {
			have = append(have, z.key)
		} else {
			missing = append(missing, z.key)
		}
	}
	if len(have) > 0 && !anyFailed("ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET") {
		for _, m := range missing {
			problems = append(problems, Problem{Key: m, Message: fmt.Sprintf(
				"required when %s set; set all of ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET, or none to run without the Zoom API",
				andList(have))})
		}
	}

	// The WebSocket is opened with the S2S token (zoom-platform.md §11).
	if c.WebSocketConfigured() && !c.ZoomConfigured() && !anyFailed("ZOOM_WEBSOCKET_SUBSCRIPTION_ID", "ZOOM_ACCOUNT_ID", "ZOOM_CLIENT_ID", "ZOOM_CLIENT_SECRET") {
		problems = append(problems, Problem{Key: "ZOOM_WEBSOCKET_SUBSCRIPTION_ID", Message: "needs ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET: " +
			"Zoom opens the WebSocket only with the Server-to-Server OAuth app's access token; set them to the credentials of the app that owns the subscription"})
	}

	// Zoom never retries a refused delivery (zoom-platform.md §3) and may sign
	// its retries with the first attempt's timestamp: a window shorter than
	// its retry schedule would lose those retries for good.
	if !anyFailed("ZOOMRECON_WEBHOOK_REPLAY_WINDOW", "ZOOMRECON_ZOOM_RETRY_HORIZON") &&
		c.WebhookReplayWindow < c.Reconcile.ZoomRetryHorizon {
		problems = append(problems, Problem{Key: "ZOOMRECON_WEBHOOK_REPLAY_WINDOW", Message: fmt.Sprintf(
			"%q is shorter than ZOOMRECON_ZOOM_RETRY_HORIZON (%s): Zoom's retries may carry their first attempt's timestamp, "+
				"and refusing one loses that event for good; use at least %s, e.g. 24h",
			formatDuration(c.WebhookReplayWindow), formatDuration(c.Reconcile.ZoomRetryHorizon), formatDuration(c.Reconcile.ZoomRetryHorizon))})
	}

	// The events table is the deduplication ledger: an event pruned while
	// Zoom may still replay it inside the window would be taken as new.
	if !anyFailed("ZOOMRECON_EVENT_RETENTION", "ZOOMRECON_WEBHOOK_REPLAY_WINDOW") &&
		c.EventRetention != 0 && c.EventRetention < c.WebhookReplayWindow {
		problems = append(problems, Problem{Key: "ZOOMRECON_EVENT_RETENTION", Message: fmt.Sprintf(
			"%q is shorter than ZOOMRECON_WEBHOOK_REPLAY_WINDOW (%s): stored events are what deduplication remembers, "+
				"and it must remember at least the replay window or a replayed delivery counts as new; use at least %s, e.g. 30d",
			formatRetention(c.EventRetention), formatDuration(c.WebhookReplayWindow), formatDuration(c.WebhookReplayWindow))})
	}

	s := c.Slack
	switch {
	case anyFailed("SLACK_WEBHOOK_URL", "SLACK_BOT_TOKEN", "SLACK_CHANNEL"):
		// already reported
	case s.WebhookURL != "" && s.BotToken != "":
		problems = append(problems, Problem{Key: "SLACK_WEBHOOK_URL",
			Message: "set either SLACK_WEBHOOK_URL or SLACK_BOT_TOKEN (with SLACK_CHANNEL), not both"})
	case s.BotToken != "" && s.Channel == "":
		problems = append(problems, Problem{Key: "SLACK_CHANNEL",
			Message: "required when SLACK_BOT_TOKEN is set, e.g. #zoom-alerts or C0123456789"})
	case s.BotToken == "" && s.Channel != "":
		problems = append(problems, Problem{Key: "SLACK_CHANNEL",
			Message: "is only used with SLACK_BOT_TOKEN; set SLACK_BOT_TOKEN (e.g. xoxb-...) or unset SLACK_CHANNEL"})
	}
	return problems
}

// andList renders ["A"] as "A is" and ["A", "B"] as "A and B are".
func andList(names []string) string {
	if len(names) == 1 {
		return names[0] + " is"
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + " are"
}

func anyString(s, _ string) (string, error) { return s, nil }

func anySecret(_, _ string) error { return nil }

func parseListenAddr(s, eg string) (string, error) {
	_, port, err := net.SplitHostPort(s)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		return "", fmt.Errorf("%q must be host:port with a numeric port, e.g. %s or 127.0.0.1%s", s, eg, eg)
	}
	return s, nil
}

// parseOptionalListenAddr is parseListenAddr where empty means "not set".
func parseOptionalListenAddr(s, eg string) (string, error) {
	if s == "" {
		return "", nil
	}
	return parseListenAddr(s, eg)
}

func parseWebhookPath(s, eg string) (string, error) {
	// cmd builds a ServeMux pattern from it, where a space or query would break.
	if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, " \t?#") {
		return "", fmt.Errorf("%q must be a URL path starting with /, e.g. %s", s, eg)
	}
	return s, nil
}

// parseSubscriptionID takes the ID Zoom shows in the subscription's WebSocket
// URL, or the whole URL, from which it takes the subscriptionId parameter.
func parseSubscriptionID(s, eg string) (string, error) {
	if s == "" {
		return "", nil
	}
	if u, err := url.Parse(s); err == nil && (u.Scheme == "wss" || u.Scheme == "ws" || u.Scheme == "https") {
		if id := u.Query().Get("subscriptionId"); id != "" {
			s = id
		}
	}
	if strings.ContainsAny(s, " \t/?&=#:") {
		return "", fmt.Errorf("%q must be the subscriptionId Zoom shows in the event subscription's WebSocket URL, e.g. %s", s, eg)
	}
	return s, nil
}

// parseWebSocketURL takes Zoom's WebSocket host, without the query the
// intake adds.
func parseWebSocketURL(s, eg string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Errorf("is not a valid URL; use an absolute wss URL, e.g. %s", eg)
	case (u.Scheme != "wss" && u.Scheme != "ws") || u.Host == "":
		return "", fmt.Errorf("%q must be an absolute wss:// URL, e.g. %s", u.Redacted(), eg)
	case u.RawQuery != "":
		return "", fmt.Errorf("%q must have no query: zoomrecon adds subscriptionId and access_token itself; use e.g. %s", u.Redacted(), eg)
	}
	return s, nil
}

func parseLogLevel(s, eg string) (string, error) {
	switch l := strings.ToLower(s); l {
	case "debug", "info", "warn", "error":
		return l, nil
	}
	return "", fmt.Errorf("%q must be one of debug, info, warn, error, e.g. %s", s, eg)
}

func parseHTTPURL(s, eg string) (string, error) {
	u, err := url.Parse(s)
	switch {
	case err != nil: // url.Error repeats the value, which could hold credentials
		return "", fmt.Errorf("is not a valid URL; use an absolute http(s) URL, e.g. %s", eg)
	case (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return "", fmt.Errorf("%q must be an absolute http(s) URL, e.g. %s", u.Redacted(), eg)
	}
	return s, nil
}

const maxDays = math.MaxInt64 / int64(24*time.Hour)

// parseDuration accepts Go durations (90s, 1h30m) and whole days (7d).
func parseDuration(s, eg string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if days, ok := strings.CutSuffix(s, "d"); ok && err != nil {
		if n, nerr := strconv.ParseInt(days, 10, 64); nerr == nil && n <= maxDays {
			d, err = time.Duration(n)*24*time.Hour, nil
		}
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q must be a positive duration, e.g. %s", s, eg)
	}
	return d, nil
}

// parseRetention is parseDuration that also accepts "forever" and 0, both
// meaning nothing is deleted.
func parseRetention(s, eg string) (time.Duration, error) {
	if s == "forever" || s == "0" {
		return 0, nil
	}
	d, err := parseDuration(s, eg)
	if err != nil {
		return 0, fmt.Errorf("%q must be a positive duration such as 720h or %s, or forever", s, eg)
	}
	return d, nil
}

// checkDatabaseURL accepts sqlite:PATH and postgres:// URLs. Its messages
// show at most the scheme, since the rest may hold a password.
func checkDatabaseURL(s, eg string) error {
	use := fmt.Sprintf("use sqlite:PATH (e.g. %s) or postgres://USER@HOST:5432/DB", eg)
	scheme, rest, _ := strings.Cut(s, ":")
	switch scheme {
	case "sqlite":
		if rest == "" {
			return fmt.Errorf(`"sqlite:" needs a path; %s`, use)
		}
		return nil
	case "postgres", "postgresql":
		if _, err := url.Parse(s); err != nil || !strings.HasPrefix(rest, "//") {
			return errors.New("is not a valid postgres URL; " + use)
		}
		return nil
	}
	if !validScheme(scheme) || scheme == s {
		return errors.New("has no scheme; " + use)
	}
	return fmt.Errorf("unknown scheme %q; %s", scheme, use)
}

// validScheme reports whether s is an RFC 3986 scheme, so echoing it cannot
// echo a user name or password.
func validScheme(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := range len(s) {
		if c := s[i]; !isLetter(c) && !('0' <= c && c <= '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// checkSlackWebhookURL never echoes the URL: its path is the credential.
func checkSlackWebhookURL(s, eg string) error {
	if u, err := url.Parse(s); err != nil || u.Scheme != "https" || u.Host == "" {
		return errors.New("must be an absolute https URL, e.g. " + eg)
	}
	return nil
}

// parseRate reads a positive number of requests per second.
func parseRate(s, eg string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q must be a positive number of requests per second, e.g. %s", s, eg)
	}
	return v, nil
}

func formatRate(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// parseBudget reads a number of calls ("3000") or a share of the plan's
// daily quota ("10%").
func parseBudget(s, eg string) (Budget, error) {
	bad := fmt.Errorf("%q must be a number of calls a day or a percentage of the plan's daily quota, e.g. %s or 3000", s, eg)
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		v, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || v <= 0 || v > 100 || math.IsNaN(v) {
			return Budget{}, bad
		}
		return Budget{Share: v / 100}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return Budget{}, bad
	}
	return Budget{Calls: n}, nil
}

// parsePerMinute reads a positive whole number of requests a minute.
// parseMinMeetings reads how many meetings make a host's pattern: one lost
// webhook is any meeting's bad luck, not a pattern.
func parseMinMeetings(s, eg string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v < 2 {
		return 0, fmt.Errorf("%q must be a whole number of meetings, 2 or more, e.g. %s", s, eg)
	}
	return v, nil
}

func parsePerMinute(s, eg string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q must be a positive whole number of requests a minute, e.g. %s", s, eg)
	}
	return v, nil
}
