package zoomapi

import (
	"cmp"
	"strconv"
	"strings"
	"time"
)

// User is one user of the account, from GET /users.
type User struct {
	ID            string
	Email         string
	FirstName     string
	LastName      string
	DisplayName   string
	Type          int    // 1 basic, 2 licensed, …
	Status        string // "active", "inactive" or "pending"
	Timezone      string
	PMI           int64
	Dept          string
	RoleID        string
	CreatedAt     time.Time // UTC
	LastLoginTime time.Time // UTC; zero if never
}

// Occurrence is one occurrence of a recurring meeting.
type Occurrence struct {
	OccurrenceID string
	StartTime    time.Time // UTC
	Duration     int       // scheduled minutes
	Status       string
}

// Meeting is a meeting's current definition and status, from GET
// /meetings/{meetingId}.
type Meeting struct {
	ID        int64
	UUID      string // the current or most recent instance
	HostID    string
	HostEmail string
	Topic     string
	Type      int
	// Status is "waiting" or "started" ("finished" is modelled by some
	// clients, zoom-platform.md §5).
	Status      string
	StartTime   time.Time // UTC
	Duration    int       // scheduled minutes
	Timezone    string
	CreatedAt   time.Time // UTC
	Occurrences []Occurrence
}

// PastMeeting is one ended meeting instance, from GET
// /past_meetings/{meetingUUID}.
type PastMeeting struct {
	ID                int64
	UUID              string
	HostID            string
	Type              int
	Topic             string
	UserName          string // host's name
	UserEmail         string // host's email
	StartTime         time.Time
	EndTime           time.Time
	Duration          int // minutes
	TotalMinutes      int // participant minutes
	ParticipantsCount int
	Dept              string
	Source            string
}

// Webinar is a webinar's definition, from GET /webinars/{webinarId}. Unlike
// Meeting it has no Status: Zoom's answer carries none
// (zoom-api-reference.json); whether a webinar is running is a question for
// DashboardWebinar with DashboardLive.
type Webinar struct {
	ID        int64
	UUID      string // the current or most recent instance
	HostID    string
	HostEmail string
	Topic     string
	// Type is 5 (webinar), 6 (recurring, no fixed time) or 9 (recurring,
	// fixed time) (zoom-platform.md §4).
	Type        int
	StartTime   time.Time // UTC
	Duration    int       // scheduled minutes
	Timezone    string
	CreatedAt   time.Time // UTC
	Occurrences []Occurrence
	IsSimulive  bool // a pre-recorded webinar played as if live
}

// Instance is one ended instance of a meeting or webinar, from GET
// /past_meetings/{meetingId}/instances or /past_webinars/{webinarId}/instances.
type Instance struct {
	UUID      string
	StartTime time.Time // UTC
}

// Participant is one join session: a person who joined twice is two rows
// (zoom-platform.md §5). The past-meeting, report and dashboard endpoints
// name fields differently; they are mapped onto one shape here.
type Participant struct {
	ID                string // participant's Zoom user ID; empty for outsiders since 2023
	UserID            string // per-session ID, not a person
	Name              string // name or user_name
	Email             string // user_email or email; may be empty for guests
	RegistrantID      string
	ParticipantUserID string
	ParticipantUUID   string // dashboard only
	CustomerKey       string
	// Status is "in_meeting", or "in_waiting_room" for a stay in the waiting
	// room, which is no attendance: a person who waited and was never
	// admitted has only such rows (zoom-platform.md §10). Dashboard webinar
	// rows have no status.
	Status      string
	LeaveReason string // dashboard only
	// BreakoutRoomID is bo_mtg_id: the breakout room the person was in
	// during this session, on report and dashboard rows; empty otherwise.
	// A move between rooms ends a session and starts another with a new
	// UserID and the same ParticipantUUID (§10).
	BreakoutRoomID string
	// Role is the participant's role on dashboard webinar rows, e.g.
	// "host", "panelist" or "attendee"; empty elsewhere.
	Role      string
	JoinTime  time.Time
	LeaveTime time.Time
	// Duration is the session's length in seconds. Dashboard endpoints send
	// none; it is computed there from JoinTime and LeaveTime when both exist.
	Duration     int
	Failover     bool
	InternalUser bool // past-meeting endpoints only
}

// Participant statuses (zoom-platform.md §10).
const (
	StatusInMeeting     = "in_meeting"
	StatusInWaitingRoom = "in_waiting_room"
)

// CustomKey is a custom key/value pair attached to a meeting.
type CustomKey struct {
	Key, Value string
}

// ReportMeeting is an ended meeting or webinar as the Report API sees it,
// from GET /report/meetings/{meetingUUID}, /report/webinars/{webinarUUID} or
// /report/users/{userId}/meetings, which lists webinars too (§10): Webinar
// tells them apart.
type ReportMeeting struct {
	ID                int64
	UUID              string
	HostID            string // report user meetings do not send it
	Type              int
	Topic             string
	UserName          string
	UserEmail         string
	StartTime         time.Time
	EndTime           time.Time
	Duration          int // minutes
	TotalMinutes      int
	ParticipantsCount int
	Dept              string
	Source            string
	SessionKey        string
	CustomKeys        []CustomKey
}

// Webinar reports whether the row is a webinar, by its type: 5, 6 or 9
// (zoom-platform.md §4).
func (m ReportMeeting) Webinar() bool { return isWebinarType(m.Type) }

func isWebinarType(t int) bool { return t == 5 || t == 6 || t == 9 }

// ReportUser is one row of GET /report/users: a user who hosted meetings in
// a window (type=active), with what they hosted there.
type ReportUser struct {
	ID             string
	Email          string
	UserName       string
	Type           int // user type: 1 basic, 2 licensed, …
	Dept           string
	Meetings       int // meetings hosted in the window
	Participants   int // their participants, summed
	MeetingMinutes int
	// From and To are the dates (UTC midnight) of the window the row counts;
	// a range longer than Zoom's one month is asked window by window, and a
	// host active in several windows has a row in each.
	From, To time.Time
}

// DashboardMeeting is a meeting or webinar from the Dashboard API, GET
// /metrics/meetings, /metrics/webinars or one of their {id} details.
type DashboardMeeting struct {
	UUID      string
	ID        int64
	Topic     string
	Host      string // host's display name
	Email     string // host's email
	UserType  string
	Dept      string
	StartTime time.Time
	EndTime   time.Time // zero while live
	// Duration is parsed from Zoom's duration string; see parseDashboardDuration.
	Duration     time.Duration
	Participants int
}

// DashboardType selects which meetings the Dashboard API lists.
type DashboardType string

// Dashboard types (zoom-platform.md §5).
const (
	DashboardLive    DashboardType = "live"    // running now
	DashboardPast    DashboardType = "past"    // ended, two or more participants
	DashboardPastOne DashboardType = "pastOne" // ended, a single participant
)

func (w *wireUser) user() User {
	return User{
		ID: w.ID, Email: w.Email, FirstName: w.FirstName, LastName: w.LastName,
		DisplayName: w.DisplayName, Type: w.Type, Status: w.Status, Timezone: w.Timezone,
		PMI: int64(w.PMI), Dept: w.Dept, RoleID: w.RoleID,
		CreatedAt: w.CreatedAt.time(), LastLoginTime: w.LastLoginTime.time(),
	}
}

func (w *wireWebinar) webinar() Webinar {
	out := Webinar{
		ID: int64(w.ID), UUID: w.UUID, HostID: w.HostID, HostEmail: w.HostEmail,
		Topic: w.Topic, Type: w.Type, StartTime: w.StartTime.time(),
		Duration: w.Duration, Timezone: w.Timezone, CreatedAt: w.CreatedAt.time(), IsSimulive: w.IsSimulive,
	}
	for _, o := range w.Occurrences {
		out.Occurrences = append(out.Occurrences, Occurrence{
			OccurrenceID: o.OccurrenceID, StartTime: o.StartTime.time(), Duration: o.Duration, Status: o.Status,
		})
	}
	return out
}

func (w *wireReportUser) reportUser(from, to time.Time) ReportUser {
	return ReportUser{
		ID: w.ID, Email: w.Email, UserName: w.UserName, Type: w.Type, Dept: w.Dept,
		Meetings: int(w.Meetings), Participants: int(w.Participants), MeetingMinutes: int(w.MeetingMinutes),
		From: from, To: to,
	}
}

func (w *wireMeeting) meeting() Meeting {
	m := Meeting{
		ID: int64(w.ID), UUID: w.UUID, HostID: w.HostID, HostEmail: w.HostEmail,
		Topic: w.Topic, Type: w.Type, Status: w.Status, StartTime: w.StartTime.time(),
		Duration: w.Duration, Timezone: w.Timezone, CreatedAt: w.CreatedAt.time(),
	}
	for _, o := range w.Occurrences {
		m.Occurrences = append(m.Occurrences, Occurrence{
			OccurrenceID: o.OccurrenceID, StartTime: o.StartTime.time(), Duration: o.Duration, Status: o.Status,
		})
	}
	return m
}

func (w *wirePastMeeting) pastMeeting() PastMeeting {
	return PastMeeting{
		ID: int64(w.ID), UUID: w.UUID, HostID: w.HostID, Type: w.Type, Topic: w.Topic,
		UserName: w.UserName, UserEmail: w.UserEmail,
		StartTime: w.StartTime.time(), EndTime: w.EndTime.time(),
		Duration: int(w.Duration), TotalMinutes: int(w.TotalMinutes),
		ParticipantsCount: int(w.ParticipantsCount), Dept: w.Dept, Source: w.Source,
	}
}

func (w *wirePastMeeting) reportMeeting() ReportMeeting {
	r := ReportMeeting{
		ID: int64(w.ID), UUID: w.UUID, HostID: w.HostID, Type: w.Type, Topic: w.Topic,
		UserName: w.UserName, UserEmail: w.UserEmail,
		StartTime: w.StartTime.time(), EndTime: w.EndTime.time(),
		Duration: int(w.Duration), TotalMinutes: int(w.TotalMinutes),
		ParticipantsCount: int(w.ParticipantsCount), Dept: w.Dept, Source: w.Source,
		SessionKey: w.SessionKey,
	}
	if len(w.CustomKeys) > 0 {
		r.CustomKeys = make([]CustomKey, len(w.CustomKeys))
		for i, k := range w.CustomKeys {
			r.CustomKeys[i] = CustomKey(k)
		}
	}
	return r
}

func (w *wireParticipant) participant() Participant {
	p := Participant{
		ID: w.ID, UserID: w.UserID,
		Name:         cmp.Or(w.Name, w.UserName),
		Email:        cmp.Or(w.UserEmail, w.Email),
		RegistrantID: w.RegistrantID, ParticipantUserID: w.ParticipantUserID,
		ParticipantUUID: w.ParticipantUUID, CustomerKey: w.CustomerKey,
		Status: w.Status, LeaveReason: w.LeaveReason, BreakoutRoomID: w.BoMtgID, Role: w.Role,
		JoinTime: w.JoinTime.time(), LeaveTime: w.LeaveTime.time(),
		Duration: int(w.Duration), Failover: w.Failover, InternalUser: w.InternalUser,
	}
	if p.Duration == 0 && !p.JoinTime.IsZero() && p.LeaveTime.After(p.JoinTime) {
		p.Duration = int(p.LeaveTime.Sub(p.JoinTime) / time.Second)
	}
	return p
}

func (w *wireDashboardMeeting) dashboardMeeting() DashboardMeeting {
	d := DashboardMeeting{
		UUID: w.UUID, ID: int64(w.ID), Topic: w.Topic, Host: w.Host, Email: w.Email,
		UserType: w.UserType, Dept: w.Dept,
		StartTime: w.StartTime.time(), EndTime: w.EndTime.time(),
		Participants: int(w.Participants),
	}
	var elapsed time.Duration
	if !d.StartTime.IsZero() && d.EndTime.After(d.StartTime) {
		elapsed = d.EndTime.Sub(d.StartTime)
	}
	d.Duration = parseDashboardDuration(w.Duration, elapsed)
	return d
}

// parseDashboardDuration parses the Dashboard API's duration string.
//
// zoom-platform.md §5 calls it "HH:MM", but Zoom's own generated types
// describe it as "hh:mm:ss, for example: `16:08` for 16 minutes and 8
// seconds", which makes a two-part value ambiguous. Three parts are always
// h:m:s. For two parts the reading closer to the meeting's start-to-end time
// wins; without an end time (live meetings) Zoom's documented m:s is used.
// Unparseable values give 0.
func parseDashboardDuration(s string, elapsed time.Duration) time.Duration {
	parts := strings.Split(strings.TrimSpace(s), ":")
	nums := make([]int, 0, 3)
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return 0
		}
		nums = append(nums, n)
	}
	switch len(nums) {
	case 3:
		return time.Duration(nums[0])*time.Hour + time.Duration(nums[1])*time.Minute + time.Duration(nums[2])*time.Second
	case 2:
		hm := time.Duration(nums[0])*time.Hour + time.Duration(nums[1])*time.Minute
		ms := time.Duration(nums[0])*time.Minute + time.Duration(nums[1])*time.Second
		if elapsed > 0 && absDuration(hm-elapsed) < absDuration(ms-elapsed) {
			return hm
		}
		return ms
	case 1:
		return time.Duration(nums[0]) * time.Minute
	}
	return 0
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
