package zoomtest

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// apiError is Zoom's REST error body, {"code":N,"message":"..."} (§7).
type apiError struct {
	status  int
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// route is one REST endpoint: its template as zoom-api-reference.json names
// it, its rate-limit label, scopes and plan from the table of §5, and the
// query parameters the reference defines for it.
type route struct {
	template string
	segs     []string
	label    string // Light, Medium, Heavy or Resource-intensive (§6, §10)
	classic  string // classic scope
	granular string // granular scope
	plan     Plan   // lowest plan that may call it
	query    []string
	ignored  []string // defined by Zoom, accepted, not acted on
	handle   func(c *call) (int, any)
}

// call is one API request being answered, under the server's lock.
type call struct {
	s      *Server
	r      *http.Request
	rt     *route
	now    time.Time
	params []string // raw (still escaped) path parameters, in template order
	q      url.Values
}

func routes() []*route {
	paging := []string{"page_size", "next_page_token"}
	rs := []*route{
		{template: "/users", label: "Medium", classic: "user:read:admin", granular: "user:read:list_users:admin", plan: PlanBasic,
			query: append([]string{"status"}, paging...), ignored: []string{"role_id", "page_number", "include_fields", "license"},
			handle: listUsers},
		{template: "/meetings/{meetingId}", label: "Light", classic: "meeting:read:admin", granular: "meeting:read:meeting:admin", plan: PlanBasic,
			ignored: []string{"occurrence_id", "show_previous_occurrences"},
			handle:  getMeeting},
		{template: "/past_meetings/{meetingId}", label: "Light", classic: "meeting:read:admin", granular: "meeting:read:past_meeting:admin", plan: PlanPro,
			handle: getPastMeeting},
		{template: "/past_meetings/{meetingId}/participants", label: "Medium", classic: "meeting:read:admin", granular: "meeting:read:list_past_participants:admin", plan: PlanPro,
			query: paging, handle: listPastParticipants},
		{template: "/past_meetings/{meetingId}/instances", label: "Medium", classic: "meeting:read:admin", granular: "meeting:read:list_past_instances:admin", plan: PlanBasic,
			handle: listPastInstances},
		{template: "/report/meetings/{meetingId}", label: "Heavy", classic: "report:read:admin", granular: "report:read:meeting:admin", plan: PlanPro,
			handle: getReportMeeting},
		{template: "/report/meetings/{meetingId}/participants", label: "Heavy", classic: "report:read:admin", granular: "report:read:list_meeting_participants:admin", plan: PlanPro,
			query: append([]string{"include_fields"}, paging...), handle: listReportParticipants},
		{template: "/report/users/{userId}/meetings", label: "Heavy", classic: "report:read:admin", granular: "report:read:user:admin", plan: PlanPro,
			query: append([]string{"from", "to", "type"}, paging...), handle: listReportUserMeetings},
		// §10: hosts active in a range, Pro+, the cheap way to learn whose
		// meetings to list.
		{template: "/report/users", label: "Heavy", classic: "report:read:admin", granular: "report:read:list_users:admin", plan: PlanPro,
			query: append([]string{"type", "from", "to"}, paging...), ignored: []string{"page_number", "group_id"},
			handle: listReportUsers},
		// Dashboard endpoints are Resource-intensive: per-minute limits (§10).
		{template: "/metrics/meetings", label: resourceIntensive, classic: "dashboard_meetings:read:admin", granular: "dashboard:read:list_meetings:admin", plan: PlanBusiness,
			query: append([]string{"type", "from", "to"}, paging...), ignored: []string{"group_id", "group_include_participant", "include_fields", "query_date_type"},
			handle: listMetricsMeetings},
		{template: "/metrics/meetings/{meetingId}", label: resourceIntensive, classic: "dashboard_meetings:read:admin", granular: "dashboard:read:meeting:admin", plan: PlanBusiness,
			query: []string{"type"}, handle: getMetricsMeeting},
		{template: "/metrics/meetings/{meetingId}/participants", label: resourceIntensive, classic: "dashboard_meetings:read:admin", granular: "dashboard:read:list_meeting_participants:admin", plan: PlanBusiness,
			query: append([]string{"type"}, paging...), ignored: []string{"include_fields"},
			handle: listMetricsParticipants},
		{template: "/metrics/webinars", label: resourceIntensive, classic: "dashboard_webinars:read:admin", granular: "dashboard:read:list_webinars:admin", plan: PlanBusiness,
			query: append([]string{"type", "from", "to"}, paging...), ignored: []string{"group_id"},
			handle: listMetricsWebinars},
		{template: "/metrics/webinars/{webinarId}", label: resourceIntensive, classic: "dashboard_webinars:read:admin", granular: "dashboard:read:webinar:admin", plan: PlanBusiness,
			query: []string{"type"}, handle: getMetricsMeeting},
		{template: "/metrics/webinars/{webinarId}/participants", label: resourceIntensive, classic: "dashboard_webinars:read:admin", granular: "dashboard:read:list_webinar_participants:admin", plan: PlanBusiness,
			query: append([]string{"type"}, paging...), ignored: []string{"include_fields"},
			handle: listMetricsWebinarParticipants},
		// Webinars need a paid plan (the Webinar add-on sits on Pro or higher).
		{template: "/webinars/{webinarId}", label: "Light", classic: "webinar:read:admin", granular: "webinar:read:webinar:admin", plan: PlanPro,
			ignored: []string{"occurrence_id", "show_previous_occurrences"},
			handle:  getWebinar},
		{template: "/past_webinars/{webinarId}/instances", label: "Medium", classic: "webinar:read:admin", granular: "webinar:read:list_past_instances:admin", plan: PlanPro,
			handle: listPastWebinarInstances},
		{template: "/past_webinars/{webinarId}/participants", label: "Medium", classic: "webinar:read:admin", granular: "webinar:read:list_past_participants:admin", plan: PlanPro,
			query: paging, handle: listPastParticipants},
		{template: "/report/webinars/{webinarId}", label: "Heavy", classic: "report:read:admin", granular: "report:read:webinar:admin", plan: PlanPro,
			handle: getReportMeeting},
		{template: "/report/webinars/{webinarId}/participants", label: "Heavy", classic: "report:read:admin", granular: "report:read:list_webinar_participants:admin", plan: PlanPro,
			query: append([]string{"include_fields"}, paging...), handle: listReportParticipants},
	}
	for _, rt := range rs {
		rt.segs = strings.Split(strings.TrimPrefix(rt.template, "/"), "/")
	}
	return rs
}

// match finds the route for a raw escaped path. It splits on the raw '/'
// only, so an encoded %2F stays inside its segment and an unencoded '/' in a
// UUID makes the path match nothing, as with Zoom (§5).
func (s *Server) match(escaped string) (*route, []string) {
	rest, ok := strings.CutPrefix(escaped, "/v2/")
	if !ok {
		return nil, nil
	}
	segs := strings.Split(rest, "/")
	for _, rt := range s.routes {
		if params, ok := rt.params(segs); ok {
			return rt, params
		}
	}
	return nil, nil
}

// params matches raw path segments against the route's template and returns
// the values of its {parameters}, each a non-empty segment.
func (rt *route) params(segs []string) ([]string, bool) {
	if len(rt.segs) != len(segs) {
		return nil, false
	}
	var params []string
	for i, seg := range rt.segs {
		switch {
		case strings.HasPrefix(seg, "{"):
			if segs[i] == "" {
				return nil, false
			}
			params = append(params, segs[i])
		case seg != segs[i]:
			return nil, false
		}
	}
	return params, true
}

// serveAPI answers every request to the "api.zoom.us" server: faults first,
// then the token, scope, plan and rate-limit checks, then the endpoint.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	escaped := r.URL.EscapedPath()
	rt, params := s.match(escaped)
	rec := Request{Time: s.now(), Method: r.Method, Path: escaped, Query: r.URL.Query()}
	label := "Light"
	if rt != nil {
		rec.Endpoint, label = rt.template, rt.label
	}
	sw.onStatus = func(code int) {
		rec.Status = code
		s.record(rec)
	}
	defer func() {
		if sw.status == 0 { // nothing was answered: the client went away
			s.record(rec)
		}
	}()

	// Every answer carries a tracking ID and the rate-limit headers (§5, §6).
	sw.Header().Set("x-zm-trackingid", newTrackingID())
	s.mu.Lock()
	s.limitLocked(sw.Header(), label, false)
	s.mu.Unlock()

	if f, ok := s.takeFault(rec.Endpoint); ok && s.applyFault(sw, r, f) {
		return
	}
	status, body := s.answer(r, sw.Header(), rt, params)
	writeJSON(sw, status, body)
}

// answer runs the checks and the endpoint under the lock. It sets the
// rate-limit headers in h.
func (s *Server) answer(r *http.Request, h http.Header, rt *route, params []string) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rt == nil {
		return notRouted(r.URL.EscapedPath())
	}
	if r.Method != http.MethodGet {
		return http.StatusMethodNotAllowed, &apiError{Code: 405, Message: "Method Not Allowed."}
	}
	tok, e := s.authenticateLocked(r)
	if e != nil {
		return e.status, s.tokenRefusalLocked(r, e)
	}
	if !slices.Contains(tok.scopes, rt.classic) && !slices.Contains(tok.scopes, rt.granular) {
		// Name the scope in the style of the token's (§1: classic or granular apps).
		missing := rt.classic
		if slices.ContainsFunc(tok.scopes, func(sc string) bool { return strings.Count(sc, ":") >= 3 }) {
			missing = rt.granular
		}
		return http.StatusBadRequest, &apiError{Code: 4711, Message: "Invalid access token, does not contain scopes:[" + missing + "]."}
	}
	if s.plan.rank() < rt.plan.rank() {
		// §7: a plan or feature not enabled answers 400 with the generic
		// permission code 200; the exact text is not known [U].
		msg := "Only available for Paid account."
		if rt.plan == PlanBusiness {
			msg = "Dashboard is only available for accounts on the Business plan or higher."
		}
		return http.StatusBadRequest, &apiError{Code: 200, Message: msg}
	}
	if e := s.limitLocked(h, rt.label, true); e != nil {
		return e.status, e
	}
	c := &call{s: s, r: r, rt: rt, now: s.now(), params: params, q: r.URL.Query()}
	status, body := rt.handle(c)
	if e, ok := body.(*apiError); ok {
		return e.status, e
	}
	return status, body
}

// notRouted answers a path no endpoint matches. Under the meeting and
// webinar paths that is most often a UUID sent with an unencoded '/', which
// Zoom answers as a missing meeting (§5).
func notRouted(escaped string) (int, any) {
	rest := strings.TrimPrefix(escaped, "/v2/")
	for _, prefix := range []string{"past_meetings/", "report/meetings/", "metrics/meetings/", "meetings/",
		"past_webinars/", "report/webinars/", "metrics/webinars/", "webinars/"} {
		if id, ok := strings.CutPrefix(rest, prefix); ok {
			id = strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(id, "/participants"), "/instances"), "/")
			if v, err := url.PathUnescape(id); err == nil {
				id = v
			}
			what := "Meeting"
			if strings.Contains(prefix, "webinars") {
				what = "Webinar"
			}
			return http.StatusNotFound, &apiError{Code: 3001, Message: what + " does not exist: " + id + "."}
		}
	}
	return http.StatusNotFound, &apiError{Code: 404, Message: "Not Found."}
}
