package zoomtest

import (
	"net/http"
	"net/url"
	"slices"
	"time"
)

// Request is one API request as the fake saw and answered it.
type Request struct {
	Time   time.Time
	Method string
	// Path is the raw escaped path as sent, with /v2, so tests can see how a
	// UUID was encoded.
	Path string
	// Endpoint is the matched template, as zoom-api-reference.json names it
	// (e.g. "/past_meetings/{meetingId}/participants"); "" if none matched.
	Endpoint string
	Query    url.Values
	Status   int // 0 if the client went away before an answer
}

// Requests returns every API request so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

// ResetRequests forgets the requests recorded so far.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = nil
}

// CallCount counts the recorded requests to an endpoint template; "" counts
// every API request.
func (s *Server) CallCount(endpoint string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if endpoint == "" || r.Endpoint == endpoint {
			n++
		}
	}
	return n
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

// statusWriter remembers the status a handler answered with and calls
// onStatus with it before anything reaches the client, so a request is in
// the log by the time its answer arrives.
type statusWriter struct {
	http.ResponseWriter
	status   int
	onStatus func(int)
}

func (w *statusWriter) setStatus(code int) {
	if w.status == 0 {
		w.status = code
		if w.onStatus != nil {
			w.onStatus(code)
		}
	}
}

func (w *statusWriter) WriteHeader(code int) {
	w.setStatus(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.setStatus(http.StatusOK)
	return w.ResponseWriter.Write(b)
}
