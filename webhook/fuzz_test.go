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

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// FuzzHandler sends arbitrary bodies, signed or not, signed at any time, to
// the real handler on a real SQLite file and, when ZOOMRECON_TEST_POSTGRES_URL
// is set, on PostgreSQL. Whatever the body, the handler must not panic, must
// answer one of its documented statuses, must store every authentic delivery
// signed inside the replay window (Zoom never retries a 4xx), and must never
// answer 200 for an event that is not stored. Run it with:
// go test ./webhook -run '^$' -fuzz FuzzHandler
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
		f.Add(body, true, int64(0))
		f.Add(body, false, int64(0))
		f.Add(body, true, int64(-30*60))
	}
	for _, body := range []string{
		`{"event":"meeting.started","payload":{"object":{"uuid":"u","id":{},"start_time":"nope"}}}`,
		`{"event":"meeting.participant_left","payload":{"object":{"uuid":"u","id":"x1","participant":{"user_id":"1","leave_time":"2024-03-05T14:31:05Z"}}},"event_ts":-5}`,
		`{"event":""}`,
		"\xff\xfe",
		`{"event":"meeting.started","event_ts":"1709647331512","payload":{"object":{"uuid":"u==","id":"1","start_time":"2024-03-05T14:02:11Z"}}}`,
		`{"event":"meeting.started","event_ts":9223372036854775807,"payload":{"object":{"uuid":"u==","id":"1","start_time":"2024-03-05T14:02:11Z"}}}`,
		`{"event":"meeting.\u0000started","event_ts":1709647331512,"payload":{"object":{"uuid":"u\u0000==","id":"1","topic":"a\u0000b","start_time":"2024-03-05T14:02:11Z"}}}`,
		`{"event":"meeting.participant_joined","event_ts":1709647331512,"payload":{"object":{"uuid":"u==","participant":{"user_id":"\u0000","user_name":"\u0000","join_time":"0001-01-01T00:00:00Z"}}}}`,
		`{"event":"endpoint.url_validation","payload":{"plainToken":"abc"},"event_ts":1709647331512}`,
		`{"event":"endpoint.url_validation","payload":{},"event_ts":1709647331512}`,
		`[1,2,3]`,
	} {
		f.Add([]byte(body), true, int64(0))
	}
	f.Add([]byte(`{"event":"meeting.started"}`), true, int64(-25*3600))
	f.Add([]byte(`{"event":"meeting.started"}`), true, int64(2*3600))

	const secret = "fuzzSecretToken"
	now := time.Date(2024, 3, 5, 15, 0, 0, 0, time.UTC)
	type target struct {
		name string
		st   *store.Store
		h    *Handler
	}
	var targets []target
	for _, b := range storetest.Backends() {
		if b.Name == "PostgreSQL" && os.Getenv(storetest.PostgresEnv) == "" {
			continue
		}
		st := storetest.Open(f, b.URL(f))
		// Generous time to commit: this target is about what a body holds,
		// and a fuzzing machine's disk can be slow.
		h := NewHandler(Config{SecretTokens: []string{secret}, Now: func() time.Time { return now },
			AnswerWithin: time.Minute, CommitTimeout: time.Minute},
			st, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
		targets = append(targets, target{b.Name, st, h})
	}

	f.Fuzz(func(t *testing.T, body []byte, signed bool, age int64) {
		age %= 3 * 24 * 3600
		ts := strconv.FormatInt(now.Unix()-age, 10)
		for _, tg := range targets {
			req := httptest.NewRequest(http.MethodPost, "/webhooks/zoom", bytes.NewReader(body))
			req.Header.Set(HeaderTimestamp, ts)
			if signed {
				req.Header.Set(HeaderSignature, Sign(secret, ts, body))
			} else {
				req.Header.Set(HeaderSignature, Sign("not-the-secret", ts, body))
			}
			rec := httptest.NewRecorder()
			tg.h.ServeHTTP(rec, req)

			env := parseEnvelope(body)
			inWindow := age <= 24*3600 && age >= -24*3600
			switch {
			case !signed || !inWindow:
				if rec.Code != http.StatusUnauthorized {
					t.Fatalf("%s: signed=%v age=%ds answered %d, want 401: %s", tg.name, signed, age, rec.Code, rec.Body.String())
				}
				continue
			case env.Event == eventURLValidation:
				if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
					t.Fatalf("%s: a validation answered %d: %s", tg.name, rec.Code, rec.Body.String())
				}
				continue
			case rec.Code != http.StatusOK:
				t.Fatalf("%s: an authentic delivery %ds old answered %d, want 200 (Zoom never retries a 4xx): %s",
					tg.name, age, rec.Code, rec.Body.String())
			}
			// 200 means committed: the event's row must be there.
			item, _ := ingestFor(env, body, now)
			if _, err := tg.st.Event(context.Background(), item.Event.DedupKey); err != nil {
				t.Fatalf("%s: answered 200 but event %q is not stored: %v", tg.name, item.Event.DedupKey, err)
			}
			var status map[string]string
			if err := json.Unmarshal(rec.Body.Bytes(), &status); err != nil || (status["status"] != "accepted" && status["status"] != "duplicate") {
				t.Fatalf("%s: 200 without an accepted/duplicate answer: %s", tg.name, rec.Body.String())
			}
		}
	})
}
