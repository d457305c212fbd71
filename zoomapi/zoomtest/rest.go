package zoomtest

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The REST endpoints of zoom-platform.md §5. Each handler runs under the
// server's lock and answers from the model.

// notEnded is what report endpoints answer for an instance that has not
// ended, is not in the report yet (SetReportDelay), or never will be because
// fewer than two people took part, and for a UUID they do not know (§5, §7 [O]).
func notEnded() *apiError {
	return &apiError{status: http.StatusNotFound, Code: 3001, Message: "Meeting ID is invalid or not end."}
}

func notExist(id string) *apiError {
	return &apiError{status: http.StatusNotFound, Code: 3001, Message: "Meeting does not exist: " + id + "."}
}

// notExist is notExist in the words of the endpoint: Zoom names a webinar
// a webinar (§7).
func (c *call) notExist(id string) *apiError {
	if c.webinarRoute() {
		return &apiError{status: http.StatusNotFound, Code: 3001, Message: "Webinar does not exist: " + id + "."}
	}
	return notExist(id)
}

// ref is a {meetingId} path parameter that takes an instance UUID or a
// meeting number.
type ref struct {
	number int64 // a meeting number, if not 0
	uuid   string
	shown  string // as decoded, for messages
}

// ref decodes path parameter i like Zoom (§5): a UUID sent encoded once
// resolves unless it begins with '/' or contains "//" (Zoom's router has
// already turned its %2F back into '/' and lost it); a UUID encoded twice
// always resolves. All digits is a meeting number.
func (c *call) ref(i int) (ref, *apiError) {
	raw := c.params[i]
	v, err := url.PathUnescape(raw)
	if err != nil {
		return ref{}, c.notExist(raw)
	}
	if v != "" && strings.Trim(v, "0123456789") == "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return ref{}, c.notExist(v)
		}
		return ref{number: n, shown: v}, nil
	}
	if strings.Contains(v, "%") {
		if twice, err := url.PathUnescape(v); err == nil {
			return ref{uuid: twice, shown: twice}, nil
		}
	}
	if strings.HasPrefix(v, "/") || strings.Contains(v, "//") {
		return ref{}, c.notExist(v)
	}
	return ref{uuid: v, shown: v}, nil
}

// candidates are the instances a ref can mean, oldest first: the meeting's
// instances for a number, the one instance for a UUID. Meetings and webinars
// do not mix.
func (c *call) candidates(r ref, webinar bool) []*instance {
	if r.number != 0 {
		if m := c.s.meetings[r.number]; m != nil && m.webinar == webinar {
			return m.instances
		}
		return nil
	}
	if inst := c.s.instances[r.uuid]; inst != nil && inst.m.webinar == webinar {
		return []*instance{inst}
	}
	return nil
}

// latest picks the newest candidate that ok accepts. A meeting number
// selects the most recent instance (§5).
func latest(insts []*instance, ok func(*instance) bool) *instance {
	for i := len(insts) - 1; i >= 0; i-- {
		if ok(insts[i]) {
			return insts[i]
		}
	}
	return nil
}

// available says whether an instance's past data is out: it has ended and
// the report delay has passed.
func (c *call) available(inst *instance) bool {
	return inst.ended && !c.now.Before(inst.end.Add(c.s.reportDelay))
}

// inReport says whether an instance is in the report data: available and,
// for meetings, with two or more people including the host (§5).
func (c *call) inReport(inst *instance) bool {
	return c.available(inst) && (inst.m.webinar || inst.uniqueParticipants() >= 2)
}

func (c *call) webinarRoute() bool { return strings.Contains(c.rt.template, "webinar") }

// pastInstance resolves the {meetingId} of a past_meetings or past_webinars endpoint.
func (c *call) pastInstance() (*instance, *apiError) {
	r, e := c.ref(0)
	if e != nil {
		return nil, e
	}
	inst := latest(c.candidates(r, c.webinarRoute()), c.available)
	if inst == nil {
		return nil, c.notExist(r.shown)
	}
	return inst, nil
}

// reportInstance resolves the {meetingId} of a report endpoint.
func (c *call) reportInstance() (*instance, *apiError) {
	r, e := c.ref(0)
	if e != nil {
		return nil, e
	}
	inst := latest(c.candidates(r, c.webinarRoute()), c.inReport)
	if inst == nil {
		return nil, notEnded()
	}
	return inst, nil
}

func (c *call) user(id string) *userRecord {
	if u := c.s.users[id]; u != nil {
		return u
	}
	for _, uid := range c.s.userOrder {
		if u := c.s.users[uid]; strings.EqualFold(u.Email, id) {
			return u
		}
	}
	return nil
}

func (c *call) host(inst *instance) *userRecord {
	if u := c.s.users[inst.hostID]; u != nil {
		return u
	}
	return &userRecord{User: User{ID: inst.hostID}}
}

// endedMeeting is the part of an ended instance's answer that the past
// meeting and report endpoints share; the host is named as user_name and
// user_email.
func (c *call) endedMeeting(inst *instance) endedMeetingJSON {
	host := c.host(inst)
	return endedMeetingJSON{
		UUID: inst.uuid, ID: inst.m.id, Type: inst.typ, Topic: inst.topic,
		UserName: host.displayName(), UserEmail: host.Email, StartTime: zoomTime(inst.start), EndTime: zoomTime(inst.end),
		Duration: minutes(inst.end.Sub(inst.start)), TotalMinutes: inst.totalMinutes(), ParticipantsCount: inst.attended(),
	}
}

// minutes rounds a length up to whole minutes, as Zoom's durations.
func minutes(d time.Duration) int { return int(math.Ceil(d.Minutes())) }

func (inst *instance) totalMinutes() int {
	var total time.Duration
	for _, sess := range inst.sessions {
		if !sess.open && sess.inMeeting() {
			total += sess.leave.Sub(sess.join)
		}
	}
	return minutes(total)
}

// GET /users
func listUsers(c *call) (int, any) {
	status := c.q.Get("status")
	if status == "" {
		status = "active"
	}
	var users []*userRecord
	for _, id := range c.s.userOrder {
		if u := c.s.users[id]; u.Status == status {
			users = append(users, u)
		}
	}
	start, end, info, e := c.page(len(users))
	if e != nil {
		return 0, e
	}
	out := usersJSON{PageCount: info.PageCount, PageNumber: 1, PageSize: info.PageSize, TotalRecords: info.TotalRecords,
		NextPageToken: info.NextPageToken, Users: []userJSON{}}
	for _, u := range users[start:end] {
		out.Users = append(out.Users, userJSON{
			ID: u.ID, FirstName: u.FirstName, LastName: u.LastName, DisplayName: u.displayName(), Email: u.Email,
			Type: u.Type, PMI: u.pmi, Timezone: "UTC", Verified: 1, CreatedAt: zoomTime(u.created),
			Status: u.Status, RoleID: "2",
		})
	}
	return http.StatusOK, out
}

// GET /meetings/{meetingId}: status "started" while an instance runs, else
// "waiting"; an instant meeting that has ended is gone (§5 [U]).
func getMeeting(c *call) (int, any) {
	v, _ := url.PathUnescape(c.params[0])
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, notExist(v)
	}
	m := c.s.meetings[n]
	if m == nil || m.webinar {
		return 0, notExist(v)
	}
	inst := m.latest()
	if inst.ended && inst.typ == 1 {
		return 0, &apiError{status: http.StatusNotFound, Code: 3001, Message: fmt.Sprintf("Meeting %d is not found or has expired.", n)}
	}
	status := "waiting"
	if !inst.ended {
		status = "started"
	}
	host := c.host(inst)
	base := "https://zoom.us"
	return http.StatusOK, meetingJSON{
		UUID: inst.uuid, ID: n, HostID: inst.hostID, HostEmail: host.Email, Topic: inst.topic, Type: inst.typ,
		Status: status, StartTime: zoomTime(inst.start), Duration: inst.duration, Timezone: inst.timezone,
		CreatedAt: zoomTime(m.instances[0].start),
		StartURL:  fmt.Sprintf("%s/s/%d?zak=%s", base, n, randString(24, alnum)),
		JoinURL:   fmt.Sprintf("%s/j/%d", base, n),
		Settings:  meetingSettingsJSON{ApprovalType: 2, Audio: "both", AutoRecording: "none"},
	}
}

// GET /past_meetings/{meetingId}
func getPastMeeting(c *call) (int, any) {
	inst, e := c.pastInstance()
	if e != nil {
		return 0, e
	}
	return http.StatusOK, pastMeetingJSON{endedMeetingJSON: c.endedMeeting(inst), HostID: inst.hostID, Source: "Zoom"}
}

// GET /past_meetings/{meetingId}/participants and
// /past_webinars/{webinarId}/participants: one row per join session and per
// waiting-room stay, told apart by status (§5, §10). Zoom returns nothing for
// a one-participant meeting (§5).
func listPastParticipants(c *call) (int, any) {
	inst, e := c.pastInstance()
	if e != nil {
		return 0, e
	}
	sessions := inst.sessionsByJoin()
	if !inst.m.webinar && inst.uniqueParticipants() < 2 {
		sessions = nil
	}
	start, end, info, e := c.page(len(sessions))
	if e != nil {
		return 0, e
	}
	out := pastParticipantsJSON{pageInfo: info, Participants: []pastParticipantJSON{}}
	for _, sess := range sessions[start:end] {
		out.Participants = append(out.Participants, pastParticipantJSON{
			ID: sess.p.ParticipantUserID, Name: sess.p.Name, UserID: sess.p.UserID, RegistrantID: sess.p.RegistrantID,
			UserEmail: sess.p.Email, JoinTime: zoomTime(sess.join), LeaveTime: zoomTime(sess.leave),
			Duration: int(sess.leave.Sub(sess.join).Seconds()), Status: sess.status,
			InternalUser: sess.p.ParticipantUserID != "",
		})
	}
	return http.StatusOK, out
}

// GET /past_meetings/{meetingId}/instances: the ended instances of the last
// 15 months, oldest first, unpaged (§5).
func listPastInstances(c *call) (int, any) {
	m, e := c.numbered()
	if e != nil {
		return 0, e
	}
	return http.StatusOK, instancesJSON{Meetings: c.pastInstances(m)}
}

// numbered resolves the {meetingId} or {webinarId} of an instances
// endpoint, which takes a meeting number only.
func (c *call) numbered() (*meeting, *apiError) {
	r, e := c.ref(0)
	if e != nil {
		return nil, e
	}
	if r.number == 0 {
		return nil, c.notExist(r.shown)
	}
	m := c.s.meetings[r.number]
	if m == nil || m.webinar != c.webinarRoute() {
		return nil, c.notExist(r.shown)
	}
	return m, nil
}

// pastInstances lists a meeting's ended instances of the last 15 months (§5).
func (c *call) pastInstances(m *meeting) []instanceJSON {
	out := []instanceJSON{}
	oldest := c.now.AddDate(0, -15, 0)
	for _, inst := range m.instances {
		if c.available(inst) && inst.start.After(oldest) {
			out = append(out, instanceJSON{UUID: inst.uuid, StartTime: zoomTime(inst.start)})
		}
	}
	return out
}

// GET /report/meetings/{meetingId} and /report/webinars/{webinarId}: the
// Report API's view of an ended instance; "not end" (3001) until then (§5).
func getReportMeeting(c *call) (int, any) {
	inst, e := c.reportInstance()
	if e != nil {
		return 0, e
	}
	return http.StatusOK, reportMeetingJSON{endedMeetingJSON: c.endedMeeting(inst)}
}

// GET /report/meetings/{meetingId}/participants and
// /report/webinars/{webinarId}/participants: one row per join session and
// per waiting-room stay, told apart by status; a session spent in a breakout
// room carries the room as bo_mtg_id (§10).
func listReportParticipants(c *call) (int, any) {
	inst, e := c.reportInstance()
	if e != nil {
		return 0, e
	}
	withRegistrant := slices.Contains(strings.Split(c.q.Get("include_fields"), ","), "registrant_id")
	sessions := inst.sessionsByJoin()
	start, end, info, e := c.page(len(sessions))
	if e != nil {
		return 0, e
	}
	out := reportParticipantsJSON{pageInfo: info, Participants: []reportParticipantJSON{}}
	for _, sess := range sessions[start:end] {
		row := reportParticipantJSON{
			ID: sess.p.ParticipantUserID, UserID: sess.p.UserID, Name: sess.p.Name, UserEmail: sess.p.Email,
			JoinTime: zoomTime(sess.join), LeaveTime: zoomTime(sess.leave), Duration: int(sess.leave.Sub(sess.join).Seconds()),
			Status: sess.status, ParticipantUserID: sess.p.ParticipantUserID, BoMtgID: sess.boMtgID(),
		}
		if withRegistrant {
			rid := sess.p.RegistrantID
			row.RegistrantID = &rid
		}
		out.Participants = append(out.Participants, row)
	}
	return http.StatusOK, out
}

// dateRange reads from and to (YYYY-MM-DD, UTC): a range of at most one
// month inside the last six (§5 [O]). The texts of the errors are not known.
func (c *call) dateRange() (from, to time.Time, _ *apiError) {
	bad := func(msg string) *apiError { return &apiError{status: http.StatusBadRequest, Code: 300, Message: msg} }
	from, err := time.Parse(time.DateOnly, c.q.Get("from"))
	if err != nil {
		return from, to, bad("Invalid field: from. Use the format yyyy-MM-dd.")
	}
	to, err = time.Parse(time.DateOnly, c.q.Get("to"))
	if err != nil {
		return from, to, bad("Invalid field: to. Use the format yyyy-MM-dd.")
	}
	now := c.now.UTC()
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch {
	case to.Before(from):
		return from, to, bad("The to date cannot be earlier than the from date.")
	case to.After(from.AddDate(0, 1, 0)):
		return from, to, bad("The date range cannot exceed one month.")
	case from.Before(today.AddDate(0, -6, 0)):
		return from, to, bad("Only data from the last 6 months can be requested.")
	}
	return from, to, nil
}

// startsIn says whether an instance started on a day from..to, inclusive.
func startsIn(inst *instance, from, to time.Time) bool {
	return !inst.start.Before(from) && inst.start.Before(to.AddDate(0, 0, 1))
}

// GET /report/users/{userId}/meetings: type past (default) lists the user's
// meetings and webinars with two or more people (§10: webinars too), pastOne
// the meetings with one, pastJoined the meetings the user joined (§5). A
// webinar row tells itself apart only by its type, 5, 6 or 9 (§4).
func listReportUserMeetings(c *call) (int, any) {
	id, _ := url.PathUnescape(c.params[0])
	if id == "me" {
		// "me" means the token's user, which an S2S token has none of (§1, §7 [U]).
		return 0, &apiError{status: http.StatusBadRequest, Code: 4700, Message: "Invalid access token, does not contain scopes."}
	}
	u := c.user(id)
	if u == nil {
		return 0, &apiError{status: http.StatusNotFound, Code: 1001, Message: "User does not exist: " + id + "."}
	}
	from, to, e := c.dateRange()
	if e != nil {
		return 0, e
	}
	kind := c.q.Get("type")
	var match func(*instance) bool
	switch kind {
	case "", "past":
		match = func(inst *instance) bool { return inst.hostID == u.ID && inst.uniqueParticipants() >= 2 }
	case "pastOne":
		match = func(inst *instance) bool { return inst.hostID == u.ID && inst.uniqueParticipants() < 2 }
	case "pastJoined":
		match = func(inst *instance) bool {
			return slices.ContainsFunc(inst.sessions, func(s *session) bool { return s.p.ParticipantUserID == u.ID })
		}
	default:
		return 0, &apiError{status: http.StatusBadRequest, Code: 300, Message: "Invalid field: type."}
	}
	var insts []*instance
	for _, inst := range c.s.started {
		if (!inst.m.webinar || kind == "" || kind == "past") && c.available(inst) && startsIn(inst, from, to) && match(inst) {
			insts = append(insts, inst)
		}
	}
	start, end, info, e := c.page(len(insts))
	if e != nil {
		return 0, e
	}
	out := reportUserMeetingsJSON{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), pageInfo: info,
		Meetings: []reportUserMeetingJSON{}}
	for _, inst := range insts[start:end] {
		out.Meetings = append(out.Meetings, reportUserMeetingJSON{endedMeetingJSON: c.endedMeeting(inst), Source: "Zoom"})
	}
	return http.StatusOK, out
}

// hhmm formats a Dashboard duration, "HH:MM" (§5).
func hhmm(d time.Duration) string {
	m := int(d.Minutes())
	return fmt.Sprintf("%02d:%02d", m/60, m%60)
}

// metricsList selects the Dashboard rows for type live (running now; from
// and to are checked but do not filter), past (ended, two or more people)
// or pastOne (ended, one person; meetings only) (§5).
func (c *call) metricsList(webinar bool) ([]metricsMeetingJSON, time.Time, time.Time, pageInfo, *apiError) {
	from, to, e := c.dateRange()
	if e != nil {
		return nil, from, to, pageInfo{}, e
	}
	kind := c.q.Get("type")
	var match func(*instance) bool
	switch {
	case kind == "" || kind == "live":
		match = func(inst *instance) bool { return !inst.ended }
	case kind == "past":
		match = func(inst *instance) bool {
			return c.available(inst) && startsIn(inst, from, to) && (webinar || inst.uniqueParticipants() >= 2)
		}
	case kind == "pastOne" && !webinar:
		match = func(inst *instance) bool {
			return c.available(inst) && startsIn(inst, from, to) && inst.uniqueParticipants() < 2
		}
	default:
		return nil, from, to, pageInfo{}, &apiError{status: http.StatusBadRequest, Code: 300, Message: "Invalid field: type."}
	}
	var insts []*instance
	for _, inst := range c.s.started {
		if inst.m.webinar == webinar && match(inst) {
			insts = append(insts, inst)
		}
	}
	start, end, info, e := c.page(len(insts))
	if e != nil {
		return nil, from, to, pageInfo{}, e
	}
	rows := []metricsMeetingJSON{}
	for _, inst := range insts[start:end] {
		rows = append(rows, c.metricsRow(inst))
	}
	return rows, from, to, info, nil
}

// metricsRow is the Dashboard's view of one instance, live or past.
func (c *call) metricsRow(inst *instance) metricsMeetingJSON {
	host := c.host(inst)
	userType := "Licensed"
	if host.Type == 1 {
		userType = "Basic"
	}
	length := c.now.Sub(inst.start)
	if inst.ended {
		length = inst.end.Sub(inst.start)
	}
	n := inst.attended()
	return metricsMeetingJSON{
		UUID: inst.uuid, ID: inst.m.id, Topic: inst.topic, Host: host.displayName(), Email: host.Email, UserType: userType,
		StartTime: zoomTime(inst.start), EndTime: zoomTime(inst.end), Duration: hhmm(length),
		Participants: n, HasVoIP: n > 0, HasVideo: n > 0,
	}
}

// GET /metrics/meetings
func listMetricsMeetings(c *call) (int, any) {
	rows, from, to, info, e := c.metricsList(false)
	if e != nil {
		return 0, e
	}
	return http.StatusOK, metricsMeetingsJSON{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), pageInfo: info, Meetings: rows}
}

// GET /metrics/webinars
func listMetricsWebinars(c *call) (int, any) {
	rows, from, to, info, e := c.metricsList(true)
	if e != nil {
		return 0, e
	}
	return http.StatusOK, metricsWebinarsJSON{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), pageInfo: info, Webinars: rows}
}

// metricsInstance resolves the {meetingId} or {webinarId} of a Dashboard
// endpoint for its type: live (default) selects a running instance, past and
// pastOne (meetings only) an ended one with two or more people, or one (§5).
func (c *call) metricsInstance() (*instance, bool, *apiError) {
	r, e := c.ref(0)
	if e != nil {
		return nil, false, e
	}
	webinar := c.webinarRoute()
	kind := c.q.Get("type")
	var ok func(*instance) bool
	switch {
	case kind == "" || kind == "live":
		ok = func(inst *instance) bool { return !inst.ended }
	case kind == "past":
		ok = func(inst *instance) bool { return c.available(inst) && (webinar || inst.uniqueParticipants() >= 2) }
	case kind == "pastOne" && !webinar:
		ok = func(inst *instance) bool { return c.available(inst) && inst.uniqueParticipants() < 2 }
	default:
		return nil, false, &apiError{status: http.StatusBadRequest, Code: 300, Message: "Invalid field: type."}
	}
	inst := latest(c.candidates(r, webinar), ok)
	if inst == nil {
		return nil, false, c.notExist(r.shown)
	}
	return inst, kind == "" || kind == "live", nil
}

// GET /metrics/meetings/{meetingId} and /metrics/webinars/{webinarId}: one
// Dashboard row, live or past.
func getMetricsMeeting(c *call) (int, any) {
	inst, _, e := c.metricsInstance()
	if e != nil {
		return 0, e
	}
	return http.StatusOK, c.metricsRow(inst)
}

// GET /metrics/meetings/{meetingId}/participants: type live (default) shows
// a running instance's sessions so far, past and pastOne an ended one's
// (§5). Waiting-room stays are rows too, with their status; a session spent
// in a breakout room carries the room as bo_mtg_id (§10).
func listMetricsParticipants(c *call) (int, any) {
	inst, live, e := c.metricsInstance()
	if e != nil {
		return 0, e
	}
	sessions := inst.sessionsByJoin()
	start, end, info, e := c.page(len(sessions))
	if e != nil {
		return 0, e
	}
	out := metricsParticipantsJSON{pageInfo: info, Participants: []metricsParticipantJSON{}}
	for _, sess := range sessions[start:end] {
		row := metricsParticipantJSON{
			ID: sess.p.ParticipantUserID, UserID: sess.p.UserID, ParticipantUUID: sess.p.ParticipantUUID, UserName: sess.p.Name,
			Device: "Windows", JoinTime: zoomTime(sess.join), LeaveTime: zoomTime(sess.leave), LeaveReason: sess.reason,
			Email: sess.p.Email, Status: sess.status, ParticipantUserID: sess.p.ParticipantUserID, BoMtgID: sess.boMtgID(),
		}
		if !live {
			rid := sess.p.RegistrantID
			row.RegistrantID = &rid
		}
		out.Participants = append(out.Participants, row)
	}
	return http.StatusOK, out
}

// GET /metrics/webinars/{webinarId}/participants: like the meeting's, with
// each row's role (host, panelist or attendee) and no status.
func listMetricsWebinarParticipants(c *call) (int, any) {
	inst, live, e := c.metricsInstance()
	if e != nil {
		return 0, e
	}
	sessions := inst.sessionsByJoin()
	start, end, info, e := c.page(len(sessions))
	if e != nil {
		return 0, e
	}
	out := metricsWebinarParticipantsJSON{pageInfo: info, Participants: []metricsWebinarParticipantJSON{}}
	for _, sess := range sessions[start:end] {
		role := "attendee"
		switch {
		case sess.p.ParticipantUserID != "" && sess.p.ParticipantUserID == inst.hostID:
			role = "host"
		case sess.p.Panelist:
			role = "panelist"
		}
		row := metricsWebinarParticipantJSON{
			ID: sess.p.ParticipantUserID, UserID: sess.p.UserID, ParticipantUUID: sess.p.ParticipantUUID, UserName: sess.p.Name,
			Device: "Windows", JoinTime: zoomTime(sess.join), LeaveTime: zoomTime(sess.leave), LeaveReason: sess.reason,
			Email: sess.p.Email, ParticipantUserID: sess.p.ParticipantUserID, Role: role,
		}
		if !live {
			rid := sess.p.RegistrantID
			row.RegistrantID = &rid
		}
		out.Participants = append(out.Participants, row)
	}
	return http.StatusOK, out
}

// GET /webinars/{webinarId}: the webinar's definition. Unlike GET
// /meetings/{meetingId}, Zoom's answer has no status (the reference lists
// none); uuid is the latest instance's.
func getWebinar(c *call) (int, any) {
	v, _ := url.PathUnescape(c.params[0])
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, c.notExist(v)
	}
	m := c.s.meetings[n]
	if m == nil || !m.webinar {
		return 0, c.notExist(v)
	}
	inst := m.latest()
	host := c.host(inst)
	base := "https://zoom.us"
	return http.StatusOK, webinarJSON{
		UUID: inst.uuid, ID: n, HostID: inst.hostID, HostEmail: host.Email, Topic: inst.topic, Type: inst.typ,
		StartTime: zoomTime(inst.start), Duration: inst.duration, Timezone: inst.timezone,
		CreatedAt: zoomTime(m.instances[0].start),
		StartURL:  fmt.Sprintf("%s/s/%d?zak=%s", base, n, randString(24, alnum)),
		JoinURL:   fmt.Sprintf("%s/j/%d", base, n),
		Settings:  webinarSettingsJSON{ApprovalType: 2, Audio: "both", AutoRecording: "none", RegistrationType: 1},
	}
}

// GET /past_webinars/{webinarId}/instances: the ended instances of a
// webinar number, oldest first, unpaged, as for meetings (§5).
func listPastWebinarInstances(c *call) (int, any) {
	m, e := c.numbered()
	if e != nil {
		return 0, e
	}
	return http.StatusOK, webinarInstancesJSON{Webinars: c.pastInstances(m)}
}

// GET /report/users?type=active|inactive&from&to: the users who hosted at
// least one meeting that started in the range and has ended (active, the
// default), or the active users who hosted none (inactive), with their
// meeting, participant and minute counts (§10 [O]). Webinars do not make a
// host active [U: Zoom calls it the active hosts report, of meetings].
func listReportUsers(c *call) (int, any) {
	from, to, e := c.dateRange()
	if e != nil {
		return 0, e
	}
	kind := c.q.Get("type")
	if kind != "" && kind != "active" && kind != "inactive" {
		return 0, &apiError{status: http.StatusBadRequest, Code: 300, Message: "Invalid field: type."}
	}
	type tally struct{ meetings, participants, minutes int }
	hosted := map[string]*tally{}
	for _, inst := range c.s.started {
		if inst.m.webinar || !c.available(inst) || !startsIn(inst, from, to) {
			continue
		}
		t := hosted[inst.hostID]
		if t == nil {
			t = &tally{}
			hosted[inst.hostID] = t
		}
		t.meetings++
		t.participants += inst.attended()
		t.minutes += minutes(inst.end.Sub(inst.start))
	}
	var users []*userRecord
	for _, id := range c.s.userOrder {
		u := c.s.users[id]
		if (kind == "inactive") == (hosted[id] == nil) && (kind != "inactive" || u.Status == "active") {
			users = append(users, u)
		}
	}
	start, end, info, e := c.page(len(users))
	if e != nil {
		return 0, e
	}
	out := reportUsersJSON{From: from.Format(time.DateOnly), To: to.Format(time.DateOnly), pageInfo: info, PageNumber: 1,
		Users: []reportUserJSON{}}
	for _, u := range users {
		if t := hosted[u.ID]; t != nil {
			out.TotalMeetings += t.meetings
			out.TotalParticipants += t.participants
			out.TotalMeetingMinutes += t.minutes
		}
	}
	for _, u := range users[start:end] {
		row := reportUserJSON{ID: u.ID, Email: u.Email, UserName: u.displayName(), Type: u.Type}
		if t := hosted[u.ID]; t != nil {
			row.Meetings, row.Participants, row.MeetingMinutes = t.meetings, t.participants, t.minutes
		}
		out.Users = append(out.Users, row)
	}
	return http.StatusOK, out
}
