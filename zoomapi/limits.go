package zoomapi

import (
	"strings"
	"time"
)

// Zoom's limits in one place (zoom-platform.md §5, §6, §10): each
// endpoint's rate-limit label and page-size cap, and each plan's limits per
// label. The client paces, budgets and pages from this table; the
// reconciler and status read it to plan their calls.

// Label is a rate-limit label, the value of X-RateLimit-Category (§6).
// Every endpoint has one; the label's limits depend on the plan.
type Label string

// Zoom's rate-limit labels.
const (
	LabelLight             Label = "Light"
	LabelMedium            Label = "Medium"
	LabelHeavy             Label = "Heavy"
	LabelResourceIntensive Label = "Resource-intensive"
)

// Labels returns the four labels, lightest first.
func Labels() []Label {
	return []Label{LabelLight, LabelMedium, LabelHeavy, LabelResourceIntensive}
}

// Budgeted reports whether calls of the label count against the daily total
// that Heavy and Resource-intensive endpoints share on paid plans (§6), and
// so against Config.DailyBudget.
func (l Label) Budgeted() bool { return l == LabelHeavy || l == LabelResourceIntensive }

// index is the label's position in Labels, or -1.
func (l Label) index() int {
	switch l {
	case LabelLight:
		return 0
	case LabelMedium:
		return 1
	case LabelHeavy:
		return 2
	case LabelResourceIntensive:
		return 3
	}
	return -1
}

// parseLabel reads an X-RateLimit-Category value, in any case.
func parseLabel(s string) (Label, bool) {
	s = strings.TrimSpace(s)
	for _, l := range Labels() {
		if strings.EqualFold(s, string(l)) {
			return l, true
		}
	}
	return "", false
}

// Plan is a Zoom account's plan as far as rate limits go (§6).
type Plan string

// Plans with their own rate limits.
const (
	// PlanBasic is Zoom's Free (Basic) plan: low per-second limits and a
	// daily quota per label.
	PlanBasic Plan = "basic"
	// PlanPro is the Pro plan: Heavy and Resource-intensive calls share
	// 30,000 a day.
	PlanPro Plan = "pro"
	// PlanBusiness stands for Business, Education, Enterprise and Partner
	// accounts ("Business+"): Heavy and Resource-intensive calls share
	// 60,000 a day.
	PlanBusiness Plan = "business"
)

// Limit is Zoom's limit for one label on one plan (§6).
type Limit struct {
	// Rate is how many requests Zoom accepts per Per, account-wide.
	Rate int
	// Per is the window of Rate: a second, or a minute for
	// Resource-intensive endpoints (§10).
	Per time.Duration
	// Daily is the label's own daily quota (UTC day), or 0 when it has
	// none: on paid plans Light and Medium are unlimited per day, and Heavy
	// and Resource-intensive share DailyQuota(plan) instead.
	Daily int
}

// planLimits is §6's table: per plan, per label in Labels order.
var planLimits = map[Plan][4]Limit{
	PlanBasic: {
		{Rate: 4, Per: time.Second, Daily: 6_000},
		{Rate: 2, Per: time.Second, Daily: 2_000},
		{Rate: 1, Per: time.Second, Daily: 1_000},
		{Rate: 10, Per: time.Minute, Daily: 30_000},
	},
	PlanPro: {
		{Rate: 30, Per: time.Second},
		{Rate: 20, Per: time.Second},
		{Rate: 10, Per: time.Second},
		{Rate: 10, Per: time.Minute},
	},
	PlanBusiness: {
		{Rate: 80, Per: time.Second},
		{Rate: 60, Per: time.Second},
		{Rate: 40, Per: time.Second},
		{Rate: 20, Per: time.Minute},
	},
}

// sharedDaily is the daily total Heavy and Resource-intensive calls share on
// paid plans (§6).
var sharedDaily = map[Plan]int{PlanPro: 30_000, PlanBusiness: 60_000}

// knownPlan maps an unknown plan to Basic, whose limits are the lowest.
func knownPlan(p Plan) Plan {
	if _, ok := planLimits[p]; ok {
		return p
	}
	return PlanBasic
}

// RateLimit returns Zoom's limit for a label on a plan (§6). An unknown
// plan gets Basic's limits, the lowest; an unknown label Heavy's.
func RateLimit(plan Plan, label Label) Limit {
	i := label.index()
	if i < 0 {
		i = LabelHeavy.index()
	}
	return planLimits[knownPlan(plan)][i]
}

// DailyQuota returns the most Heavy and Resource-intensive calls together
// that Zoom accepts from the whole account in one UTC day (§6): 30,000 on
// Pro and 60,000 on Business+, shared by every app on the account. Basic has
// no shared total but a quota per label; there it returns the smaller,
// Heavy's 1,000, so a budget drawn from it overruns neither. An unknown
// plan counts as Basic.
func DailyQuota(plan Plan) int {
	if n, ok := sharedDaily[plan]; ok {
		return n
	}
	return RateLimit(PlanBasic, LabelHeavy).Daily
}

// Page-size caps (§5, §10): Zoom's list endpoints serve at most 300 rows a
// page, Heavy ones fewer: 30, 50 or 100 depending on the endpoint, and no
// endpoint of ours is documented below 100, so we ask Heavy lists for 100.
// The Dashboard listings (Resource-intensive) serve 300.
const (
	pageSizeMax   = 300
	pageSizeHeavy = 100
)

// endpointInfo is what Zoom's limits say about one endpoint template.
type endpointInfo struct {
	template string
	label    Label
	pageSize int // the largest page Zoom serves; 0 for endpoints that do not page
}

// endpointTable holds every endpoint the client calls. Labels are from §5
// and §10: Light for single resources, Medium for past-meeting lists,
// Heavy for Report endpoints, and Resource-intensive for the Dashboard
// (/metrics) endpoints, limited per minute and counted against the daily
// total they share with Heavy ones (§6, §10).
var endpointTable = []endpointInfo{
	{EndpointUsers, LabelMedium, pageSizeMax},
	{EndpointMeeting, LabelLight, 0},
	{EndpointPastMeeting, LabelLight, 0},
	{EndpointPastMeetingInstances, LabelMedium, 0}, // Zoom does not page it
	{EndpointPastMeetingParticipants, LabelMedium, pageSizeMax},
	{EndpointWebinar, LabelLight, 0},
	{EndpointPastWebinarInstances, LabelMedium, 0},
	{EndpointPastWebinarParticipants, LabelMedium, pageSizeMax},
	{EndpointReportMeeting, LabelHeavy, 0},
	{EndpointReportMeetingParticipants, LabelHeavy, pageSizeHeavy},
	{EndpointReportWebinar, LabelHeavy, 0},
	{EndpointReportWebinarParticipants, LabelHeavy, pageSizeHeavy},
	{EndpointReportUserMeetings, LabelHeavy, pageSizeHeavy},
	{EndpointReportUsers, LabelHeavy, pageSizeHeavy},
	{EndpointDashboardMeetings, LabelResourceIntensive, pageSizeMax},
	{EndpointDashboardMeeting, LabelResourceIntensive, 0},
	{EndpointDashboardMeetingParticipants, LabelResourceIntensive, pageSizeMax},
	{EndpointDashboardWebinars, LabelResourceIntensive, pageSizeMax},
	{EndpointDashboardWebinar, LabelResourceIntensive, 0},
	{EndpointDashboardWebinarParticipants, LabelResourceIntensive, pageSizeMax},
}

func endpointOf(endpoint string) (endpointInfo, bool) {
	for _, e := range endpointTable {
		if e.template == endpoint {
			return e, true
		}
	}
	return endpointInfo{}, false
}

// endpoints lists every template, for pre-creating metric series.
func endpoints() []string {
	out := make([]string, len(endpointTable))
	for i, e := range endpointTable {
		out[i] = e.template
	}
	return out
}

// LabelOf returns an endpoint template's rate-limit label (§5, §10), e.g.
// LabelHeavy for EndpointReportMeetingParticipants. An unknown template is
// Heavy, so a call nobody labelled is budgeted rather than free.
func LabelOf(endpoint string) Label {
	if e, ok := endpointOf(endpoint); ok {
		return e.label
	}
	return LabelHeavy
}

// PageSizeOf returns the page_size the client asks a list endpoint for: the
// largest page Zoom serves there (§5, §10). It is 0 for endpoints that do
// not page.
func PageSizeOf(endpoint string) int {
	e, _ := endpointOf(endpoint)
	return e.pageSize
}
