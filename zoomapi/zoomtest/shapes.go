package zoomtest

// REST answer bodies, written from zoom-platform.md §5 with this package's
// own structs; every field name is one zoom-api-reference.json lists for the
// endpoint (a test holds them to it). Numeric ids are JSON numbers in REST,
// unlike in webhooks (§9 "JSON quirks").

type userJSON struct {
	ID            string `json:"id"`
	FirstName     string `json:"first_name"`
	LastName      string `json:"last_name"`
	DisplayName   string `json:"display_name"`
	Email         string `json:"email"`
	Type          int    `json:"type"`
	PMI           int64  `json:"pmi"`
	Timezone      string `json:"timezone"`
	Verified      int    `json:"verified"`
	Dept          string `json:"dept"`
	CreatedAt     string `json:"created_at"`
	LastLoginTime string `json:"last_login_time,omitempty"`
	Status        string `json:"status"`
	RoleID        string `json:"role_id"`
}

type usersJSON struct {
	PageCount     int        `json:"page_count"`
	PageNumber    int        `json:"page_number"` // deprecated, still sent (§5)
	PageSize      int        `json:"page_size"`
	TotalRecords  int        `json:"total_records"`
	NextPageToken string     `json:"next_page_token"`
	Users         []userJSON `json:"users"`
}

type meetingJSON struct {
	UUID              string              `json:"uuid"`
	ID                int64               `json:"id"`
	HostID            string              `json:"host_id"`
	HostEmail         string              `json:"host_email"`
	Topic             string              `json:"topic"`
	Type              int                 `json:"type"`
	Status            string              `json:"status"` // waiting or started (§5)
	StartTime         string              `json:"start_time"`
	Duration          int                 `json:"duration"`
	Timezone          string              `json:"timezone"`
	Agenda            string              `json:"agenda"`
	CreatedAt         string              `json:"created_at"`
	StartURL          string              `json:"start_url"`
	JoinURL           string              `json:"join_url"`
	Password          string              `json:"password"`
	H323Password      string              `json:"h323_password"`
	PSTNPassword      string              `json:"pstn_password"`
	EncryptedPassword string              `json:"encrypted_password"`
	Settings          meetingSettingsJSON `json:"settings"`
	PreSchedule       bool                `json:"pre_schedule"`
}

type meetingSettingsJSON struct {
	HostVideo        bool   `json:"host_video"`
	ParticipantVideo bool   `json:"participant_video"`
	JoinBeforeHost   bool   `json:"join_before_host"`
	MuteUponEntry    bool   `json:"mute_upon_entry"`
	Watermark        bool   `json:"watermark"`
	UsePMI           bool   `json:"use_pmi"`
	ApprovalType     int    `json:"approval_type"`
	Audio            string `json:"audio"`
	AutoRecording    string `json:"auto_recording"`
	WaitingRoom      bool   `json:"waiting_room"`
}

// endedMeetingJSON is what the past meeting, report meeting and report user
// meetings answers say alike about an ended instance; each embeds it and
// adds the fields only its endpoint has.
type endedMeetingJSON struct {
	UUID              string `json:"uuid"`
	ID                int64  `json:"id"`
	Type              int    `json:"type"`
	Topic             string `json:"topic"`
	UserName          string `json:"user_name"`
	UserEmail         string `json:"user_email"`
	StartTime         string `json:"start_time"`
	EndTime           string `json:"end_time"`
	Duration          int    `json:"duration"`      // minutes
	TotalMinutes      int    `json:"total_minutes"` // summed over sessions
	ParticipantsCount int    `json:"participants_count"`
}

type pastMeetingJSON struct {
	endedMeetingJSON
	HostID string `json:"host_id"`
	Dept   string `json:"dept"`
	Source string `json:"source"`
}

type reportMeetingJSON struct {
	endedMeetingJSON
	Dept string `json:"dept"`
}

type instancesJSON struct {
	Meetings []instanceJSON `json:"meetings"`
}

type instanceJSON struct {
	UUID      string `json:"uuid"`
	StartTime string `json:"start_time"`
}

// pastParticipantJSON is a row of past_meetings and past_webinars
// participants: one per join session.
type pastParticipantJSON struct {
	ID           string `json:"id"` // "" for participants outside the account (§5)
	Name         string `json:"name"`
	UserID       string `json:"user_id"`
	RegistrantID string `json:"registrant_id"`
	UserEmail    string `json:"user_email"`
	JoinTime     string `json:"join_time"`
	LeaveTime    string `json:"leave_time"`
	Duration     int    `json:"duration"` // seconds
	Failover     bool   `json:"failover"`
	Status       string `json:"status"`
	InternalUser bool   `json:"internal_user"`
}

type pastParticipantsJSON struct {
	pageInfo
	Participants []pastParticipantJSON `json:"participants"`
}

// reportParticipantJSON is a row of the report participants endpoints.
type reportParticipantJSON struct {
	ID                string  `json:"id"`
	UserID            string  `json:"user_id"`
	Name              string  `json:"name"`
	UserEmail         string  `json:"user_email"`
	JoinTime          string  `json:"join_time"`
	LeaveTime         string  `json:"leave_time"`
	Duration          int     `json:"duration"`
	Failover          bool    `json:"failover"`
	Status            string  `json:"status"`
	CustomerKey       string  `json:"customer_key"`
	RegistrantID      *string `json:"registrant_id,omitempty"` // only with include_fields=registrant_id (§5)
	ParticipantUserID string  `json:"participant_user_id"`
	BoMtgID           string  `json:"bo_mtg_id"`
}

type reportParticipantsJSON struct {
	pageInfo
	Participants []reportParticipantJSON `json:"participants"`
}

type reportUserMeetingJSON struct {
	endedMeetingJSON
	Source     string `json:"source"`
	SessionKey string `json:"session_key"`
}

type reportUserMeetingsJSON struct {
	From string `json:"from"`
	To   string `json:"to"`
	pageInfo
	Meetings []reportUserMeetingJSON `json:"meetings"`
}

// metricsMeetingJSON is a Dashboard row; duration is a "HH:MM" string (§5).
type metricsMeetingJSON struct {
	UUID             string `json:"uuid"`
	ID               int64  `json:"id"`
	Topic            string `json:"topic"`
	Host             string `json:"host"`
	Email            string `json:"email"`
	UserType         string `json:"user_type"`
	StartTime        string `json:"start_time"`
	EndTime          string `json:"end_time,omitempty"` // not while live
	Duration         string `json:"duration"`
	Participants     int    `json:"participants"`
	HasPSTN          bool   `json:"has_pstn"`
	HasVoIP          bool   `json:"has_voip"`
	Has3rdPartyAudio bool   `json:"has_3rd_party_audio"`
	HasVideo         bool   `json:"has_video"`
	HasScreenShare   bool   `json:"has_screen_share"`
	HasRecording     bool   `json:"has_recording"`
	HasSIP           bool   `json:"has_sip"`
	HasArchiving     bool   `json:"has_archiving"`
	Dept             string `json:"dept"`
}

type metricsMeetingsJSON struct {
	From string `json:"from"`
	To   string `json:"to"`
	pageInfo
	Meetings []metricsMeetingJSON `json:"meetings"`
}

type metricsWebinarsJSON struct {
	From string `json:"from"`
	To   string `json:"to"`
	pageInfo
	Webinars []metricsMeetingJSON `json:"webinars"`
}

type metricsParticipantJSON struct {
	ID                string  `json:"id"`
	UserID            string  `json:"user_id"`
	ParticipantUUID   string  `json:"participant_uuid"`
	UserName          string  `json:"user_name"`
	Device            string  `json:"device"`
	IPAddress         string  `json:"ip_address"`
	Location          string  `json:"location"`
	JoinTime          string  `json:"join_time"`
	LeaveTime         string  `json:"leave_time,omitempty"`   // not while still in
	LeaveReason       string  `json:"leave_reason,omitempty"` // not while still in
	Email             string  `json:"email"`
	RegistrantID      *string `json:"registrant_id,omitempty"` // not for live (§5)
	Status            string  `json:"status"`
	ParticipantUserID string  `json:"participant_user_id"`
	CustomerKey       string  `json:"customer_key"`
	BoMtgID           string  `json:"bo_mtg_id,omitempty"` // only for a session in a breakout room (§10)
}

type metricsParticipantsJSON struct {
	pageInfo
	Participants []metricsParticipantJSON `json:"participants"`
}

// metricsWebinarParticipantJSON is a row of /metrics/webinars/{webinarId}/participants:
// role where the meeting's rows have status.
type metricsWebinarParticipantJSON struct {
	ID                string  `json:"id"`
	UserID            string  `json:"user_id"`
	ParticipantUUID   string  `json:"participant_uuid"`
	UserName          string  `json:"user_name"`
	Device            string  `json:"device"`
	IPAddress         string  `json:"ip_address"`
	Location          string  `json:"location"`
	JoinTime          string  `json:"join_time"`
	LeaveTime         string  `json:"leave_time,omitempty"`
	LeaveReason       string  `json:"leave_reason,omitempty"`
	Email             string  `json:"email"`
	RegistrantID      *string `json:"registrant_id,omitempty"` // not for live (§5)
	ParticipantUserID string  `json:"participant_user_id"`
	CustomerKey       string  `json:"customer_key"`
	Role              string  `json:"role"` // host, panelist or attendee
}

type metricsWebinarParticipantsJSON struct {
	pageInfo
	Participants []metricsWebinarParticipantJSON `json:"participants"`
}

// webinarJSON is GET /webinars/{webinarId}. Its passcode fields are named
// unlike the meeting's (encrypted_passcode, h323_passcode), and it has no
// status.
type webinarJSON struct {
	UUID              string              `json:"uuid"`
	ID                int64               `json:"id"`
	HostID            string              `json:"host_id"`
	HostEmail         string              `json:"host_email"`
	Topic             string              `json:"topic"`
	Type              int                 `json:"type"`
	StartTime         string              `json:"start_time"`
	Duration          int                 `json:"duration"`
	Timezone          string              `json:"timezone"`
	Agenda            string              `json:"agenda"`
	CreatedAt         string              `json:"created_at"`
	StartURL          string              `json:"start_url"`
	JoinURL           string              `json:"join_url"`
	Password          string              `json:"password"`
	H323Passcode      string              `json:"h323_passcode"`
	EncryptedPasscode string              `json:"encrypted_passcode"`
	Settings          webinarSettingsJSON `json:"settings"`
	IsSimulive        bool                `json:"is_simulive"`
}

type webinarSettingsJSON struct {
	HostVideo        bool   `json:"host_video"`
	PanelistsVideo   bool   `json:"panelists_video"`
	PracticeSession  bool   `json:"practice_session"`
	OnDemand         bool   `json:"on_demand"`
	ApprovalType     int    `json:"approval_type"`
	RegistrationType int    `json:"registration_type"`
	Audio            string `json:"audio"`
	AutoRecording    string `json:"auto_recording"`
}

// webinarInstancesJSON is /past_webinars/{webinarId}/instances: webinars[],
// where the meeting's answer has meetings[].
type webinarInstancesJSON struct {
	Webinars []instanceJSON `json:"webinars"`
}

// reportUserJSON is a row of GET /report/users (active or inactive hosts).
type reportUserJSON struct {
	ID             string `json:"id"`
	Email          string `json:"email"`
	UserName       string `json:"user_name"`
	Type           int    `json:"type"`
	Dept           string `json:"dept"`
	Meetings       int    `json:"meetings"`
	Participants   int    `json:"participants"`
	MeetingMinutes int    `json:"meeting_minutes"`
}

type reportUsersJSON struct {
	From string `json:"from"`
	To   string `json:"to"`
	pageInfo
	PageNumber          int              `json:"page_number"` // deprecated, still sent (§5)
	TotalMeetings       int              `json:"total_meetings"`
	TotalParticipants   int              `json:"total_participants"`
	TotalMeetingMinutes int              `json:"total_meeting_minutes"`
	Users               []reportUserJSON `json:"users"`
}
