package zoomtest

import (
	"bytes"
	"context"
	"crypto/hmac"
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
	"time"

	"github.com/zoomrecon/zoomrecon/webhook"
)

// Delivery is what the fake did with one webhook, mirroring Zoom's webhook
// log (§3). A happening the rules duplicate gives two deliveries.
type Delivery struct {
	ID    int
	Event string
	// Body is the exact bytes sent on every try: compact, Zoom's key order
	// (event, payload, event_ts), raw UTF-8 (§2).
	Body     []byte
	Attempts int
	Status   int // the receiver's last answer; 0 if none (connection error, timeout)
	// Exactly one of Delivered, Dropped and GaveUp ends a delivery.
	Delivered bool
	Dropped   bool // never sent; Reason says why
	GaveUp    bool // every try failed (§3: the first and three retries)
	// Reason is why a delivery was dropped: "rule", "stopped" (StopWebhooks),
	// "no target" (SetWebhookTarget not called yet) or "closed".
	Reason      string
	DuplicateOf int // the ID of the delivery this one duplicates; 0 for an original
	Tries       []Try
}

// Try is one attempt to deliver.
type Try struct {
	At         time.Time // the clock's time when sent
	Timestamp  string    // x-zm-request-timestamp sent
	Signature  string    // x-zm-signature sent
	TrackingID string    // x-zm-trackingid sent, fresh per try
	Status     int       // 0 if the receiver did not answer in time
	Err        string    // why the try failed without a status
	Elapsed    time.Duration
}

func (d *Delivery) final() bool { return d.Delivered || d.Dropped || d.GaveUp }

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

// SetWebhookTarget sets where webhooks go and the app's Secret Token they
// are signed with. Until it is set, happenings are recorded as dropped.
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
// each counted from the previous try; a delivery gets 1+len(d) tries. Default
// 5m, 20m, 60m (§3). Tests compress it to milliseconds.
func (s *Server) SetRetrySchedule(d ...time.Duration) {
	s.hooks.mu.Lock()
	defer s.hooks.mu.Unlock()
	s.hooks.schedule = slices.Clone(d)
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
// dropped or given up. It fails when ctx ends or the server closes first.
func (s *Server) WaitDelivered(ctx context.Context, n int) error {
	e := s.hooks
	for {
		e.mu.Lock()
		done := 0
		for _, d := range e.deliveries {
			if d.final() {
				done++
			}
		}
		changed, closed := e.changed, e.closed
		e.mu.Unlock()
		if done >= n {
			return nil
		}
		if closed {
			return fmt.Errorf("wait for %d final deliveries (%d so far): zoomtest server closed", n, done)
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("wait for %d final deliveries (%d so far): %w", n, done, context.Cause(ctx))
		}
	}
}

// ValidateURL sends a signed endpoint.url_validation to the webhook target,
// as Zoom does when an endpoint is saved and every 72 hours (§2). It fails
// unless the receiver answers 200 with the right encryptedToken within the
// webhook timeout (3s by default).
func (s *Server) ValidateURL(ctx context.Context) error {
	e := s.hooks
	e.mu.Lock()
	target, secret := e.target, e.secret
	e.mu.Unlock()
	if target == "" {
		return errors.New("url validation: no webhook target set")
	}
	plain := randString(22, alnum+"-_")
	// Zoom's validation body puts event last (§2).
	body := compactJSON(struct {
		Payload struct {
			PlainToken string `json:"plainToken"`
		} `json:"payload"`
		EventTS int64  `json:"event_ts"`
		Event   string `json:"event"`
	}{Payload: struct {
		PlainToken string `json:"plainToken"`
	}{plain}, EventTS: e.now().UnixMilli(), Event: "endpoint.url_validation"})

	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	status, answer, err := e.post(ctx, target, secret, body, nil)
	if err != nil {
		return fmt.Errorf("url validation: %w", err)
	}
	if status != http.StatusOK {
		return fmt.Errorf("url validation: receiver answered %d, want 200", status)
	}
	var got struct {
		PlainToken     string `json:"plainToken"`
		EncryptedToken string `json:"encryptedToken"`
	}
	if err := json.Unmarshal(answer, &got); err != nil {
		return fmt.Errorf("url validation: answer is not JSON: %w", err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(plain))
	if got.PlainToken != plain {
		return errors.New("url validation: answer's plainToken differs from the one sent")
	}
	if got.EncryptedToken != hex.EncodeToString(mac.Sum(nil)) {
		return errors.New("url validation: wrong encryptedToken")
	}
	return nil
}

// emitter sends webhooks: first tries in happening order from one queue,
// delayed and duplicate ones and retries from their own goroutines.
type emitter struct {
	now      func() time.Time
	logger   *slog.Logger
	client   *http.Client
	timeout  time.Duration
	clientID string
	quit     chan struct{}
	wg       sync.WaitGroup

	mu         sync.Mutex // guards everything below
	target     string
	secret     string
	stopped    bool
	closed     bool
	rules      []Rule
	nth        map[string]int
	schedule   []time.Duration
	deliveries []*Delivery
	queue      []*queued
	wake       chan struct{}
	changed    chan struct{} // closed and replaced on every change of a delivery
}

type queued struct {
	d   *Delivery
	dup *Delivery // sent at the same moment as d, if duplicated
}

func newEmitter(now func() time.Time, logger *slog.Logger, client *http.Client, timeout time.Duration, clientID string) *emitter {
	e := &emitter{
		now: now, logger: logger, client: client, timeout: timeout, clientID: clientID,
		quit:     make(chan struct{}),
		nth:      map[string]int{},
		schedule: []time.Duration{5 * time.Minute, 20 * time.Minute, 60 * time.Minute},
		wake:     make(chan struct{}, 1),
		changed:  make(chan struct{}),
	}
	e.wg.Go(e.run)
	return e
}

func (e *emitter) close() {
	e.mu.Lock()
	e.closed = true
	e.notifyLocked()
	e.mu.Unlock()
	close(e.quit)
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

	e.mu.Lock()
	defer e.mu.Unlock()
	d := e.newLocked(event, body)
	switch {
	case e.closed:
		d.Reason = "closed"
	case e.target == "":
		d.Reason = "no target"
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
			case <-e.quit:
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
	case <-e.quit:
		return false
	}
}

// try makes one attempt, with a fresh timestamp, signature and tracking ID
// (§3), and schedules the next retry if it failed. Only 200 or 204 within the
// timeout counts as delivered (§3).
func (e *emitter) try(d *Delivery) {
	e.mu.Lock()
	target, secret := e.target, e.secret
	e.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), e.timeout)
	defer cancel()
	// End the try early when the emitter closes.
	e.wg.Go(func() {
		select {
		case <-e.quit:
			cancel()
		case <-ctx.Done():
		}
	})

	t := Try{At: e.now(), TrackingID: newTrackingID()}
	began := time.Now()
	status, _, err := e.post(ctx, target, secret, d.Body, &t)
	t.Elapsed = time.Since(began)
	t.Status = status
	if err != nil {
		t.Err = err.Error()
	}
	delivered := err == nil && (status == http.StatusOK || status == http.StatusNoContent)

	e.mu.Lock()
	defer e.mu.Unlock()
	select {
	case <-e.quit:
		return // closing: the try was cut short, not failed
	default:
	}
	d.Attempts++
	d.Status = status
	d.Tries = append(d.Tries, t)
	defer e.notifyLocked()
	switch {
	case delivered:
		d.Delivered = true
	case d.Attempts > len(e.schedule):
		d.GaveUp = true
		e.logger.Warn("webhook delivery given up", "event_type", d.Event, "delivery_id", d.ID, "attempts", d.Attempts, "status", status)
	default:
		wait := e.schedule[d.Attempts-1]
		e.logger.Debug("webhook delivery failed; will retry", "event_type", d.Event, "delivery_id", d.ID, "status", status, "retry_in", wait)
		e.wg.Go(func() {
			if e.sleep(wait) {
				e.try(d)
			}
		})
	}
}

// post sends one signed request with Zoom's headers (§2) and returns the
// answer's status and (up to 64 KiB of) body. t, if not nil, records the
// headers sent.
func (e *emitter) post(ctx context.Context, target, secret string, body []byte, t *Try) (int, []byte, error) {
	ts := strconv.FormatInt(e.now().Unix(), 10)
	sig := webhook.Sign(secret, ts, body)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, fmt.Errorf("build request: %w", err)
	}
	tracking := newTrackingID()
	if t != nil {
		t.Timestamp, t.Signature = ts, sig
		tracking = t.TrackingID
	}
	h := req.Header
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("User-Agent", "Zoom Marketplace/1.0a")
	h.Set(webhook.HeaderTimestamp, ts)
	h.Set(webhook.HeaderSignature, sig)
	h.Set("x-zm-trackingid", tracking)
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
