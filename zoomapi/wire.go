package zoomapi

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"time"
)

// Zoom's JSON as it arrives. Field names follow zoom-api-reference.json; the
// exported result types in types.go are built from these.

// flexInt decodes a JSON number or a numeric string into an int64. Zoom's
// REST API sends meeting IDs as numbers while its webhooks send strings
// (zoom-platform.md §4); tolerating both costs nothing.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.Trim(b, `"`)
	if len(b) == 0 || string(b) == "null" {
		*f = 0
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		x, ferr := strconv.ParseFloat(string(b), 64)
		if ferr != nil || math.IsInf(x, 0) || math.IsNaN(x) {
			return fmt.Errorf("zoomapi: %q is not a number", b)
		}
		n = int64(x)
	}
	*f = flexInt(n)
	return nil
}

// zTime decodes Zoom's ISO 8601 times ("2024-03-05T14:02:11Z"); an empty
// string or null is the zero time.
type zTime time.Time

func (t *zTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" || string(b) == `""` {
		*t = zTime{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("zoomapi: time %s is not a string", b)
	}
	v, err := time.Parse(time.RFC3339, string(b[1:len(b)-1]))
	if err != nil {
		return fmt.Errorf("zoomapi: parse time: %w", err)
	}
	*t = zTime(v.UTC())
	return nil
}

func (t zTime) time() time.Time { return time.Time(t) }

// listPage is one page of any list endpoint (§5 "Pagination"). Only the
// array named by the endpoint is filled.
type listPage[W any] struct {
	NextPageToken string `json:"next_page_token"`
	Users         []W    `json:"users"`
	Meetings      []W    `json:"meetings"`
	Participants  []W    `json:"participants"`
	Webinars      []W    `json:"webinars"`
}

// listKey names the array a list endpoint returns.
type listKey int

const (
	keyUsers listKey = iota
	keyMeetings
	keyParticipants
	keyWebinars
)

func (p *listPage[W]) slot(k listKey) *[]W {
	switch k {
	case keyUsers:
		return &p.Users
	case keyMeetings:
		return &p.Meetings
	case keyWebinars:
		return &p.Webinars
	default:
		return &p.Participants
	}
}

// reset prepares the page to be decoded into again, keeping the item slice's
// memory. encoding/json decodes into existing elements without zeroing them,
// so they are cleared here.
func (p *listPage[W]) reset(k listKey) {
	s := p.slot(k)
	full := (*s)[:cap(*s)]
	clear(full)
	*p = listPage[W]{}
	*p.slot(k) = full[:0]
}

type wireUser struct {
	ID            string  `json:"id"`
	Email         string  `json:"email"`
	FirstName     string  `json:"first_name"`
	LastName      string  `json:"last_name"`
	DisplayName   string  `json:"display_name"`
	Type          int     `json:"type"`
	Status        string  `json:"status"`
	Timezone      string  `json:"timezone"`
	PMI           flexInt `json:"pmi"`
	Dept          string  `json:"dept"`
	RoleID        string  `json:"role_id"`
	CreatedAt     zTime   `json:"created_at"`
	LastLoginTime zTime   `json:"last_login_time"`
}

type wireOccurrence struct {
	OccurrenceID string `json:"occurrence_id"`
	StartTime    zTime  `json:"start_time"`
	Duration     int    `json:"duration"`
	Status       string `json:"status"`
}

type wireMeeting struct {
	ID          flexInt          `json:"id"`
	UUID        string           `json:"uuid"`
	HostID      string           `json:"host_id"`
	HostEmail   string           `json:"host_email"`
	Topic       string           `json:"topic"`
	Type        int              `json:"type"`
	Status      string           `json:"status"`
	StartTime   zTime            `json:"start_time"`
	Duration    int              `json:"duration"`
	Timezone    string           `json:"timezone"`
	CreatedAt   zTime            `json:"created_at"`
	Occurrences []wireOccurrence `json:"occurrences"`
}

// wireWebinar is /webinars/{webinarId}: the meeting's shape without status.
type wireWebinar struct {
	ID          flexInt          `json:"id"`
	UUID        string           `json:"uuid"`
	HostID      string           `json:"host_id"`
	HostEmail   string           `json:"host_email"`
	Topic       string           `json:"topic"`
	Type        int              `json:"type"`
	StartTime   zTime            `json:"start_time"`
	Duration    int              `json:"duration"`
	Timezone    string           `json:"timezone"`
	CreatedAt   zTime            `json:"created_at"`
	Occurrences []wireOccurrence `json:"occurrences"`
	IsSimulive  bool             `json:"is_simulive"`
}

// wireReportUser is an item of /report/users.
type wireReportUser struct {
	ID             string  `json:"id"`
	Email          string  `json:"email"`
	UserName       string  `json:"user_name"`
	Type           int     `json:"type"`
	Dept           string  `json:"dept"`
	Meetings       flexInt `json:"meetings"`
	Participants   flexInt `json:"participants"`
	MeetingMinutes flexInt `json:"meeting_minutes"`
}

// wirePastMeeting is /past_meetings/{uuid}, /report/meetings/{uuid},
// /report/webinars/{uuid} and an item of /report/users/{userId}/meetings.
type wirePastMeeting struct {
	ID                flexInt        `json:"id"`
	UUID              string         `json:"uuid"`
	HostID            string         `json:"host_id"`
	Type              int            `json:"type"`
	Topic             string         `json:"topic"`
	UserName          string         `json:"user_name"`
	UserEmail         string         `json:"user_email"`
	StartTime         zTime          `json:"start_time"`
	EndTime           zTime          `json:"end_time"`
	Duration          flexInt        `json:"duration"`
	TotalMinutes      flexInt        `json:"total_minutes"`
	ParticipantsCount flexInt        `json:"participants_count"`
	Dept              string         `json:"dept"`
	Source            string         `json:"source"`
	SessionKey        string         `json:"session_key"`
	CustomKeys        []wireKeyValue `json:"custom_keys"`
}

type wireKeyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type wireInstance struct {
	UUID      string `json:"uuid"`
	StartTime zTime  `json:"start_time"`
}

// wireInstances is /past_meetings/{id}/instances (meetings) or
// /past_webinars/{id}/instances (webinars).
type wireInstances struct {
	Meetings []wireInstance `json:"meetings"`
	Webinars []wireInstance `json:"webinars"`
}

// wireParticipant is the union of the participant shapes of the past
// meeting, report and dashboard endpoints, which name the same things
// differently (name/user_name, user_email/email).
type wireParticipant struct {
	ID                string  `json:"id"`
	UserID            string  `json:"user_id"`
	Name              string  `json:"name"`
	UserName          string  `json:"user_name"`
	UserEmail         string  `json:"user_email"`
	Email             string  `json:"email"`
	RegistrantID      string  `json:"registrant_id"`
	ParticipantUserID string  `json:"participant_user_id"`
	ParticipantUUID   string  `json:"participant_uuid"`
	CustomerKey       string  `json:"customer_key"`
	Status            string  `json:"status"`
	LeaveReason       string  `json:"leave_reason"`
	JoinTime          zTime   `json:"join_time"`
	LeaveTime         zTime   `json:"leave_time"`
	Duration          flexInt `json:"duration"`
	Failover          bool    `json:"failover"`
	InternalUser      bool    `json:"internal_user"`
	BoMtgID           string  `json:"bo_mtg_id"`
	Role              string  `json:"role"`
}

// wireDashboardMeeting is an item of /metrics/meetings or /metrics/webinars,
// or the answer of their {id} details.
type wireDashboardMeeting struct {
	UUID         string  `json:"uuid"`
	ID           flexInt `json:"id"`
	Topic        string  `json:"topic"`
	Host         string  `json:"host"`
	Email        string  `json:"email"`
	UserType     string  `json:"user_type"`
	Dept         string  `json:"dept"`
	StartTime    zTime   `json:"start_time"`
	EndTime      zTime   `json:"end_time"`
	Duration     string  `json:"duration"`
	Participants flexInt `json:"participants"`
}
