package webhook_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/webhook"
)

// deliverAt posts body signed at the given time, as a Zoom retry that keeps
// its first attempt's timestamp would be.
func (b *testBundle) deliverAt(t testing.TB, body []byte, signedAt time.Time) int {
	t.Helper()
	ts := strconv.FormatInt(signedAt.Unix(), 10)
	return b.post(body, map[string]string{
		webhook.HeaderTimestamp: ts,
		webhook.HeaderSignature: webhook.Sign(secret, ts, body),
	}).Code
}

func (b *testBundle) unapplied() float64 {
	mfs, _ := b.reg.Gather()
	for _, mf := range mfs {
		if mf.GetName() == "zoomrecon_webhook_events_unapplied_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return -1
}

// TestAuthenticDeliveriesAreStored: Zoom never retries a 4xx (zoom-platform.md
// §3), so a delivery signed with our Secret Token is stored whatever its age
// inside the replay window and whatever its body holds. What cannot be
// applied is kept raw and counted as unapplied, never given a wrong date.
func TestAuthenticDeliveriesAreStored(t *testing.T) {
	t.Parallel()
	started := fixture(t, "meeting.started.json")
	cases := []struct {
		name      string
		body      []byte
		signedAt  time.Time
		unapplied bool
		noEventTS bool
	}{
		{"ThirtyMinutesOld", started, now.Add(-30 * time.Minute), false, false},
		{"ThirtyMinutesAhead", started, now.Add(30 * time.Minute), false, false},
		{"TwentyThreeHoursOld", started, now.Add(-23 * time.Hour), false, false},
		{"BrokenJSON", []byte(`{"event":"meeting.started",`), now, true, true},
		{"NotAnObject", []byte(`["meeting.started"]`), now, true, true},
		{"MissingEvent", []byte(`{"payload":{},"event_ts":1709647331512}`), now, true, false},
		{"EventNameNotAString", []byte(`{"event":7,"payload":{},"event_ts":1709647331512}`), now, true, false},
		{"EventTSAsAString", []byte(`{"event":"meeting.started","event_ts":"1709647331512","payload":{"object":{"uuid":"u1==","id":"1","start_time":"2024-03-05T14:02:11Z"}}}`), now, true, true},
		{"EventTSOutOfRange", []byte(`{"event":"meeting.started","event_ts":9223372036854775807,"payload":{"object":{"uuid":"u2==","id":"1","start_time":"2024-03-05T14:02:11Z"}}}`), now, true, true},
		{"EventTSBeforeZoomExisted", []byte(`{"event":"meeting.started","event_ts":-5,"payload":{"object":{"uuid":"u3==","id":"1","start_time":"2024-03-05T14:02:11Z"}}}`), now, true, true},
		{"StartTimeOutOfRange", []byte(`{"event":"meeting.started","event_ts":1709647331512,"payload":{"object":{"uuid":"u4==","id":"1","start_time":"0001-01-01T00:00:00Z"}}}`), now, true, false},
		{"TopicOfTheWrongType", []byte(`{"event":"meeting.started","event_ts":1709647331512,"payload":{"object":{"uuid":"u5==","id":"1","topic":42,"start_time":"2024-03-05T14:02:11Z"}}}`), now, true, false},
		{"UUIDTooLongToIndex", []byte(`{"event":"meeting.started","event_ts":1709647331512,"payload":{"object":{"uuid":"` + strings.Repeat("x", 5000) + `","id":"1","start_time":"2024-03-05T14:02:11Z"}}}`), now, true, false},
		{"EventNameTooLongToIndex", []byte(`{"event":"` + strings.Repeat("e", 5000) + `","event_ts":1709647331512,"payload":{}}`), now, false, false},
	}
	for _, backend := range storetest.Backends() {
		for _, tc := range cases {
			t.Run(backend.Name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				b := setup(t, backend.URL(t))
				require.Equal(t, http.StatusOK, b.deliverAt(t, tc.body, tc.signedAt))
				require.EqualValues(t, 1, b.countEvents(t), "stored")
				require.Equal(t, 1.0, b.outcome(webhook.OutcomeAccepted))
				want := 0.0
				if tc.unapplied {
					want = 1
				}
				require.Equal(t, want, b.unapplied(), "counted as unapplied")

				var got store.Event
				require.NoError(t, b.store.DB().GetContext(context.Background(), &got, `SELECT * FROM events`))
				require.Equal(t, tc.body, got.Body, "raw bytes kept")
				require.Equal(t, tc.noEventTS, got.EventTS == nil, "event_ts stored only when it is a usable time: %v", got.EventTS)
				if tc.unapplied {
					var meetings int
					require.NoError(t, b.store.DB().GetContext(context.Background(), &meetings, `SELECT COUNT(*) FROM meetings`))
					require.Zero(t, meetings, "no state from an unapplied event")
				}
				// Zoom's retry of it is a duplicate, not a second event.
				require.Equal(t, http.StatusOK, b.deliverAt(t, tc.body, tc.signedAt.Add(5*time.Minute)))
				require.EqualValues(t, 1, b.countEvents(t))
			})
		}
	}
}

// TestSkewedTimestamps counts authentic deliveries signed long ago or ahead,
// and logs the first one only: they tell how Zoom signs its retries.
func TestSkewedTimestamps(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.SQLiteURL(t))
	skewed := func(direction string) float64 {
		return testutil.ToFloat64(metricVec(b.reg, "zoomrecon_webhook_skewed_timestamps_total", "direction", direction))
	}
	require.Equal(t, http.StatusOK, b.deliverAt(t, fixture(t, "meeting.started.json"), now.Add(-4*time.Minute)))
	require.Zero(t, skewed("past"), "four minutes is ordinary")
	require.Equal(t, http.StatusOK, b.deliverAt(t, fixture(t, "meeting.participant_joined.json"), now.Add(-25*time.Minute)))
	require.Equal(t, http.StatusOK, b.deliverAt(t, fixture(t, "meeting.ended.json"), now.Add(-85*time.Minute)))
	require.Equal(t, http.StatusOK, b.deliverAt(t, fixture(t, "meeting.participant_left.json"), now.Add(10*time.Minute)))
	require.Equal(t, 2.0, skewed("past"))
	require.Equal(t, 1.0, skewed("future"))
	logs := b.logs.String()
	require.Equal(t, 1, strings.Count(logs, "accepted an authentic delivery whose signature timestamp is far from now"), logs)
	require.Contains(t, logs, `"timestamp_skew":"25m0s"`)
}

// TestTextPostgreSQLRefusesIsStored delivers events with a NUL (\u0000) in
// every kind of string the store keeps; PostgreSQL refuses NUL in text
// columns, and an event refused for it would be answered 503 for ever.
func TestTextPostgreSQLRefusesIsStored(t *testing.T) {
	t.Parallel()
	bodies := map[string]string{
		"Topic":     `{"event":"meeting.started","payload":{"account_id":"A","object":{"uuid":"nul-topic==","id":"1","topic":"stand\u0000up","start_time":"2024-03-05T14:02:11Z"}},"event_ts":1709647331512}`,
		"UUID":      `{"event":"meeting.started","payload":{"account_id":"A","object":{"uuid":"nul\u0000uuid==","id":"1","topic":"t","start_time":"2024-03-05T14:02:11Z"}},"event_ts":1709647331512}`,
		"UserName":  `{"event":"meeting.participant_joined","payload":{"account_id":"A","object":{"uuid":"nul-name==","id":"1","participant":{"user_id":"","user_name":"Ana\u0000Ruiz","join_time":"2024-03-05T14:03:40Z"}}},"event_ts":1709647420977}`,
		"EventName": `{"event":"meeting.\u0000started","payload":{"account_id":"A","object":{"uuid":"nul-event==","id":"1"}},"event_ts":1709647331512}`,
	}
	for _, backend := range storetest.Backends() {
		for name, body := range bodies {
			t.Run(backend.Name+"/"+name, func(t *testing.T) {
				t.Parallel()
				b := setup(t, backend.URL(t))
				rec := b.deliver(t, []byte(body))
				require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
				require.EqualValues(t, 1, b.countEvents(t))
				require.Zero(t, b.unapplied(), "a NUL does not stop the state being applied")
				require.Equal(t, http.StatusOK, b.deliver(t, []byte(body)).Code)
				require.Equal(t, 1.0, b.outcome(webhook.OutcomeDuplicate), "and its redelivery is recognised")
			})
		}
	}
}

// refusingStore is the real store, made to refuse every event's state as a
// database refuses a value it cannot hold.
type refusingStore struct{ *store.Store }

func (r refusingStore) IngestBatch(ctx context.Context, items []store.Ingest, now time.Time) ([]bool, error) {
	for _, it := range items {
		if it.Meeting != nil || it.Participant != nil {
			return nil, fmt.Errorf("insert events: %w: value too long for an index", store.ErrInvalidData)
		}
	}
	return r.Store.IngestBatch(ctx, items, now)
}

// TestAStateTheDatabaseRefusesLeavesTheEventStored: whatever the database
// refuses in an event's state, the event itself is stored raw and answered
// 200, with its neighbours in the same batch unharmed.
func TestAStateTheDatabaseRefusesLeavesTheEventStored(t *testing.T) {
	t.Parallel()
	st := refusingStore{storetest.Open(t, storetest.SQLiteURL(t))}
	reg := prometheus.NewRegistry()
	h := webhook.NewHandler(webhook.Config{SecretTokens: []string{secret}, Now: func() time.Time { return now }},
		st, slog.New(slog.DiscardHandler), reg)
	b := &testBundle{handler: h, reg: reg, store: &failingStore{Store: st.Store}}
	var wg sync.WaitGroup
	for _, f := range []string{"meeting.started.json", "meeting.participant_joined.json", "recording.completed.json"} {
		wg.Go(func() { require.Equal(t, http.StatusOK, b.deliver(t, fixture(t, f)).Code, f) })
	}
	wg.Wait()
	require.EqualValues(t, 3, b.countEvents(t))
	require.Equal(t, 2.0, b.unapplied(), "the two events with state are stored raw")
}

// TestALockedDatabaseIsAnsweredInTime locks the SQLite file from another
// connection, as another process would, and sends a burst: every delivery
// must be answered 503 (so Zoom retries) within Zoom's 3 seconds.
func TestALockedDatabaseIsAnsweredInTime(t *testing.T) {
	t.Parallel()
	url := storetest.SQLiteURL(t)
	st := storetest.Open(t, url)
	reg := prometheus.NewRegistry()
	// Zoom's defaults: answered within 2.5 s, commits bounded by 2 s.
	h := webhook.NewHandler(webhook.Config{SecretTokens: []string{secret}, Now: func() time.Time { return now }},
		st, slog.New(slog.DiscardHandler), reg)
	b := &testBundle{handler: h, reg: reg, store: &failingStore{Store: st}}
	other, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(url, "sqlite:"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = other.Close() })
	conn, err := other.Conn(context.Background())
	require.NoError(t, err)
	_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
	require.NoError(t, err)

	const n = 20
	type answer struct {
		code int
		took time.Duration
	}
	answers := make(chan answer, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			start := time.Now()
			code := b.deliver(t, joinBody(i)).Code
			answers <- answer{code, time.Since(start)}
		})
	}
	wg.Wait()
	close(answers)
	var slowest time.Duration
	for a := range answers {
		require.Equal(t, http.StatusServiceUnavailable, a.code)
		require.Less(t, a.took, 3*time.Second, "Zoom counts an answer slower than 3 s as failed")
		slowest = max(slowest, a.took)
	}
	t.Logf("%d deliveries answered 503 while SQLite was locked; the slowest in %v", n, slowest.Round(time.Millisecond))
	require.EqualValues(t, n, b.outcome(webhook.OutcomeStoreError))

	// Once the lock is gone, Zoom's retries are stored.
	_, err = conn.ExecContext(context.Background(), "ROLLBACK")
	require.NoError(t, err)
	require.NoError(t, conn.Close())
	for i := range n {
		require.Equal(t, http.StatusOK, b.deliver(t, joinBody(i)).Code)
	}
	require.EqualValues(t, n, b.countEvents(t))
}

func joinBody(i int) []byte {
	return fmt.Appendf(nil, `{"event":"meeting.participant_joined","payload":{"account_id":"A","object":{"id":"84512093377","uuid":"burst==","participant":{"user_id":"%d","user_name":"P%d","join_time":"2024-03-05T14:03:40Z","email":""}}},"event_ts":%d}`,
		i, i, 1709647420000+int64(i))
}

// TestRefusalsAreRecorded runs the handler's report loop: refused deliveries
// reach the store's tally by reason, a refused URL validation raises its
// alarm at once, and the next answered validation resolves it.
func TestRefusalsAreRecorded(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends() {
		t.Run(backend.Name, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, backend.URL(t))
			reg := prometheus.NewRegistry()
			h := webhook.NewHandler(webhook.Config{
				SecretTokens: []string{secret}, Now: func() time.Time { return now },
				// Long: the refused validation must not wait for it.
				FlushInterval: time.Hour,
			}, st, slog.New(slog.DiscardHandler), reg)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- h.Run(ctx) }()
			b := &testBundle{handler: h, reg: reg, store: &failingStore{Store: st}}

			body := fixture(t, "meeting.started.json")
			ts := strconv.FormatInt(now.Unix(), 10)
			for range 3 {
				rec := b.post(body, map[string]string{webhook.HeaderTimestamp: ts, webhook.HeaderSignature: webhook.Sign("rotated-away", ts, body)})
				require.Equal(t, http.StatusUnauthorized, rec.Code)
			}
			validation := fixture(t, "endpoint.url_validation.json")
			rec := b.post(validation, map[string]string{webhook.HeaderTimestamp: ts, webhook.HeaderSignature: webhook.Sign("rotated-away", ts, validation)})
			require.Equal(t, http.StatusUnauthorized, rec.Code)

			open := func() []store.Discrepancy {
				ds, err := st.OpenDiscrepancies(context.Background())
				require.NoError(t, err)
				return ds
			}
			require.Eventually(t, func() bool { return len(open()) == 1 }, 10*time.Second, 5*time.Millisecond,
				"a refused validation raises its alarm without waiting for the next flush")
			d := open()[0]
			require.Equal(t, store.KindURLValidationRefused, d.Kind)
			require.Contains(t, d.Detail, "signature matches no configured secret token")
			alerts, err := st.AlertsFor(context.Background(), d.ID)
			require.NoError(t, err)
			require.Len(t, alerts, 1, "with its alert, in the same transaction")

			refusals, err := st.RefusalsSince(context.Background(), now.Add(-time.Minute))
			require.NoError(t, err)
			require.Equal(t, []store.Refusal{store.RefusalURLValidation, store.RefusalBadSignature}, reasons(refusals))
			require.EqualValues(t, 1, refusals[0].Count)
			require.EqualValues(t, 3, refusals[1].Count, "the validation is not counted as a lost event")

			// The next validation is answered: the alarm resolves once the
			// report is written (at the latest when Run stops).
			require.Equal(t, http.StatusOK, b.deliver(t, validation).Code)
			cancel()
			require.NoError(t, <-done)
			require.Empty(t, open())
			last, err := st.LastURLValidationAnswered(context.Background())
			require.NoError(t, err)
			require.True(t, last.Equal(now))
		})
	}
}

func reasons(rs []store.RefusalSummary) []store.Refusal {
	var out []store.Refusal
	for _, r := range rs {
		out = append(out, r.Reason)
	}
	return out
}
