package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// FuzzHandler sends arbitrary bodies, signed or not, to the real handler on a
// real SQLite file. Whatever the body, the handler must not panic, must answer
// one of its documented statuses, and must never answer 200 for an event that
// is not stored. Run it with: go test ./webhook -run '^$' -fuzz FuzzHandler
func FuzzHandler(f *testing.F) {
	seeds, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, path := range seeds {
		body, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body, true)
		f.Add(body, false)
	}
	f.Add([]byte(`{"event":"meeting.started","payload":{"object":{"uuid":"u","id":{},"start_time":"nope"}}}`), true)
	f.Add([]byte(`{"event":"meeting.participant_left","payload":{"object":{"uuid":"u","id":"x1","participant":{"user_id":"1","leave_time":"2024-03-05T14:31:05Z"}}},"event_ts":-5}`), true)
	f.Add([]byte(`{"event":""}`), true)
	f.Add([]byte("\xff\xfe"), true)

	const secret = "fuzzSecretToken"
	now := time.Date(2024, 3, 5, 15, 0, 0, 0, time.UTC)
	st := storetest.Open(f, storetest.SQLiteURL(f))
	h := NewHandler(Config{SecretTokens: []string{secret}, Now: func() time.Time { return now }},
		st, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	ts := strconv.FormatInt(now.Unix(), 10)

	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/zoom", bytes.NewReader(body))
		req.Header.Set(HeaderTimestamp, ts)
		if signed {
			req.Header.Set(HeaderSignature, Sign(secret, ts, body))
		} else {
			req.Header.Set(HeaderSignature, Sign("not-the-secret", ts, body))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)

		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("unexpected status %d: %s", rec.Code, rec.Body.String())
		}
		if !signed && rec.Code == http.StatusOK {
			t.Fatalf("an unsigned body was accepted")
		}
		if rec.Code != http.StatusOK {
			return
		}
		env, err := parseEnvelope(body)
		if err != nil {
			t.Fatalf("answered 200 to a body that is not an event: %v", err)
		}
		if env.Event == eventURLValidation {
			return // answered, never stored
		}
		// 200 means committed: the event's row must be there.
		item, _ := ingestFor(env, body, now)
		if _, err := st.Event(context.Background(), item.Event.DedupKey); err != nil {
			t.Fatalf("answered 200 but event %q is not stored: %v", item.Event.DedupKey, err)
		}
		var status map[string]string
		if err := json.Unmarshal(rec.Body.Bytes(), &status); err != nil || (status["status"] != "accepted" && status["status"] != "duplicate") {
			t.Fatalf("200 without an accepted/duplicate answer: %s", rec.Body.String())
		}
	})
}
