package alerts

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
)

// TestFit cuts text as Slack counts it and never where a cut breaks it.
func TestFit(t *testing.T) {
	t.Parallel()
	family := "👩‍👩‍👧" // 8 UTF-16 units, 5 runes
	cases := []struct {
		name string
		s    string
		n    int
		k    textKind
		want string
	}{
		{name: "FitsAsIs", s: "abc", n: 3, k: plainText, want: "abc"},
		{name: "CutsWithEllipsis", s: "abcdef", n: 4, k: plainText, want: "abc…"},
		{name: "CountsEmojiAsTwo", s: "🎉🎉🎉", n: 5, k: plainText, want: "🎉🎉…"},
		{name: "NeverSplitsASurrogatePair", s: "a🎉🎉", n: 3, k: plainText, want: "a…"},
		{name: "NeverSplitsAZWJSequence", s: "a" + family + "b", n: 8, k: plainText, want: "a…"},
		{name: "KeepsAWholeZWJSequence", s: "a" + family + "bcd", n: 11, k: plainText, want: "a" + family + "b…"},
		{name: "NeverSplitsAnEntity", s: "ab&amp;cd", n: 5, k: mrkdwnText, want: "ab…"},
		{name: "KeepsAWholeEntity", s: "ab&amp;cd", n: 8, k: mrkdwnText, want: "ab&amp;…"},
		{name: "NeverSplitsALink", s: "a <https://x.example|y> b", n: 12, k: mrkdwnText, want: "a…"},
		{name: "CountsTheFallbackAsSent", s: "a&b&c", n: 9, k: fallbackText, want: "a&b…"},
		{name: "FallbackFitsAsSent", s: "a<b", n: 6, k: fallbackText, want: "a<b"},
		{name: "FallbackTooLongOnceEscaped", s: "a<b", n: 5, k: fallbackText, want: "a…"},
	}
	for _, tc := range cases {
		got := fit(tc.s, tc.n, tc.k)
		require.Equal(t, tc.want, got, "%s", tc.name)
		require.LessOrEqual(t, measure(got, tc.k), tc.n, "%s: %q", tc.name, got)
	}
}

// wire is a message as the incoming-webhook poster sends it to Slack.
type wire struct {
	Text   string           `json:"text"`
	Blocks []map[string]any `json:"blocks"`
}

// send posts m with the real poster to a server that keeps the JSON body, so
// the tests measure what Slack would receive, escaping and all.
func send(t *testing.T, m message) wire {
	t.Helper()
	var (
		mu   sync.Mutex
		body []byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		body = b
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	p := &webhookPoster{url: srv.URL, client: srv.Client()}
	_, _, err := p.post(context.Background(), m, "")
	require.NoError(t, err)
	mu.Lock()
	defer mu.Unlock()
	var w wire
	require.NoError(t, json.Unmarshal(body, &w), "%s", body)
	return w
}

// slackUnits counts s as Slack does: UTF-16 code units.
func slackUnits(s string) int { return len(utf16.Encode([]rune(s))) }

var (
	// entity matches what an & may start in mrkdwn we send.
	entity = regexp.MustCompile(`&(amp|lt|gt);`)
	// moreLine is a list's count of the alerts it leaves out.
	moreLine     = regexp.MustCompile(`^_?…and (\d+) more; zoomrecon status lists them all\._?$`)
	textListItem = "- “#"
	listItem     = regexp.MustCompile(`^• (:white_check_mark: )?`)
)

// nasty is a meeting topic of 200 runes full of what breaks naive budgets:
// emoji outside the BMP, ZWJ sequences, mrkdwn, mentions, links and the
// characters escaping grows.
func nasty(i int) string {
	pieces := []string{"🎉", "👩‍👩‍👧", " *bold* ", "_x_", "`", "<!channel>", "<https://x|y>", " & ", "<", ">"}
	s := fmt.Sprintf("#%d# ", i)
	for j := 0; utf8.RuneCountInString(s) < 200; j++ {
		s += pieces[j%len(pieces)]
	}
	return string([]rune(s)[:200])
}

// TestMessagesFitSlack renders digests of 1 to 200 alerts with nasty topics
// in every shape a message takes, sends each, and checks the JSON against
// Slack's limits and what a reader must still see.
func TestMessagesFitSlack(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	mk := func(i int, k store.Kind, resolved bool) alert {
		id := int64(i + 1)
		d := store.AlertDetail{
			Discrepancy: store.Discrepancy{ID: id, Kind: k, Detail: "Zoom says it ended & <b>left</b>", DetectedAt: at},
			MeetingID:   81234567890 + id, Topic: nasty(i), HostID: "host-<ana>", Type: store.TypeMeeting,
		}
		if k == store.KindWebhookSilence {
			d.Topic, d.MeetingID, d.Subject = "", 0, at.Add(-time.Hour).Format(time.RFC3339Nano)
		}
		if resolved {
			r := at.Add(time.Minute)
			d.ResolvedAt, d.Resolution = &r, k.Info().ResolvedAs
		}
		return alert{msg: store.OutboxMessage{ID: id, Kind: k, DiscrepancyID: &id}, d: d, hasD: true}
	}
	many := func(n int, kind func(i int) store.Kind, resolved bool) []alert {
		out := make([]alert, n)
		for i := range out {
			out[i] = mk(i, kind(i), resolved)
		}
		return out
	}
	ended := func(int) store.Kind { return store.KindMissedMeetingEnded }
	unknown := func(i int) store.Kind { return store.Kind("missed_thing_" + strconv.Itoa(i)) }
	silence := mk(1000, store.KindWebhookSilence, false)

	shapes := []struct {
		name   string
		render func(n int) message
		listed bool // the n alerts are listed (a single alert is not)
	}{
		{name: "Digest", render: func(n int) message { return renderMessage(many(n, ended, false), 10) }},
		{name: "DigestEditedResolved", render: func(n int) message { return renderMessage(many(n, ended, true), 10) }},
		{name: "DigestOfManyKinds", render: func(n int) message { return renderMessage(many(n, unknown, false), 10) }},
		{name: "FoldedIntoSilence", listed: true, render: func(n int) message {
			return renderMessage(append([]alert{silence}, many(n, ended, false)...), 10)
		}},
		{name: "FoldedReply", listed: true, render: func(n int) message { return renderFolded(silence, many(n, ended, false), 10) }},
		{name: "FollowUp", render: func(n int) message { return renderFollowUp(many(n, ended, true), 10) }},
		{name: "DigestListingAll", render: func(n int) message { return renderMessage(many(n, ended, false), 1000) }},
	}
	for _, sh := range shapes {
		for _, n := range []int{1, 10, 60, 200} {
			name := fmt.Sprintf("%s/%d", sh.name, n)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				w := send(t, sh.render(n))
				requireWithinLimits(t, name, w)
				if sh.listed || n > 1 {
					requireListCounts(t, name, w, n)
				}
			})
		}
	}
}

// requireWithinLimits checks every text Slack limits, and that what is
// shown is whole: no half entity, no broken character, no live mention.
func requireWithinLimits(t *testing.T, name string, w wire) {
	t.Helper()
	require.LessOrEqual(t, len(w.Blocks), maxBlocks, "%s: blocks", name)
	require.Equal(t, "context", w.Blocks[len(w.Blocks)-1]["type"], "%s: the context block comes last", name)
	check := func(o any, limit int, where string) {
		obj, ok := o.(map[string]any)
		require.True(t, ok, "%s: %s is a text object", name, where)
		s, _ := obj["text"].(string)
		require.NotEmpty(t, s, "%s: %s", name, where)
		require.LessOrEqual(t, slackUnits(s), limit, "%s: %s has %d UTF-16 units: %q", name, where, slackUnits(s), s)
		require.True(t, utf8.ValidString(s) && !strings.ContainsRune(s, utf8.RuneError), "%s: %s has a broken character", name, where)
		require.False(t, strings.HasSuffix(strings.TrimSuffix(s, "…"), "\u200d"), "%s: %s ends inside a ZWJ sequence", name, where)
		if obj["type"] == "mrkdwn" {
			require.NotContains(t, s, "<", "%s: %s: a mention or link from a topic is live", name, where)
			require.NotContains(t, s, ">", "%s: %s", name, where)
			require.Equal(t, strings.Count(s, "&"), len(entity.FindAllString(s, -1)), "%s: %s has a half entity: %q", name, where, s)
		}
	}
	for i, b := range w.Blocks {
		where := fmt.Sprintf("block %d (%v)", i, b["type"])
		switch b["type"] {
		case "header":
			require.Equal(t, "plain_text", b["text"].(map[string]any)["type"], "%s: %s", name, where)
			check(b["text"], maxHeader, where)
		case "section":
			if b["text"] != nil {
				check(b["text"], maxSection, where)
			}
			fields, _ := b["fields"].([]any)
			require.LessOrEqual(t, len(fields), 10, "%s: %s fields", name, where)
			for _, f := range fields {
				check(f, maxField, where+" field")
			}
		case "context":
			for _, e := range b["elements"].([]any) {
				check(e, maxSection, where)
			}
		}
	}
	require.LessOrEqual(t, slackUnits(w.Text), maxText, "%s: text", name)
	notice, _, _ := strings.Cut(w.Text, "\n")
	require.LessOrEqual(t, slackUnits(notice), maxWhat, "%s: the text's first line: %q", name, notice)
	require.Equal(t, strings.Count(w.Text, "&"), len(entity.FindAllString(w.Text, -1)), "%s: text has a half entity", name)
	require.NotContains(t, w.Text, "<", "%s: text: a mention from a topic is live", name)
}

// requireListCounts checks the list of n alerts, in the blocks and in the
// text: each entry shown is alert i's, whole up to its cut, and the count of
// the rest is exactly what was left out.
func requireListCounts(t *testing.T, name string, w wire, n int) {
	t.Helper()
	var list []string
	for _, b := range w.Blocks {
		if txt, ok := b["text"].(map[string]any); ok && b["type"] == "section" {
			s := txt["text"].(string)
			if strings.Contains(s, "• ") || strings.Contains(s, "…and ") {
				list = strings.Split(s, "\n")
			}
		}
	}
	require.NotNil(t, list, "%s: a section lists the alerts", name)
	if !strings.HasPrefix(list[0], "• ") && !moreLine.MatchString(list[0]) {
		list = list[1:] // the silence's intro
	}
	var entries []string
	for _, l := range list {
		if listItem.MatchString(l) {
			entries = append(entries, unescape(listItem.ReplaceAllString(l, "")))
		}
	}
	requireCounted(t, name+": blocks", list, len(entries), n)
	requireEntriesWhole(t, name+": blocks", entries)

	var textEntries []string
	lines := strings.Split(unescape(w.Text), "\n")
	var rest []string
	for _, l := range lines {
		if strings.HasPrefix(l, textListItem) {
			textEntries = append(textEntries, strings.TrimPrefix(l, "- "))
		}
		if moreLine.MatchString(l) {
			rest = append(rest, l)
		}
	}
	for i, l := range lines {
		if strings.HasPrefix(l, textListItem) || moreLine.MatchString(l) {
			count := regexp.MustCompile(`(^|\D)` + strconv.Itoa(n) + `(\D|$)`)
			require.Regexp(t, count, lines[max(i-1, 0)], "%s: the text counts the alerts before listing them", name)
			if i == 1 {
				first, _, _ := strings.Cut(w.Text, "\n") // as sent
				require.LessOrEqual(t, slackUnits(first), maxNotice, "%s: the count's line, first: %q", name, first)
			}
			break
		}
	}
	requireCounted(t, name+": text", rest, len(textEntries), n)
	requireEntriesWhole(t, name+": text", textEntries)
}

// requireCounted checks that lines count the n-shown alerts a list leaves
// out, and say nothing when it leaves none out.
func requireCounted(t *testing.T, name string, lines []string, shown, n int) {
	t.Helper()
	require.Positive(t, shown, "%s: some alerts are shown", name)
	var counted []int
	for _, l := range lines {
		if m := moreLine.FindStringSubmatch(l); m != nil {
			c, _ := strconv.Atoi(m[1])
			counted = append(counted, c)
		}
	}
	if shown == n {
		require.Empty(t, counted, "%s: all %d shown, nothing more", name, n)
		return
	}
	require.Equal(t, []int{n - shown}, counted, "%s: %d of %d shown", name, shown, n)
}

// requireEntriesWhole checks that the i-th entry is alert i's line as
// written, cut only at its end and between characters.
func requireEntriesWhole(t *testing.T, name string, entries []string) {
	t.Helper()
	for i, e := range entries {
		want := "“" + nasty(i) + "” ID " + strconv.Itoa(81234567891+i) + " host host-<ana>: Zoom says it ended & <b>left</b>"
		kept, _, cut := strings.Cut(e, "…")
		if !cut {
			kept, _, _ = strings.Cut(e, " (resolved: ")
		}
		require.True(t, strings.HasPrefix(want, kept), "%s: entry %d is not alert %d's line as written:\n got %q\nwant %q", name, i, i, kept, want)
		require.GreaterOrEqual(t, utf8.RuneCountInString(kept), 50, "%s: entry %d keeps its start", name, i)
		if cut {
			next, _ := utf8.DecodeRuneInString(want[len(kept):])
			require.False(t, joins(next), "%s: entry %d is cut inside a ZWJ sequence", name, i)
		}
	}
}

func unescape(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// TestSingleAlertWithLongDetailFits sends one alert of every kind whose
// detail is 5,000 characters (an error that ended a WebSocket may be long):
// its sections stay within Slack's limits, the cut detail keeps its start,
// and what to check next survives whole.
func TestSingleAlertWithLongDetailFits(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	detail := strings.Repeat("a&<🎉", 1250)
	type testCase struct {
		name     string
		kind     store.Kind
		resolved bool
	}
	var cases []testCase
	for _, k := range store.Kinds() {
		cases = append(cases, testCase{name: string(k) + "/Open", kind: k}, testCase{name: string(k) + "/Resolved", kind: k, resolved: true})
	}
	for _, tc := range cases {
		d := store.AlertDetail{
			Discrepancy: store.Discrepancy{ID: 1, Kind: tc.kind, MeetingUUID: "uuid==", Detail: detail, DetectedAt: at},
			MeetingID:   81234567891, Topic: nasty(0), HostID: "host-ana",
		}
		if tc.kind.Info().Account {
			d.MeetingUUID, d.MeetingID, d.Topic, d.Subject = "", 0, "", at.Add(-time.Hour).Format(time.RFC3339Nano)
		}
		if tc.resolved {
			r := at.Add(time.Minute)
			d.ResolvedAt, d.Resolution = &r, tc.kind.Info().ResolvedAs
		}
		a := alert{d: d, hasD: true}
		w := send(t, renderSingle(a, nil, 10))
		requireWithinLimits(t, tc.name, w)
		var what string
		for _, b := range w.Blocks {
			if txt, ok := b["text"].(map[string]any); ok && strings.Contains(txt["text"].(string), "a&amp;&lt;🎉") {
				what = txt["text"].(string)
			}
		}
		require.NotEmpty(t, what, "%s: the detail is shown", tc.name)
		require.True(t, strings.HasSuffix(what, "…"), "%s: the detail is cut", tc.name)
		require.Greater(t, slackUnits(what), maxSection-10, "%s: the cut uses the room there is", tc.name)
		require.Contains(t, jsonOf(w), "*Check next:*", "%s", tc.name)
		require.Contains(t, w.Text, "Check next: "+nextText([]alert{a}), "%s: text", tc.name)
	}
}

func jsonOf(w wire) string {
	b, _ := json.Marshal(w.Blocks)
	return string(b)
}
