package store

import (
	"time"
)

// Source says where zoomrecon learned a fact.
type Source string

const (
	// SourceUnknown means the fact is not known yet or came only as a hint
	// (a participant event carries the meeting's start time, say).
	SourceUnknown Source = ""
	// SourceWebhook means a webhook from Zoom told us.
	SourceWebhook Source = "webhook"
	// SourceReconciled means the reconciler learned it from Zoom's REST API
	// because no webhook did.
	SourceReconciled Source = "reconciled"
)

// MeetingType tells meetings from webinars.
type MeetingType string

const (
	TypeMeeting MeetingType = "meeting"
	TypeWebinar MeetingType = "webinar"
)

// MeetingStatus is a meeting instance's lifecycle state as far as we know.
type MeetingStatus string

const (
	StatusStarted MeetingStatus = "started"
	StatusEnded   MeetingStatus = "ended"
)

// Trigger says what started a reconcile run.
type Trigger string

const (
	TriggerSchedule Trigger = "schedule"
	TriggerManual   Trigger = "manual"
)

// RunResult is how a reconcile run went, as its metric, its record and the
// exit status of `zoomrecon reconcile` tell it.
type RunResult string

const (
	// RunOK: every meeting in the window was checked.
	RunOK RunResult = "ok"
	// RunPartial: some meetings could not be checked; the next pass asks
	// about them again.
	RunPartial RunResult = "partial"
	// RunFailed: the run could not check at all (no access token, no
	// listing, the database failed): an operator must look.
	RunFailed RunResult = "failed"
	// RunInterrupted: shutdown stopped the run part-way. It is no failure:
	// nothing was concluded from it, and the next run covers its window.
	RunInterrupted RunResult = "interrupted"
)

// OutboxStatus is an alert's delivery state.
type OutboxStatus string

const (
	OutboxPending OutboxStatus = "pending"
	OutboxSent    OutboxStatus = "sent"
	// OutboxDead marks a message Slack will never accept (a permanent error);
	// it stays in the table for status and metrics.
	OutboxDead OutboxStatus = "dead"
)

// Event is one accepted webhook delivery, stored before it is answered.
type Event struct {
	ID       int64  `db:"id"`
	DedupKey string `db:"dedup_key"`
	Type     string `db:"event_type"`
	// EventTS is when Zoom says the event happened; nil when the delivery
	// carried no usable event_ts (it is stored all the same).
	EventTS     *time.Time `db:"event_ts"`
	ReceivedAt  time.Time  `db:"received_at"`
	MeetingUUID string     `db:"meeting_uuid"`
	Body        []byte     `db:"body"`
}

// Meeting is one meeting or webinar instance, keyed by Zoom's instance UUID.
type Meeting struct {
	UUID        string        `db:"uuid"`
	MeetingID   int64         `db:"meeting_id"`
	HostID      string        `db:"host_id"`
	Topic       string        `db:"topic"`
	Type        MeetingType   `db:"type"`
	ZoomType    int           `db:"zoom_type"`
	Status      MeetingStatus `db:"status"`
	StartTime   *time.Time    `db:"start_time"`
	StartSource Source        `db:"start_source"`
	EndTime     *time.Time    `db:"end_time"`
	EndSource   Source        `db:"end_source"`
	FirstSeenAt time.Time     `db:"first_seen_at"`
	UpdatedAt   time.Time     `db:"updated_at"`
	// VerifiedAt is when the reconciler last confirmed this instance complete
	// against Zoom; a verified meeting is not fetched again.
	VerifiedAt *time.Time `db:"verified_at"`
	// CheckAfter holds back the next attendance check of an ended instance
	// whose data Zoom does not have yet; nil means at the next pass.
	CheckAfter *time.Time `db:"check_after"`
}

// Participant is the identity Zoom gives one participant session. Any field
// may be empty: external participants have no Zoom user ID, and privacy rules
// can blank names and emails (zoom-platform.md §5 "Privacy and identity").
type Participant struct {
	// UserID is Zoom's per-session participant ID ("16778240"); a rejoin gets
	// a new one.
	UserID string `db:"user_id"`
	// ParticipantUserID is the person's Zoom user ID, for signed-in users.
	ParticipantUserID string `db:"participant_user_id"`
	ParticipantUUID   string `db:"participant_uuid"`
	RegistrantID      string `db:"registrant_id"`
	UserName          string `db:"user_name"`
	Email             string `db:"email"`
}

// Key is the identity that pairs a join with its leave: the first of the
// per-session user ID, the participant UUID, the Zoom user ID, the registrant
// ID, the email and the name that is not empty. The prefix keeps values of
// different fields from colliding.
func (p Participant) Key() string {
	for _, c := range []struct{ prefix, v string }{
		{"uid:", p.UserID},
		{"puuid:", p.ParticipantUUID},
		{"zid:", p.ParticipantUserID},
		{"rid:", p.RegistrantID},
		{"email:", p.Email},
		{"name:", p.UserName},
	} {
		if c.v != "" {
			return c.prefix + c.v
		}
	}
	return ""
}

// Display names a participant for people: "Name <email>", whichever of the
// two Zoom gave, else the identity sessions are keyed by.
func (p Participant) Display() string {
	switch {
	case p.UserName != "" && p.Email != "":
		return p.UserName + " <" + p.Email + ">"
	case p.UserName != "" || p.Email != "":
		return p.UserName + p.Email
	}
	return p.Key()
}

// ParticipantSession is one join of one participant to one meeting instance.
// Either side may be missing while events are out of order or lost.
type ParticipantSession struct {
	ID             int64  `db:"id"`
	MeetingUUID    string `db:"meeting_uuid"`
	ParticipantKey string `db:"participant_key"`
	Participant
	JoinTime    *time.Time `db:"join_time"`
	JoinSource  Source     `db:"join_source"`
	LeaveTime   *time.Time `db:"leave_time"`
	LeaveSource Source     `db:"leave_source"`
	LeaveReason string     `db:"leave_reason"`
	CreatedAt   time.Time  `db:"created_at"`
	UpdatedAt   time.Time  `db:"updated_at"`
}

// Discrepancy is one difference between Zoom's API and our webhooks, unique per
// (Kind, MeetingUUID, Subject).
type Discrepancy struct {
	ID          int64  `db:"id"`
	Kind        Kind   `db:"kind"`
	MeetingUUID string `db:"meeting_uuid"`
	// Subject narrows the discrepancy below the meeting: a participant key for
	// the participant kinds, empty otherwise.
	Subject    string     `db:"subject"`
	Detail     string     `db:"detail"`
	DetectedAt time.Time  `db:"detected_at"`
	ResolvedAt *time.Time `db:"resolved_at"`
	// Resolution says why it closed; empty while open.
	Resolution ResolutionReason `db:"resolution"`
	Backfilled bool             `db:"backfilled"`
	// AcknowledgedAt is when a person took the discrepancy on (zoomrecon
	// ack); nil until then. AcknowledgedBy and AckNote say who and why.
	AcknowledgedAt *time.Time `db:"acknowledged_at"`
	AcknowledgedBy string     `db:"acknowledged_by"`
	AckNote        string     `db:"ack_note"`
}

// ReconcileRun records one reconciliation pass.
type ReconcileRun struct {
	ID                 int64      `db:"id"`
	TriggeredBy        Trigger    `db:"triggered_by"`
	WindowStart        time.Time  `db:"window_start"`
	WindowEnd          time.Time  `db:"window_end"`
	DryRun             bool       `db:"dry_run"`
	StartedAt          time.Time  `db:"started_at"`
	FinishedAt         *time.Time `db:"finished_at"`
	MeetingsChecked    int        `db:"meetings_checked"`
	DiscrepanciesFound int        `db:"discrepancies_found"`
	Backfilled         int        `db:"backfilled"`
	APICalls           int        `db:"api_calls"`
	Error              string     `db:"error"`
	// Result is the pass's outcome: ok, partial or failed; empty while it
	// runs, and for runs recorded before migration 7.
	Result RunResult `db:"result"`
}

// OutboxMessage is one alert waiting for, or past, delivery to Slack.
type OutboxMessage struct {
	ID            int64        `db:"id"`
	DiscrepancyID *int64       `db:"discrepancy_id"`
	Kind          Kind         `db:"kind"`
	Payload       string       `db:"payload"`
	Status        OutboxStatus `db:"status"`
	Tries         int          `db:"tries"`
	NextAttemptAt time.Time    `db:"next_attempt_at"`
	LastError     string       `db:"last_error"`
	CreatedAt     time.Time    `db:"created_at"`
	SentAt        *time.Time   `db:"sent_at"`
	SlackChannel  string       `db:"slack_channel"`
	SlackTS       string       `db:"slack_ts"`
	// ClaimedBy is the serve run (uptime row) holding the message's lease.
	ClaimedBy *int64 `db:"claimed_by"`
	// MutedBy is the mute that kept the alert from Slack; such an alert is
	// OutboxDead, never tried again.
	MutedBy *int64 `db:"muted_by"`
}
