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
func (a alert) urgent() bool        { return urgent(a.kind()) }

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
// webhook_silence's quiet, a url_validation_refused's refusals): the
// discrepancy is named by it, in its subject.
func (a alert) silenceStart() time.Time {
	if t, err := time.Parse(time.RFC3339Nano, a.d.Subject); err == nil {
		return t
	}
	return a.detectedAt()
}

// urgent reports the kinds a person must act on now (kindText.urgent).
func urgent(k store.Kind) bool { return kindTexts[k].urgent }

// message is what one Slack message says: Block Kit for people, and text for
// notifications, screen readers and the log, which carries the essentials on
// its own.
type message struct {
	text   string
	blocks []slack.Block
}

// Slack's Block Kit limits (api.slack.com/reference/block-kit/blocks). Past
// them Slack refuses the whole message with invalid_blocks.
const (
	maxHeader  = 150
	maxSection = 3000
	maxField   = 2000
	maxLine    = 300 // one alert in a digest; ten fit a section
)

// kindText is how one kind of discrepancy reads.
type kindText struct {
	// urgent kinds need a person now: Zoom stopped talking to us, it is about
	// to, or a meeting is stuck open. They start with "URGENT".
	urgent bool
	// account, for a kind about the whole Zoom account rather than one
	// meeting, is its title; since labels when its stretch began, and
	// headline, resolvedFormat (resolution, stretch start) and listed are
	// how it reads.
	account, since, headline, resolvedFormat, listed string
	// event is the webhook Zoom never sent.
	event string
	// backfilled says what zoomrecon did about it, when the discrepancy says
	// it backfilled; kept says it for when it did not.
	backfilled, kept string
	// next says what a person should check next.
	next string
}

var kindTexts = map[store.Kind]kindText{
	store.KindMissedMeetingStarted: {
		event:      "meeting.started",
		backfilled: "zoomrecon recorded the meeting with its times from Zoom's API (source: reconciled); its attendance follows from Zoom's participant report.",
		kept:       "nothing yet; the next reconcile pass tries again.",
		next: "Check that the Zoom app's event subscription includes meeting.started and its endpoint URL is still validated, and look for failed deliveries in Zoom's webhook logs. " +
			"Only meetings hosted by users of the app's own account produce events; some ways of starting instant meetings have been reported to skip meeting.started.",
	},
	store.KindMissedMeetingEnded: {
		event:      "meeting.ended",
		backfilled: "zoomrecon marked the meeting ended at the time Zoom's API reports (source: reconciled).",
		kept:       "nothing yet; the next reconcile pass tries again.",
		next: "Check that the event subscription includes meeting.ended, and Zoom's webhook logs around the meeting's end. " +
			"Zoom has been seen to withhold events for a host who has not consented to the app.",
	},
	store.KindMissedParticipantJoined: {
		event:      "meeting.participant_joined",
		backfilled: "zoomrecon recorded the join from Zoom's participant report (source: reconciled).",
		kept:       "nothing yet; the next reconcile pass tries again.",
		next:       "Check that the event subscription includes meeting.participant_joined; if many joins go missing at once, look for failed deliveries in Zoom's webhook logs.",
	},
	store.KindMissedParticipantLeft: {
		event:      "meeting.participant_left",
		backfilled: "zoomrecon recorded the leave from Zoom's participant report (source: reconciled).",
		kept:       "nothing yet; the next reconcile pass tries again.",
		next: "Zoom is known to drop or delay participant_left (a killed client app, say); if it happens often, " +
			"check that the event subscription includes meeting.participant_left and Zoom's webhook logs.",
	},
	store.KindStaleMeeting: {
		urgent: true,
		event:  "meeting.ended",
		kept: "nothing: only Zoom can say a meeting ended. Every reconcile pass asks Zoom again, " +
			"records the end when Zoom reports it, and this alert then shows it resolved.",
		next: "Check in Zoom (Dashboard, Meetings, Live) whether the meeting really is still running. " +
			"If it ended, meeting.ended was lost: check the event subscription and Zoom's webhook logs.",
	},
	store.KindURLValidationRefused: {
		urgent:         true,
		account:        "Zoom's URL validation was refused",
		since:          "Refused since",
		headline:       "zoomrecon refused Zoom's URL revalidation of its webhook endpoint; six refusals in a row make Zoom disable the app's event subscription, and then no webhook arrives at all.",
		resolvedFormat: "Zoom's URL validation is answered again: %s. Validations had been refused since %s.",
		listed:         "URL validation refused since ",
		kept:           "nothing needed yet: events still arrive. Every later validation is watched; the next one answered resolves this alert.",
		next: "Check that ZOOM_WEBHOOK_SECRET_TOKEN is the Secret Token the app's event subscription shows now (it may have been regenerated; " +
			"list both while rotating: new,old), and that nothing in front of zoomrecon alters Zoom's requests. " +
			"If the subscription was already disabled, re-enable it in the Zoom Marketplace (toggle it, validate, save).",
	},
	store.KindWebhookSilence: {
		urgent:         true,
		account:        "Zoom has stopped sending webhooks",
		since:          "Silent since",
		headline:       "Zoom has stopped sending webhooks to zoomrecon while its API shows meetings starting and ending.",
		resolvedFormat: "Zoom is sending webhooks again: %s. It had been silent since %s.",
		listed:         "webhook silence since ",
		kept: "nothing is lost for good: every reconcile pass goes on backfilling from Zoom's API what the webhooks miss, " +
			"and the alerts for what it finds are gathered here.",
		next: "Check that the Zoom app is still activated and its event subscription is on with a validated endpoint URL; " +
			"that zoomrecon's webhook endpoint is reachable from the internet (TLS certificate, reverse proxy, firewall); " +
			"that zoomrecon is not refusing deliveries (its logs, zoomrecon_webhook metrics, ZOOM_WEBHOOK_SECRET_TOKEN); " +
			"and Zoom's status page.",
	},
}

// headline is what happened, in words, as one sentence (plain text).
func headline(a alert) string {
	subject := meetingName(a)
	if h := kindTexts[a.kind()].headline; h != "" {
		return h
	}
	switch k := a.kind(); k {
	case store.KindStaleMeeting:
		return capitalize(subject) + " is still open long after it started: Zoom never sent meeting.ended for it."
	case store.KindMissedParticipantJoined, store.KindMissedParticipantLeft:
		return "Zoom never sent " + kindTexts[k].event + " for " + cmp.Or(a.participant(), "a participant") + " in " + subject + "."
	case store.KindMissedMeetingStarted, store.KindMissedMeetingEnded:
		return "Zoom never sent " + kindTexts[k].event + " for " + subject + "."
	default:
		return "zoomrecon found a discrepancy (" + string(k) + ") for " + subject + "."
	}
}

// title is the header of a message about one alert.
func title(a alert) string {
	var t string
	switch k := a.kind(); {
	case kindTexts[k].account != "":
		t = kindTexts[k].account
	case k == store.KindStaleMeeting:
		t = "Meeting stuck in progress: " + cmp.Or(a.topic(), "untitled")
	case missed(k):
		t = "Missed " + kindTexts[k].event + ": " + cmp.Or(a.topic(), "untitled meeting")
	default:
		t = "Discrepancy " + string(k)
	}
	return decorate(t, a.urgent(), a.resolved())
}

// manyTitle is the header of a digest of n alerts of one kind.
func manyTitle(k store.Kind, n int) string {
	switch k {
	case store.KindStaleMeeting:
		return fmt.Sprintf("%d meetings stuck in progress: meeting.ended never arrived", n)
	case store.KindMissedParticipantJoined, store.KindMissedParticipantLeft:
		return fmt.Sprintf("Zoom never sent %s for %d participants", kindTexts[k].event, n)
	case store.KindMissedMeetingStarted, store.KindMissedMeetingEnded:
		return fmt.Sprintf("Zoom never sent %s for %d meetings", kindTexts[k].event, n)
	}
	return fmt.Sprintf("%d discrepancies (%s)", n, k)
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

func backfilledText(a alert) string {
	kt := kindTexts[a.kind()]
	if a.backfilled() && kt.backfilled != "" {
		return kt.backfilled
	}
	return cmp.Or(kt.kept, "nothing.")
}

func nextText(k store.Kind) string {
	return cmp.Or(kindTexts[k].next, "Run zoomrecon status for the details.")
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
	if kt := kindTexts[a.kind()]; kt.account != "" {
		add(kt.since, utc(a.silenceStart()))
		add("Detected", utc(a.detectedAt()))
		return out
	}
	add("Topic", cmp.Or(a.topic(), "(untitled)"))
	if id := a.meetingID(); id != 0 {
		add("Meeting ID", strconv.FormatInt(id, 10))
	}
	add("Meeting UUID", a.meetingUUID())
	add("Host", cmp.Or(a.d.HostID, "unknown"))
	if p := a.participant(); p != "" && (a.kind() == store.KindMissedParticipantJoined || a.kind() == store.KindMissedParticipantLeft) {
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
	if kt := kindTexts[a.kind()]; kt.account != "" {
		b.WriteString(kt.listed + utc(a.silenceStart()))
	} else {
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
		if k := a.kind(); k == store.KindMissedParticipantJoined || k == store.KindMissedParticipantLeft {
			b.WriteString(", " + cmp.Or(a.participant(), "a participant"))
		}
	}
	if d := a.detail(); d != "" {
		b.WriteString(": " + d)
	}
	s := truncate(b.String(), maxLine)
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
		if a.kind() == store.KindWebhookSilence {
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
		text   strings.Builder
	)
	blocks = append(blocks, header(title(a)))
	switch {
	case a.resolved():
		blocks = append(blocks, section("*Resolved:* "+escape(resolutionText(a))+"."))
		text.WriteString("RESOLVED (" + resolutionText(a) + "): ")
	case a.urgent():
		text.WriteString("URGENT: ")
	}
	what := headline(a)
	if d := a.detail(); d != "" {
		what += " " + sentence(d)
	}
	blocks = append(blocks, section(escape(what)))
	text.WriteString(what + "\n")

	fs := facts(a)
	fields := make([]*slack.TextBlockObject, 0, len(fs))
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		v := escape(f[1])
		if f[0] == "Meeting UUID" {
			v = "`" + v + "`"
		}
		fields = append(fields, slack.NewTextBlockObject(slack.MarkdownType, truncate("*"+f[0]+"*\n"+v, maxField), false, false))
		parts = append(parts, f[0]+": "+f[1])
	}
	blocks = append(blocks, slack.NewSectionBlock(nil, fields[:min(len(fields), 10)], nil))
	text.WriteString(strings.Join(parts, ". ") + ".\n")

	if len(folded) > 0 {
		intro := fmt.Sprintf("While Zoom is silent, zoomrecon also found %s:", plural(len(folded), "missed event", "missed events"))
		if a.resolved() {
			intro = fmt.Sprintf("While Zoom was silent, zoomrecon also found %s:", plural(len(folded), "missed event", "missed events"))
		}
		blocks = append(blocks, slack.NewDividerBlock())
		list, plain := listing(folded, lines)
		blocks = append(blocks, section("*"+escape(intro)+"*\n"+list))
		text.WriteString(intro + "\n" + plain)
	}

	blocks = append(blocks,
		section("*Backfilled:* "+escape(backfilledText(a))),
		section("*Check next:* "+escape(nextText(k))),
		contextBlock(fmt.Sprintf("zoomrecon · %s · discrepancy %d", k, discrepancyID(a))))
	text.WriteString("Backfilled: " + backfilledText(a) + "\nCheck next: " + nextText(k))
	return message{text: text.String(), blocks: blocks}
}

// renderDigest renders many alerts as one message: a count, a capped list
// and, for the kinds among them, what was backfilled and what to check.
func renderDigest(alerts []alert, lines int) message {
	kinds := kindsOf(alerts)
	k := kinds[0]
	isUrgent, allResolved := false, true
	for _, a := range alerts {
		isUrgent = isUrgent || a.urgent()
		allResolved = allResolved && a.resolved()
	}
	t := fmt.Sprintf("%d discrepancies found at once", len(alerts))
	if len(kinds) == 1 {
		t = manyTitle(k, len(alerts))
	}
	var text strings.Builder
	text.WriteString(textPrefix(isUrgent, allResolved) + t + "\n")
	blocks := []slack.Block{header(decorate(t, isUrgent, allResolved))}
	list, plain := listing(alerts, lines)
	blocks = append(blocks, section(list))
	text.WriteString(plain)
	for _, k := range kinds {
		b, n := kindTexts[k].backfilled, nextText(k)
		if b == "" || !anyBackfilled(alerts, k) {
			b = cmp.Or(kindTexts[k].kept, "nothing.")
		}
		prefix := ""
		if len(kinds) > 1 {
			prefix = string(k) + ": "
		}
		blocks = append(blocks,
			section("*Backfilled:* "+escape(prefix+b)),
			section("*Check next:* "+escape(prefix+n)))
		text.WriteString("Backfilled: " + prefix + b + "\nCheck next: " + prefix + n + "\n")
	}
	first := alerts[0].detectedAt()
	for _, a := range alerts {
		if a.detectedAt().Before(first) {
			first = a.detectedAt()
		}
	}
	blocks = append(blocks, contextBlock(fmt.Sprintf("zoomrecon · %s · first detected %s · zoomrecon status lists them all",
		joinKinds(kinds), utc(first))))
	return message{text: strings.TrimSuffix(text.String(), "\n"), blocks: blocks}
}

// renderFolded renders alerts folded into a silence whose own message went
// out earlier: a reply in its thread, or a message of its own where threads
// are not available.
func renderFolded(silence alert, folded []alert, lines int) message {
	intro := fmt.Sprintf("%s while Zoom is silent (since %s)", plural(len(folded), "more missed event", "more missed events"),
		utc(silence.silenceStart()))
	list, plain := listing(folded, lines)
	blocks := []slack.Block{
		header(decorate(intro, false, false)),
		section(list),
		section("*Check next:* " + escape("These are explained by the webhook silence; fix that first. "+nextText(store.KindWebhookSilence))),
		contextBlock(fmt.Sprintf("zoomrecon · folded into webhook_silence discrepancy %d", discrepancyID(silence))),
	}
	text := intro + ":\n" + plain + "Check next: these are explained by the webhook silence; fix that first."
	return message{text: text, blocks: blocks}
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
		var what string
		switch k := a.kind(); {
		case kindTexts[k].resolvedFormat != "":
			what = fmt.Sprintf(kindTexts[k].resolvedFormat, resolutionText(a), utc(a.silenceStart()))
		case k == store.KindStaleMeeting:
			what = capitalize(meetingName(a)) + " is no longer stuck: " + resolutionText(a) + "."
		default:
			what = headline(a) + " Now resolved: " + resolutionText(a) + "."
		}
		return message{
			text: "RESOLVED: " + what,
			blocks: []slack.Block{
				section(":white_check_mark: *Resolved:* " + escape(what)),
				contextBlock(fmt.Sprintf("zoomrecon · %s · discrepancy %d", a.kind(), discrepancyID(a))),
			},
		}
	}
	intro := fmt.Sprintf("%d alerts resolved", len(alerts))
	if kinds := kindsOf(alerts); len(kinds) == 1 && kinds[0] == store.KindStaleMeeting {
		intro = fmt.Sprintf("%d stuck meetings resolved", len(alerts))
	}
	list, plain := listing(alerts, lines)
	return message{
		text: "RESOLVED: " + intro + ":\n" + strings.TrimSuffix(plain, "\n"),
		blocks: []slack.Block{
			header(":white_check_mark: " + intro),
			section(list),
			contextBlock("zoomrecon · " + joinKinds(kindsOf(alerts))),
		},
	}
}

// listing renders alerts as a bulleted list of at most lines entries and a
// count of the rest, as mrkdwn and as plain text.
func listing(alerts []alert, lines int) (mrkdwn, plain string) {
	var m, p strings.Builder
	for i, a := range alerts {
		if i == lines {
			rest := fmt.Sprintf("…and %d more; zoomrecon status lists them all.", len(alerts)-lines)
			m.WriteString("_" + rest + "_")
			p.WriteString(rest + "\n")
			break
		}
		l := line(a)
		bullet := "• "
		if a.resolved() {
			bullet = "• :white_check_mark: "
		}
		m.WriteString(bullet + escape(l) + "\n")
		p.WriteString("- " + l + "\n")
	}
	return truncate(strings.TrimSuffix(m.String(), "\n"), maxSection), p.String()
}

func header(t string) slack.Block {
	return slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate(t, maxHeader), true, false))
}

func section(mrkdwn string) slack.Block {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, truncate(mrkdwn, maxSection), false, false), nil, nil)
}

func contextBlock(mrkdwn string) slack.Block {
	return slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, truncate(mrkdwn, maxSection), false, false))
}

// escape makes text safe inside mrkdwn: Slack reads <...> as links and
// mentions, so a meeting topic of "<!channel>" would otherwise ping everyone.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate cuts s to at most n runes, ending in an ellipsis when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
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

func anyBackfilled(alerts []alert, k store.Kind) bool {
	for _, a := range alerts {
		if a.kind() == k && a.backfilled() {
			return true
		}
	}
	return false
}

func discrepancyID(a alert) int64 {
	if a.msg.DiscrepancyID != nil {
		return *a.msg.DiscrepancyID
	}
	return a.d.ID
}

func utc(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }
