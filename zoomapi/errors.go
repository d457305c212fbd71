package zoomapi

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Sentinels matched by errors.Is on the errors this package returns. Only
// ErrNotFound is evidence that something is absent; every other error means
// the client could not ask.
var (
	// ErrNotFound matches Zoom's "does not exist" answers: code 3001 (meeting or
	// webinar) other than "not end", code 1001 (user), and a 404 whose Zoom JSON
	// message says "does not exist" or "not found" (zoom-platform.md §7).
	ErrNotFound = errors.New("zoomapi: not found")
	// ErrNotReady matches code 3001 "Meeting ID is invalid or not end.", which
	// report endpoints answer until the meeting has ended (§5, §7).
	ErrNotReady = errors.New("zoomapi: meeting has not ended yet")
	// ErrUnauthorized matches a 401 that persisted after one token renewal, and
	// token endpoint rejections (wrong client ID, secret or grant).
	ErrUnauthorized = errors.New("zoomapi: unauthorized")
	// ErrMissingScope matches codes 4711 and 4700: the app lacks a scope.
	// Error.MissingScopes lists the scopes Zoom named.
	ErrMissingScope = errors.New("zoomapi: missing scope")
	// ErrPlan matches code 200 and messages saying the plan or feature is not
	// enabled (for example Dashboard endpoints on a Pro account).
	ErrPlan = errors.New("zoomapi: plan or feature not enabled")
	// ErrRateLimited matches a per-second (QPS) 429 that persisted after the
	// client's retries.
	ErrRateLimited = errors.New("zoomapi: rate limited")
	// ErrDailyQuota matches *QuotaError: the daily quota for a rate-limit
	// category is used up until QuotaError.Until.
	ErrDailyQuota = errors.New("zoomapi: daily quota exhausted")
	// ErrBudgetExhausted matches *BudgetError: the client's own daily budget
	// of Heavy and Resource-intensive calls (Config.DailyBudget) is spent
	// until BudgetError.Until. Nothing was sent.
	ErrBudgetExhausted = errors.New("zoomapi: daily budget exhausted")
	// ErrNoToken matches *TokenError: no access token could be had, because
	// the token endpoint refused the credentials or could not be reached.
	// Nothing can be asked of Zoom until that is fixed.
	ErrNoToken = errors.New("zoomapi: no access token")
)

// The names STYLE.md §5 gives these sentinels. They are the same values, so
// either name matches the same errors.
var (
	// ErrMeetingNotFound is ErrNotFound. It also matches code 1001 (user).
	ErrMeetingNotFound = ErrNotFound
	// ErrMeetingNotEnded is ErrNotReady.
	ErrMeetingNotEnded = ErrNotReady
	// ErrPlanRequired is ErrPlan.
	ErrPlanRequired = ErrPlan
)

// Error is a non-2xx answer from Zoom's REST API.
type Error struct {
	// Endpoint is the endpoint template, e.g.
	// "/past_meetings/{meetingUUID}/participants"; never a concrete ID.
	Endpoint string
	// HTTPStatus is the HTTP status of the last attempt.
	HTTPStatus int
	// Code is Zoom's numeric error code from the JSON body: "code", or
	// "errorCode" in the {"status":false,"errorCode":401} answer some API
	// families give a refused token (§10); 0 when the body was empty or not
	// Zoom's JSON.
	Code int
	// Message is Zoom's message (truncated), or a description of the body
	// when it was not Zoom's JSON.
	Message string
	// TrackingID is the x-zm-trackingid response header, for Zoom support.
	TrackingID string
	// Attempts is how many HTTP requests this call sent, retries included.
	Attempts int
}

// Error describes the failure with the endpoint template, status, Zoom code,
// message and tracking ID, and what to do when retrying will not help.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "zoom GET %s: HTTP %d", e.Endpoint, e.HTTPStatus)
	if e.Code != 0 {
		fmt.Fprintf(&b, ", code %d", e.Code)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	if e.TrackingID != "" {
		fmt.Fprintf(&b, " [tracking id %s]", e.TrackingID)
	}
	if hint := e.hint(); hint != "" {
		b.WriteString("; ")
		b.WriteString(hint)
	}
	return b.String()
}

// hint says what the operator can do about an answer that a retry will not
// change: a missing scope, a refused token, a plan without the endpoint.
func (e *Error) hint() string {
	switch e.kind() {
	case ErrMissingScope:
		if scopes := e.MissingScopes(); len(scopes) > 0 {
			return "add the scope " + strings.Join(scopes, ", ") +
				" to the Server-to-Server OAuth app in the Zoom App Marketplace; tokens issued after that carry it"
		}
		return "add the scope this endpoint needs to the Server-to-Server OAuth app in the Zoom App Marketplace"
	case ErrUnauthorized:
		return "Zoom refused the access token; check that the Server-to-Server OAuth app is activated in the Zoom App Marketplace"
	case ErrPlan:
		return "the Zoom account's plan does not include this endpoint (Report endpoints need Pro, Dashboard endpoints Business or higher)"
	}
	return ""
}

// Is reports whether the error is of the kind target names. An Error
// matches at most one sentinel; 5xx answers match none.
func (e *Error) Is(target error) bool {
	k := e.kind()
	return k != nil && k == target
}

// kind classifies the answer per zoom-platform.md §7.
func (e *Error) kind() error {
	msg := strings.ToLower(e.Message)
	switch {
	case e.HTTPStatus < 400 || e.HTTPStatus >= 500:
		// A server failure is never evidence of anything.
		return nil
	case e.Code == 4711 || e.Code == 4700:
		return ErrMissingScope
	case e.HTTPStatus == http.StatusTooManyRequests:
		return ErrRateLimited
	case e.Code == 3001 && strings.Contains(msg, "not end"):
		return ErrNotReady
	case e.Code == 3001 || e.Code == 1001:
		return ErrNotFound
	case e.HTTPStatus == http.StatusUnauthorized:
		return ErrUnauthorized
	case e.Code == 200 || isPlanMessage(msg):
		return ErrPlan
	case e.HTTPStatus == http.StatusNotFound && e.Code != 0 &&
		(strings.Contains(msg, "does not exist") || strings.Contains(msg, "not found")):
		// A 404 without Zoom's JSON (a proxy, a wrong base URL) is not evidence.
		return ErrNotFound
	}
	return nil
}

func isPlanMessage(msg string) bool {
	for _, s := range []string{"plan", "not enabled", "not been enabled", "upgrade", "paid account", "feature"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// MissingScopes returns the scopes Zoom listed as missing in a 4711 message
// ("does not contain scopes:[a, b]"), or nil.
func (e *Error) MissingScopes() []string {
	if e.kind() != ErrMissingScope {
		return nil
	}
	open := strings.IndexByte(e.Message, '[')
	end := strings.LastIndexByte(e.Message, ']')
	if open < 0 || end <= open {
		return nil
	}
	var scopes []string
	for s := range strings.FieldsFuncSeq(e.Message[open+1:end], func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		scopes = append(scopes, s)
	}
	return scopes
}

// QuotaError is a daily-limit 429: Zoom will refuse endpoints of Category
// until Until, so the client fails calls in that category fast, without
// contacting Zoom, until then (zoom-platform.md §6).
type QuotaError struct {
	// Endpoint is the endpoint template of the call that got this error.
	Endpoint string
	// Category is Zoom's X-RateLimit-Category ("Light", "Medium", "Heavy",
	// "Resource-intensive"); empty when Zoom sent none, which blocks every
	// endpoint.
	Category string
	// Until is when Zoom accepts requests again, from the ISO 8601
	// Retry-After header, or the next 00:00 UTC when it was missing.
	Until time.Time
	// Message is Zoom's message from the 429 that started the block.
	Message string
	// TrackingID is the x-zm-trackingid of that 429.
	TrackingID string
	// FailedFast is true when this call was refused locally, without a request.
	FailedFast bool
}

// Error names the category and the time the quota resets.
func (e *QuotaError) Error() string {
	cat := e.Category
	if cat == "" {
		cat = "all"
	}
	s := fmt.Sprintf("zoom GET %s: daily rate limit reached for %s endpoints until %s",
		e.Endpoint, cat, e.Until.UTC().Format(time.RFC3339))
	if e.FailedFast {
		s += " (not sent)"
	}
	return s
}

// Is matches ErrDailyQuota.
func (e *QuotaError) Is(target error) bool { return target == ErrDailyQuota }

// BudgetError is a call the client refused itself, without contacting
// Zoom: it has already sent Config.DailyBudget (or SetDailyBudget's) Heavy
// and Resource-intensive requests this UTC day. Those two labels share one
// daily total per account on paid plans (zoom-platform.md §6), so the budget
// covers them together; Light and Medium calls are never refused by it.
type BudgetError struct {
	// Endpoint is the endpoint template of the refused call.
	Endpoint string
	// Label is the refused call's label: LabelHeavy or LabelResourceIntensive.
	Label Label
	// Budget is the daily budget in force.
	Budget int
	// Until is when the count restarts: the next 00:00 UTC by the client's
	// clock.
	Until time.Time
}

// Error names the budget, the label and when calls resume.
func (e *BudgetError) Error() string {
	return fmt.Sprintf("zoom GET %s: daily budget of %d Heavy and Resource-intensive calls is spent; %s calls are not sent until %s",
		e.Endpoint, e.Budget, e.Label, e.Until.UTC().Format(time.RFC3339))
}

// Is matches ErrBudgetExhausted.
func (e *BudgetError) Is(target error) bool { return target == ErrBudgetExhausted }

// TokenError is a failure to get an access token: a rejection from the OAuth
// token endpoint, or (HTTPStatus 0) no answer from it. It carries Zoom's
// error and reason, never the request, its headers or the secret.
type TokenError struct {
	// Err is why the token endpoint gave no answer, when HTTPStatus is 0.
	Err error
	// unreachable says the request never got an HTTP answer.
	unreachable bool
	// HTTPStatus is the token endpoint's status.
	HTTPStatus int
	// ErrorCode is the "error" field, e.g. "invalid_client".
	ErrorCode string
	// Reason is Zoom's "reason" field (zoom-platform.md §1), e.g. "Invalid
	// client_id or client_secret", or Zoom's "message" when that is what came.
	Reason string
}

// Error describes the token failure and, for a refusal, what to check.
func (e *TokenError) Error() string {
	switch {
	case e.unreachable:
		return fmt.Sprintf("zoom oauth token: %v; check that this host reaches Zoom's token endpoint"+
			" (ZOOM_OAUTH_TOKEN_URL): DNS, firewall and HTTPS_PROXY", e.Err)
	case e.HTTPStatus == 0:
		return fmt.Sprintf("zoom oauth token: %v", e.Err)
	}
	s := fmt.Sprintf("zoom oauth token: HTTP %d", e.HTTPStatus)
	if e.ErrorCode != "" {
		s += " " + e.ErrorCode
	}
	if e.Reason != "" {
		s += ": " + e.Reason
	}
	if e.HTTPStatus >= 400 && e.HTTPStatus < 500 {
		s += "; check the Account ID, Client ID and Client Secret against the App Credentials page of the" +
			" Server-to-Server OAuth app in the Zoom App Marketplace, and that the app is activated"
	}
	return s
}

// Is matches ErrNoToken, and ErrUnauthorized for 4xx answers: the
// credentials, grant or account ID were refused.
func (e *TokenError) Is(target error) bool {
	return target == ErrNoToken || target == ErrUnauthorized && e.HTTPStatus >= 400 && e.HTTPStatus < 500
}

// Unwrap returns why the token endpoint gave no answer, if it gave none.
func (e *TokenError) Unwrap() error { return e.Err }

// maxMessage bounds how much of Zoom's message goes into an error.
const maxMessage = 300

// zoomErrorBody is Zoom's REST error shape (§7); the token endpoint uses
// reason/error instead (§1), and one API family refuses a token with
// {"status":false,"errorCode":401} (§10).
type zoomErrorBody struct {
	Code         flexInt `json:"code"`
	Message      string  `json:"message"`
	Reason       string  `json:"reason"`
	Error        string  `json:"error"`
	ErrorCode    flexInt `json:"errorCode"`
	ErrorMessage string  `json:"errorMessage"`
}

// newAPIError builds an Error from a response and its body. It never
// copies a non-JSON body into the error.
func newAPIError(endpoint string, resp *http.Response, body []byte, attempts int) *Error {
	e := &Error{
		Endpoint:   endpoint,
		HTTPStatus: resp.StatusCode,
		TrackingID: cleanText(resp.Header.Get("x-zm-trackingid"), 200),
		Attempts:   attempts,
	}
	var zb zoomErrorBody
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		e.Message = http.StatusText(resp.StatusCode) + " (empty body)"
	case json.Unmarshal(body, &zb) != nil:
		e.Message = http.StatusText(resp.StatusCode) + " (body is not Zoom's JSON, " + strconv.Itoa(len(body)) + " bytes)"
	default:
		e.Code = int(cmp.Or(zb.Code, zb.ErrorCode))
		e.Message = cleanText(cmp.Or(zb.Message, zb.ErrorMessage), maxMessage)
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
	}
	return e
}

// cleanText truncates s to n bytes on a rune boundary and drops control
// characters, so a message cannot forge log lines.
func cleanText(s string, n int) string {
	if len(s) > n {
		cut := n
		for cut > 0 && !isRuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
