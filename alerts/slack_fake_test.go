package alerts_test

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

// fakeSlack is a Slack that behaves like the real one for what zoomrecon
// uses: an incoming webhook (answering "ok", or a 4xx with an error code as
// text) and the Web API's chat.postMessage and chat.update (answering
// {"ok":true,...} or {"ok":false,"error":...}). It checks the bot token,
// enforces Block Kit's limits, and records every request. Faults are queued
// with Fail or set with SetDown. State lives on the value.
type fakeSlack struct {
	srv         *httptest.Server
	token       string
	webhookPath string
	channelName string
	channelID   string

	mu       sync.Mutex
	requests []slackRequest
	faults   []slackFault
	down     bool
	messages map[string]*slackMessage // by ts
	seq      int
}

// slackRequest is one request the fake received.
type slackRequest struct {
	At     time.Time
	Method string // "webhook", "chat.postMessage" or "chat.update"
	// Auth says where the bot token came: "bearer" (Authorization header),
	// "form" (the token field) or "" (none).
	Auth     string
	Channel  string
	TS       string // the message chat.update edits
	ThreadTS string
	// Text is the text as Slack shows it (entities decoded); RawText as sent.
	Text    string
	RawText string
	Blocks  []map[string]any
	// Accepted reports that Slack took the message; Answer is the error code
	// or status it answered otherwise.
	Accepted bool
	Answer   string
	// PostedTS is the ts of the message chat.postMessage created.
	PostedTS string
}

// slackFault is how the fake answers one request instead of normally.
type slackFault struct {
	Status     int    // HTTP status; 0 means 200
	RetryAfter string // Retry-After header
	Error      string // the error code in the body
}

type slackMessage struct {
	Channel  string
	ThreadTS string
	Text     string
	Blocks   []map[string]any
	Edits    int
}

func newFakeSlack(t testing.TB) *fakeSlack {
	t.Helper()
	f := &fakeSlack{
		token:       "xoxb-fake-s3cr3t-b0t-t0ken",
		webhookPath: "/services/T000/B000/s3cr3tW3bh00kPath",
		channelName: "#zoom-alerts",
		channelID:   "C0ALERTS1",
		messages:    map[string]*slackMessage{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /services/", f.webhook)
	mux.HandleFunc("POST /api/{method}", f.api)
	f.srv = httptest.NewServer(f.maybeDown(mux))
	t.Cleanup(f.srv.Close)
	return f
}

// WebhookURL is the incoming webhook's URL; its path is the secret.
func (f *fakeSlack) WebhookURL() string { return f.srv.URL + f.webhookPath }

// APIURL is the Web API root, for slack.OptionAPIURL.
func (f *fakeSlack) APIURL() string { return f.srv.URL + "/api/" }

// Fail queues faults for the next requests, in order.
func (f *fakeSlack) Fail(faults ...slackFault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, faults...)
}

// SetDown makes every request end in a dropped connection, as a Slack that
// cannot be reached.
func (f *fakeSlack) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// Requests returns the requests received so far.
func (f *fakeSlack) Requests() []slackRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]slackRequest(nil), f.requests...)
}

// Accepted returns the requests Slack took.
func (f *fakeSlack) Accepted() []slackRequest {
	var out []slackRequest
	for _, r := range f.Requests() {
		if r.Accepted {
			out = append(out, r)
		}
	}
	return out
}

// Message returns the message at ts as it reads now.
func (f *fakeSlack) Message(ts string) (slackMessage, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.messages[ts]
	if !ok {
		return slackMessage{}, false
	}
	return *m, true
}

func (f *fakeSlack) maybeDown(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		down := f.down
		if down {
			f.requests = append(f.requests, slackRequest{At: time.Now(), Method: "dropped", Answer: "connection dropped"})
		}
		f.mu.Unlock()
		if down {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.Close()
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// nextFault pops the next queued fault. The caller holds f.mu.
func (f *fakeSlack) nextFault() (slackFault, bool) {
	if len(f.faults) == 0 {
		return slackFault{}, false
	}
	ft := f.faults[0]
	f.faults = f.faults[1:]
	return ft, true
}

func (f *fakeSlack) webhook(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	req := slackRequest{At: time.Now(), Method: "webhook"}
	answer := func(status int, text string) {
		req.Answer = text
		f.requests = append(f.requests, req)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, text)
	}
	if r.URL.Path != f.webhookPath {
		answer(http.StatusNotFound, "no_service")
		return
	}
	var msg struct {
		Text     string           `json:"text"`
		Blocks   []map[string]any `json:"blocks"`
		ThreadTS string           `json:"thread_ts"`
	}
	if err := json.Unmarshal(body, &msg); err != nil {
		answer(http.StatusBadRequest, "invalid_payload")
		return
	}
	req.RawText, req.Text, req.Blocks, req.ThreadTS = msg.Text, shown(msg.Text), msg.Blocks, msg.ThreadTS
	if ft, ok := f.nextFault(); ok {
		if ft.RetryAfter != "" {
			w.Header().Set("Retry-After", ft.RetryAfter)
		}
		answer(cmpStatus(ft.Status), ft.Error)
		return
	}
	if msg.Text == "" && len(msg.Blocks) == 0 {
		answer(http.StatusBadRequest, "no_text")
		return
	}
	if err := validateBlocks(msg.Blocks); err != nil {
		answer(http.StatusBadRequest, "invalid_blocks")
		return
	}
	req.Accepted = true
	answer(http.StatusOK, "ok")
}

func (f *fakeSlack) api(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	values, err := readParams(r)
	f.mu.Lock()
	defer f.mu.Unlock()
	req := slackRequest{At: time.Now(), Method: method}
	answer := func(status int, v map[string]any) {
		if e, ok := v["error"].(string); ok {
			req.Answer = e
		}
		f.requests = append(f.requests, req)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	fail := func(code string) { answer(http.StatusOK, map[string]any{"ok": false, "error": code}) }
	if err != nil {
		fail("invalid_form_data")
		return
	}
	token := ""
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		token, req.Auth = strings.TrimPrefix(h, "Bearer "), "bearer"
	} else if v := values.Get("token"); v != "" {
		token, req.Auth = v, "form"
	}
	req.Channel, req.TS, req.ThreadTS = values.Get("channel"), values.Get("ts"), values.Get("thread_ts")
	req.RawText, req.Text = values.Get("text"), shown(values.Get("text"))
	if b := values.Get("blocks"); b != "" {
		if err := json.Unmarshal([]byte(b), &req.Blocks); err != nil {
			fail("invalid_blocks_format")
			return
		}
	}
	switch {
	case token == "":
		fail("not_authed")
		return
	case token != f.token:
		fail("invalid_auth")
		return
	}
	if ft, ok := f.nextFault(); ok {
		if ft.RetryAfter != "" {
			w.Header().Set("Retry-After", ft.RetryAfter)
		}
		answer(cmpStatus(ft.Status), map[string]any{"ok": false, "error": ft.Error})
		return
	}
	if req.Text == "" && len(req.Blocks) == 0 {
		fail("no_text")
		return
	}
	if err := validateBlocks(req.Blocks); err != nil {
		fail("invalid_blocks")
		return
	}
	switch method {
	case "chat.postMessage":
		if req.Channel != f.channelName && req.Channel != f.channelID {
			fail("channel_not_found")
			return
		}
		if req.ThreadTS != "" {
			if _, ok := f.messages[req.ThreadTS]; !ok {
				fail("thread_not_found")
				return
			}
		}
		f.seq++
		ts := fmt.Sprintf("1700000000.%06d", f.seq)
		f.messages[ts] = &slackMessage{Channel: f.channelID, ThreadTS: req.ThreadTS, Text: req.Text, Blocks: req.Blocks}
		req.Accepted, req.PostedTS = true, ts
		answer(http.StatusOK, map[string]any{"ok": true, "channel": f.channelID, "ts": ts,
			"message": map[string]any{"text": req.RawText, "ts": ts}})
	case "chat.update":
		// chat.update needs the channel's ID, as Slack returned it.
		if req.Channel != f.channelID {
			fail("channel_not_found")
			return
		}
		m, ok := f.messages[req.TS]
		if !ok {
			fail("message_not_found")
			return
		}
		m.Text, m.Blocks = req.Text, req.Blocks
		m.Edits++
		req.Accepted = true
		answer(http.StatusOK, map[string]any{"ok": true, "channel": f.channelID, "ts": req.TS, "text": req.RawText})
	default:
		fail("unknown_method")
	}
}

// readParams reads a Web API call's arguments from a form or a JSON body.
func readParams(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct != "application/json" {
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
		switch x := x.(type) {
		case string:
			v.Set(k, x)
		default:
			b, _ := json.Marshal(x)
			v.Set(k, string(b))
		}
	}
	return v, nil
}

// validateBlocks enforces the Block Kit limits Slack enforces with
// invalid_blocks.
func validateBlocks(blocks []map[string]any) error {
	if len(blocks) > 50 {
		return fmt.Errorf("%d blocks", len(blocks))
	}
	text := func(v any, limit int, typ string) error {
		o, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("not a text object")
		}
		s, _ := o["text"].(string)
		if n := utf8.RuneCountInString(s); n == 0 || n > limit {
			return fmt.Errorf("text of %d characters", n)
		}
		if typ != "" && o["type"] != typ {
			return fmt.Errorf("text type %v", o["type"])
		}
		if o["type"] == "mrkdwn" && o["emoji"] != nil {
			return fmt.Errorf("emoji in mrkdwn")
		}
		return nil
	}
	for _, b := range blocks {
		switch b["type"] {
		case "header":
			if err := text(b["text"], 150, "plain_text"); err != nil {
				return err
			}
		case "section":
			fields, _ := b["fields"].([]any)
			if b["text"] == nil && len(fields) == 0 {
				return fmt.Errorf("empty section")
			}
			if b["text"] != nil {
				if err := text(b["text"], 3000, ""); err != nil {
					return err
				}
			}
			if len(fields) > 10 {
				return fmt.Errorf("%d fields", len(fields))
			}
			for _, fl := range fields {
				if err := text(fl, 2000, ""); err != nil {
					return err
				}
			}
		case "context":
			els, _ := b["elements"].([]any)
			if len(els) == 0 || len(els) > 10 {
				return fmt.Errorf("%d context elements", len(els))
			}
		case "divider":
		default:
			return fmt.Errorf("block type %v", b["type"])
		}
	}
	return nil
}

// shown is text as Slack displays it: the three escaped entities decoded.
func shown(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

func cmpStatus(s int) int {
	if s == 0 {
		return http.StatusOK
	}
	return s
}

// blockTexts flattens the text of blocks, as Slack shows it.
func blockTexts(blocks []map[string]any) string {
	var b strings.Builder
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if s, ok := v["text"].(string); ok {
				b.WriteString(shown(s) + "\n")
			}
			for k, x := range v {
				if k != "text" || !isString(x) {
					walk(x)
				}
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	for _, bl := range blocks {
		walk(bl)
	}
	return b.String()
}

func isString(v any) bool { _, ok := v.(string); return ok }

// retryAfter formats seconds for a Retry-After header.
func retryAfter(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
