package alerts

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/slack-go/slack"
)

// Delivery modes, as Mode reports them.
const (
	// ModeWebhook posts to an incoming webhook, which cannot edit or thread.
	ModeWebhook = "webhook"
	// ModeBot posts with a bot token to one channel, and edits its messages.
	ModeBot = "bot"
	// ModeLog only logs alerts: Slack is not configured.
	ModeLog = "log"
)

// logChannel is the channel recorded for alerts that were only logged.
const logChannel = "log"

// poster is one way of reaching Slack.
type poster interface {
	// post sends msg, as a reply in the thread of threadTS when that is not
	// empty, and returns where the message lives (empty where unknown).
	post(ctx context.Context, msg message, threadTS string) (channel, ts string, err error)
	// update replaces the message at channel and ts; only the bot can.
	update(ctx context.Context, channel, ts string, msg message) error
	// method names the Slack call post makes, for metrics.
	method() string
}

// webhookPoster posts to an incoming webhook.
type webhookPoster struct {
	url    string
	client *http.Client
}

func (w *webhookPoster) method() string { return "webhook" }

func (w *webhookPoster) post(ctx context.Context, msg message, _ string) (string, string, error) {
	var code errorCode
	ctx = context.WithValue(ctx, errorCodeKey{}, &code)
	err := slack.PostWebhookCustomHTTPContext(ctx, w.url, w.client, &slack.WebhookMessage{
		Text:   escape(msg.text), // Slack reads the text as mrkdwn too
		Blocks: &slack.Blocks{BlockSet: msg.blocks},
	})
	if err != nil {
		return "", "", callError{method: "webhook", code: code.code, err: err}
	}
	return "", "", nil
}

func (w *webhookPoster) update(context.Context, string, string, message) error {
	return errors.New("incoming webhooks cannot edit messages")
}

// botPoster posts and edits with the Web API.
type botPoster struct {
	api     *slack.Client
	channel string
}

func (b *botPoster) method() string { return "chat.postMessage" }

func (b *botPoster) post(ctx context.Context, msg message, threadTS string) (string, string, error) {
	opts := []slack.MsgOption{
		slack.MsgOptionText(escape(msg.text), false), // Slack reads the text as mrkdwn too
		slack.MsgOptionBlocks(msg.blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	channel, ts, err := b.api.PostMessageContext(ctx, b.channel, opts...)
	if err != nil {
		return "", "", callError{method: "chat.postMessage", err: err}
	}
	return channel, ts, nil
}

func (b *botPoster) update(ctx context.Context, channel, ts string, msg message) error {
	_, _, _, err := b.api.UpdateMessageContext(ctx, channel, ts,
		slack.MsgOptionText(escape(msg.text), false), slack.MsgOptionBlocks(msg.blocks...))
	if err != nil {
		return callError{method: "chat.update", err: err}
	}
	return nil
}

// logPoster writes alerts to the log when Slack is not configured.
type logPoster struct {
	logger *slog.Logger
}

func (l *logPoster) method() string { return "log" }

func (l *logPoster) post(ctx context.Context, msg message, _ string) (string, string, error) {
	l.logger.WarnContext(ctx, "alert (Slack is not configured)", "text", msg.text)
	return logChannel, "", nil
}

func (l *logPoster) update(context.Context, string, string, message) error {
	return errors.New("the log cannot edit messages")
}

// callError is a failed call to Slack as slack-go reported it, with the error
// code Slack put in an incoming webhook's body, which slack-go drops.
type callError struct {
	method string
	code   string
	err    error
}

func (e callError) Error() string { return e.method + ": " + e.err.Error() }
func (e callError) Unwrap() error { return e.err }

// class says what a failed call means for the message.
type class int

const (
	// classRetry: Slack or the network failed; try again after a backoff.
	classRetry class = iota
	// classRateLimited: Slack asked us to wait RetryAfter.
	classRateLimited
	// classConfig: Slack refused our credentials or channel. Retried with a
	// backoff: the alert is still worth delivering once a person fixes it.
	classConfig
	// classRefused: Slack refused this message for good.
	classRefused
	// classCanceled: we are shutting down; the message was not refused.
	classCanceled
)

// sendError is a classified failure, its text free of secrets.
type sendError struct {
	class      class
	retryAfter time.Duration
	text       string
}

func (e *sendError) Error() string { return e.text }

// reason labels the failure in metrics.
func (e *sendError) reason() string {
	switch e.class {
	case classRateLimited:
		return "rate_limited"
	case classConfig:
		return "config"
	case classRefused:
		return "refused"
	case classCanceled:
		return "canceled"
	}
	return "unavailable"
}

// refusedCodes are Web API errors about the message itself: sending it again
// cannot help.
var refusedCodes = map[string]bool{
	"invalid_blocks": true, "invalid_blocks_format": true, "msg_too_long": true, "msg_blocks_too_long": true,
	"no_text": true, "too_many_attachments": true, "invalid_arguments": true, "invalid_form_data": true,
	"invalid_attachments": true, "message_not_found": true, "cant_update_message": true, "edit_window_closed": true,
	"invalid_payload": true, "invalid_metadata_format": true, "invalid_metadata_schema": true, "metadata_too_large": true,
}

// transientCodes are Web API errors on Slack's side.
var transientCodes = map[string]bool{
	"internal_error": true, "fatal_error": true, "service_unavailable": true, "request_timeout": true,
	"ratelimited": true, "rate_limited": true, "team_added_to_org": true,
}

// classify decides what a failed call means. The protocol knowledge lives
// here: Slack says "ok" in text from an incoming webhook and {"ok":false} in
// JSON from the Web API (STYLE.md §5).
func classify(ctx context.Context, err error, timeout time.Duration, r redactor) *sendError {
	var (
		rl   *slack.RateLimitedError
		sc   slack.StatusCodeError
		se   slack.SlackErrorResponse
		call callError
	)
	_ = errors.As(err, &call)
	switch {
	case ctx.Err() != nil:
		return &sendError{class: classCanceled, text: "canceled: zoomrecon is stopping"}
	case errors.As(err, &rl):
		return &sendError{class: classRateLimited, retryAfter: rl.RetryAfter,
			text: fmt.Sprintf("%s: Slack rate limit, retry after %s", call.method, rl.RetryAfter)}
	case errors.As(err, &sc):
		text := fmt.Sprintf("%s: Slack answered %s", call.method, strings.TrimSpace(sc.Status))
		if call.code != "" {
			text += ": " + call.code
		}
		switch {
		case sc.Code == http.StatusTooManyRequests:
			// A 429 without Retry-After: wait the backoff.
			return &sendError{class: classRateLimited, text: text}
		case sc.Code == http.StatusBadRequest || sc.Code == http.StatusRequestEntityTooLarge:
			// invalid_payload, no_text, invalid_blocks: the message itself.
			return &sendError{class: classRefused, text: text}
		case sc.Code == http.StatusUnauthorized || sc.Code == http.StatusForbidden ||
			sc.Code == http.StatusNotFound || sc.Code == http.StatusGone:
			// no_service, channel_not_found, channel_is_archived, action_prohibited.
			return &sendError{class: classConfig, text: text + "; " + configHint(call.method, call.code)}
		}
		return &sendError{class: classRetry, text: text}
	case errors.As(err, &se):
		text := fmt.Sprintf("%s: Slack refused it: %s", call.method, se.Err)
		switch {
		case refusedCodes[se.Err]:
			return &sendError{class: classRefused, text: text}
		case transientCodes[se.Err]:
			return &sendError{class: classRetry, text: text}
		}
		// invalid_auth, not_authed, token_revoked, channel_not_found,
		// not_in_channel, is_archived, missing_scope...
		return &sendError{class: classConfig, text: text + "; " + configHint(call.method, se.Err)}
	case errors.Is(err, context.DeadlineExceeded):
		return &sendError{class: classRetry, text: fmt.Sprintf("%s: no answer from Slack within %s", call.method, timeout)}
	}
	return &sendError{class: classRetry, text: r.redact(err.Error())}
}

// configHint tells a person what to change when Slack refuses our webhook,
// token or channel (code is Slack's error code, method the call that failed).
// It names the setting, never its value: it ends up in last_error and the
// log.
func configHint(method, code string) string {
	if method == "webhook" {
		switch code {
		case "action_prohibited", "posting_to_general_channel_denied":
			return "a workspace admin restricts posting to the webhook's channel: ask them to allow it, " +
				"or create an incoming webhook for another channel and set SLACK_WEBHOOK_URL to it"
		}
		return "Slack no longer accepts this incoming webhook (revoked, or its channel archived or deleted): " +
			"create a new one and set SLACK_WEBHOOK_URL to it"
	}
	switch code {
	case "not_in_channel":
		return "invite the bot to the channel in SLACK_CHANNEL (type /invite @<bot name> there)"
	case "channel_not_found":
		return "check SLACK_CHANNEL: no such channel, or a private channel the bot was not invited to"
	case "is_archived", "channel_is_archived":
		return "the channel in SLACK_CHANNEL is archived: unarchive it or set SLACK_CHANNEL to another channel"
	case "invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive":
		return "Slack does not accept SLACK_BOT_TOKEN (revoked, expired or mistyped): set it to the Slack app's current Bot User OAuth Token"
	case "missing_scope":
		return "the token in SLACK_BOT_TOKEN lacks the chat:write scope: add it to the Slack app, reinstall the app, and set SLACK_BOT_TOKEN to the new token"
	}
	return "check SLACK_BOT_TOKEN (revoked? missing the chat:write scope?) and SLACK_CHANNEL (does it exist, and was the bot invited to it?)"
}

// redactor removes secrets from text: the webhook URL is itself a secret,
// and slack-go's errors quote it (a *url.Error carries the request URL).
type redactor struct {
	secrets []string
}

func newRedactor(webhookURL, token string) redactor {
	var r redactor
	for _, s := range []string{webhookURL, token} {
		if s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	if u, err := url.Parse(webhookURL); err == nil && webhookURL != "" {
		// Its path is the secret part; the URL may appear re-encoded.
		if len(u.EscapedPath()) > 1 {
			r.secrets = append(r.secrets, u.EscapedPath(), u.Path)
		}
		if u.RawQuery != "" {
			r.secrets = append(r.secrets, u.RawQuery)
		}
	}
	return r
}

// tokenPattern matches Slack tokens that are not ours to know about but must
// not be shown either.
var tokenPattern = regexp.MustCompile(`xox[a-z]-[0-9A-Za-z-]+`)

func (r redactor) redact(s string) string {
	for _, secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "<redacted>")
	}
	return tokenPattern.ReplaceAllString(s, "<redacted>")
}

// errorCode receives the error code an incoming webhook put in the body of a
// refusal ("no_service", "invalid_payload"): slack-go reads only the status.
type errorCode struct{ code string }

type errorCodeKey struct{}

// codePattern is what a Slack error code looks like; any other body is not
// repeated, since it might echo what we sent.
var codePattern = regexp.MustCompile(`^[a-z][a-z0-9_]{1,63}$`)

// codeTransport reads the error code from refused requests whose context
// carries an *errorCode, leaving the body for slack-go to read as before.
type codeTransport struct {
	base http.RoundTripper
}

func (t codeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	code, ok := req.Context().Value(errorCodeKey{}).(*errorCode)
	if !ok {
		return resp, nil
	}
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 128))
	if c := string(bytes.TrimSpace(head)); codePattern.MatchString(c) {
		code.code = c
	}
	resp.Body = readCloser{io.MultiReader(bytes.NewReader(head), resp.Body), resp.Body}
	return resp, nil
}

type readCloser struct {
	io.Reader
	io.Closer
}
