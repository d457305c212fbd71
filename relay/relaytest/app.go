// Package relaytest is an application behind zoomrecon, for tests: an HTTP
// endpoint written the way a Zoom webhook handler is (it verifies Zoom's v0
// signature with its Secret Token and answers Zoom's URL validation), which
// records what it was delivered and can be told to fail.
package relaytest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Delivery is one event the application accepted.
type Delivery struct {
	ID            string // X-Zoomrecon-Delivery-Id
	Event         string
	MeetingUUID   string
	Body          []byte
	Reconstructed bool
	Replay        bool
	At            time.Time
}

// Answer is what the application answers instead of accepting: a status,
// a body, and Retry-After when set.
type Answer struct {
	Status     int
	Body       string
	RetryAfter string
}

// App is the application.
type App struct {
	*httptest.Server
	secret string

	mu         sync.Mutex
	deliveries []Delivery
	seen       map[string]int // delivery ID → times delivered
	refused    int            // requests refused: bad signature or Answer
	validated  int
	answer     *Answer
	answerLeft int // how many requests answer gets; -1 for all
	delay      time.Duration
	replays    int // requests marked X-Zoomrecon-Replay, repeats included
}

// SetDelay makes every answer take d, as a slow application does.
func (a *App) SetDelay(d time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delay = d
}

// Replays counts the requests marked as replays, repeats included.
func (a *App) Replays() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.replays
}

// New starts the application, verifying with secret. The caller closes it.
func New(secret string) *App {
	a := &App{secret: secret, seen: map[string]int{}}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	return a
}

// Answer makes the next n requests (every one when n < 0) get ans instead of
// being accepted.
func (a *App) Answer(ans Answer, n int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answer, a.answerLeft = &ans, n
}

// Accept makes the application accept again.
func (a *App) Accept() { a.Answer(Answer{}, 0) }

func (a *App) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	// As a Zoom handler verifies: v0:{timestamp}:{body} under its secret.
	ts := r.Header.Get("x-zm-request-timestamp")
	mac := hmac.New(sha256.New, []byte(a.secret))
	mac.Write([]byte("v0:" + ts + ":"))
	mac.Write(body)
	want := "v0=" + hex.EncodeToString(mac.Sum(nil))
	a.mu.Lock()
	delay := a.delay
	a.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay) // the slow application's work
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if !hmac.Equal([]byte(want), []byte(r.Header.Get("x-zm-signature"))) {
		a.refused++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		a.refused++
		http.Error(w, "stale timestamp", http.StatusUnauthorized)
		return
	}
	var ev struct {
		Event   string `json:"event"`
		Payload struct {
			PlainToken string `json:"plainToken"`
			Object     struct {
				UUID string `json:"uuid"`
			} `json:"object"`
		} `json:"payload"`
	}
	if err := json.Unmarshal(body, &ev); err != nil {
		http.Error(w, "not JSON", http.StatusBadRequest)
		return
	}
	if a.answer != nil && a.answerLeft != 0 {
		if a.answerLeft > 0 {
			a.answerLeft--
		}
		a.refused++
		if a.answer.RetryAfter != "" {
			w.Header().Set("Retry-After", a.answer.RetryAfter)
		}
		w.WriteHeader(a.answer.Status)
		_, _ = io.WriteString(w, a.answer.Body)
		return
	}
	if ev.Event == "endpoint.url_validation" {
		a.validated++
		mac := hmac.New(sha256.New, []byte(a.secret))
		mac.Write([]byte(ev.Payload.PlainToken))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"plainToken": ev.Payload.PlainToken, "encryptedToken": hex.EncodeToString(mac.Sum(nil))})
		return
	}
	id := r.Header.Get("X-Zoomrecon-Delivery-Id")
	if r.Header.Get("X-Zoomrecon-Replay") == "true" {
		a.replays++
	}
	a.seen[id]++
	if a.seen[id] == 1 { // deduplicated by the delivery ID, as the application should
		a.deliveries = append(a.deliveries, Delivery{ID: id, Event: ev.Event, MeetingUUID: ev.Payload.Object.UUID, Body: body,
			Reconstructed: r.Header.Get("X-Zoomrecon-Reconstructed") == "true", Replay: r.Header.Get("X-Zoomrecon-Replay") == "true",
			At: time.Now()})
	}
	w.WriteHeader(http.StatusOK)
}

// Deliveries returns the events accepted, each once, in arrival order.
func (a *App) Deliveries() []Delivery {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.deliveries)
}

// Repeats counts the deliveries it got more than once (retries after a lost
// answer, replays), which the delivery ID deduplicated.
func (a *App) Repeats() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, k := range a.seen {
		n += k - 1
	}
	return n
}

// Refused counts the requests refused.
func (a *App) Refused() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.refused
}

// Validated counts the URL validations answered.
func (a *App) Validated() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.validated
}
