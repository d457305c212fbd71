package zoomtest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The webhook headers Zoom sends (§2, §3). Proxies lower-case them; so do we.
const (
	headerTimestamp   = "x-zm-request-timestamp"
	headerSignature   = "x-zm-signature"
	headerRequestID   = "x-zm-request-id"
	headerTrackingID  = "x-zm-trackingid"
	headerTraceParent = "traceparent"
)

// failuresToDisable is how many failed revalidations in a row disable the
// event subscription (§2).
const failuresToDisable = 6

// Delivery is what the fake did with one webhook, mirroring Zoom's webhook
// log (§3). A happening the rules duplicate gives two deliveries.
type Delivery struct {
	ID    int
	Event string
	// Body is the exact bytes sent on every try: compact, in the key order
	// chosen by SetBodyKeyOrder, raw UTF-8 (§2, §3).
	Body     []byte
	Attempts int
	Status   int // the receiver's last answer; 0 if none (connection error, timeout)
	// Exactly one of Delivered, Dropped, Refused and GaveUp ends a delivery.
	Delivered bool // a try got a 2xx within the webhook timeout (§3)
	Dropped   bool // not sent, or not retried; Reason says why
	// Refused is set when the receiver answered a 3xx or 4xx: Zoom never
	// retries those, so the event is lost for good (§3). Status holds the answer.
	Refused bool
	GaveUp  bool // every try failed (§3: the first and three retries)
	// Reason is why a delivery was dropped: "rule", "stopped" (StopWebhooks),
	// "no target" (SetWebhookTarget not called yet), "disabled" (six failed
	// revalidations disabled the event subscription; also ends a delivery
	// whose retry falls due while disabled) or "closed".
	Reason      string
	DuplicateOf int // the ID of the delivery this one duplicates; 0 for an original
	Tries       []Try
}

// Try is one attempt to deliver, with the headers it carried.
type Try struct {
	At time.Time // the clock's time when sent
	// Timestamp is the x-zm-request-timestamp sent and Signature the
	// x-zm-signature. Both are fresh on every try unless SetRetrySigning
	// asked retries to repeat the first try's.
	Timestamp   string
	Signature   string
	RequestID   string // x-zm-request-id sent, unique per request (§3)
	TraceParent string // W3C traceparent sent, fresh per request (§3)
	TrackingID  string // x-zm-trackingid sent, fresh per try
	Status      int    // 0 if the receiver did not answer in time
	Err         string // why the try failed without a status
	Elapsed     time.Duration
}

func (d *Delivery) final() bool { return d.Delivered || d.Dropped || d.Refused || d.GaveUp }

// Validation is one endpoint.url_validation the fake sent (§2).
type Validation struct {
	At time.Time // the clock's time when sent
	// Periodic is true for a revalidation (the 72-hour timer or
	// Revalidate), false for ValidateURL, the check when an endpoint is saved.
	Periodic bool
	Status   int    // the receiver's answer; 0 if none
	OK       bool   // 200 with the right plainToken and encryptedToken in time
	Err      string // why it failed; "" when OK
}

// RetrySigning is how a retry is signed. Zoom does not document whether a
// retry carries a fresh x-zm-request-timestamp or the first attempt's (§3
// [U]), so receivers must lose nothing either way.
type RetrySigning int

const (
	// RetryFreshTimestamp signs every try anew, with the time it is sent.
	// The default.
	RetryFreshTimestamp RetrySigning = iota
	// RetryFirstTimestamp repeats the first try's x-zm-request-timestamp
	// and x-zm-signature byte for byte on every retry, so a retry is up to
	// about 85 minutes old by its timestamp.
	RetryFirstTimestamp
)

// BodyKeyOrder is the order of the top-level keys of a webhook body (§3).
// It never changes the body's content, only its bytes and so its signature.
type BodyKeyOrder int32

const (
	// CapturedKeyOrder is the order of real captures and of the fixtures in
	// webhook/testdata: event bodies are {"event","payload","event_ts"} and
	// the url_validation body is {"payload","event_ts","event"}, as §2
	// shows it. The default.
	CapturedKeyOrder BodyKeyOrder = iota
	// DocumentedKeyOrder is the order of Zoom's current docs:
	// {"event","event_ts","payload"}, for events and url_validation alike.
	DocumentedKeyOrder
)

// Rule chooses what happens to one happening's delivery. event is its event
// name, body its bytes with the meeting id as a string, and nth counts the
// happenings of that event name so far, from 1, dropped ones included. A rule
// must not call the Server's methods.
type Rule func(event string, body []byte, nth int) Action

// Action is what a Rule asks for. The actions of all rules are merged: any
// Drop drops, any Duplicate duplicates, any NumericID sets it, and the
// longest Delay wins.
type Action struct {
	Drop bool // never send it, as when Zoom withholds an event (§3)
	// Duplicate sends the same body twice at the same moment, as Zoom's
	// near-simultaneous deliveries from two source IPs (§3).
	Duplicate bool
	// Delay sends it after this long instead of in happening order, so later
	// happenings overtake it (§3 ordering: late lefts, lefts after rejoins).
	Delay time.Duration
	// NumericID sends the meeting id as a JSON number instead of a string (§4).
	NumericID bool
}

// DropNth is a Rule that drops the nth happening of event; nth 0 drops every one.
func DropNth(event string, nth int) Rule {
	return func(e string, _ []byte, n int) Action {
		return Action{Drop: e == event && (nth == 0 || n == nth)}
	}
}

// ForEvent is a Rule that applies a to every happening of event.
func ForEvent(event string, a Action) Rule {
	return func(e string, _ []byte, _ int) Action {
		if e != event {
			return Action{}
		}
		return a
	}
}

// SetWebhookTarget sets where webhooks and URL validations go and the app's
// Secret Token they are signed with. Until it is set, happenings are
// recorded as dropped. Every try reads it when it is sent, so a retry goes
// to the target of its own time, e.g. a receiver restarted on another port.
func (s *Server) SetWebhookTarget(targetURL string, secretToken string) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.target, s.hooks.secret = targetURL, secretToken
}

// AddRule adds a rule consulted for every later happening.
func (s *Server) AddRule(r Rule) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.rules = append(s.hooks.rules, r)
}

// ClearRules removes every rule.
func (s *Server) ClearRules() {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.rules = nil
}

// StopWebhooks makes Zoom silent: happenings from now on are dropped, never
// sent. Deliveries already queued and their retries go on.
func (s *Server) StopWebhooks() { s.hooks.setStopped(true) }

// ResumeWebhooks sends happenings again after StopWebhooks. What happened
// while stopped is not sent.
func (s *Server) ResumeWebhooks() { s.hooks.setStopped(false) }

// SetRetrySchedule sets the waits before each retry of a failed delivery,
// each counted from the end of the previous try; a delivery gets 1+len(d)
// tries. Default 5m, 20m, 60m (§3). Tests compress it to milliseconds. Only
// 5xx answers, timeouts and connection failures are retried; a 3xx or 4xx
// ends a delivery as Refused.
func (s *Server) SetRetrySchedule(d ...time.Duration) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.schedule = slices.Clone(d)
}

// SetRetrySigning sets how retries are signed from now on: with a fresh
// timestamp and signature (RetryFreshTimestamp, the default) or repeating
// the first try's (RetryFirstTimestamp). Zoom does not say which it does (§3).
func (s *Server) SetRetrySigning(m RetrySigning) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.retrySigning = m
}

// SetBodyKeyOrder sets the top-level key order of the bodies built from now
// on: every event body except recording.completed, which keeps its own
// documented shape (§4), and the url_validation body. Default
// CapturedKeyOrder. Zoom has sent both (§3).
func (s *Server) SetBodyKeyOrder(o BodyKeyOrder) { s.hooks.keyOrder.Store(int32(o)) }

// SetRevalidationInterval sets how often the webhook target is revalidated
// once a ValidateURL has succeeded. Default 72h (§2); tests compress it.
// Setting it restarts the wait for the next revalidation.
func (s *Server) SetRevalidationInterval(d time.Duration) {
	e := s.hooks
	e.mu.Lock()
	defer e.mu.Unlock()
	e.interval = d
	e.rearmLocked()
}

// Deliveries returns every delivery so far, in happening order.
func (s *Server) Deliveries() []Delivery {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	out := make([]Delivery, len(s.hooks.deliveries))
	for i, d := range s.hooks.deliveries {
		out[i] = *d
		out[i].Body = slices.Clone(d.Body)
		out[i].Tries = slices.Clone(d.Tries)
	}
	return out
}

// WaitDelivered waits until at least n deliveries are final: delivered,
// dropped, refused or given up. It fails when ctx ends or the server closes
// first.
func (s *Server) WaitDelivered(ctx context.Context, n int) error {
	e := s.hooks
	return e.wait(ctx, fmt.Sprintf("wait for %d final deliveries", n), func() (int, bool) {
		done := 0
		for _, d := range e.deliveries {
			if d.final() {
				done++
			}
		}
		return done, done >= n
	})
}

// Validations returns every URL validation sent so far, ValidateURL's and
// revalidations, in the order they ended.
func (s *Server) Validations() []Validation {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return slices.Clone(s.hooks.validations)
}

// WaitValidations waits until at least n URL validations have ended. It
// fails when ctx ends or the server closes first.
func (s *Server) WaitValidations(ctx context.Context, n int) error {
	e := s.hooks
	return e.wait(ctx, fmt.Sprintf("wait for %d URL validations", n), func() (int, bool) {
		return len(e.validations), len(e.validations) >= n
	})
}

// SubscriptionDisabled reports whether six failed revalidations in a row
// have disabled the event subscription (§2). While disabled, happenings are
// dropped with Reason "disabled" and revalidation stops; a successful
// ValidateURL enables it again, as re-enabling, validating and saving the
// endpoint does at Zoom.
func (s *Server) SubscriptionDisabled() bool {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	return s.hooks.disabled
}

// ValidateURL sends a signed endpoint.url_validation to the webhook target,
// as Zoom does when an endpoint is saved (§2). It fails unless the receiver
// answers 200 with the right encryptedToken within the webhook timeout (3s
// by default). Success saves the endpoint: it enables a disabled event
// subscription and starts revalidation every 72 hours
// (SetRevalidationInterval). A failure leaves things as they were; it is not
// a revalidation and does not count towards disabling.
func (s *Server) ValidateURL(ctx context.Context) error {
	return s.hooks.validate(ctx, false)
}

// Revalidate sends one revalidation now, as the 72-hour timer does (§2),
// and restarts that timer. Its failure counts towards the six in a row that
// disable the subscription. It sends nothing and fails while the
// subscription is disabled, because Zoom stops revalidating then.
func (s *Server) Revalidate(ctx context.Context) error {
	return s.hooks.validate(ctx, true)
}

// emitter sends webhooks: first tries in happening order from one queue,
// delayed and duplicate ones and retries from their own goroutines. It also
// validates and revalidates the target.
type emitter struct {
	now      func() time.Time
	logger   *slog.Logger
	client   *http.Client
	timeout  time.Duration
	clientID string
	life     context.Context // ends when the emitter closes
	stop     context.CancelFunc
	wg       sync.WaitGroup
	keyOrder atomic.Int32 // a BodyKeyOrder; read while building bodies, under other locks
	mode     atomic.Int32 // a DeliveryMode
	// ws sends an event to the WebSocket subscription; nil without one.
	// Set before the first emit.
	ws    func(event string, body []byte)
	wake  chan struct{}
	rearm chan struct{} // restarts the revalidation timer

	mu           sync.Mutex // guards everything below
	target       string
	secret       string
	stopped      bool
	closed       bool
	rules        []Rule
	nth          map[string]int
	schedule     []time.Duration
	retrySigning RetrySigning
	deliveries   []*Delivery
	queue        []*queued
	changed      chan struct{} // closed and replaced on every change of a delivery or validation
	validations  []Validation
	interval     time.Duration // between revalidations
	saved        bool          // a ValidateURL succeeded: revalidation runs
	failures     int           // failed revalidations in a row
	disabled     bool          // the event subscription is disabled
}

type queued struct {
	d   *Delivery
	dup *Delivery // sent at the same moment as d, if duplicated
}

func newEmitter(now func() time.Time, logger *slog.Logger, client *http.Client, timeout time.Duration, clientID string) *emitter {
	// Zoom does not follow redirects: a 3xx is the answer, and final (§3).
	c := *client
	c.Timeout = 0 // each try is bounded by the webhook timeout instead
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	e := &emitter{
		now: now, logger: logger, client: &c, timeout: timeout, clientID: clientID,
		nth:      map[string]int{},
		schedule: []time.Duration{5 * time.Minute, 20 * time.Minute, 60 * time.Minute},
		interval: 72 * time.Hour,
		wake:     make(chan struct{}, 1),
		rearm:    make(chan struct{}, 1),
		changed:  make(chan struct{}),
	}
	e.life, e.stop = context.WithCancel(context.Background())
	e.wg.Go(e.run)
	e.wg.Go(e.revalidateLoop)
	return e
}

func (e *emitter) close() {
	e.mu.Lock()
	e.closed = true
	e.notifyLocked()
	e.mu.Unlock()
	e.stop()
	e.wg.Wait()
	e.client.CloseIdleConnections()
}

func (e *emitter) setStopped(stopped bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.stopped = stopped
}

func (e *emitter) notifyLocked() {
	close(e.changed)
	e.changed = make(chan struct{})
}

func (e *emitter) rearmLocked() {
	select {
	case e.rearm <- struct{}{}:
	default:
	}
}

// wait waits until cond, called under the lock, holds. It returns how far
// it got in errors.
func (e *emitter) wait(ctx context.Context, what string, cond func() (int, bool)) error {
	for {
		e.mu.Lock()
		got, ok := cond()
		changed, closed := e.changed, e.closed
		e.mu.Unlock()
		if ok {
			return nil
		}
		if closed {
			return fmt.Errorf("%s (%d so far): zoomtest server closed", what, got)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("%s (%d so far): %w", what, got, context.Cause(ctx))
		}
	}
}

// emit records one happening and queues its delivery. build returns its body
// with the meeting id as a string or as a number. Callers serialise emit
// (the model's lock), which keeps happening order.
func (e *emitter) emit(event string, build func(numeric bool) []byte) {
	body := build(false)
	e.mu.Lock()
	e.nth[event]++
	nth := e.nth[event]
	rules := slices.Clone(e.rules)
	e.mu.Unlock()

	var a Action
	for _, r := range rules {
		x := r(event, body, nth)
		a.Drop = a.Drop || x.Drop
		a.Duplicate = a.Duplicate || x.Duplicate
		a.NumericID = a.NumericID || x.NumericID
		a.Delay = max(a.Delay, x.Delay)
	}
	if a.NumericID {
		body = build(true)
	}
	// The WebSocket route gets the same bytes (§11: content is the body a
	// webhook carries). Rules shape webhook delivery only (drops,
	// duplicates, delays), except NumericID, which shapes the body.
	mode := DeliveryMode(e.mode.Load())
	if e.ws != nil && mode != DeliverWebhook {
		e.ws(event, body)
	}
	if mode == DeliverWebSocket && e.ws != nil {
		return
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.newLocked(event, body)
	switch {
	case e.closed:
		d.Reason = "closed"
	case e.target == "":
		d.Reason = "no target"
	case e.disabled:
		d.Reason = "disabled"
	case e.stopped:
		d.Reason = "stopped"
	case a.Drop:
		d.Reason = "rule"
	}
	if d.Reason != "" {
		d.Dropped = true
		e.notifyLocked()
		return
	}
	q := &queued{d: d}
	if a.Duplicate {
		q.dup = e.newLocked(event, body)
		q.dup.DuplicateOf = d.ID
	}
	if a.Delay > 0 {
		e.wg.Go(func() {
			if e.sleep(a.Delay) {
				e.send(q)
			}
		})
		return
	}
	e.queue = append(e.queue, q)
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *emitter) newLocked(event string, body []byte) *Delivery {
	d := &Delivery{ID: len(e.deliveries) + 1, Event: event, Body: body}
	e.deliveries = append(e.deliveries, d)
	return d
}

// run sends queued deliveries one at a time, in happening order.
func (e *emitter) run() {
	for {
		e.mu.Lock()
		if len(e.queue) == 0 {
			e.mu.Unlock()
			select {
			case <-e.wake:
				continue
			case <-e.life.Done():
				return
			}
		}
		q := e.queue[0]
		e.queue = e.queue[1:]
		e.mu.Unlock()
		e.send(q)
	}
}

func (e *emitter) send(q *queued) {
	if q.dup != nil {
		e.wg.Go(func() { e.try(q.dup) })
	}
	e.try(q.d)
}

// sleep waits d in real time; false if the emitter closed first.
func (e *emitter) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-e.life.Done():
		return false
	}
}

// bound limits ctx to the webhook timeout and ends it early when the
// emitter closes.
func (e *emitter) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	unhook := context.AfterFunc(e.life, cancel)
	return ctx, func() { unhook(); cancel() }
}

// outcome is how a try ended, by Zoom's rules (§3).
type outcome int

const (
	delivered outcome = iota // any 2xx in time
	refused                  // 3xx or 4xx: never retried
	failed                   // 5xx, timeout, connection failure: retried
)

func classify(status int, err error) outcome {
	switch {
	case err != nil:
		return failed
	case status >= 200 && status < 300:
		return delivered
	case status >= 300 && status < 500:
		return refused
	default:
		return failed
	}
}

// try makes one attempt and schedules the next retry if it failed in a way
// Zoom retries (§3). It sends to the target current now, signed with a fresh
// timestamp unless RetryFirstTimestamp asks a retry to repeat the first's.
func (e *emitter) try(d *Delivery) {
	e.mu.Lock()
	if e.disabled { // Zoom sends nothing on a disabled subscription (§2)
		d.Dropped, d.Reason = true, "disabled"
		e.notifyLocked()
		e.mu.Unlock()
		return
	}
	target, secret := e.target, e.secret
	var first *Try
	if e.retrySigning == RetryFirstTimestamp && len(d.Tries) > 0 {
		first = &d.Tries[0]
	}
	t := Try{At: e.now(), RequestID: newRequestID(), TraceParent: newTraceParent(), TrackingID: newTrackingID()}
	if first != nil {
		t.Timestamp, t.Signature = first.Timestamp, first.Signature
	}
	e.mu.Unlock()
	if first == nil {
		t.Timestamp = strconv.FormatInt(t.At.Unix(), 10)
		t.Signature = sign(secret, t.Timestamp, d.Body)
	}

	ctx, cancel := e.bound(context.Background())
	defer cancel()
	began := time.Now()
	status, _, err := e.post(ctx, target, d.Body, &t)
	t.Elapsed = time.Since(began)
	t.Status = status
	if err != nil {
		t.Err = err.Error()
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.life.Err() != nil {
		return // closing: the try was cut short, not failed
	}
	d.Attempts++
	d.Status = status
	d.Tries = append(d.Tries, t)
	defer e.notifyLocked()
	switch classify(status, err) {
	case delivered:
		d.Delivered = true
	case refused:
		d.Refused = true
		e.logger.Warn("webhook delivery refused; Zoom never retries a 3xx or 4xx", "event_type", d.Event, "delivery_id", d.ID, "attempts", d.Attempts, "status", status)
	case failed:
		if d.Attempts > len(e.schedule) {
			d.GaveUp = true
			e.logger.Warn("webhook delivery given up", "event_type", d.Event, "delivery_id", d.ID, "attempts", d.Attempts, "status", status)
			return
		}
		wait := e.schedule[d.Attempts-1]
		e.logger.Debug("webhook delivery failed; will retry", "event_type", d.Event, "delivery_id", d.ID, "status", status, "retry_in", wait)
		e.wg.Go(func() {
			if e.sleep(wait) {
				e.try(d)
			}
		})
	}
}

// post sends one request with Zoom's webhook headers (§2, §3) as recorded
// in t and returns the answer's status and (up to 64 KiB of) body. It does
// not follow redirects.
func (e *emitter) post(ctx context.Context, target string, body []byte, t *Try) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	h := req.Header
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("User-Agent", "Zoom Marketplace/1.0a")
	h.Set(headerTimestamp, t.Timestamp)
	h.Set(headerSignature, t.Signature)
	h.Set(headerRequestID, t.RequestID)
	h.Set(headerTraceParent, t.TraceParent)
	h.Set(headerTrackingID, t.TrackingID)
	h.Set("clientid", e.clientID)
	resp, err := e.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // without the URL
		}
		return 0, nil, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return resp.StatusCode, nil, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, answer, nil
}

// validate sends one endpoint.url_validation and records it; periodic says
// it is a revalidation. Six failed revalidations in a row disable the event
// subscription; a successful ValidateURL saves the endpoint (§2).
func (e *emitter) validate(ctx context.Context, periodic bool) error {
	e.mu.Lock()
	target, secret, closed, disabled := e.target, e.secret, e.closed, e.disabled
	e.mu.Unlock()
	switch {
	case closed:
		return errors.New("url validation: zoomtest server closed")
	case target == "":
		return errors.New("url validation: no webhook target set")
	case periodic && disabled:
		return errors.New("url revalidation: the event subscription is disabled; ValidateURL enables it again")
	}

	v := Validation{At: e.now(), Periodic: periodic}
	ctx, cancel := e.bound(ctx)
	defer cancel()
	v.Status, v.OK, v.Err = e.challenge(ctx, target, secret, v.At)

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.life.Err() != nil {
		return errors.New("url validation: zoomtest server closed")
	}
	e.validations = append(e.validations, v)
	e.notifyLocked()
	e.rearmLocked()
	switch {
	case v.OK:
		e.failures = 0
		if !periodic {
			e.saved, e.disabled = true, false
		}
		return nil
	case periodic:
		e.failures++
		e.logger.Warn("webhook url revalidation failed", "failures_in_a_row", e.failures, "status", v.Status, "reason", v.Err)
		if e.failures >= failuresToDisable && !e.disabled {
			e.disabled = true
			e.logger.Warn("event subscription disabled after failed revalidations", "failures_in_a_row", e.failures)
		}
		return errors.New("url revalidation: " + v.Err)
	}
	return errors.New("url validation: " + v.Err)
}

// challenge sends the url_validation body and checks the answer: 200 with
// the plainToken sent and its HMAC, in time (§2). It returns the status,
// whether the answer passed and, if not, why.
func (e *emitter) challenge(ctx context.Context, target, secret string, at time.Time) (int, bool, string) {
	plain := randString(22, alnum+"-_")
	body := e.validationBody(plain, at.UnixMilli())
	t := Try{RequestID: newRequestID(), TraceParent: newTraceParent(), TrackingID: newTrackingID()}
	t.Timestamp = strconv.FormatInt(at.Unix(), 10)
	t.Signature = sign(secret, t.Timestamp, body)
	status, answer, err := e.post(ctx, target, body, &t)
	if err != nil {
		return status, false, err.Error()
	}
	if status != http.StatusOK {
		return status, false, fmt.Sprintf("receiver answered %d, want 200", status)
	}
	var got struct {
		PlainToken     string `json:"plainToken"`
		EncryptedToken string `json:"encryptedToken"`
	}
	if err := json.Unmarshal(answer, &got); err != nil {
		return status, false, "answer is not JSON: " + err.Error()
	}
	if got.PlainToken != plain {
		return status, false, "answer's plainToken differs from the one sent"
	}
	if got.EncryptedToken != encryptToken(secret, plain) {
		return status, false, "wrong encryptedToken"
	}
	return status, true, ""
}

// validationBody is the endpoint.url_validation body in the chosen key
// order (§2, §3).
func (e *emitter) validationBody(plain string, ts int64) []byte {
	type plainToken struct {
		PlainToken string `json:"plainToken"`
	}
	if BodyKeyOrder(e.keyOrder.Load()) == DocumentedKeyOrder {
		return compactJSON(struct {
			Event   string     `json:"event"`
			EventTS int64      `json:"event_ts"`
			Payload plainToken `json:"payload"`
		}{"endpoint.url_validation", ts, plainToken{plain}})
	}
	// The captured validation body puts event last (§2).
	return compactJSON(struct {
		Payload plainToken `json:"payload"`
		EventTS int64      `json:"event_ts"`
		Event   string     `json:"event"`
	}{plainToken{plain}, ts, "endpoint.url_validation"})
}

// revalidateLoop revalidates the target every interval once a ValidateURL
// has succeeded, until the subscription is disabled or the emitter closes.
// Every validation, and every change of the interval, restarts the wait.
func (e *emitter) revalidateLoop() {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		e.mu.Lock()
		armed, wait := e.saved && !e.disabled, e.interval
		e.mu.Unlock()
		var fire <-chan time.Time
		if armed {
			timer.Reset(wait)
			fire = timer.C
		}
		select {
		case <-e.life.Done():
			timer.Stop()
			return
		case <-e.rearm:
			timer.Stop()
		case <-fire:
			_ = e.validate(e.life, true) // recorded and logged by validate
		}
	}
}

// sign is Zoom's webhook signature (§2): "v0=" and the lower-case hex
// HMAC-SHA256, keyed with the Secret Token, of "v0:{timestamp}:{body}". It is
// written here from the reference, not borrowed from package webhook, so a
// mistake cannot hide on both sides.
func sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// encryptToken is the encryptedToken a receiver must answer a URL
// validation with: lower-case hex HMAC-SHA256 of the plainToken alone (§2).
func encryptToken(secret, plain string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(plain))
	return hex.EncodeToString(mac.Sum(nil))
}

// newRequestID returns an x-zm-request-id, unique per request (§3; its exact
// form is not published, so it is a random UUID).
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newTraceParent returns a W3C traceparent, version 00, sampled:
// 00-<32 hex trace id>-<16 hex parent id>-01 (§3).
func newTraceParent() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return "00-" + h[:32] + "-" + h[32:] + "-01"
}
