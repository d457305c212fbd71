package store

import (
	"cmp"
	"errors"
	"fmt"
)

// This file is the one place that says what each discrepancy kind means: the
// store closes discrepancies by it, the alert sender decides urgency, folding
// and event names by it, and status and metrics list kinds in its order.
// Wording for people stays with whoever shows it (package alerts); facts live
// here. The database does not check kinds (migration 5 dropped the CHECK):
// recording one that is not in the table is refused here instead.

// Kind names a discrepancy between what Zoom's API reports and what webhooks
// told us. The values are user-facing: they appear in alerts, JSON output and
// metrics labels. What a kind means is its KindInfo, in kindTable.
type Kind string

const (
	KindMissedMeetingStarted    Kind = "missed_meeting_started"
	KindMissedMeetingEnded      Kind = "missed_meeting_ended"
	KindMissedParticipantJoined Kind = "missed_participant_joined"
	KindMissedParticipantLeft   Kind = "missed_participant_left"
	KindStaleMeeting            Kind = "stale_meeting"
	KindWebhookSilence          Kind = "webhook_silence"
	// KindURLValidationRefused is Zoom's periodic URL revalidation refused by
	// the receiver: six in a row disable the app's event subscription
	// (zoom-platform.md §2).
	KindURLValidationRefused Kind = "url_validation_refused"
	// KindHostEndedMissing is one host's last meetings all losing their
	// meeting.ended while other hosts' arrive: Zoom withholds events for a
	// host who has not authorized the app (zoom-platform.md §3, "When Zoom
	// sends nothing at all").
	KindHostEndedMissing Kind = "host_ended_missing"
	// KindHostEventsMissing is one host's last meetings producing no webhook
	// at all while other hosts' arrive.
	KindHostEventsMissing Kind = "host_events_missing"
	// KindWebSocketDisconnected is the WebSocket event subscription
	// disconnected for longer than the configured time while zoomrecon was
	// trying to reconnect: Zoom delivers nothing meanwhile and never resends
	// it (zoom-platform.md §11).
	KindWebSocketDisconnected Kind = "websocket_disconnected"
	// KindForwardDead is a relay destination that refused an event for good
	// (a 4xx) or kept failing past the give-up time: the application behind
	// zoomrecon lacks it until someone replays it. Its detail begins with
	// "destination NAME:"; one is open per destination at a time.
	KindForwardDead Kind = "forward_dead"
)

// ResolutionReason says why a discrepancy closed. The values are stored in
// discrepancies.resolution and shown by status; Text says them in words.
type ResolutionReason string

const (
	// ResolvedLateWebhook: the webhook the discrepancy reported lost arrived
	// after all.
	ResolvedLateWebhook ResolutionReason = "late_webhook"
	// ResolvedEnded: a meeting reported stuck in progress ended.
	ResolvedEnded ResolutionReason = "ended"
	// ResolvedEventsFlowing: a webhook arrived after a silence.
	ResolvedEventsFlowing ResolutionReason = "events_flowing"
	// ResolvedValidationAnswered: the receiver answered Zoom's next URL
	// validation after refusing one.
	ResolvedValidationAnswered ResolutionReason = "validation_answered"
	// ResolvedBackfilled: zoomrecon backfilled the whole state the webhook
	// would have carried, so the discrepancy is history, not a task; it is
	// recorded resolved at once.
	ResolvedBackfilled ResolutionReason = "backfilled"
	// ResolvedHostEventsFlowing: a webhook the host's meetings had been
	// losing arrived for one of them.
	ResolvedHostEventsFlowing ResolutionReason = "host_events_flowing"
	// ResolvedReconnected: the WebSocket event subscription is connected
	// again.
	ResolvedReconnected ResolutionReason = "reconnected"
	// ResolvedForwardAccepted: the relay destination accepted a delivery
	// again.
	ResolvedForwardAccepted ResolutionReason = "destination_accepting"
)

// resolutionTexts say each reason in words, for alerts and reports.
var resolutionTexts = map[ResolutionReason]string{
	ResolvedLateWebhook:        "the webhook arrived late",
	ResolvedEnded:              "the meeting ended",
	ResolvedEventsFlowing:      "webhooks are flowing again",
	ResolvedValidationAnswered: "zoomrecon answered Zoom's next URL validation",
	ResolvedBackfilled:         "zoomrecon backfilled it from Zoom's API; no action needed",
	ResolvedHostEventsFlowing:  "the host's webhooks are arriving again",
	ResolvedReconnected:        "the WebSocket event subscription is connected again",
	ResolvedForwardAccepted:    "the destination accepts deliveries again; replay what it missed",
}

// Text says why a discrepancy closed, in words: "the webhook arrived late".
// A reason this version does not know (a newer zoomrecon wrote it) reads as
// itself, and no reason as "closed".
func (r ResolutionReason) Text() string {
	if t, ok := resolutionTexts[r]; ok {
		return t
	}
	return cmp.Or(string(r), "closed")
}

// Valid reports whether r is one of the reasons above.
func (r ResolutionReason) Valid() bool {
	_, ok := resolutionTexts[r]
	return ok
}

// Signal is what an incoming webhook says that can close an open
// discrepancy. The meeting-level signals are the same for meetings and
// webinars; Event spells the webhook for one meeting type.
type Signal string

const (
	// SignalStarted is meeting.started or webinar.started.
	SignalStarted Signal = "started"
	// SignalEnded is meeting.ended or webinar.ended.
	SignalEnded Signal = "ended"
	// SignalJoined is meeting.participant_joined or
	// webinar.participant_joined.
	SignalJoined Signal = "participant_joined"
	// SignalLeft is meeting.participant_left or webinar.participant_left.
	SignalLeft Signal = "participant_left"
	// SignalAnyEvent is any event stored, whatever it says.
	SignalAnyEvent Signal = "any_event"
	// SignalValidationAnswered is an endpoint.url_validation the receiver
	// answered.
	SignalValidationAnswered Signal = "url_validation_answered"
	// SignalWebSocketConnected is no webhook: the WebSocket event
	// subscription connected (Store.WebSocketUp).
	SignalWebSocketConnected Signal = "websocket_connected"
	// SignalForwardAccepted is no webhook either: a relay destination
	// accepted a delivery (Store.ResolveForwardDead).
	SignalForwardAccepted Signal = "forward_accepted"
)

// Event is the webhook event that carries s about an instance of type typ:
// "webinar.ended" for SignalEnded and TypeWebinar. An instance of unknown
// type is a meeting. It is empty for the signals that are not about one
// instance (SignalAnyEvent, SignalValidationAnswered,
// SignalWebSocketConnected, SignalForwardAccepted).
func (s Signal) Event(typ MeetingType) string {
	switch s {
	case SignalStarted, SignalEnded, SignalJoined, SignalLeft:
		return string(cmp.Or(typ, TypeMeeting)) + "." + string(s)
	}
	return ""
}

// KindInfo is what one kind of discrepancy means.
type KindInfo struct {
	Kind Kind
	// Urgent kinds need a person now: Zoom stopped talking to us, it is
	// about to, or a meeting is stuck open. Their alerts say URGENT, go
	// first, and get a follow-up when they resolve.
	Urgent bool
	// Account kinds are about the whole Zoom account rather than one
	// meeting: their meeting UUID is empty and their subject is when the
	// stretch they report began (RFC 3339).
	Account bool
	// Participant kinds are about one participant of a meeting: their
	// subject is the participant's key (Participant.Key).
	Participant bool
	// Missed kinds report a webhook Zoom did not send. An open webhook
	// silence, or an open host kind about their meeting's host, explains
	// them, so their alerts are folded into its alert.
	Missed bool
	// Folds kinds explain missed alerts: those an open one explains are
	// carried in its alert rather than sent one by one (a webhook silence
	// explains every missed alert detected since it began, a host kind
	// those about its host's meetings since its stretch began).
	Folds bool
	// Host kinds are about the meetings of one Zoom user: their subject is
	// the host's user ID, and their meeting UUID is the first meeting of
	// the stretch they report, which names the stretch (a later one after
	// it resolved is a new discrepancy). ResolvedBy is then that webhook
	// about any meeting of the same host.
	Host bool
	// HostCause, on a missed kind about one meeting, is the host kind raised
	// when a host's last meetings all miss the webhook while other hosts'
	// arrive (reconciler Config.HostCauseMinMeetings).
	HostCause Kind
	// ResolvedBy is the incoming webhook that closes an open discrepancy of
	// the kind. For a kind about one meeting it is that webhook about the
	// same meeting (and, for a participant kind, the same participant), and
	// it is also the webhook the discrepancy reports lost: see Event.
	ResolvedBy Signal
	// ResolvedAs is the reason recorded when ResolvedBy closes it.
	ResolvedAs ResolutionReason
}

// Event is the webhook a discrepancy of the kind about an instance of type
// typ reports lost ("meeting.ended", "webinar.ended"): the one whose late
// arrival closes it. It is empty for the account kinds.
func (i KindInfo) Event(typ MeetingType) string {
	return i.ResolvedBy.Event(typ)
}

// kindTable lists every kind, in the order reports show them.
var kindTable = []KindInfo{
	{Kind: KindURLValidationRefused, Urgent: true, Account: true,
		ResolvedBy: SignalValidationAnswered, ResolvedAs: ResolvedValidationAnswered},
	{Kind: KindWebSocketDisconnected, Urgent: true, Account: true,
		ResolvedBy: SignalWebSocketConnected, ResolvedAs: ResolvedReconnected},
	{Kind: KindForwardDead, Urgent: true, Account: true,
		ResolvedBy: SignalForwardAccepted, ResolvedAs: ResolvedForwardAccepted},
	{Kind: KindWebhookSilence, Urgent: true, Account: true, Folds: true,
		ResolvedBy: SignalAnyEvent, ResolvedAs: ResolvedEventsFlowing},
	// Only Zoom can say a meeting ended: by its meeting.ended arriving, or
	// by its API, when the reconciler resolves it as ResolvedEnded too.
	{Kind: KindStaleMeeting, Urgent: true,
		ResolvedBy: SignalEnded, ResolvedAs: ResolvedEnded},
	// A host's meetings that lose their webhooks in a row have one cause,
	// most often the host not having authorized the app; the per-meeting
	// alerts of the stretch are folded into its alert. Not urgent: nothing
	// is lost (every pass backfills), but only a person can fix it.
	{Kind: KindHostEventsMissing, Host: true, Folds: true,
		ResolvedBy: SignalAnyEvent, ResolvedAs: ResolvedHostEventsFlowing},
	{Kind: KindHostEndedMissing, Host: true, Folds: true,
		ResolvedBy: SignalEnded, ResolvedAs: ResolvedHostEventsFlowing},
	// A meeting whose start was lost counts toward host_events_missing only
	// when no webhook at all arrived for it (the reconciler checks).
	{Kind: KindMissedMeetingStarted, Missed: true, HostCause: KindHostEventsMissing,
		ResolvedBy: SignalStarted, ResolvedAs: ResolvedLateWebhook},
	{Kind: KindMissedMeetingEnded, Missed: true, HostCause: KindHostEndedMissing,
		ResolvedBy: SignalEnded, ResolvedAs: ResolvedLateWebhook},
	{Kind: KindMissedParticipantJoined, Missed: true, Participant: true,
		ResolvedBy: SignalJoined, ResolvedAs: ResolvedLateWebhook},
	{Kind: KindMissedParticipantLeft, Missed: true, Participant: true,
		ResolvedBy: SignalLeft, ResolvedAs: ResolvedLateWebhook},
}

// Kinds lists every discrepancy kind, in the order reports show them.
func Kinds() []Kind {
	out := make([]Kind, len(kindTable))
	for i, info := range kindTable {
		out[i] = info.Kind
	}
	return out
}

// Info returns what k means. For a kind this version does not know (a newer
// zoomrecon wrote it) every fact is false or empty: it is not urgent, and no
// webhook closes it.
func (k Kind) Info() KindInfo {
	info, _ := k.lookup()
	return info
}

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool {
	_, ok := k.lookup()
	return ok
}

func (k Kind) lookup() (KindInfo, bool) {
	for _, info := range kindTable {
		if info.Kind == k {
			return info, true
		}
	}
	return KindInfo{Kind: k}, false
}

// ErrUnknownKind is returned when a discrepancy of a kind not in Kinds is
// recorded.
var ErrUnknownKind = errors.New("unknown discrepancy kind")

// ErrUnknownResolution is returned when a discrepancy is resolved with a
// reason that is not one of the ResolutionReason constants.
var ErrUnknownResolution = errors.New("unknown resolution reason")

// checkKind refuses a kind that is not in the table, naming it.
func checkKind(k Kind) error {
	if !k.Valid() {
		return fmt.Errorf("%w %q", ErrUnknownKind, k)
	}
	return nil
}

// checkResolution refuses a reason that is not one of the constants, naming it.
func checkResolution(r ResolutionReason) error {
	if !r.Valid() {
		return fmt.Errorf("%w %q", ErrUnknownResolution, r)
	}
	return nil
}
