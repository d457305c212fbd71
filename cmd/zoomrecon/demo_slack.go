package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
)

// The channel the demo's alerts go to, by name and by the ID Slack answers
// with (chat.update needs the ID).
const (
	slackChannelName = "#zoom-alerts"
	slackChannelID   = "CDEMOALERTS"
)

// slackStandIn stands in for Slack's Web API as the alerts package's bot uses
// it: chat.postMessage and chat.update with a bot token, answered as Slack
// answers them ({"ok":true,...} or {"ok":false,"error":...}). It prints each
// message it accepts as the support team would read it.
type slackStandIn struct {
	token string
	out   *terminal
	srv   *http.Server

	mu  sync.Mutex
	seq int
	ts  map[string]bool // the messages posted, by ts
}

func newSlackStandIn(out *terminal) *slackStandIn {
	s := &slackStandIn{token: "xoxb-demo-" + randomHex(12), out: out, ts: map[string]bool{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.api)
	s.srv = &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       time.Minute,
	}
	return s
}

// apiURL is the Web API root for SLACK_API_URL.
func (s *slackStandIn) apiURL(addr net.Addr) string { return "http://" + addr.String() + "/api/" }

// serve answers on ln until close.
func (s *slackStandIn) serve(ln net.Listener) {
	if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		s.out.printf("demo: the Slack stand-in stopped: %v\n", err)
	}
}

func (s *slackStandIn) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
}

func (s *slackStandIn) api(w http.ResponseWriter, r *http.Request) {
	answer := func(v map[string]any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(code string) { answer(map[string]any{"ok": false, "error": code}) }
	values, err := slackParams(w, r)
	if err != nil {
		fail("invalid_form_data")
		return
	}
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" || token == r.Header.Get("Authorization") {
		token = values.Get("token")
	}
	if token != s.token {
		fail("invalid_auth")
		return
	}
	var blocks []slackBlock
	if b := values.Get("blocks"); b != "" {
		if err := json.Unmarshal([]byte(b), &blocks); err != nil {
			fail("invalid_blocks_format")
			return
		}
	}
	text := values.Get("text")
	if text == "" && len(blocks) == 0 {
		fail("no_text")
		return
	}
	channel := values.Get("channel")

	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.PathValue("method") {
	case "chat.postMessage":
		if channel != slackChannelName && channel != slackChannelID {
			fail("channel_not_found")
			return
		}
		label := "slack " + slackChannelName + ":"
		if thread := values.Get("thread_ts"); thread != "" {
			if !s.ts[thread] {
				fail("thread_not_found")
				return
			}
			label = "slack " + slackChannelName + ", reply in thread:"
		}
		s.seq++
		ts := fmt.Sprintf("%d.%06d", time.Now().Unix(), s.seq)
		s.ts[ts] = true
		s.out.printf("%s", renderSlackMessage(label, text, blocks))
		answer(map[string]any{"ok": true, "channel": slackChannelID, "ts": ts, "message": map[string]any{"text": text, "ts": ts}})
	case "chat.update":
		ts := values.Get("ts")
		if channel != slackChannelID {
			fail("channel_not_found")
			return
		}
		if !s.ts[ts] {
			fail("message_not_found")
			return
		}
		s.out.printf("%s", renderSlackMessage("slack "+slackChannelName+", edited:", text, blocks))
		answer(map[string]any{"ok": true, "channel": slackChannelID, "ts": ts, "text": text})
	default:
		fail("unknown_method")
	}
}

// slackParams reads a Web API call's arguments from a form or a JSON body.
func slackParams(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		return r.PostForm, nil
	}
	var m map[string]any
	if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
		return nil, err
	}
	v := url.Values{}
	for k, x := range m {
		if s, ok := x.(string); ok {
			v.Set(k, s)
			continue
		}
		b, err := json.Marshal(x)
		if err != nil {
			return nil, err
		}
		v.Set(k, string(b))
	}
	return v, nil
}

// slackBlock is the part of a Block Kit block that carries text.
type slackBlock struct {
	Type     string       `json:"type"`
	Text     *slackText   `json:"text"`
	Fields   []slackText  `json:"fields"`
	Elements []*slackText `json:"elements"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// renderSlackMessage renders a message as plain text under label, indented:
// its blocks as Slack lays them out, or its text when it has none.
func renderSlackMessage(label, text string, blocks []slackBlock) string {
	var lines []string
	for _, b := range blocks {
		switch b.Type {
		case "header", "section":
			if b.Text != nil {
				lines = append(lines, plainText(*b.Text))
			}
			for _, f := range b.Fields {
				// A field is "*Label*\nvalue": one line, "Label: value".
				label, value, ok := strings.Cut(plainText(f), "\n")
				if ok {
					lines = append(lines, "  "+label+": "+value)
				} else {
					lines = append(lines, "  "+label)
				}
			}
		case "context":
			for _, e := range b.Elements {
				if e != nil {
					lines = append(lines, plainText(*e))
				}
			}
		case "divider":
			lines = append(lines, "---")
		}
	}
	if len(lines) == 0 {
		lines = append(lines, plainText(slackText{Type: "mrkdwn", Text: text}))
	}
	var b strings.Builder
	b.WriteString("\n" + label + "\n")
	for _, l := range strings.Split(strings.Join(lines, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

var (
	// Slack's <url|label>, <url>, <!channel> and <@U123>.
	slackLink = regexp.MustCompile(`<([^<>|]+)(?:\|([^<>]+))?>`)
	// *bold*, _italic_, ~strike~ and `code`, each opened at the start of a
	// word and closed at its end, as Slack reads them.
	slackMarker = regexp.MustCompile("(^|[^\\w*_~`])([*_~`])([^*_~`\\n]+?)([*_~`])($|[^\\w*_~`])")
	// :emoji: shortcodes.
	slackEmoji = regexp.MustCompile(`:([a-z0-9_+-]+):`)
)

// emoji are the shortcodes alerts use, as a terminal shows them.
var emoji = map[string]string{"warning": "⚠️", "rotating_light": "🚨", "white_check_mark": "✅"}

// plainText renders a text object as it reads: mrkdwn markers, links and
// entities resolved, emoji shortcodes drawn.
func plainText(t slackText) string {
	s := t.Text
	if t.Type == "mrkdwn" {
		s = slackLink.ReplaceAllStringFunc(s, func(m string) string {
			sub := slackLink.FindStringSubmatch(m)
			switch {
			case sub[2] != "":
				return sub[2] + " (" + sub[1] + ")"
			case strings.HasPrefix(sub[1], "!"):
				return "@" + strings.TrimPrefix(sub[1], "!")
			}
			return sub[1]
		})
		// Twice: a marker's closing edge may be the next one's opening.
		for range 2 {
			s = slackMarker.ReplaceAllStringFunc(s, func(m string) string {
				sub := slackMarker.FindStringSubmatch(m)
				if sub[2] != sub[4] {
					return m
				}
				return sub[1] + sub[3] + sub[5]
			})
		}
		s = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
	}
	return slackEmoji.ReplaceAllStringFunc(s, func(m string) string {
		if e, ok := emoji[strings.Trim(m, ":")]; ok {
			return e
		}
		return m
	})
}
