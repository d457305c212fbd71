package zoomtest

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// tokenPath is the Fault.Path that matches the token endpoint.
const tokenPath = "/oauth/token"

// The 429 bodies of zoom-platform.md §6.
const (
	MessageQPSLimit   = "You have reached the maximum per-second rate limit for this API. Try again later."
	MessageDailyLimit = "You have reached the maximum daily rate limit for this API. Refer to the response header for details on when you can make another request."
)

// Fault makes matching requests fail or slow down.
type Fault struct {
	// Path is the endpoint template to match, as in Request.Endpoint (e.g.
	// "/past_meetings/{meetingId}/participants"), "/oauth/token" for the
	// token endpoint, or "" for every API request.
	Path string
	// Times is how many requests it affects; 0 means until ClearFaults.
	Times int
	// Status is the answer's status, e.g. 500, 502, 429. 0 with a Delay
	// slows the request down and then answers it normally.
	Status int
	// Body is the raw answer body: "" and non-JSON bodies are allowed (§7).
	Body string
	// RateLimitType sets X-RateLimit-Type: "QPS" or "Daily-limit". "" sends
	// neither it nor a Retry-After unless RetryAfter is set: the bare 429 of §6.
	RateLimitType string
	// RetryAfter is the raw Retry-After value; Zoom sends an ISO 8601
	// date-time for the daily limit (§6).
	RetryAfter string
	// Delay holds the answer back this long, or until the client gives up.
	Delay time.Duration
}

// QPSFault is a Fault answering like Zoom's per-second limit (§6).
func QPSFault(path string, times int) Fault {
	return Fault{Path: path, Times: times, Status: http.StatusTooManyRequests, RateLimitType: "QPS",
		Body: `{"code":429,"message":"` + MessageQPSLimit + `"}`}
}

// DailyFault is a Fault answering like Zoom's daily limit, with Retry-After
// at reset as ISO 8601 (§6).
func DailyFault(path string, times int, reset time.Time) Fault {
	return Fault{Path: path, Times: times, Status: http.StatusTooManyRequests, RateLimitType: "Daily-limit",
		RetryAfter: reset.UTC().Format("2006-01-02T15:04:05Z"),
		Body:       `{"code":429,"message":"` + MessageDailyLimit + `"}`}
}

type faultState struct {
	f    Fault
	left int
}

// Inject adds a fault. Faults are matched in the order injected; the first
// that matches a request takes it.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{f: f, left: f.Times})
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the first fault matching endpoint and uses one of its Times.
func (s *Server) takeFault(endpoint string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, st := range s.faults {
		if st.f.Path != endpoint && (st.f.Path != "" || endpoint == tokenPath) {
			continue
		}
		if st.f.Times > 0 {
			st.left--
			if st.left == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return st.f, true
	}
	return Fault{}, false
}

// applyFault delays and answers as f says. It reports whether it answered
// (or the client went away); false means: go on and answer normally.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return true
		case <-s.closing:
			return true
		}
	}
	if f.Status == 0 {
		return false
	}
	if f.RateLimitType != "" {
		w.Header().Set("X-RateLimit-Type", f.RateLimitType)
	} else if f.Status == http.StatusTooManyRequests {
		w.Header().Del("X-RateLimit-Type")
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	switch body := strings.TrimSpace(f.Body); {
	case body == "":
	case strings.HasPrefix(body, "{"):
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	default:
		w.Header().Set("Content-Type", "text/html")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(f.Body)))
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(f.Body))
	return true
}
