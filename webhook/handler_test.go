package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/webhook"
)

const (
	secret    = "exampleSecretToken123"
	oldSecret = "previousSecretToken99"
)

// now is the fixed clock of every test: shortly after the fixtures' meeting.
var now = time.Date(2024, 3, 5, 15, 0, 0, 0, time.UTC)

var _ webhook.EventStore = (*store.Store)(nil)

// failingStore is the real store with a switch that makes commits fail, as a
// database that went away would.
type failingStore struct {
	*store.Store
	fail atomic.Bool
}

func (f *failingStore) IngestBatch(ctx context.Context, items []store.Ingest, now time.Time) ([]bool, error) {
	if f.fail.Load() {
		return nil, errors.New("database is locked")
	}
	return f.Store.IngestBatch(ctx, items, now)
}

type testBundle struct {
	store   *failingStore
	handler *webhook.Handler
	reg     *prometheus.Registry
	logs    *bytes.Buffer
}

func setup(t *testing.T, dbURL string) *testBundle {
	t.Helper()
	st := &failingStore{Store: storetest.Open(t, dbURL)}
	reg := prometheus.NewRegistry()
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h := webhook.NewHandler(webhook.Config{
		SecretTokens: []string{secret, oldSecret},
		Now:          func() time.Time { return now },
		// These tests are about what is answered, not how fast: a loaded
		// machine must not turn a slow commit into a 503. The test of
		// answering in time sets its own.
		AnswerWithin: 30 * time.Second, CommitTimeout: 30 * time.Second,
	}, st, logger, reg)
	return &testBundle{store: st, handler: h, reg: reg, logs: logs}
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// deliver posts body the way Zoom does: signed with secret at the current time.
func (b *testBundle) deliver(t testing.TB, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	ts := strconv.FormatInt(now.Unix(), 10)
	return b.post(body, map[string]string{
		webhook.HeaderTimestamp: ts,
		webhook.HeaderSignature: webhook.Sign(secret, ts, body),
	})
}

func (b *testBundle) post(body []byte, headers map[string]string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/zoom", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Zoom Marketplace/1.0a")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	b.handler.ServeHTTP(rec, req)
	return rec
}

func (b *testBundle) outcome(name string) float64 {
	return testutil.ToFloat64(metricVec(b.reg, "zoomrecon_webhook_requests_total", "outcome", name))
}

// metricVec finds one labelled series in a registry by gathering it.
func metricVec(reg *prometheus.Registry, name, label, value string) prometheus.Collector {
	return collectorFunc(func(ch chan<- prometheus.Metric) {
		mfs, _ := reg.Gather()
		for _, mf := range mfs {
			if mf.GetName() != name {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, lp := range m.GetLabel() {
					if lp.GetName() == label && lp.GetValue() == value {
						ch <- prometheus.MustNewConstMetric(prometheus.NewDesc(name, "", nil, nil), prometheus.CounterValue, m.GetCounter().GetValue())
					}
				}
			}
		}
	})
}

type collectorFunc func(chan<- prometheus.Metric)

func (f collectorFunc) Describe(chan<- *prometheus.Desc)    {}
func (f collectorFunc) Collect(ch chan<- prometheus.Metric) { f(ch) }

func (b *testBundle) countEvents(t testing.TB) int64 {
	t.Helper()
	n, err := b.store.CountEvents(context.Background())
	require.NoError(t, err)
	return n
}

func TestSignature(t *testing.T) {
	t.Parallel()
	// The vector of zoom-platform.md §2.
	body := []byte(`{"event":"meeting.started","payload":{"account_id":"AcctExample001","object":{"duration":30,"start_time":"2023-11-14T22:13:20Z","timezone":"Europe/Berlin","topic":"Weekly sync","id":"81234567890","type":2,"uuid":"AbCdEfGhIjKlMnOpQrStUw==","host_id":"HostUserExample01"}},"event_ts":1700000000123}`)
	const want = "v0=66de12b0f735282b07304a7d377567989020afe4642eec1bcc9afd341373d687"
	require.Equal(t, want, webhook.Sign(secret, "1700000000", body))
	require.Equal(t, 0, webhook.VerifySignature([]string{secret}, "1700000000", want, body))
	require.Equal(t, 1, webhook.VerifySignature([]string{oldSecret, secret}, "1700000000", want, body), "rotation: any configured token")
	require.Equal(t, -1, webhook.VerifySignature([]string{oldSecret}, "1700000000", want, body))

	// And the handler accepts exactly that request at that time.
	st := storetest.Open(t, storetest.SQLiteURL(t))
	h := webhook.NewHandler(webhook.Config{
		SecretTokens: []string{secret},
		Now:          func() time.Time { return time.Unix(1700000000, 0) },
	}, st, slog.New(slog.DiscardHandler), prometheus.NewRegistry())
	req := httptest.NewRequest(http.MethodPost, "/webhooks/zoom", bytes.NewReader(body))
	req.Header.Set("x-zm-request-timestamp", "1700000000")
	req.Header.Set("x-zm-signature", want)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	m, err := st.Meeting(context.Background(), "AbCdEfGhIjKlMnOpQrStUw==")
	require.NoError(t, err)
	require.Equal(t, int64(81234567890), m.MeetingID)
}

func TestURLValidation(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, token, want string
	}{
		// The vector of zoom-platform.md §2.
		{"CurrentToken", secret, "c7f7958610135ccffbfbae696349e80f8539a338a13ec5b14cc01fdf713cbb02"},
		// During a rotation Zoom signs with either token; the answer must use the same one.
		{"OldTokenDuringRotation", oldSecret, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, storetest.SQLiteURL(t))
			body := fixture(t, "endpoint.url_validation.json")
			ts := strconv.FormatInt(now.Unix(), 10)
			rec := b.post(body, map[string]string{
				webhook.HeaderTimestamp: ts,
				webhook.HeaderSignature: webhook.Sign(tc.token, ts, body),
			})
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			require.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			var got map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &got))
			want := tc.want
			if want == "" {
				want = hmacHex(tc.token, "qW3rTy-PlainToken_Ex")
			}
			require.Equal(t, map[string]string{"plainToken": "qW3rTy-PlainToken_Ex", "encryptedToken": want}, got)
			require.Zero(t, b.countEvents(t), "a validation is not an event")
			require.Equal(t, 1.0, b.outcome(webhook.OutcomeURLValidation))
		})
	}

	t.Run("UnsignedIsRefused", func(t *testing.T) {
		t.Parallel()
		b := setup(t, storetest.SQLiteURL(t))
		rec := b.post(fixture(t, "endpoint.url_validation.json"), nil)
		require.Equal(t, http.StatusUnauthorized, rec.Code)
		require.NotContains(t, rec.Body.String(), "encryptedToken")
	})
}

func TestRejections(t *testing.T) {
	t.Parallel()
	body := fixture(t, "meeting.started.json")
	ts := strconv.FormatInt(now.Unix(), 10)
	signedAt := func(at time.Time) map[string]string {
		s := strconv.FormatInt(at.Unix(), 10)
		return map[string]string{webhook.HeaderTimestamp: s, webhook.HeaderSignature: webhook.Sign(secret, s, body)}
	}
	signedBody := func(b []byte) map[string]string {
		return map[string]string{webhook.HeaderTimestamp: ts, webhook.HeaderSignature: webhook.Sign(secret, ts, b)}
	}
	var pretty bytes.Buffer
	require.NoError(t, json.Indent(&pretty, body, "", "  "))
	huge := append([]byte(`{"event":"meeting.started","pad":"`), bytes.Repeat([]byte("x"), 1<<20)...)
	huge = append(huge, `"}`...)

	cases := []struct {
		name    string
		method  string
		body    []byte
		headers map[string]string
		chunked bool
		status  int
		outcome string
	}{
		{"TamperedBody", "", bytes.Replace(body, []byte("Support"), []byte("Sabotage"), 1), signedAt(now), false, 401, webhook.OutcomeBadSignature},
		{"ReserialisedBody", "", pretty.Bytes(), signedAt(now), false, 401, webhook.OutcomeBadSignature},
		{"TamperedTimestamp", "", body, map[string]string{webhook.HeaderTimestamp: strconv.FormatInt(now.Unix()+1, 10), webhook.HeaderSignature: webhook.Sign(secret, ts, body)}, false, 401, webhook.OutcomeBadSignature},
		{"WrongSecret", "", body, map[string]string{webhook.HeaderTimestamp: ts, webhook.HeaderSignature: webhook.Sign("someone-elses-token", ts, body)}, false, 401, webhook.OutcomeBadSignature},
		{"ClientSecretInsteadOfSecretToken", "", body, map[string]string{webhook.HeaderTimestamp: ts, webhook.HeaderSignature: webhook.Sign("", ts, body)}, false, 401, webhook.OutcomeBadSignature},
		{"MissingSignature", "", body, map[string]string{webhook.HeaderTimestamp: ts}, false, 401, webhook.OutcomeBadSignature},
		{"MissingTimestamp", "", body, map[string]string{webhook.HeaderSignature: webhook.Sign(secret, ts, body)}, false, 401, webhook.OutcomeBadSignature},
		{"MalformedSignature", "", body, map[string]string{webhook.HeaderTimestamp: ts, webhook.HeaderSignature: "v0=zz"}, false, 401, webhook.OutcomeBadSignature},
		{"TimestampOutsideReplayWindow", "", body, signedAt(now.Add(-25 * time.Hour)), false, 401, webhook.OutcomeStaleTimestamp},
		{"TimestampFarInTheFuture", "", body, signedAt(now.Add(25 * time.Hour)), false, 401, webhook.OutcomeStaleTimestamp},
		{"TimestampNotANumber", "", body, map[string]string{webhook.HeaderTimestamp: "soon", webhook.HeaderSignature: webhook.Sign(secret, "soon", body)}, false, 401, webhook.OutcomeStaleTimestamp},
		{"ValidationWithoutPlainToken", "", []byte(`{"event":"endpoint.url_validation","payload":{}}`), signedBody([]byte(`{"event":"endpoint.url_validation","payload":{}}`)), false, 400, webhook.OutcomeBadRequest},
		{"TooLarge", "", huge, signedBody(huge), false, 413, webhook.OutcomeTooLarge},
		{"TooLargeChunked", "", huge, signedBody(huge), true, 413, webhook.OutcomeTooLarge},
		{"WrongMethod", http.MethodGet, nil, nil, false, 405, webhook.OutcomeBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, storetest.SQLiteURL(t))
			req := httptest.NewRequest(cmpOr(tc.method, http.MethodPost), "/webhooks/zoom", bytes.NewReader(tc.body))
			if tc.chunked {
				req.ContentLength = -1
			}
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			b.handler.ServeHTTP(rec, req)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			require.Equal(t, 1.0, b.outcome(tc.outcome), "outcome %s counted once", tc.outcome)
			require.Zero(t, b.countEvents(t), "nothing of a rejected request is stored")

			logs := b.logs.String()
			require.Equal(t, 1, strings.Count(logs, `"msg":"webhook rejected"`), "logged once: %s", logs)
			require.Contains(t, logs, `"outcome":"`+tc.outcome+`"`)
			for _, leak := range []string{secret, oldSecret, "Support stand-up", "Sabotage", "v0="} {
				require.NotContains(t, logs, leak, "the log must not carry bodies, signatures or secrets")
			}
		})
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestStoreFailureAnswers503ThenRetrySucceeds(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.SQLiteURL(t))
	body := fixture(t, "meeting.ended.json")

	b.store.fail.Store(true)
	rec := b.deliver(t, body)
	require.Equal(t, http.StatusServiceUnavailable, rec.Code)
	require.Equal(t, 1.0, b.outcome(webhook.OutcomeStoreError))
	require.Contains(t, b.logs.String(), "database is locked")

	// Zoom retries the same body with a fresh signature (zoom-platform.md §3).
	b.store.fail.Store(false)
	rec = b.deliver(t, body)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	require.Equal(t, 1.0, b.outcome(webhook.OutcomeAccepted))
	m, err := b.store.Meeting(context.Background(), "t6WJ0cK+QvOe2m/hY1Lx9A==")
	require.NoError(t, err)
	require.Equal(t, store.StatusEnded, m.Status)
}

func TestTripleDeliveryAppliesOnce(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, backend.URL(t))
			ctx := context.Background()
			joined, left := fixture(t, "meeting.participant_joined.json"), fixture(t, "meeting.participant_left.json")

			// One after the other, as Zoom's retries come.
			for range 3 {
				require.Equal(t, http.StatusOK, b.deliver(t, joined).Code)
			}
			// All at once, as identical deliveries from two Zoom IPs come.
			var wg sync.WaitGroup
			codes := make(chan int, 3)
			for range 3 {
				wg.Go(func() { codes <- b.deliver(t, left).Code })
			}
			wg.Wait()
			close(codes)
			for c := range codes {
				require.Equal(t, http.StatusOK, c)
			}

			require.EqualValues(t, 2, b.countEvents(t))
			require.Equal(t, 2.0, b.outcome(webhook.OutcomeAccepted))
			require.Equal(t, 4.0, b.outcome(webhook.OutcomeDuplicate))
			sessions, err := b.store.Sessions(ctx, "t6WJ0cK+QvOe2m/hY1Lx9A==")
			require.NoError(t, err)
			require.Len(t, sessions, 1)
			require.NotNil(t, sessions[0].JoinTime)
			require.NotNil(t, sessions[0].LeaveTime)
		})
	}
}

// TestOutOfOrder delivers one meeting's events in many orders; the state must
// always end the same (zoom-platform.md §3 "Ordering").
func TestOutOfOrder(t *testing.T) {
	t.Parallel()
	events := []string{
		"meeting.started.json",             // 0
		"meeting.participant_joined.json",  // 1: Ana joins 14:03:40
		"participant_joined.external.json", // 2: a guest joins 14:05:02 and never leaves
		"meeting.participant_left.json",    // 3: Ana leaves 14:31:05
		"participant_joined.rejoin.json",   // 4: Ana rejoins 14:33:10
		"participant_left.rejoin.json",     // 5: Ana leaves 14:44:58
		"meeting.ended.json",               // 6
		"recording.completed.json",         // 7
	}
	orders := map[string][]int{
		"InOrder":                   {0, 1, 2, 3, 4, 5, 6, 7},
		"Reversed":                  {7, 6, 5, 4, 3, 2, 1, 0},
		"LeftBeforeJoined":          {0, 3, 1, 5, 4, 2, 6, 7},
		"EndedBeforeStarted":        {6, 1, 2, 3, 4, 5, 0, 7},
		"LateLeftAfterRejoin":       {0, 1, 2, 4, 3, 5, 6, 7},
		"RecordingFirstStartedLast": {7, 2, 5, 3, 6, 4, 1, 0},
	}
	at := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	type row struct {
		key         string
		join, leave string
		sources     string
	}
	want := []row{
		{"uid:16779264", "14:03:40", "14:31:05", "webhook/webhook"},
		{"uid:16781312", "14:05:02", "-", "webhook/"},
		{"uid:16780288", "14:33:10", "14:44:58", "webhook/webhook"},
	}
	hhmmss := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.TimeOnly)
	}
	for _, backend := range storetest.Backends() {
		for name, order := range orders {
			t.Run(backend.Name+"/"+name, func(t *testing.T) {
				t.Parallel()
				b := setup(t, backend.URL(t))
				for _, i := range order {
					rec := b.deliver(t, fixture(t, events[i]))
					require.Equal(t, http.StatusOK, rec.Code, "%s: %s", events[i], rec.Body.String())
				}
				ctx := context.Background()
				m, err := b.store.Meeting(ctx, "t6WJ0cK+QvOe2m/hY1Lx9A==")
				require.NoError(t, err)
				require.Equal(t, store.StatusEnded, m.Status)
				require.Equal(t, store.SourceWebhook, m.StartSource)
				require.Equal(t, store.SourceWebhook, m.EndSource)
				require.True(t, m.StartTime.Equal(at("2024-03-05T14:02:11Z")), "start %v", m.StartTime)
				require.True(t, m.EndTime.Equal(at("2024-03-05T14:44:58Z")), "end %v", m.EndTime)
				require.Equal(t, int64(84512093377), m.MeetingID)
				require.Equal(t, "Support stand-up", m.Topic)
				require.Equal(t, 8, m.ZoomType)

				sessions, err := b.store.Sessions(ctx, m.UUID)
				require.NoError(t, err)
				var got []row
				for _, s := range sessions {
					got = append(got, row{s.ParticipantKey, hhmmss(s.JoinTime), hhmmss(s.LeaveTime), string(s.JoinSource) + "/" + string(s.LeaveSource)})
				}
				require.Equal(t, want, got)
				require.EqualValues(t, len(events), b.countEvents(t))
			})
		}
	}
}

func TestEventShapes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("MeetingIDAsNumberAndUUIDWithSlashes", func(t *testing.T) {
		t.Parallel()
		b := setup(t, storetest.SQLiteURL(t))
		require.Equal(t, http.StatusOK, b.deliver(t, fixture(t, "meeting.ended.numeric_id.json")).Code)
		m, err := b.store.Meeting(ctx, "/ab+cd//efGhIjKlMnOpQ==")
		require.NoError(t, err)
		require.Equal(t, int64(91234567890), m.MeetingID)
		require.Equal(t, store.SourceUnknown, m.StartSource, "meeting.ended carries the start only as a hint")
		require.Equal(t, "2024-03-06T09:00:04Z", m.StartTime.UTC().Format(time.RFC3339))
	})

	t.Run("WebinarEvents", func(t *testing.T) {
		t.Parallel()
		b := setup(t, storetest.SQLiteURL(t))
		for _, f := range []string{"webinar.started.json", "webinar.participant_joined.json", "webinar.participant_left.json", "webinar.ended.json"} {
			require.Equal(t, http.StatusOK, b.deliver(t, fixture(t, f)).Code, f)
		}
		m, err := b.store.Meeting(ctx, "Wb1nAr+UuIdExAmPle00Q==")
		require.NoError(t, err)
		require.Equal(t, store.TypeWebinar, m.Type)
		require.Equal(t, store.StatusEnded, m.Status)
		sessions, err := b.store.Sessions(ctx, m.UUID)
		require.NoError(t, err)
		require.Len(t, sessions, 1)
		require.Equal(t, "Rg7yT5uI3oP1aS9dF2gH4j", sessions[0].RegistrantID)
		require.Equal(t, "Lea Vogt left the webinar.<br>Reason: left the meeting", sessions[0].LeaveReason)
	})

	t.Run("UntrackedEventsAreStoredRaw", func(t *testing.T) {
		t.Parallel()
		b := setup(t, storetest.SQLiteURL(t))
		unknown := []byte(`{"event":"meeting.deleted","payload":{"account_id":"A","operator":"x@example.org","object":{"uuid":"Zz9==","id":123,"topic":"gone"}},"event_ts":1709647331999}`)
		for _, body := range [][]byte{fixture(t, "recording.completed.json"), unknown} {
			rec := b.deliver(t, body)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		}
		require.EqualValues(t, 2, b.countEvents(t))
		_, err := b.store.Meeting(ctx, "Zz9==")
		require.ErrorIs(t, err, store.ErrNotFound, "untracked events change no state")
		require.Equal(t, 1.0, testutil.ToFloat64(metricVec(b.reg, "zoomrecon_webhook_events_total", "event_type", "other")))
		require.Equal(t, 1.0, testutil.ToFloat64(metricVec(b.reg, "zoomrecon_webhook_events_total", "event_type", "recording.completed")))
	})

	t.Run("TrackedEventMissingFieldsIsKeptWithoutState", func(t *testing.T) {
		t.Parallel()
		b := setup(t, storetest.SQLiteURL(t))
		body := []byte(`{"event":"meeting.participant_joined","payload":{"account_id":"A","object":{"id":"1","uuid":"u1==","participant":{"user_id":"5"}}},"event_ts":1709647331999}`)
		rec := b.deliver(t, body)
		require.Equal(t, http.StatusOK, rec.Code)
		require.EqualValues(t, 1, b.countEvents(t), "nothing is lost")
		require.Contains(t, b.logs.String(), "participant.join_time is missing or invalid")
	})

	t.Run("RawBytesAreKeptExactly", func(t *testing.T) {
		t.Parallel()
		b := setup(t, storetest.SQLiteURL(t))
		body := fixture(t, "participant_joined.external.json") // emoji, <, & and raw UTF-8
		require.Equal(t, http.StatusOK, b.deliver(t, body).Code)
		var got []byte
		require.NoError(t, b.store.DB().GetContext(ctx, &got, b.store.DB().Rebind(`SELECT body FROM events`)))
		require.Equal(t, body, got)
	})
}

func TestMetrics(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.SQLiteURL(t))
	body := fixture(t, "meeting.participant_joined.json") // event_ts 2024-03-05T14:03:40.977Z
	require.Equal(t, http.StatusOK, b.deliver(t, body).Code)

	require.Equal(t, 1.0, testutil.ToFloat64(metricVec(b.reg, "zoomrecon_webhook_events_total", "event_type", "meeting.participant_joined")))
	mfs, err := b.reg.Gather()
	require.NoError(t, err)
	found := map[string]bool{}
	for _, mf := range mfs {
		found[mf.GetName()] = true
		switch mf.GetName() {
		case "zoomrecon_webhook_last_event_timestamp_seconds":
			require.Equal(t, float64(now.Unix()), mf.GetMetric()[0].GetGauge().GetValue())
		case "zoomrecon_webhook_delivery_lag_seconds":
			h := mf.GetMetric()[0].GetHistogram()
			require.EqualValues(t, 1, h.GetSampleCount())
			lag := now.Sub(time.UnixMilli(1709647420977)).Seconds()
			require.InDelta(t, lag, h.GetSampleSum(), 0.001)
		}
	}
	for _, name := range []string{"zoomrecon_webhook_requests_total", "zoomrecon_webhook_last_event_timestamp_seconds",
		"zoomrecon_webhook_delivery_lag_seconds", "zoomrecon_webhook_commit_batch_size"} {
		require.True(t, found[name], "metric %s registered", name)
	}
	// Every outcome is exported from the start, so rate() works before the first failure.
	for _, o := range []string{"bad_signature", "stale_timestamp", "bad_request", "too_large", "store_error"} {
		require.Equal(t, 0.0, b.outcome(o), o)
	}
}

// hmacHex is Zoom's encryptedToken, computed independently of the handler.
func hmacHex(key, msg string) string {
	mac := hmac.New(sha256.New, []byte(key))
	mac.Write([]byte(msg))
	return hex.EncodeToString(mac.Sum(nil))
}
