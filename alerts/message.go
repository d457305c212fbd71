package alerts

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/zoomrecon/zoomrecon/store"
)

// alert is one outbox message with what it says: the payload the reconciler
// wrote when it found the discrepancy, and the discrepancy and its meeting as
// they stand now (resolved or not, the meeting's host and times).
type alert struct {
	msg  store.OutboxMessage
	f    finding
	d    store.AlertDetail
	hasD bool // false when the discrepancy is gone (the outbox keeps the payload)
}

// finding is the outbox payload: the reconciler's Finding, decoded with a
// struct of our own because alerts must not import reconciler (STYLE.md §1).
type finding struct {
	Kind        store.Kind `json:"kind"`
	MeetingUUID string     `json:"meeting_uuid"`
	MeetingID   int64      `json:"meeting_id"`
	Topic       string     `json:"topic"`
	Participant string     `json:"participant"`
	Host        string     `json:"host"`
	Detail      string     `json:"detail"`
	DetectedAt  time.Time  `json:"detected_at"`
	Backfilled  bool       `json:"backfilled"`
}

func (a alert) kind() store.Kind {
	if a.hasD {
		return a.d.Kind
	}
	return cmp.Or(a.f.Kind, a.msg.Kind)
}

func (a alert) topic() string       { return cmp.Or(a.d.Topic, a.f.Topic) }
func (a alert) meetingID() int64    { return cmp.Or(a.d.MeetingID, a.f.MeetingID) }
func (a alert) meetingUUID() string { return cmp.Or(a.d.MeetingUUID, a.f.MeetingUUID) }
func (a alert) detail() string      { return cmp.Or(a.d.Detail, a.f.Detail) }
func (a alert) backfilled() bool    { return a.d.Backfilled || a.f.Backfilled }
func (a alert) resolved() bool      { return a.hasD && a.d.ResolvedAt != nil }
func (a alert) urgent() bool        { return a.kind().Info().Urgent }

// missed reports an alert about an event Zoom did not send, which an open
// webhook silence explains (store.KindInfo.Missed).
func (a alert) missed() bool { return a.kind().Info().Missed }

// folds reports an alert that carries the missed alerts its cause explains
// (store.KindInfo.Folds).
func (a alert) folds() bool { return a.kind().Info().Folds }

// host names the host a host kind is about: as Zoom's listing named them,
// else by Zoom user ID.
func (a alert) host() string {
	if a.f.Host != "" {
		return a.f.Host
	}
	return "host " + cmp.Or(a.d.Subject, a.d.HostID, "unknown")
}

func (a alert) detectedAt() time.Time {
	switch {
	case a.hasD:
		return a.d.DetectedAt
	case !a.f.DetectedAt.IsZero():
		return a.f.DetectedAt
	}
	return a.msg.CreatedAt
}

// participant names who a participant alert is about: the name and email
// the reconciler reported, else those stored for the session, else its key.
func (a alert) participant() string {
	if a.f.Participant != "" {
		return a.f.Participant
	}
	switch name, email := a.d.ParticipantName, a.d.ParticipantEmail; {
	case name != "" && email != "":
		return name + " <" + email + ">"
	case name != "" || email != "":
		return name + email
	}
	return a.d.Subject
}

// silenceStart is when the stretch an account-level alert is about began (a
// webhook_silence's quiet, a url_validation_refused's refusals, a
// websocket_disconnected's disconnection): the discrepancy is named by it, in
// its subject.
func (a alert) silenceStart() time.Time {
	if t, err := time.Parse(time.RFC3339Nano, a.d.Subject); err == nil {
		return t
	}
	return a.detectedAt()
}

// event is the webhook the alert reports lost, as Zoom names it for its
// meeting's type: meeting.ended, webinar.ended. It is empty for the account
// kinds.
func (a alert) event() string { return a.kind().Info().Event(a.d.Type) }

// message is what one Slack message says: Block Kit for people, and text for
// notifications, screen readers and the log, which carries the essentials on
// its own.
type message struct {
	text   string
	blocks []slack.Block
}

// kindText is how one kind of discrepancy reads: the wording alerts own. What
// the kind means (urgent, about the account or a participant, the webhook it
// misses) is its store.KindInfo, never repeated here. The texts are
// templates whose placeholders words fills; a field left empty reads as in
// genericText.
type kindText struct {
	// title is the header of a message about one alert.
	title string
	// headline says what happened, as one sentence.
	headline string
	// many is the header of a digest of {n} alerts of the kind.
	many string
	// resolved says, in a follow-up, that one alert resolved and {why}.
	resolved string
	// manyResolved is the header of a follow-up for {n} resolved alerts of
	// the kind.
	manyResolved string
	// since labels when an account kind's stretch began, and listed starts
	// its line in a list (the stretch's start follows).
	since, listed string
	// backfilled says what zoomrecon did about it, when the discrepancy says
	// it backfilled; kept says it for when it did not.
	backfilled, kept string
	// next says what a person should check next.
	next string
	// folded introduces, in a kind that folds, the {missed} alerts it
	// carries; foldedResolved once it resolved. foldedLater heads {more}
	// alerts folded into it after its message went out, and explained says
	// what to do about them.
	folded, foldedResolved, foldedLater, explained string
}

// The wording the missed kinds share.
const (
	missedTitle            = "Missed {event}: {topic}"
	missedHeadline         = "Zoom never sent {event} for {meeting}."
	missedParticipant      = "Zoom never sent {event} for {participant} in {meeting}."
	missedMeetings         = "Zoom never sent {event} for {n} meetings"
	missedParticipants     = "Zoom never sent {event} for {n} participants"
	missedNotYetBackfilled = "nothing yet; the next reconcile pass tries again."
)

// genericText is how a kind reads where its kindText says nothing, and how a
// kind reads that this version does not know.
var genericText = kindText{
	title:        "Discrepancy {kind}",
	headline:     "zoomrecon found a discrepancy ({kind}) for {meeting}.",
	many:         "{n} discrepancies ({kind})",
	resolved:     "{headline} Now resolved: {why}.",
	manyResolved: "{n} alerts resolved",
	kept:         "nothing.",
	next:         "Run zoomrecon status for the details.",
	folded:       "zoomrecon also found {missed}:",
	foldedLater:  "{more}",
	explained:    "These share one cause; fix that first.",
}

// hostCauseDoc is where the README explains the host kinds and what to ask
// of the host.
const hostCauseDoc = "https://github.com/zoomrecon/zoomrecon#missed-webhooks-of-one-host"

// The wording the host kinds share.
const (
	hostKept = "nothing is lost: every reconcile pass backfills the host's meetings from Zoom's API, " +
		"and the alerts for them are gathered here."
	hostNext = "Ask {host} to authorize the Zoom app (or an account admin to pre-approve it for the account's users): " +
		"Zoom withholds the events of meetings whose host has not consented to the app. " +
		"If the host has, check whether the host's meetings belong to another Zoom account. See " + hostCauseDoc
	hostResolved = "Webhooks for {host}'s meetings are arriving again: {why}."
)

var kindTexts = map[store.Kind]kindText{
	store.KindHostEndedMissing: {
		title:          "No {event} for {host}'s meetings",
		headline:       "Zoom sends no {event} for {host}'s meetings while other hosts' arrive: has the host authorized the app?",
		many:           "{n} hosts whose meetings get no {event}",
		resolved:       hostResolved,
		kept:           hostKept,
		next:           hostNext,
		folded:         "Of {host}'s meetings, zoomrecon found {missed}:",
		foldedResolved: "Of {host}'s meetings, zoomrecon had found {missed}:",
		foldedLater:    "{more} of {host}'s meetings",
		explained:      "These are explained by {host}'s missing webhooks; fix that first.",
	},
	store.KindHostEventsMissing: {
		title:          "No webhooks for {host}'s meetings",
		headline:       "Zoom sends no webhook at all for {host}'s meetings while other hosts' arrive: has the host authorized the app?",
		many:           "{n} hosts whose meetings get no webhooks",
		resolved:       hostResolved,
		kept:           hostKept,
		next:           hostNext,
		folded:         "Of {host}'s meetings, zoomrecon found {missed}:",
		foldedResolved: "Of {host}'s meetings, zoomrecon had found {missed}:",
		foldedLater:    "{more} of {host}'s meetings",
		explained:      "These are explained by {host}'s missing webhooks; fix that first.",
	},
	store.KindMissedMeetingStarted: {
		title:      missedTitle,
		headline:   missedHeadline,
		many:       missedMeetings,
		backfilled: "zoomrecon recorded the meeting with its times from Zoom's API (source: reconciled); its attendance follows from Zoom's participant report.",
		kept:       missedNotYetBackfilled,
		next: "Check that the Zoom app's event subscription includes {event} and its endpoint URL is still validated, and look for failed deliveries in Zoom's webhook logs. " +
			"Only meetings hosted by users of the app's own account produce events; some ways of starting instant meetings have been reported to skip meeting.started.",
	},
	store.KindMissedMeetingEnded: {
		title:      missedTitle,
		headline:   missedHeadline,
		many:       missedMeetings,
		backfilled: "zoomrecon marked the meeting ended at the time Zoom's API reports (source: reconciled).",
		kept:       missedNotYetBackfilled,
		next: "Check that the event subscription includes {event}, and Zoom's webhook logs around the meeting's end. " +
			"Zoom has been seen to withhold events for a host who has not consented to the app.",
	},
	store.KindMissedParticipantJoined: {
		title:      missedTitle,
		headline:   missedParticipant,
		many:       missedParticipants,
		backfilled: "zoomrecon recorded the join from Zoom's participant report (source: reconciled).",
		kept:       missedNotYetBackfilled,
		next:       "Check that the event subscription includes {event}; if many joins go missing at once, look for failed deliveries in Zoom's webhook logs.",
	},
	store.KindMissedParticipantLeft: {
		title:      missedTitle,
		headline:   missedParticipant,
		many:       missedParticipants,
		backfilled: "zoomrecon recorded the leave from Zoom's participant report (source: reconciled).",
		kept:       missedNotYetBackfilled,
		next: "Zoom is known to drop or delay participant_left (a killed client app, say); if it happens often, " +
			"check that the event subscription includes {event} and Zoom's webhook logs.",
	},
	store.KindStaleMeeting: {
		title:        "Meeting stuck in progress: {topic}",
		headline:     "{Meeting} is still open long after it started: Zoom never sent {event} for it.",
		many:         "{n} meetings stuck in progress: {event} never arrived",
		resolved:     "{Meeting} is no longer stuck: {why}.",
		manyResolved: "{n} stuck meetings resolved",
		kept: "nothing: only Zoom can say a meeting ended. Every reconcile pass asks Zoom again, " +
			"records the end when Zoom reports it, and this alert then shows it resolved.",
		next: "Check in Zoom (Dashboard, Meetings, Live) whether the meeting really is still running. " +
			"If it ended, {event} was lost: check the event subscription and Zoom's webhook logs.",
	},
	store.KindURLValidationRefused: {
		title:    "Zoom's URL validation was refused",
		since:    "Refused since",
		headline: "zoomrecon refused Zoom's URL revalidation of its webhook endpoint; six refusals in a row make Zoom disable the app's event subscription, and then no webhook arrives at all.",
		resolved: "Zoom's URL validation is answered again: {why}. Validations had been refused since {since}.",
		listed:   "URL validation refused since ",
		kept:     "nothing needed yet: events still arrive. Every later validation is watched; the next one answered resolves this alert.",
		next: "Check that ZOOM_WEBHOOK_SECRET_TOKEN is the Secret Token the app's event subscription shows now (it may have been regenerated; " +
			"list both while rotating: new,old), and that nothing in front of zoomrecon alters Zoom's requests. " +
			"If the subscription was already disabled, re-enable it in the Zoom Marketplace (toggle it, validate, save).",
	},
	store.KindWebSocketDisconnected: {
		title:    "WebSocket event subscription disconnected",
		since:    "Disconnected since",
		headline: "zoomrecon's WebSocket connection to Zoom's event subscription has stayed down past ZOOMRECON_WEBSOCKET_ALERT_AFTER while zoomrecon keeps trying to reconnect; Zoom delivers no event while it is down and never resends one.",
		resolved: "zoomrecon is receiving Zoom's events again: {why}. It had been disconnected since {since}; zoomrecon now backfills that gap from Zoom's API.",
		listed:   "WebSocket disconnected since ",
		kept: "nothing is lost for good: zoomrecon keeps trying to reconnect, and once connected it backfills from Zoom's API " +
			"what happened during the disconnection.",
		next: "Check zoomrecon's logs for why the connection ended or cannot reopen; " +
			"that outbound connections to ws.zoom.us on port 443 are allowed (network, proxy, firewall); " +
			"that ZOOM_WEBSOCKET_SUBSCRIPTION_ID is the subscription's current ID, and the app's event subscription still uses the WebSockets method and is enabled; " +
			"that the Server-to-Server OAuth app is still activated and ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET are still valid; " +
			"and Zoom's status page.",
	},
	store.KindForwardDead: {
		title:    "Events not delivered to the application behind zoomrecon",
		since:    "Undelivered since",
		headline: "A relay destination refused an event for good (a 4xx answer) or kept failing past ZOOMRECON_FORWARD_GIVE_UP_AFTER: the application behind zoomrecon does not have it.",
		resolved: "The destination accepts deliveries again: {why}. Deliveries had been dead since {since}; replay what it missed.",
		listed:   "deliveries dead since ",
		kept: "every event is kept: zoomrecon replay --destination NAME --since TIME delivers the dead ones again, " +
			"once the application takes them; the application deduplicates by X-Zoomrecon-Delivery-Id.",
		next: "Read the destination's answer in the detail and in its logs: a 401 means it verifies with another Secret Token than zoomrecon signs with, " +
			"a 4xx that it rejects the event itself; fix the application, then run zoomrecon replay for the window since this alert. " +
			"zoomrecon status shows each destination's pending, failing and dead deliveries.",
	},
	store.KindWebhookSilence: {
		title:    "Zoom has stopped sending webhooks",
		since:    "Silent since",
		headline: "Zoom has stopped sending webhooks to zoomrecon while its API shows meetings starting and ending.",
		resolved: "Zoom is sending webhooks again: {why}. It had been silent since {since}.",
		listed:   "webhook silence since ",
		kept: "nothing is lost for good: every reconcile pass goes on backfilling from Zoom's API what the webhooks miss, " +
			"and the alerts for what it finds are gathered here.",
		folded:         "While Zoom is silent, zoomrecon also found {missed}:",
		foldedResolved: "While Zoom was silent, zoomrecon also found {missed}:",
		foldedLater:    "{more} while Zoom is silent (since {since})",
		explained:      "These are explained by the webhook silence; fix that first.",
		next: "Check that the Zoom app is still activated and its event subscription is on with a validated endpoint URL; " +
			"that zoomrecon's webhook endpoint is reachable from the internet (TLS certificate, reverse proxy, firewall); " +
			"that zoomrecon is not refusing deliveries (its logs, zoomrecon_webhook metrics, ZOOM_WEBHOOK_SECRET_TOKEN); " +
			"with a WebSocket subscription, that it is still on and subscribes to the meeting events; " +
			"and Zoom's status page.",
	},
}

// textOf returns how k reads: its kindText, with genericText's wording
// where it says nothing.
func textOf(k store.Kind) kindText {
	t, g := kindTexts[k], genericText
	t.title = cmp.Or(t.title, g.title)
	t.headline = cmp.Or(t.headline, g.headline)
	t.many = cmp.Or(t.many, g.many)
	t.resolved = cmp.Or(t.resolved, g.resolved)
	t.manyResolved = cmp.Or(t.manyResolved, g.manyResolved)
	t.kept = cmp.Or(t.kept, g.kept)
	t.next = cmp.Or(t.next, g.next)
	t.folded = cmp.Or(t.folded, g.folded)
	t.foldedResolved = cmp.Or(t.foldedResolved, t.folded)
	t.foldedLater = cmp.Or(t.foldedLater, g.foldedLater)
	t.explained = cmp.Or(t.explained, g.explained)
	return t
}

// words fills a template about alerts, all of one kind: {kind}, {n} (how
// many), {event} (the webhooks they report lost, for their meetings' types,
// "meeting.ended or webinar.ended" when both) and, about one alert, {topic},
// {meeting} and {Meeting} (its meeting, in a sentence and starting one),
// {participant} and {since} (when an account kind's stretch began). extra
// adds placeholders and their values.
func words(tmpl string, alerts []alert, extra ...string) string {
	var events []string
	for _, a := range alerts {
		if e := a.event(); e != "" && !slices.Contains(events, e) {
			events = append(events, e)
		}
	}
	pairs := []string{
		"{kind}", string(alerts[0].kind()),
		"{n}", strconv.Itoa(len(alerts)),
		"{event}", strings.Join(events, " or "),
	}
	if len(alerts) == 1 {
		a := alerts[0]
		pairs = append(pairs,
			"{topic}", cmp.Or(a.topic(), "untitled"),
			"{meeting}", meetingName(a),
			"{Meeting}", capitalize(meetingName(a)),
			"{participant}", cmp.Or(a.participant(), "a participant"),
			"{host}", a.host(),
			"{since}", utc(a.silenceStart()))
	} else {
		pairs = append(pairs, "{host}", "each host")
	}
	return strings.NewReplacer(append(pairs, extra...)...).Replace(tmpl)
}

// headline is what happened, in words, as one sentence (plain text).
func headline(a alert) string {
	return words(textOf(a.kind()).headline, []alert{a})
}

// title is the header of a message about one alert.
func title(a alert) string {
	return decorate(words(textOf(a.kind()).title, []alert{a}), a.urgent(), a.resolved())
}

// manyTitle is the header of a digest of alerts of one kind.
func manyTitle(alerts []alert) string {
	return words(textOf(alerts[0].kind()).many, alerts)
}

func decorate(t string, urgentKind, resolved bool) string {
	switch {
	case resolved:
		return ":white_check_mark: Resolved: " + t
	case urgentKind:
		return ":rotating_light: " + t
	}
	return ":warning: " + t
}

// textPrefix starts a text fallback: what a notification shows first.
func textPrefix(urgentKind, resolved bool) string {
	switch {
	case resolved:
		return "RESOLVED: "
	case urgentKind:
		return "URGENT: "
	}
	return ""
}

// meetingName names a meeting for a sentence: its topic and numeric ID.
func meetingName(a alert) string {
	name := "an untitled meeting"
	if t := a.topic(); t != "" {
		name = "“" + t + "”"
	}
	if id := a.meetingID(); id != 0 {
		name += " (meeting ID " + strconv.FormatInt(id, 10) + ")"
	}
	return name
}

// resolutionText says why a discrepancy closed, in words.
func resolutionText(a alert) string {
	why := a.d.Resolution.Text()
	if a.d.ResolvedAt != nil {
		why += " (" + utc(*a.d.ResolvedAt) + ")"
	}
	return why
}

// backfilledText says what zoomrecon did about alerts of one kind: what it
// backfilled if it backfilled any, else what it kept to.
func backfilledText(alerts []alert) string {
	kt := textOf(alerts[0].kind())
	if kt.backfilled != "" && slices.ContainsFunc(alerts, alert.backfilled) {
		return words(kt.backfilled, alerts)
	}
	return words(kt.kept, alerts)
}

// nextText says what to check next about alerts of one kind.
func nextText(alerts []alert) string {
	return words(textOf(alerts[0].kind()).next, alerts)
}

// facts lists what a person needs to find the meeting: label and value
// (plain text), in display order.
func facts(a alert) [][2]string {
	var out [][2]string
	add := func(label, v string) {
		if v != "" {
			out = append(out, [2]string{label, v})
		}
	}
	if a.kind().Info().Account {
		add(textOf(a.kind()).since, utc(a.silenceStart()))
		add("Detected", utc(a.detectedAt()))
		return out
	}
	if a.kind().Info().Host {
		add("Host", a.host())
		add("Host ID", a.d.Subject)
		first := "“" + cmp.Or(a.topic(), "untitled") + "”"
		if id := a.meetingID(); id != 0 {
			first += " (meeting ID " + strconv.FormatInt(id, 10) + ")"
		}
		add("First meeting", first)
		if a.d.StartTime != nil {
			add("Since", utc(*a.d.StartTime))
		}
		add("Detected", utc(a.detectedAt()))
		return out
	}
	add("Topic", cmp.Or(a.topic(), "(untitled)"))
	if id := a.meetingID(); id != 0 {
		add("Meeting ID", strconv.FormatInt(id, 10))
	}
	add("Meeting UUID", a.meetingUUID())
	add("Host", cmp.Or(a.d.HostID, "unknown"))
	if p := a.participant(); p != "" && a.kind().Info().Participant {
		add("Participant", p)
	}
	if a.d.StartTime != nil {
		add("Started", utc(*a.d.StartTime))
	}
	if a.d.EndTime != nil {
		add("Ended", utc(*a.d.EndTime))
	} else if a.hasD {
		add("Ended", "not known to zoomrecon")
	}
	add("Detected", utc(a.detectedAt()))
	return out
}

// line is one alert in a list: what to find it by and what happened.
func line(a alert) string {
	var b strings.Builder
	switch {
	case a.kind().Info().Account:
		b.WriteString(textOf(a.kind()).listed + utc(a.silenceStart()))
	case a.kind().Info().Host:
		b.WriteString(a.host() + " (" + string(a.kind()) + ")")
	default:
		b.WriteString("“" + cmp.Or(a.topic(), "untitled") + "”")
		if id := a.meetingID(); id != 0 {
			b.WriteString(" ID " + strconv.FormatInt(id, 10))
		}
		if u := a.meetingUUID(); u != "" {
			b.WriteString(" UUID " + u)
		}
		if a.d.HostID != "" {
			b.WriteString(" host " + a.d.HostID)
		}
		if a.kind().Info().Participant {
			b.WriteString(", " + cmp.Or(a.participant(), "a participant"))
		}
	}
	if d := a.detail(); d != "" {
		b.WriteString(": " + d)
	}
	s := fit(b.String(), maxLine, fallbackText)
	if a.resolved() {
		s += " (resolved: " + resolutionText(a) + ")"
	}
	return s
}

// renderMessage renders the Slack message that carries alerts, from what they
// are: a silence with the alerts folded into it, one alert alone, or a digest.
// An edit re-renders the same alerts, so a message keeps its shape and only
// its resolutions change.
func renderMessage(alerts []alert, lines int) message {
	for i, a := range alerts {
		if a.folds() {
			rest := append(append([]alert{}, alerts[:i]...), alerts[i+1:]...)
			return renderSingle(a, rest, lines)
		}
	}
	if len(alerts) == 1 {
		return renderSingle(alerts[0], nil, lines)
	}
	return renderDigest(alerts, lines)
}

// renderSingle renders one alert and, for a silence, the alerts it explains.
func renderSingle(a alert, folded []alert, lines int) message {
	var (
		k      = a.kind()
		blocks []slack.Block
		text   []string
		notice string
	)
	blocks = append(blocks, header(title(a)))
	switch {
	case a.resolved():
		blocks = append(blocks, section("*Resolved:* "+escape(resolutionText(a))+"."))
		notice = "RESOLVED (" + resolutionText(a) + "): "
	case a.urgent():
		notice = "URGENT: "
	}
	what := headline(a)
	if d := a.detail(); d != "" {
		what += " " + sentence(d)
	}
	blocks = append(blocks, section(escape(what)))
	notice += what

	fs := facts(a)
	fields := make([]*slack.TextBlockObject, 0, len(fs))
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		v := escape(f[1])
		if f[0] == "Meeting UUID" {
			v = "`" + v + "`"
		}
		fields = append(fields, field("*"+f[0]+"*\n"+v))
		parts = append(parts, f[0]+": "+f[1])
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields[:min(len(fields), 10)], nil))
	text = append(text, fit(strings.Join(parts, ". ")+".", maxFacts, fallbackText))

	if len(folded) > 0 {
		tmpl := textOf(k).folded
		if a.resolved() {
			tmpl = textOf(k).foldedResolved
		}
		intro := words(tmpl, []alert{a}, "{missed}", plural(len(folded), "missed event", "missed events"))
		blocks = append(blocks, slack.NewDividerBlock())
		head := "*" + escape(intro) + "*\n"
		list, plain := listing(folded, lines, maxSection-units(head))
		blocks = append(blocks, section(head+list))
		text = append(text, intro, plain)
	}

	blocks = append(blocks,
		section("*Backfilled:* "+escape(backfilledText([]alert{a}))),
		section("*Check next:* "+escape(nextText([]alert{a}))),
		contextBlock(fmt.Sprintf("zoomrecon · %s · discrepancy %d", k, discrepancyID(a))))
	text = append(text, "Backfilled: "+backfilledText([]alert{a}), "Check next: "+nextText([]alert{a}))
	return message{text: fallback(notice, maxWhat, text...), blocks: fitBlocks(blocks)}
}

// renderDigest renders many alerts as one message: a count, a capped list
// and, for the kinds among them, what was backfilled and what to check.
func renderDigest(alerts []alert, lines int) message {
	kinds := kindsOf(alerts)
	isUrgent, allResolved := false, true
	for _, a := range alerts {
		isUrgent = isUrgent || a.urgent()
		allResolved = allResolved && a.resolved()
	}
	t := fmt.Sprintf("%d discrepancies found at once", len(alerts))
	if len(kinds) == 1 {
		t = manyTitle(alerts)
	}
	blocks := []slack.Block{header(decorate(t, isUrgent, allResolved))}
	list, plain := listing(alerts, lines, maxSection)
	blocks = append(blocks, section(list))
	text := []string{plain}
	for _, k := range kinds {
		of := ofKind(alerts, k)
		b, n := backfilledText(of), nextText(of)
		prefix := ""
		if len(kinds) > 1 {
			prefix = string(k) + ": "
		}
		blocks = append(blocks,
			section("*Backfilled:* "+escape(prefix+b)),
			section("*Check next:* "+escape(prefix+n)))
		text = append(text, "Backfilled: "+prefix+b, "Check next: "+prefix+n)
	}
	first := alerts[0].detectedAt()
	for _, a := range alerts {
		if a.detectedAt().Before(first) {
			first = a.detectedAt()
		}
	}
	blocks = append(blocks, contextBlock(fmt.Sprintf("zoomrecon · %s · first detected %s · zoomrecon status lists them all",
		joinKinds(kinds), utc(first))))
	return message{text: fallback(textPrefix(isUrgent, allResolved)+t, maxNotice, text...), blocks: fitBlocks(blocks)}
}

// renderFolded renders alerts folded into a silence whose own message went
// out earlier: a reply in its thread, or a message of its own where threads
// are not available.
func renderFolded(silence alert, folded []alert, lines int) message {
	kt := textOf(silence.kind())
	intro := words(kt.foldedLater, []alert{silence}, "{more}", plural(len(folded), "more missed event", "more missed events"))
	explained := words(kt.explained, []alert{silence})
	list, plain := listing(folded, lines, maxSection)
	blocks := []slack.Block{
		header(decorate(intro, false, false)),
		section(list),
		section("*Check next:* " + escape(explained+" "+nextText([]alert{silence}))),
		contextBlock(fmt.Sprintf("zoomrecon · folded into %s discrepancy %d", silence.kind(), discrepancyID(silence))),
	}
	text := fallback(intro+":", maxNotice, plain, "Check next: "+explained)
	return message{text: text, blocks: fitBlocks(blocks)}
}

// renderFollowUp announces resolutions where the original message cannot be
// edited.
func renderFollowUp(alerts []alert, lines int) message {
	if kinds := kindsOf(alerts); len(alerts) > 1 && len(kinds) == 1 && kinds[0] == store.KindWebhookSilence {
		// One outage seen more than once: announce its end once, from its start.
		first := alerts[0]
		for _, a := range alerts[1:] {
			if a.silenceStart().Before(first.silenceStart()) {
				first = a
			}
		}
		alerts = []alert{first}
	}
	if len(alerts) == 1 {
		a := alerts[0]
		what := words(textOf(a.kind()).resolved, alerts, "{why}", resolutionText(a), "{headline}", headline(a))
		return message{
			text: fallback("RESOLVED: "+what, maxWhat),
			blocks: fitBlocks([]slack.Block{
				section(":white_check_mark: *Resolved:* " + escape(what)),
				contextBlock(fmt.Sprintf("zoomrecon · %s · discrepancy %d", a.kind(), discrepancyID(a))),
			}),
		}
	}
	intro := words(genericText.manyResolved, alerts)
	if kinds := kindsOf(alerts); len(kinds) == 1 {
		intro = words(textOf(kinds[0]).manyResolved, alerts)
	}
	list, plain := listing(alerts, lines, maxSection)
	return message{
		text: fallback("RESOLVED: "+intro+":", maxNotice, plain),
		blocks: fitBlocks([]slack.Block{
			header(":white_check_mark: " + intro),
			section(list),
			contextBlock("zoomrecon · " + joinKinds(kindsOf(alerts))),
		}),
	}
}

// listing renders alerts as a bulleted list of at most lines entries and a
// count of the rest: as mrkdwn, escaped, within limit units, and as plain
// text for the fallback, within maxTextList units as sent. Each counts the
// alerts it leaves out.
func listing(alerts []alert, lines, limit int) (mrkdwn, plain string) {
	m := make([]string, len(alerts))
	p := make([]string, len(alerts))
	for i, a := range alerts {
		l := line(a)
		bullet := "• "
		if a.resolved() {
			bullet = "• :white_check_mark: "
		}
		m[i] = fit(bullet+escape(l), maxSection, mrkdwnText)
		p[i] = "- " + l
	}
	rest := func(n int) string { return fmt.Sprintf("…and %d more; zoomrecon status lists them all.", n) }
	mrkdwn = fitList(m, lines, limit, mrkdwnText, func(n int) string { return "_" + rest(n) + "_" })
	plain = fitList(p, lines, maxTextList, fallbackText, rest)
	return mrkdwn, plain
}

// sentence makes a detail a sentence: capitalised, ending in a full stop.
func sentence(s string) string {
	s = capitalize(s)
	if s != "" && !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func capitalize(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if size == 0 {
		return s
	}
	return strings.ToUpper(string(r)) + s[size:]
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func kindsOf(alerts []alert) []store.Kind {
	var out []store.Kind
	for _, k := range store.Kinds() {
		for _, a := range alerts {
			if a.kind() == k {
				out = append(out, k)
				break
			}
		}
	}
	for _, a := range alerts {
		if !slices.Contains(out, a.kind()) {
			out = append(out, a.kind())
		}
	}
	return out
}

func joinKinds(ks []store.Kind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// ofKind returns the alerts of kind k.
func ofKind(alerts []alert, k store.Kind) []alert {
	var out []alert
	for _, a := range alerts {
		if a.kind() == k {
			out = append(out, a)
		}
	}
	return out
}

func discrepancyID(a alert) int64 {
	if a.msg.DiscrepancyID != nil {
		return *a.msg.DiscrepancyID
	}
	return a.d.ID
}

func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
