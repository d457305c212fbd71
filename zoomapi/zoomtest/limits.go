package zoomtest

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Zoom's rate limits (zoom-platform.md §6, §10), written here from the
// reference and not shared with the client: per label, a per-second limit
// (per minute for Resource-intensive endpoints) and daily quotas that depend
// on the plan. The daily quotas are on by default with Zoom's numbers; the
// per-second and per-minute limits are off until SetQPSLimit and
// SetPerMinuteLimit, since a test's burst would trip them.

// The rate-limit labels (§6), the values of X-RateLimit-Category.
const (
	light             = "Light"
	medium            = "Medium"
	heavy             = "Heavy"
	resourceIntensive = "Resource-intensive"
)

// labels lists the labels in the order of DayCalls and the tables below.
var labels = []string{light, medium, heavy, resourceIntensive}

func labelIndex(label string) int { return slices.Index(labels, label) }

// Limits per window by label and plan (§6), indexed by Plan.rank: Basic
// (Free), Pro, Business+. The window is a second, or a minute for
// Resource-intensive endpoints.
var labelQPS = map[string][3]int{
	light:             {4, 30, 80},
	medium:            {2, 20, 60},
	heavy:             {1, 10, 40},
	resourceIntensive: {10, 10, 20},
}

// labelDaily is each label's own daily quota by plan; 0 means none. Only
// Basic has them (§6).
var labelDaily = map[string][3]int{
	light:             {6_000, 0, 0},
	medium:            {2_000, 0, 0},
	heavy:             {1_000, 0, 0},
	resourceIntensive: {30_000, 0, 0},
}

// sharedDaily is the daily total that Heavy and Resource-intensive calls
// share on paid plans (§6): 30,000 on Pro, 60,000 on Business+. Light and
// Medium have no daily quota there.
var sharedDaily = [3]int{0, 30_000, 60_000}

// DayCalls is one UTC day's API calls that the fake charged to the
// account's quotas, by label.
type DayCalls struct {
	// Day is 00:00 UTC of the day, by the fake's clock.
	Day time.Time
	// ByLabel counts the calls per label: "Light", "Medium", "Heavy" and
	// "Resource-intensive", each present.
	ByLabel map[string]int
}

// dayCounts are one day's calls per label, in the order of labels.
type dayCounts [4]int

func (d *dayCounts) byLabel() map[string]int {
	m := make(map[string]int, len(labels))
	for i, l := range labels {
		m[l] = d[i]
	}
	return m
}

// SetQPSLimit turns on a per-second limiter of n requests per rate-limit
// label (Light, Medium, Heavy, §6); over it, requests get Zoom's QPS 429. 0
// turns it off (the default). Resource-intensive endpoints have a
// per-minute limit instead (SetPerMinuteLimit).
func (s *Server) SetQPSLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.qpsLimit = n
	s.qps = map[string]*qpsWindow{}
}

// SetPerMinuteLimit turns on the per-minute limiter of the
// Resource-intensive (Dashboard, /metrics) endpoints, n requests per minute;
// over it, requests get a 429 that, as Zoom's, says X-RateLimit-Type: QPS
// (§10). n < 0 uses the plan's limit (§6: 10 a minute on Basic and Pro, 20
// on Business); 0 turns it off (the default). The headers always describe
// the per-minute limit.
func (s *Server) SetPerMinuteLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.minuteLimit = n
	s.qps = map[string]*qpsWindow{}
}

// SetDailyLimit overrides the plan's daily quotas. By default (n = 0) the
// fake enforces Zoom's (§6): on Basic each label's own (Light 6,000,
// Medium 2,000, Heavy 1,000, Resource-intensive 30,000 a day); on Pro and
// Business Heavy and Resource-intensive calls share 30,000 or 60,000 a day,
// and Light and Medium are unlimited. n > 0 replaces them with one quota of
// n calls a UTC day, every label together, counted from now (setting it
// restarts that count), so a test reaches a daily 429 in a few calls; while
// it is set the X-RateLimit-* headers describe it. n < 0 turns daily quotas
// off. Over a quota, calls get Zoom's daily 429 with Retry-After at the next
// 00:00 UTC in ISO 8601 (§6).
func (s *Server) SetDailyLimit(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dailyLimit = n
	s.overrideDay, s.overrideCount = time.Time{}, 0
}

// SpendByOtherApps charges n calls of label ("Light", "Medium", "Heavy" or
// "Resource-intensive") to today's daily quotas, as another app on the
// account would: Zoom's quotas are per account, shared by every app
// installed on it (§6), so others can use up ours. They count against the
// quotas but are not this client's calls: CallsByLabel leaves them out. It
// panics on an unknown label.
func (s *Server) SpendByOtherApps(label string, n int) {
	i := labelIndex(label)
	if i < 0 {
		panic("zoomtest: SpendByOtherApps: unknown label " + strconv.Quote(label))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dayLocked(s.others, utcDay(s.now()))[i] += n
}

// CallsByLabel returns today's (by the fake's clock, UTC) API calls charged
// to the quotas, by label, every label present. A call is charged when it
// passes the token, scope, plan and rate-limit checks, whatever the endpoint
// then answers; injected faults are not charged.
func (s *Server) CallsByLabel() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dayLocked(s.charged, utcDay(s.now())).byLabel()
}

// CallHistory returns the calls charged to each UTC day that had any, oldest
// first, as CallsByLabel counts them: a run that spans days with WithClock
// reports each day against its quotas.
func (s *Server) CallHistory() []DayCalls {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]DayCalls, 0, len(s.charged))
	for day, c := range s.charged {
		out = append(out, DayCalls{Day: day, ByLabel: c.byLabel()})
	}
	slices.SortFunc(out, func(a, b DayCalls) int { return a.Day.Compare(b.Day) })
	return out
}

func (s *Server) dayLocked(m map[time.Time]*dayCounts, day time.Time) *dayCounts {
	c := m[day]
	if c == nil {
		c = &dayCounts{}
		m[day] = c
	}
	return c
}

// utcDay returns 00:00 UTC of t's UTC day.
func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// dailyQuotaLocked returns the daily quota a call of label counts against
// on day, and how much of it is used (by us and other apps); limit 0 means
// no quota applies.
func (s *Server) dailyQuotaLocked(day time.Time, label string) (limit, used int) {
	if s.dailyLimit > 0 {
		if !day.Equal(s.overrideDay) {
			s.overrideDay, s.overrideCount = day, 0
		}
		return s.dailyLimit, s.overrideCount
	}
	if s.dailyLimit < 0 {
		return 0, 0
	}
	rank, i := s.plan.rank(), labelIndex(label)
	ours, others := s.dayLocked(s.charged, day), s.dayLocked(s.others, day)
	if own := labelDaily[label][rank]; own > 0 {
		return own, ours[i] + others[i]
	}
	if label == heavy || label == resourceIntensive {
		h, ri := labelIndex(heavy), labelIndex(resourceIntensive)
		return sharedDaily[rank], ours[h] + ours[ri] + others[h] + others[ri]
	}
	return 0, 0
}

type qpsWindow struct {
	start time.Time
	count int
}

// limitLocked applies the daily and per-second limits to one API call of
// label and sets the X-RateLimit-* headers (§6). It returns the 429 to send,
// if any, and charges the call to the day's quotas otherwise. With count
// false it only sets the headers.
func (s *Server) limitLocked(h http.Header, label string, count bool) *apiError {
	now := s.now().UTC()
	h.Set("X-RateLimit-Category", label)

	day := utcDay(now)
	limit := labelQPS[label][s.plan.rank()]
	window, enforced := time.Second, s.qpsLimit > 0
	switch {
	case label == resourceIntensive:
		// Per minute, and only SetPerMinuteLimit turns the refusals on (§10).
		window, enforced = time.Minute, s.minuteLimit != 0
		if s.minuteLimit > 0 {
			limit = s.minuteLimit
		}
	case enforced:
		limit = s.qpsLimit
	}
	start := now.Truncate(window)
	w := s.qps[label]
	if w == nil || !w.start.Equal(start) {
		w = &qpsWindow{start: start}
		s.qps[label] = w
	}

	if count {
		if quota, used := s.dailyQuotaLocked(day, label); quota > 0 && used >= quota {
			h.Set("X-RateLimit-Type", "Daily-limit")
			h.Set("X-RateLimit-Limit", strconv.Itoa(quota))
			h.Set("X-RateLimit-Remaining", "0")
			h.Set("Retry-After", day.AddDate(0, 0, 1).Format("2006-01-02T15:04:05Z"))
			return &apiError{status: http.StatusTooManyRequests, Code: 429, Message: MessageDailyLimit}
		}
	}
	var refusal *apiError
	switch {
	case !count:
	case enforced && w.count >= limit:
		// Zoom's text for the per-minute limit is not known [U]; the type is QPS (§10).
		refusal = &apiError{status: http.StatusTooManyRequests, Code: 429, Message: MessageQPSLimit}
	default:
		s.dayLocked(s.charged, day)[labelIndex(label)]++
		if s.dailyLimit > 0 {
			s.overrideCount++
		}
		w.count++
	}

	// The headers describe the daily override while one is set, else the
	// per-second or per-minute limit.
	if s.dailyLimit > 0 && refusal == nil {
		if !day.Equal(s.overrideDay) {
			s.overrideDay, s.overrideCount = day, 0
		}
		h.Set("X-RateLimit-Type", "Daily-limit")
		h.Set("X-RateLimit-Limit", strconv.Itoa(s.dailyLimit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, s.dailyLimit-s.overrideCount)))
	} else {
		h.Set("X-RateLimit-Type", "QPS")
		h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
		h.Set("X-RateLimit-Remaining", strconv.Itoa(max(0, limit-w.count)))
	}
	return refusal
}
