package alerts

import (
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Slack's Block Kit limits (api.slack.com/reference/block-kit/blocks). Past
// them Slack refuses the whole message with invalid_blocks. Slack counts
// characters as UTF-16 code units, as JavaScript does: an emoji outside the
// Basic Multilingual Plane counts 2, and "👩‍👩‍👧" counts 8.
const (
	maxHeader  = 150
	maxSection = 3000
	maxField   = 2000
	maxBlocks  = 50
)

// Our own budgets, within Slack's.
const (
	// maxLine is one alert in a list; ten fit a section.
	maxLine = 300
	// maxNotice is the text fallback's first line for many alerts: what a
	// notification shows, with their count.
	maxNotice = 300
	// maxWhat is the text fallback's first line for one alert: what
	// happened, with the detail the reconciler wrote (a sentence or two; a
	// longer one is cut here and shown in the blocks).
	maxWhat = 1000
	// maxFacts is the text fallback's line of facts about one alert.
	maxFacts = 600
	// maxTextList is a list of alerts in the text fallback, with its count
	// of the rest.
	maxTextList = 2200
	// maxText is the whole text fallback. Slack truncates text past 40,000
	// characters and asks for less than 4,000; the budgets above add up to
	// less, so only what follows a list (what was backfilled, what to check)
	// can be cut by it.
	maxText = 4000
)

// textKind says how Slack reads a text, and so how to measure and cut it.
type textKind int

const (
	// plainText is a plain_text object (a header): shown as written.
	plainText textKind = iota
	// mrkdwnText is mrkdwn already escaped: an entity (&amp;) and a link or
	// mention (<url|label>, <!here>) are whole, never cut.
	mrkdwnText
	// fallbackText is the message's plain text, which the posters escape
	// when they send it (slack.go): it is measured as sent, so an & counts
	// the 5 units of &amp;, but cut as written, so no entity can be split.
	fallbackText
)

// units counts s as Slack does: UTF-16 code units.
func units(s string) int { return measure(s, plainText) }

// measure counts s as Slack counts it once sent.
func measure(s string, k textKind) int {
	n := 0
	for _, r := range s {
		n += runeUnits(r, k)
	}
	return n
}

func runeUnits(r rune, k textKind) int {
	if k == fallbackText {
		switch r {
		case '&':
			return len("&amp;")
		case '<', '>':
			return len("&lt;")
		}
	}
	if n := utf16.RuneLen(r); n > 0 {
		return n
	}
	return 1 // invalid UTF-8 is sent as U+FFFD
}

// fit returns s if Slack counts it at most n units, and else as much of it as
// fits with an ellipsis. The cut falls between atoms (atom): never inside a
// rune, so never inside a surrogate pair; never inside an emoji joined by
// ZWJ or modified; and in mrkdwn never inside an entity or <...>.
func fit(s string, n int, k textKind) string {
	if measure(s, k) <= n {
		return s
	}
	const ellipsis = "…" // 1 unit, as Slack counts it
	room := n - units(ellipsis)
	end, used := 0, 0
	for i := 0; i < len(s); {
		j := atom(s, i, k)
		c := measure(s[i:j], k)
		if used+c > room {
			break
		}
		used, end, i = used+c, j, j
	}
	return strings.TrimRight(s[:end], " \n") + ellipsis
}

// atom returns where the indivisible piece of s starting at i ends.
func atom(s string, i int, k textKind) int {
	if k == mrkdwnText {
		switch s[i] {
		case '&':
			if j := strings.IndexByte(s[i:min(len(s), i+8)], ';'); j > 0 {
				return i + j + 1
			}
		case '<':
			if j := strings.IndexByte(s[i:], '>'); j > 0 {
				return i + j + 1
			}
		}
	}
	r, size := utf8.DecodeRuneInString(s[i:])
	j := i + size
	for j < len(s) {
		next, nsize := utf8.DecodeRuneInString(s[j:])
		if !joins(next) && r != zwj {
			break
		}
		r, j = next, j+nsize
	}
	return j
}

const zwj = '\u200d'

// joins reports a rune that belongs to the character before it: a zero
// width joiner, a variation selector, a skin tone or a tag (in flags).
func joins(r rune) bool {
	switch {
	case r == zwj, r == '\ufe0e', r == '\ufe0f':
		return true
	case r >= 0x1f3fb && r <= 0x1f3ff: // skin tones
		return true
	case r >= 0xe0020 && r <= 0xe007f: // tags
		return true
	}
	return false
}

// fitList joins entries one a line, as many as fit in limit units (and at
// most max), followed by more(n) on a line of its own when n were left out.
// Room for that line is kept as the entries are added, so it always survives.
// Each entry should already be fit to its own budget.
func fitList(entries []string, max, limit int, k textKind, more func(n int) string) string {
	shown, size := 0, 0
	for i, e := range entries[:min(max, len(entries))] {
		add := measure(e, k)
		if i > 0 {
			add++
		}
		need := size + add
		if rest := len(entries) - i - 1; rest > 0 {
			need += 1 + measure(more(rest), k)
		}
		if need > limit {
			break
		}
		shown, size = shown+1, size+add
	}
	out := strings.Join(entries[:shown], "\n")
	if rest := len(entries) - shown; rest > 0 {
		if shown > 0 {
			out += "\n"
		}
		out += more(rest)
	}
	return out
}

// fallback is a message's text: its first line, what a notification shows,
// fit to notice units, and the lines that follow, each already fit to its
// own budget. The budgets add up to less than maxText, so the cut of the
// whole can only fall after a list and its count.
func fallback(first string, notice int, rest ...string) string {
	parts := append([]string{fit(first, notice, fallbackText)}, rest...)
	return fit(strings.Join(parts, "\n"), maxText, fallbackText)
}

// fitBlocks keeps a message within Slack's count of blocks: the first ones,
// which say what happened and list the alerts, and the last, the context
// that says where to see them all.
func fitBlocks(blocks []slack.Block) []slack.Block {
	if len(blocks) <= maxBlocks {
		return blocks
	}
	return append(blocks[:maxBlocks-1:maxBlocks-1], blocks[len(blocks)-1])
}

func header(t string) slack.Block {
	return slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, fit(t, maxHeader, plainText), true, false))
}

// section is a section block of mrkdwn, escaped already (escape).
func section(mrkdwn string) slack.Block {
	return slack.NewSectionBlock(mrkdwnObject(mrkdwn, maxSection), nil, nil)
}

// field is one of a section's fields, of mrkdwn escaped already.
func field(mrkdwn string) *slack.TextBlockObject { return mrkdwnObject(mrkdwn, maxField) }

func contextBlock(mrkdwn string) slack.Block {
	return slack.NewContextBlock("", mrkdwnObject(mrkdwn, maxSection))
}

func mrkdwnObject(s string, limit int) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, fit(s, limit, mrkdwnText), false, false)
}

// escape makes text safe inside mrkdwn: Slack reads <...> as links and
// mentions, so a meeting topic of "<!channel>" would otherwise ping everyone.
// Escape first and then fit: escaping grows the text.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
