package zoomapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"net/url"
	"strconv"
	"time"
)

// Users lists the account's users with the given status ("active",
// "inactive", "pending"; empty means Zoom's default, active).
func (c *Client) Users(ctx context.Context, status string) iter.Seq2[User, error] {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	return paginate(c, ctx, EndpointUsers, "/users", q, keyUsers, (*wireUser).user)
}

// GetMeeting returns a meeting's definition and current status.
func (c *Client) GetMeeting(ctx context.Context, meetingID int64) (Meeting, error) {
	path, err := idPath("/meetings/", meetingID, "")
	if err != nil {
		return Meeting{}, err
	}
	var w wireMeeting
	if err := c.get(ctx, EndpointMeeting, path, nil, nil, &w); err != nil {
		return Meeting{}, err
	}
	return w.meeting(), nil
}

// PastMeeting returns one ended meeting instance by its UUID.
func (c *Client) PastMeeting(ctx context.Context, uuid string) (PastMeeting, error) {
	path, err := uuidPath("/past_meetings/", uuid, "")
	if err != nil {
		return PastMeeting{}, err
	}
	var w wirePastMeeting
	if err := c.get(ctx, EndpointPastMeeting, path, nil, nil, &w); err != nil {
		return PastMeeting{}, err
	}
	return w.pastMeeting(), nil
}

// PastMeetingInstances returns the ended instances of a meeting number (the
// last 15 months; Zoom does not page this list).
func (c *Client) PastMeetingInstances(ctx context.Context, meetingID int64) ([]Instance, error) {
	path, err := idPath("/past_meetings/", meetingID, "/instances")
	if err != nil {
		return nil, err
	}
	var w wireInstances
	if err := c.get(ctx, EndpointPastMeetingInstances, path, nil, nil, &w); err != nil {
		return nil, err
	}
	return instances(w.Meetings), nil
}

// GetWebinar returns a webinar's definition. Unlike GetMeeting's, Zoom's
// answer says nothing about whether the webinar is running (no status);
// DashboardWebinar with DashboardLive does.
func (c *Client) GetWebinar(ctx context.Context, webinarID int64) (Webinar, error) {
	path, err := idPath("/webinars/", webinarID, "")
	if err != nil {
		return Webinar{}, err
	}
	var w wireWebinar
	if err := c.get(ctx, EndpointWebinar, path, nil, nil, &w); err != nil {
		return Webinar{}, err
	}
	return w.webinar(), nil
}

// PastWebinarInstances returns the ended instances of a webinar number, as
// PastMeetingInstances does for meetings.
func (c *Client) PastWebinarInstances(ctx context.Context, webinarID int64) ([]Instance, error) {
	path, err := idPath("/past_webinars/", webinarID, "/instances")
	if err != nil {
		return nil, err
	}
	var w wireInstances
	if err := c.get(ctx, EndpointPastWebinarInstances, path, nil, nil, &w); err != nil {
		return nil, err
	}
	return instances(w.Webinars), nil
}

func instances(ws []wireInstance) []Instance {
	out := make([]Instance, len(ws))
	for i, m := range ws {
		out[i] = Instance{UUID: m.UUID, StartTime: m.StartTime.time()}
	}
	return out
}

// PastMeetingParticipants lists the join sessions of an ended meeting
// instance, and its waiting-room stays (Status "in_waiting_room", §10).
func (c *Client) PastMeetingParticipants(ctx context.Context, uuid string) iter.Seq2[Participant, error] {
	return c.participants(ctx, EndpointPastMeetingParticipants, "/past_meetings/", uuid, nil)
}

// PastWebinarParticipants lists the join sessions of an ended webinar
// instance.
func (c *Client) PastWebinarParticipants(ctx context.Context, uuid string) iter.Seq2[Participant, error] {
	return c.participants(ctx, EndpointPastWebinarParticipants, "/past_webinars/", uuid, nil)
}

// ReportMeeting returns the Report API's view of an ended meeting instance.
// Before the meeting has ended Zoom answers 3001 "not end", which matches
// ErrNotReady.
func (c *Client) ReportMeeting(ctx context.Context, uuid string) (ReportMeeting, error) {
	path, err := uuidPath("/report/meetings/", uuid, "")
	if err != nil {
		return ReportMeeting{}, err
	}
	var w wirePastMeeting
	if err := c.get(ctx, EndpointReportMeeting, path, nil, nil, &w); err != nil {
		return ReportMeeting{}, err
	}
	return w.reportMeeting(), nil
}

// ReportWebinar returns the Report API's view of an ended webinar instance.
// Before the webinar has ended Zoom answers 3001 "not end", which matches
// ErrNotReady.
func (c *Client) ReportWebinar(ctx context.Context, uuid string) (ReportMeeting, error) {
	path, err := uuidPath("/report/webinars/", uuid, "")
	if err != nil {
		return ReportMeeting{}, err
	}
	var w wirePastMeeting
	if err := c.get(ctx, EndpointReportWebinar, path, nil, nil, &w); err != nil {
		return ReportMeeting{}, err
	}
	return w.reportMeeting(), nil
}

// ReportMeetingParticipants lists the join sessions of an ended meeting from
// the Report API, with registrant IDs (include_fields=registrant_id).
func (c *Client) ReportMeetingParticipants(ctx context.Context, uuid string) iter.Seq2[Participant, error] {
	return c.participants(ctx, EndpointReportMeetingParticipants, "/report/meetings/", uuid,
		url.Values{"include_fields": {"registrant_id"}})
}

// ReportWebinarParticipants lists the join sessions of an ended webinar from
// the Report API, with registrant IDs.
func (c *Client) ReportWebinarParticipants(ctx context.Context, uuid string) iter.Seq2[Participant, error] {
	return c.participants(ctx, EndpointReportWebinarParticipants, "/report/webinars/", uuid,
		url.Values{"include_fields": {"registrant_id"}})
}

// DashboardMeetingParticipants lists the join sessions of a meeting from the
// Dashboard API; DashboardLive shows who is in a running meeting. Rows of a
// session spent in a breakout room carry BreakoutRoomID (§10).
func (c *Client) DashboardMeetingParticipants(ctx context.Context, uuid string, typ DashboardType) iter.Seq2[Participant, error] {
	return c.participants(ctx, EndpointDashboardMeetingParticipants, "/metrics/meetings/", uuid, dashboardQuery(typ))
}

// DashboardWebinarParticipants lists the join sessions of a webinar from the
// Dashboard API, each with its Role and no Status.
func (c *Client) DashboardWebinarParticipants(ctx context.Context, uuid string, typ DashboardType) iter.Seq2[Participant, error] {
	return c.participants(ctx, EndpointDashboardWebinarParticipants, "/metrics/webinars/", uuid, dashboardQuery(typ))
}

func dashboardQuery(typ DashboardType) url.Values {
	q := url.Values{"type": {string(typ)}}
	if typ != DashboardLive {
		// Zoom omits registrant_id for live meetings (§5).
		q.Set("include_fields", "registrant_id")
	}
	return q
}

// DashboardMeeting returns one meeting instance from the Dashboard API:
// DashboardLive a running one, DashboardPast or DashboardPastOne an ended
// one. Dashboard endpoints need a Business plan or higher (ErrPlan
// otherwise) and are Resource-intensive: a few calls a minute (§10).
func (c *Client) DashboardMeeting(ctx context.Context, uuid string, typ DashboardType) (DashboardMeeting, error) {
	return c.dashboardDetail(ctx, EndpointDashboardMeeting, "/metrics/meetings/", uuid, typ)
}

// DashboardWebinar returns one webinar instance from the Dashboard API, as
// DashboardMeeting does for meetings (DashboardLive or DashboardPast).
func (c *Client) DashboardWebinar(ctx context.Context, uuid string, typ DashboardType) (DashboardMeeting, error) {
	return c.dashboardDetail(ctx, EndpointDashboardWebinar, "/metrics/webinars/", uuid, typ)
}

func (c *Client) dashboardDetail(ctx context.Context, endpoint, prefix, uuid string, typ DashboardType) (DashboardMeeting, error) {
	path, err := uuidPath(prefix, uuid, "")
	if err != nil {
		return DashboardMeeting{}, err
	}
	var w wireDashboardMeeting
	if err := c.get(ctx, endpoint, path, url.Values{"type": {string(typ)}}, nil, &w); err != nil {
		return DashboardMeeting{}, err
	}
	return w.dashboardMeeting(), nil
}

func (c *Client) participants(ctx context.Context, endpoint, prefix, uuid string, q url.Values) iter.Seq2[Participant, error] {
	path, err := uuidPath(prefix, uuid, "/participants")
	if err != nil {
		return failed[Participant](err)
	}
	return paginate(c, ctx, endpoint, path, q, keyParticipants, (*wireParticipant).participant)
}

// ReportUserMeetings lists the ended meetings a user hosted between the
// dates of from and to (inclusive, in UTC), and the ended webinars, which
// Zoom lists here too (§10; ReportMeeting.Webinar tells them apart). Only
// those with two or more participants appear. Zoom accepts at most one
// month per request (§5), so longer ranges are asked window by window.
func (c *Client) ReportUserMeetings(ctx context.Context, userID string, from, to time.Time) iter.Seq2[ReportMeeting, error] {
	if userID == "" {
		return failed[ReportMeeting](errors.New("zoomapi: empty user ID"))
	}
	path := "/report/users/" + escapeSegment(userID) + "/meetings"
	return windowed(from, to, func(wf, wt string) iter.Seq2[ReportMeeting, error] {
		return paginate(c, ctx, EndpointReportUserMeetings, path, url.Values{"from": {wf}, "to": {wt}},
			keyMeetings, (*wirePastMeeting).reportMeeting)
	})
}

// ReportActiveUsers lists the users who hosted meetings between the dates
// of from and to (inclusive, UTC), from GET /report/users?type=active (Pro
// or higher). It is how to learn whose meetings to list with
// ReportUserMeetings without asking for every user, whose Heavy calls share
// a daily quota with every app on the account (§10). Ranges longer than a
// month are asked window by window; a host active in several windows is
// listed once per window, with the window's dates.
func (c *Client) ReportActiveUsers(ctx context.Context, from, to time.Time) iter.Seq2[ReportUser, error] {
	return windowed(from, to, func(wf, wt string) iter.Seq2[ReportUser, error] {
		f, _ := time.Parse(dateLayout, wf) // monthWindows formats both
		t, _ := time.Parse(dateLayout, wt)
		return paginate(c, ctx, EndpointReportUsers, "/report/users", url.Values{"type": {"active"}, "from": {wf}, "to": {wt}},
			keyUsers, func(w *wireReportUser) ReportUser { return w.reportUser(f, t) })
	})
}

// DashboardMeetings lists meetings of the given type between the dates of
// from and to (inclusive, UTC), asked in windows of at most one month.
// Dashboard endpoints need a Business plan or higher (ErrPlan otherwise).
func (c *Client) DashboardMeetings(ctx context.Context, typ DashboardType, from, to time.Time) iter.Seq2[DashboardMeeting, error] {
	return c.dashboard(ctx, EndpointDashboardMeetings, "/metrics/meetings", keyMeetings, typ, from, to)
}

// DashboardWebinars lists webinars like DashboardMeetings lists meetings.
func (c *Client) DashboardWebinars(ctx context.Context, typ DashboardType, from, to time.Time) iter.Seq2[DashboardMeeting, error] {
	return c.dashboard(ctx, EndpointDashboardWebinars, "/metrics/webinars", keyWebinars, typ, from, to)
}

func (c *Client) dashboard(ctx context.Context, endpoint, path string, key listKey, typ DashboardType, from, to time.Time) iter.Seq2[DashboardMeeting, error] {
	return windowed(from, to, func(wf, wt string) iter.Seq2[DashboardMeeting, error] {
		q := url.Values{"type": {string(typ)}, "from": {wf}, "to": {wt}}
		return paginate(c, ctx, endpoint, path, q, key, (*wireDashboardMeeting).dashboardMeeting)
	})
}

// paginate walks a list endpoint page by page (§5): page_size at the
// endpoint's cap (PageSizeOf: 300, or 100 on Heavy endpoints, §10), then
// next_page_token until it comes back empty. One page is held at a time and
// its memory is reused for the next; iteration stops when the consumer
// stops. An error is yielded once, as (zero, err), and ends the iteration.
func paginate[W, T any](c *Client, ctx context.Context, endpoint, path string, query url.Values, key listKey, conv func(*W) T) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		q := maps.Clone(query)
		if q == nil {
			q = url.Values{}
		}
		if n := PageSizeOf(endpoint); n > 0 {
			q.Set("page_size", strconv.Itoa(n))
		}
		var (
			page listPage[W]
			buf  bytes.Buffer
			prev string
		)
		for {
			page.reset(key)
			if err := c.get(ctx, endpoint, path, q, &buf, &page); err != nil {
				var zero T
				yield(zero, err)
				return
			}
			items := *page.slot(key)
			for i := range items {
				if !yield(conv(&items[i]), nil) {
					return
				}
			}
			next := page.NextPageToken
			if next == "" {
				return
			}
			if next == prev {
				var zero T
				yield(zero, fmt.Errorf("zoom GET %s: Zoom repeated next_page_token; stopping", endpoint))
				return
			}
			prev = next
			q.Set("next_page_token", next)
		}
	}
}

// windowed splits [from, to] into windows of at most one month and chains
// the listing of each window.
func windowed[T any](from, to time.Time, list func(from, to string) iter.Seq2[T, error]) iter.Seq2[T, error] {
	windows, err := monthWindows(from, to)
	if err != nil {
		return failed[T](err)
	}
	return func(yield func(T, error) bool) {
		for _, w := range windows {
			for v, err := range list(w[0], w[1]) {
				if !yield(v, err) || err != nil {
					return
				}
			}
		}
	}
}

const dateLayout = "2006-01-02"

// monthWindows splits the dates of [from, to] (UTC, inclusive) into
// consecutive windows that each end the day before the same date a month
// later (clamped to the month's end: Jan 31 → Feb 28), so no window exceeds
// the one month Zoom allows on Report and Dashboard endpoints.
func monthWindows(from, to time.Time) ([][2]string, error) {
	start := truncateDay(from)
	end := truncateDay(to)
	if end.Before(start) {
		return nil, fmt.Errorf("zoomapi: range ends (%s) before it starts (%s)", end.Format(dateLayout), start.Format(dateLayout))
	}
	var out [][2]string
	for !start.After(end) {
		wEnd := addMonthClamped(start).AddDate(0, 0, -1)
		if wEnd.After(end) {
			wEnd = end
		}
		out = append(out, [2]string{start.Format(dateLayout), wEnd.Format(dateLayout)})
		start = wEnd.AddDate(0, 0, 1)
	}
	return out, nil
}

func truncateDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// addMonthClamped returns the same day one month later, or that month's last
// day when it is shorter (time.AddDate would roll Jan 31 into March).
func addMonthClamped(t time.Time) time.Time {
	y, m, d := t.Date()
	firstNext := time.Date(y, m+1, 1, 0, 0, 0, 0, time.UTC)
	last := firstNext.AddDate(0, 1, -1).Day()
	return time.Date(firstNext.Year(), firstNext.Month(), min(d, last), 0, 0, 0, 0, time.UTC)
}

// failed is an iterator that yields err once.
func failed[T any](err error) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		var zero T
		yield(zero, err)
	}
}

// Listing one page at a time, for callers that spread a long listing over
// several runs: each page function returns the page's rows and the token of
// the next page ("" after the last). Zoom's page tokens expire after 15
// minutes (§5); an expired one answers an error, and the listing starts over.
// The range of one call is at most one month (MonthWindows splits longer ones).

// ReportType selects which of a user's meetings the report lists (§5).
type ReportType string

// Report listing types.
const (
	ReportPast    ReportType = "past"    // two or more participants (the default)
	ReportPastOne ReportType = "pastOne" // one participant
)

// DashboardMeetingsPage is one page of DashboardMeetings.
func (c *Client) DashboardMeetingsPage(ctx context.Context, typ DashboardType, from, to time.Time, token string) ([]DashboardMeeting, string, error) {
	return c.dashboardPage(ctx, EndpointDashboardMeetings, "/metrics/meetings", keyMeetings, typ, from, to, token)
}

// DashboardWebinarsPage is one page of DashboardWebinars.
func (c *Client) DashboardWebinarsPage(ctx context.Context, typ DashboardType, from, to time.Time, token string) ([]DashboardMeeting, string, error) {
	return c.dashboardPage(ctx, EndpointDashboardWebinars, "/metrics/webinars", keyWebinars, typ, from, to, token)
}

func (c *Client) dashboardPage(ctx context.Context, endpoint, path string, key listKey, typ DashboardType, from, to time.Time, token string) ([]DashboardMeeting, string, error) {
	q, err := monthQuery(from, to)
	if err != nil {
		return nil, "", err
	}
	q.Set("type", string(typ))
	return fetchPage(c, ctx, endpoint, path, q, key, (*wireDashboardMeeting).dashboardMeeting, token)
}

// ReportUserMeetingsPage is one page of a user's ended meetings and webinars
// of the given type; ReportPastOne lists the one-person meetings the default
// listing leaves out (§5).
func (c *Client) ReportUserMeetingsPage(ctx context.Context, userID string, typ ReportType, from, to time.Time, token string) ([]ReportMeeting, string, error) {
	if userID == "" {
		return nil, "", errors.New("zoomapi: empty user ID")
	}
	q, err := monthQuery(from, to)
	if err != nil {
		return nil, "", err
	}
	q.Set("type", string(typ))
	return fetchPage(c, ctx, EndpointReportUserMeetings, "/report/users/"+escapeSegment(userID)+"/meetings", q,
		keyMeetings, (*wirePastMeeting).reportMeeting, token)
}

// ReportActiveUsersPage is one page of ReportActiveUsers.
func (c *Client) ReportActiveUsersPage(ctx context.Context, from, to time.Time, token string) ([]ReportUser, string, error) {
	q, err := monthQuery(from, to)
	if err != nil {
		return nil, "", err
	}
	q.Set("type", "active")
	f, _ := time.Parse(dateLayout, q.Get("from"))
	t, _ := time.Parse(dateLayout, q.Get("to"))
	return fetchPage(c, ctx, EndpointReportUsers, "/report/users", q, keyUsers,
		func(w *wireReportUser) ReportUser { return w.reportUser(f, t) }, token)
}

// MonthWindows splits [from, to] into the windows of at most one month that
// Report and Dashboard listings accept, as start and end dates (UTC).
func MonthWindows(from, to time.Time) ([][2]time.Time, error) {
	ws, err := monthWindows(from, to)
	if err != nil {
		return nil, err
	}
	out := make([][2]time.Time, len(ws))
	for i, w := range ws {
		out[i][0], _ = time.Parse(dateLayout, w[0])
		out[i][1], _ = time.Parse(dateLayout, w[1])
	}
	return out, nil
}

// monthQuery is the from and to of a range that must fit one month.
func monthQuery(from, to time.Time) (url.Values, error) {
	ws, err := monthWindows(from, to)
	if err != nil {
		return nil, err
	}
	if len(ws) != 1 {
		return nil, fmt.Errorf("zoomapi: a page's range %s to %s is longer than a month; split it with MonthWindows", ws[0][0], ws[len(ws)-1][1])
	}
	return url.Values{"from": {ws[0][0]}, "to": {ws[0][1]}}, nil
}

// fetchPage gets one page of a list endpoint at its page-size cap.
func fetchPage[W, T any](c *Client, ctx context.Context, endpoint, path string, q url.Values, key listKey, conv func(*W) T, token string) ([]T, string, error) {
	if n := PageSizeOf(endpoint); n > 0 {
		q.Set("page_size", strconv.Itoa(n))
	}
	if token != "" {
		q.Set("next_page_token", token)
	}
	var page listPage[W]
	page.reset(key)
	if err := c.get(ctx, endpoint, path, q, nil, &page); err != nil {
		return nil, "", err
	}
	items := *page.slot(key)
	out := make([]T, len(items))
	for i := range items {
		out[i] = conv(&items[i])
	}
	if page.NextPageToken == token && token != "" {
		return out, "", fmt.Errorf("zoom GET %s: Zoom repeated next_page_token; stopping", endpoint)
	}
	return out, page.NextPageToken, nil
}
