package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/zoomrecon/zoomrecon/cmd/internal/loadgen"
	"github.com/zoomrecon/zoomrecon/relay"
)

// app is a fast application behind zoomrecon: it verifies Zoom's v0
// signature with its own HMAC (so a signing mistake cannot hide on both
// sides), answers Zoom's URL validation as relay.Validate expects, and counts
// what it accepts, without keeping the bodies (relaytest.App keeps every one,
// too much for a benchmark's hundreds of thousands). It checks that each
// meeting's deliveries arrive in order and once.
type app struct {
	secret string
	// sentAt, if set, is when the event with sequence number seq was sent to
	// zoomrecon; seq reads that number from a body. Together they give each
	// delivery's lag.
	sentAt func(seq int64) (time.Time, bool)
	seq    func(body []byte) (int64, bool)

	delivered atomic.Int64
	refused   atomic.Int64
	conns     atomic.Int64 // TCP connections accepted

	mu         sync.Mutex
	last       map[string]int64 // meeting UUID → the latest delivered event's ID
	outOfOrder int              // a delivery whose event is not after its meeting's latest
	lastAt     time.Time
	lags       []time.Duration
}

func newApp(secret string) *app {
	return &app{secret: secret, last: map[string]int64{}}
}

// reset forgets what was delivered, before a run is measured.
func (a *app) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.delivered.Store(0)
	a.refused.Store(0)
	a.conns.Store(0)
	a.last = map[string]int64{}
	a.outOfOrder = 0
	a.lastAt = time.Time{}
	a.lags = nil
}

// takeLags returns the lags recorded since the last call, and forgets them.
func (a *app) takeLags() []time.Duration {
	a.mu.Lock()
	defer a.mu.Unlock()
	l := a.lags
	a.lags = nil
	return l
}

// connState counts the connections the relay opens: with too few kept
// idle, each batch dials anew.
func (a *app) connState(_ net.Conn, s http.ConnState) {
	if s == http.StateNew {
		a.conns.Add(1)
	}
}

var validationEvent = []byte(`"event":"endpoint.url_validation"`)

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	mac := hmac.New(sha256.New, []byte(a.secret))
	mac.Write([]byte("v0:" + r.Header.Get("x-zm-request-timestamp") + ":"))
	mac.Write(body)
	if !hmac.Equal([]byte("v0="+hex.EncodeToString(mac.Sum(nil))), []byte(r.Header.Get("x-zm-signature"))) {
		a.refused.Add(1)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if bytes.Contains(body, validationEvent) {
		var ev struct {
			Payload struct {
				PlainToken string `json:"plainToken"`
			} `json:"payload"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		mac := hmac.New(sha256.New, []byte(a.secret))
		mac.Write([]byte(ev.Payload.PlainToken))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"plainToken": ev.Payload.PlainToken, "encryptedToken": hex.EncodeToString(mac.Sum(nil))})
		return
	}
	now := time.Now()
	var lag time.Duration
	if a.sentAt != nil {
		if seq, ok := a.seq(body); ok {
			if at, ok := a.sentAt(seq); ok {
				lag = now.Sub(at)
			}
		}
	}
	// Live deliveries go in the order zoomrecon stored the events (the
	// delivery ID is "e" and the event's row ID); a replay's in the order
	// they happened (event_ts, which grows with the generator's sequence).
	// The baseline's posts carry no delivery ID.
	id, idOK := int64(0), false
	switch did := r.Header.Get(relay.HeaderDeliveryID); {
	case did == "":
	case r.Header.Get(relay.HeaderReplay) == "true":
		id, idOK = loadgen.EventTS(body)
	default:
		n, err := strconv.ParseInt(strings.TrimPrefix(did, "e"), 10, 64)
		id, idOK = n, err == nil
	}
	meeting := meetingUUID(body)
	a.mu.Lock()
	if idOK && meeting != "" {
		if prev, ok := a.last[meeting]; ok && id <= prev {
			a.outOfOrder++
		} else {
			a.last[meeting] = id
		}
	}
	if lag > 0 {
		a.lags = append(a.lags, lag)
	}
	a.lastAt = now
	a.mu.Unlock()
	a.delivered.Add(1)
	w.WriteHeader(http.StatusOK)
}

// meetingUUID finds the object's uuid without decoding the body.
func meetingUUID(body []byte) string {
	const key = `"uuid":"`
	at := bytes.Index(body, []byte(key))
	if at < 0 {
		return ""
	}
	rest := body[at+len(key):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 {
		return ""
	}
	return string(rest[:end])
}

// apps are a side's applications, one per destination.
type apps []*app

func (as apps) delivered() int64 {
	var n int64
	for _, a := range as {
		n += a.delivered.Load()
	}
	return n
}

func (as apps) sum(f func(*app) int64) int64 {
	var n int64
	for _, a := range as {
		n += f(a)
	}
	return n
}

func (as apps) outOfOrder() int64 {
	return as.sum(func(a *app) int64 {
		a.mu.Lock()
		defer a.mu.Unlock()
		return int64(a.outOfOrder)
	})
}

// lastAt is when the last of them accepted its last delivery.
func (as apps) lastAt() time.Time {
	var t time.Time
	for _, a := range as {
		a.mu.Lock()
		if a.lastAt.After(t) {
			t = a.lastAt
		}
		a.mu.Unlock()
	}
	return t
}

func (as apps) takeLags() []time.Duration {
	var all []time.Duration
	for _, a := range as {
		all = append(all, a.takeLags()...)
	}
	slices.Sort(all)
	return all
}

func (as apps) reset() {
	for _, a := range as {
		a.reset()
	}
}
