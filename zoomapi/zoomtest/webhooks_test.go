package zoomtest_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

const secretToken = "exampleSecretToken123"

// The reference vectors of zoom-platform.md §2.
const (
	vectorTimestamp = "1700000000"
	vectorBody      = `{"event":"meeting.started","payload":{"account_id":"AcctExample001","object":{"duration":30,"start_time":"2023-11-14T22:13:20Z","timezone":"Europe/Berlin","topic":"Weekly sync","id":"81234567890","type":2,"uuid":"AbCdEfGhIjKlMnOpQrStUw==","host_id":"HostUserExample01"}},"event_ts":1700000000123}`
	vectorSignature = "v0=66de12b0f735282b07304a7d377567989020afe4642eec1bcc9afd341373d687"
	vectorPlain     = "qW3rTy-PlainToken_Ex"
	vectorEncrypted = "c7f7958610135ccffbfbae696349e80f8539a338a13ec5b14cc01fdf713cbb02"
)

var (
	signatureRE   = regexp.MustCompile(`^v0=[0-9a-f]{64}$`)
	requestIDRE   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	traceParentRE = regexp.MustCompile(`^00-[0-9a-f]{32}-[0-9a-f]{16}-01$`)
)

// verify checks a webhook signature as a receiver must (§2), written here
// from the reference and not taken from package webhook or the fake: the
// header must be "v0=" and 64 lower-case hex digits of HMAC-SHA256(secret,
// "v0:{timestamp}:{body}"), compared in constant time.
func verify(secret, timestamp, signature string, body []byte) bool {
	if !signatureRE.MatchString(signature) {
		return false
	}
	got, err := hex.DecodeString(strings.TrimPrefix(signature, "v0="))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:"))
	mac.Write([]byte(timestamp))
	mac.Write([]byte(":"))
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// received is one request a receiver got.
type received struct {
	At       time.Time // real time of arrival
	Path     string
	Header   http.Header
	Body     []byte
	Verified bool
	Event    string
}

// receiver is an httptest webhook endpoint that checks Zoom's signature
// with verify and answers as answer says.
type receiver struct {
	srv *httptest.Server
	// answer chooses the status for the nth request (from 1); nil answers
	// 200. A 3xx is sent with a Location on this receiver, so a client that
	// followed it would show up as another request.
	answer func(nth int, r *http.Request) int
	secret string

	mu  sync.Mutex
	got []received
}

func newReceiver(t *testing.T, answer func(nth int, r *http.Request) int) *receiver {
	t.Helper()
	rc := &receiver{secret: secretToken, answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	at := time.Now()
	body, _ := io.ReadAll(r.Body)
	secret := rc.secret
	verified := verify(secret, r.Header.Get("x-zm-request-timestamp"), r.Header.Get("x-zm-signature"), body)
	var env struct {
		Event   string `json:"event"`
		Payload struct {
			PlainToken string `json:"plainToken"`
		} `json:"payload"`
	}
	_ = json.Unmarshal(body, &env)
	rc.mu.Lock()
	rc.got = append(rc.got, received{At: at, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Verified: verified, Event: env.Event})
	nth := len(rc.got)
	rc.mu.Unlock()

	status := http.StatusOK
	if rc.answer != nil {
		status = rc.answer(nth, r)
	}
	if !verified {
		status = http.StatusUnauthorized
	}
	switch {
	case status == http.StatusOK && env.Event == "endpoint.url_validation":
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(env.Payload.PlainToken))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"plainToken": env.Payload.PlainToken, "encryptedToken": hex.EncodeToString(mac.Sum(nil))})
	case status >= 300 && status < 400:
		http.Redirect(w, r, "/moved", status)
	default:
		w.WriteHeader(status)
	}
}

func (rc *receiver) received() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func (rc *receiver) events() []string {
	var out []string
	for _, r := range rc.received() {
		out = append(out, r.Event)
	}
	return out
}

// hooked starts a fake Zoom sending to a new receiver.
func hooked(t *testing.T, answer func(int, *http.Request) int, opts ...zoomtest.Option) (*zoomtest.Server, *receiver) {
	t.Helper()
	rc := newReceiver(t, answer)
	s := newServer(t, opts...)
	s.SetWebhookTarget(rc.srv.URL, secretToken)
	return s, rc
}

// closedPort returns a URL on which nothing listens, so connections are refused.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	u := "http://" + l.Addr().String() + "/webhooks/zoom"
	require.NoError(t, l.Close())
	return u
}

var envelopeRE = regexp.MustCompile(`^\{"event":"[a-z_.]+","payload":\{"account_id":"[A-Za-z0-9]{22}","object":\{.*\}\},"event_ts":\d{13}\}$`)

func TestSignatureMatchesTheReferenceVectors(t *testing.T) {
	t.Parallel()

	t.Run("SignerAndVerifier", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, vectorSignature, zoomtest.Sign(secretToken, vectorTimestamp, []byte(vectorBody)))
		require.True(t, verify(secretToken, vectorTimestamp, vectorSignature, []byte(vectorBody)), "the tests' verifier")
		require.False(t, verify(secretToken, vectorTimestamp, strings.ToUpper(vectorSignature), []byte(vectorBody)), "upper-case hex")
		require.False(t, verify("another", vectorTimestamp, vectorSignature, []byte(vectorBody)))
		require.False(t, verify(secretToken, "1700000001", vectorSignature, []byte(vectorBody)))
		require.False(t, verify(secretToken, vectorTimestamp, vectorSignature, []byte(vectorBody+" ")))
	})

	t.Run("URLValidationToken", func(t *testing.T) {
		t.Parallel()
		require.Equal(t, vectorEncrypted, zoomtest.EncryptToken(secretToken, vectorPlain))
	})

	t.Run("ADeliveredMeetingStarted", func(t *testing.T) {
		t.Parallel()
		at := time.Unix(1700000000, 123_000_000)
		s, rc := hooked(t, nil, zoomtest.WithClock(func() time.Time { return at }),
			zoomtest.WithCredentials(zoomtest.Credentials{AccountID: "AcctExample001"}))
		s.StartMeeting(zoomtest.MeetingSpec{ID: 81234567890, UUID: "AbCdEfGhIjKlMnOpQrStUw==", HostID: "HostUserExample01",
			Topic: "Weekly sync", Type: 2, Start: at, Duration: 30, Timezone: "Europe/Berlin"})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))
		got := rc.received()
		require.Len(t, got, 1)
		require.Equal(t, vectorBody, string(got[0].Body))
		require.Equal(t, vectorTimestamp, got[0].Header.Get("x-zm-request-timestamp"))
		require.Equal(t, vectorSignature, got[0].Header.Get("x-zm-signature"))
	})
}

func TestWebhookDeliveries(t *testing.T) {
	t.Parallel()
	s, rc := hooked(t, nil)
	start := time.Date(2024, 3, 5, 14, 2, 11, 512_000_000, time.UTC)
	uuid := s.StartMeeting(zoomtest.MeetingSpec{ID: 84512093377, UUID: "/ab+cd//efGhIjKlMnOpQ==", Topic: "Ünïcode 🎉 <b>&</b>", Start: start})
	a := s.Join(uuid, ana, start.Add(time.Minute))
	g := s.Join(uuid, guest, start.Add(2*time.Minute))
	s.Leave(uuid, a.UserID, start.Add(3*time.Minute), "")
	s.EndMeeting(uuid, start.Add(4*time.Minute))
	require.NoError(t, s.WaitDelivered(ctxTimeout(t), 6))

	wantEvents := []string{"meeting.started", "meeting.participant_joined", "meeting.participant_joined",
		"meeting.participant_left", "meeting.participant_left", "meeting.ended"}
	require.Equal(t, wantEvents, rc.events(), "happening order; the guest leaves when the host ends the meeting")

	deliveries := s.Deliveries()
	require.Len(t, deliveries, 6)
	requestIDs := map[string]bool{}
	for i, r := range rc.received() {
		d := deliveries[i]
		require.True(t, r.Verified, "delivery %d signature", d.ID)
		require.Equal(t, d.Body, r.Body, "exact bytes")
		require.Regexp(t, envelopeRE, string(r.Body))
		h := r.Header
		require.Equal(t, "application/json; charset=utf-8", h.Get("Content-Type"))
		require.Equal(t, "Zoom Marketplace/1.0a", h.Get("User-Agent"))
		require.Equal(t, s.Credentials().ClientID, h.Get("clientid"))
		require.Regexp(t, `^\d{10}$`, h.Get("x-zm-request-timestamp"))
		require.Regexp(t, signatureRE, h.Get("x-zm-signature"))
		require.NotEmpty(t, h.Get("x-zm-trackingid"))
		require.Regexp(t, requestIDRE, h.Get("x-zm-request-id"))
		require.Regexp(t, traceParentRE, h.Get("traceparent"))
		require.False(t, requestIDs[h.Get("x-zm-request-id")], "x-zm-request-id is unique per request")
		requestIDs[h.Get("x-zm-request-id")] = true

		require.True(t, d.Delivered)
		require.False(t, d.Dropped || d.Refused || d.GaveUp)
		require.Equal(t, 1, d.Attempts)
		require.Equal(t, 200, d.Status)
		tr := d.Tries[0]
		require.Equal(t, []string{h.Get("x-zm-request-timestamp"), h.Get("x-zm-signature"), h.Get("x-zm-request-id"), h.Get("traceparent"), h.Get("x-zm-trackingid")},
			[]string{tr.Timestamp, tr.Signature, tr.RequestID, tr.TraceParent, tr.TrackingID}, "the try records what was sent")
	}

	started := string(deliveries[0].Body)
	require.Contains(t, started, `"topic":"Ünïcode 🎉 <b>&</b>"`, "raw UTF-8, no HTML escaping")
	require.Contains(t, started, `"id":"84512093377"`, "the meeting id is a string in events")
	require.Contains(t, started, `"uuid":"/ab+cd//efGhIjKlMnOpQ=="`)
	require.Contains(t, started, `"start_time":"2024-03-05T14:02:11Z"`)
	require.Contains(t, started, `"event_ts":1709647331512}`)

	joined := string(deliveries[2].Body)
	require.Contains(t, joined, `"participant":{"user_id":"`+g.UserID+`","user_name":"Gäst 👋 <Ext> & Co","id":"","participant_uuid":"`+g.ParticipantUUID+`","join_time":"2024-03-05T14:04:11Z","email":"","registrant_id":"`+guest.RegistrantID+`"}`)
	left := string(deliveries[4].Body)
	require.Contains(t, left, `"leave_reason":"Gäst 👋 <Ext> & Co left the meeting.<br>Reason: Host ended the meeting."`)
	require.Contains(t, string(deliveries[3].Body), `"participant_user_id":"`+ana.ParticipantUserID+`"`)
	require.Contains(t, string(deliveries[5].Body), `"end_time":"2024-03-05T14:06:11Z"`)

	truth, ok := s.Truth(uuid)
	require.True(t, ok)
	require.Len(t, truth.Sessions, 2)
	require.Equal(t, start.Add(4*time.Minute).Truncate(time.Second), truth.End)
	require.Equal(t, "Gäst 👋 <Ext> & Co left the meeting.<br>Reason: Host ended the meeting.", truth.Sessions[1].LeaveReason)
}

// TestWebhookDeliveryOutcomes is Zoom's delivery matrix (§3): any 2xx in
// time delivers; a 3xx or 4xx is refused at once and never retried; a 5xx,
// a slow answer and a refused connection are retried on schedule, then given up.
func TestWebhookDeliveryOutcomes(t *testing.T) {
	t.Parallel()
	schedule := []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond}
	const timeout = 100 * time.Millisecond
	slow := func(_ int, r *http.Request) int {
		<-r.Context().Done() // never answers in time; the fake hangs up
		return http.StatusOK
	}
	tests := []struct {
		name       string
		answer     func(int, *http.Request) int // nil with closed: nothing listens
		closed     bool
		want       string // delivered, refused or gave up
		wantStatus int
	}{
		{name: "200IsDelivered", answer: status(200), want: "delivered", wantStatus: 200},
		{name: "201IsDelivered", answer: status(201), want: "delivered", wantStatus: 201},
		{name: "202IsDelivered", answer: status(202), want: "delivered", wantStatus: 202},
		{name: "204IsDelivered", answer: status(204), want: "delivered", wantStatus: 204},
		{name: "301IsRefusedAndNotFollowed", answer: status(301), want: "refused", wantStatus: 301},
		{name: "307IsRefusedAndNotFollowed", answer: status(307), want: "refused", wantStatus: 307},
		{name: "400IsRefused", answer: status(400), want: "refused", wantStatus: 400},
		{name: "401IsRefused", answer: status(401), want: "refused", wantStatus: 401},
		{name: "404IsRefused", answer: status(404), want: "refused", wantStatus: 404},
		{name: "413IsRefused", answer: status(413), want: "refused", wantStatus: 413},
		{name: "429IsRefused", answer: status(429), want: "refused", wantStatus: 429},
		{name: "500IsRetriedThenGivenUp", answer: status(500), want: "gave up", wantStatus: 500},
		{name: "502IsRetriedThenGivenUp", answer: status(502), want: "gave up", wantStatus: 502},
		{name: "503IsRetriedThenGivenUp", answer: status(503), want: "gave up", wantStatus: 503},
		{name: "ASlowAnswerIsRetriedThenGivenUp", answer: slow, want: "gave up"},
		{name: "AClosedPortIsRetriedThenGivenUp", closed: true, want: "gave up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, zoomtest.WithWebhookTimeout(timeout))
			var rc *receiver
			if tt.closed {
				s.SetWebhookTarget(closedPort(t), secretToken)
			} else {
				rc = newReceiver(t, tt.answer)
				s.SetWebhookTarget(rc.srv.URL, secretToken)
			}
			s.SetRetrySchedule(schedule...)
			s.StartMeeting(zoomtest.MeetingSpec{})
			require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))

			d := s.Deliveries()[0]
			got := map[string]bool{"delivered": d.Delivered, "dropped": d.Dropped, "refused": d.Refused, "gave up": d.GaveUp}
			require.Equal(t, map[string]bool{"delivered": false, "dropped": false, "refused": false, "gave up": false, tt.want: true}, got,
				"exactly one final state")
			require.Equal(t, tt.wantStatus, d.Status)
			wantTries := 1
			if tt.want == "gave up" {
				wantTries = 1 + len(schedule)
			}
			require.Equal(t, wantTries, d.Attempts)
			require.Len(t, d.Tries, wantTries)
			if rc != nil {
				require.Len(t, rc.received(), wantTries, "requests the receiver saw")
				for _, r := range rc.received() {
					require.Equal(t, "/", r.Path, "no redirect followed")
				}
			}
			for i, tr := range d.Tries {
				require.Equal(t, tt.wantStatus, tr.Status, "try %d", i+1)
				require.Equal(t, tt.wantStatus == 0, tr.Err != "", "try %d: an error exactly when there is no status: %q", i+1, tr.Err)
				if i > 0 {
					require.GreaterOrEqual(t, tr.At.Sub(d.Tries[i-1].At), schedule[i-1], "try %d waits its turn after the previous one", i+1)
				}
			}
			if tt.closed {
				require.Contains(t, d.Tries[0].Err, "connection refused")
			}
		})
	}
}

// status answers every request with code.
func status(code int) func(int, *http.Request) int {
	return func(int, *http.Request) int { return code }
}

func TestWebhookRetries(t *testing.T) {
	t.Parallel()

	t.Run("DeliveredByARetry", func(t *testing.T) {
		t.Parallel()
		s, rc := hooked(t, func(nth int, _ *http.Request) int {
			if nth < 3 {
				return http.StatusServiceUnavailable
			}
			return http.StatusAccepted
		})
		s.SetRetrySchedule(time.Millisecond, time.Millisecond, time.Millisecond)
		s.StartMeeting(zoomtest.MeetingSpec{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))
		d := s.Deliveries()[0]
		require.True(t, d.Delivered)
		require.Equal(t, 3, d.Attempts)
		require.Equal(t, 202, d.Status)
		require.Equal(t, []int{503, 503, 202}, []int{d.Tries[0].Status, d.Tries[1].Status, d.Tries[2].Status})
		require.Len(t, rc.received(), 3)
	})

	t.Run("GoToTheTargetOfTheirTime", func(t *testing.T) {
		t.Parallel()
		moved := newReceiver(t, nil)
		var s *zoomtest.Server
		s, old := hooked(t, func(int, *http.Request) int {
			// The receiver restarts on another port before Zoom retries.
			s.SetWebhookTarget(moved.srv.URL, secretToken)
			return http.StatusBadGateway
		})
		s.SetRetrySchedule(time.Millisecond)
		s.StartMeeting(zoomtest.MeetingSpec{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))
		d := s.Deliveries()[0]
		require.True(t, d.Delivered)
		require.Equal(t, 2, d.Attempts)
		require.Len(t, old.received(), 1)
		require.Len(t, moved.received(), 1)
		require.Equal(t, old.received()[0].Body, moved.received()[0].Body)
	})

	t.Run("ASlowAnswerFailsWithoutTheURL", func(t *testing.T) {
		t.Parallel()
		s, _ := hooked(t, func(nth int, r *http.Request) int {
			if nth == 1 {
				<-r.Context().Done()
			}
			return http.StatusOK
		}, zoomtest.WithWebhookTimeout(100*time.Millisecond))
		s.SetRetrySchedule(time.Millisecond)
		s.StartMeeting(zoomtest.MeetingSpec{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))
		d := s.Deliveries()[0]
		require.True(t, d.Delivered)
		require.Equal(t, 2, d.Attempts)
		require.Equal(t, 0, d.Tries[0].Status)
		require.NotEmpty(t, d.Tries[0].Err)
		require.NotContains(t, d.Tries[0].Err, "127.0.0.1", "no URL in errors")
	})
}

// TestRetrySigning covers both answers to the open question of §3: a retry
// signed afresh, or one repeating the first try's timestamp and signature.
func TestRetrySigning(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		mode     zoomtest.RetrySigning
		wantSame bool
	}{
		{name: "FreshTimestampByDefault", mode: -1, wantSame: false},
		{name: "FreshTimestamp", mode: zoomtest.RetryFreshTimestamp, wantSame: false},
		{name: "FirstTimestamp", mode: zoomtest.RetryFirstTimestamp, wantSame: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clk := newClock()
			start := clk.Now()
			s, rc := hooked(t, func(nth int, _ *http.Request) int {
				clk.Advance(5 * time.Minute) // Zoom's first retry comes 5 minutes later (§3)
				if nth < 3 {
					return http.StatusInternalServerError
				}
				return http.StatusOK
			}, zoomtest.WithClock(clk.Now))
			if tt.mode >= 0 {
				s.SetRetrySigning(tt.mode)
			}
			s.SetRetrySchedule(time.Millisecond, time.Millisecond, time.Millisecond)
			s.StartMeeting(zoomtest.MeetingSpec{})
			require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))

			d := s.Deliveries()[0]
			require.True(t, d.Delivered)
			got := rc.received()
			require.Len(t, got, 3)
			timestamps, signatures, requestIDs := map[string]bool{}, map[string]bool{}, map[string]bool{}
			for i, r := range got {
				h, tr := r.Header, d.Tries[i]
				require.True(t, r.Verified, "try %d verifies", i+1)
				require.Equal(t, got[0].Body, r.Body, "an identical body on every try")
				require.Equal(t, []string{tr.Timestamp, tr.Signature, tr.RequestID}, []string{h.Get("x-zm-request-timestamp"), h.Get("x-zm-signature"), h.Get("x-zm-request-id")},
					"try %d records what was sent", i+1)
				require.Equal(t, start.Add(time.Duration(i)*5*time.Minute), tr.At, "try %d is sent at its own time", i+1)
				timestamps[tr.Timestamp], signatures[tr.Signature], requestIDs[tr.RequestID] = true, true, true
			}
			require.Len(t, requestIDs, 3, "x-zm-request-id is new on every request")
			if tt.wantSame {
				require.Len(t, timestamps, 1, "every retry repeats the first timestamp")
				require.Len(t, signatures, 1, "every retry repeats the first signature")
				require.Equal(t, d.Tries[0].At.Unix(), mustAtoi(t, d.Tries[2].Timestamp), "the first try's time")
				return
			}
			require.Len(t, timestamps, 3, "every try has its own timestamp")
			require.Len(t, signatures, 3, "every try has its own signature")
			for _, tr := range d.Tries {
				require.Equal(t, tr.At.Unix(), mustAtoi(t, tr.Timestamp))
			}
		})
	}
}

// TestBodyKeyOrder covers both top-level key orders Zoom has sent (§3).
func TestBodyKeyOrder(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		order          zoomtest.BodyKeyOrder
		set            bool
		wantEvent      string
		wantValidation string
	}{
		{name: "CapturedByDefault", wantEvent: "event payload event_ts", wantValidation: "payload event_ts event"},
		{name: "Captured", order: zoomtest.CapturedKeyOrder, set: true, wantEvent: "event payload event_ts", wantValidation: "payload event_ts event"},
		{name: "Documented", order: zoomtest.DocumentedKeyOrder, set: true, wantEvent: "event event_ts payload", wantValidation: "event event_ts payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, rc := hooked(t, nil)
			if tt.set {
				s.SetBodyKeyOrder(tt.order)
			}
			require.NoError(t, s.ValidateURL(ctxTimeout(t)))
			uuid := s.StartMeeting(zoomtest.MeetingSpec{})
			p := s.Join(uuid, ana, time.Time{})
			s.Leave(uuid, p.UserID, time.Time{}, "")
			s.EndMeeting(uuid, time.Time{})
			s.CompleteRecording(uuid, time.Time{})
			wuuid := s.StartMeeting(zoomtest.MeetingSpec{Webinar: true})
			s.EndMeeting(wuuid, time.Time{})
			require.NoError(t, s.WaitDelivered(ctxTimeout(t), 7))

			for _, r := range rc.received() {
				require.True(t, r.Verified, "%s verifies", r.Event)
				order := strings.Join(topKeys(t, r.Body), " ")
				switch r.Event {
				case "endpoint.url_validation":
					require.Equal(t, tt.wantValidation, order, r.Event)
				case "recording.completed":
					require.Equal(t, "event event_ts download_token payload", order, "recording.completed keeps its documented shape (§4)")
				default:
					require.Equal(t, tt.wantEvent, order, r.Event)
				}
			}
			require.Len(t, rc.received(), 8)
		})
	}
}

// topKeys lists a JSON object's top-level keys in order.
func topKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	require.NoError(t, err)
	require.Equal(t, json.Delim('{'), tok)
	var out []string
	for dec.More() {
		k, err := dec.Token()
		require.NoError(t, err)
		out = append(out, k.(string))
		var skip json.RawMessage
		require.NoError(t, dec.Decode(&skip))
	}
	return out
}

func mustAtoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return n
}

func TestWebhookRules(t *testing.T) {
	t.Parallel()

	t.Run("DropNthNeverSendsIt", func(t *testing.T) {
		t.Parallel()
		s, rc := hooked(t, nil)
		s.AddRule(zoomtest.DropNth("meeting.participant_joined", 2))
		uuid := s.StartMeeting(zoomtest.MeetingSpec{})
		s.Join(uuid, ana, time.Time{})
		s.Join(uuid, guest, time.Time{})
		s.EndMeeting(uuid, time.Time{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 6))
		require.Equal(t, []string{"meeting.started", "meeting.participant_joined", "meeting.participant_left",
			"meeting.participant_left", "meeting.ended"}, rc.events())
		d := s.Deliveries()[2]
		require.True(t, d.Dropped)
		require.Equal(t, "rule", d.Reason)
		require.Equal(t, 0, d.Attempts)
	})

	t.Run("DuplicateSendsTheSameBytesTwice", func(t *testing.T) {
		t.Parallel()
		s, rc := hooked(t, nil)
		s.AddRule(zoomtest.ForEvent("meeting.started", zoomtest.Action{Duplicate: true}))
		s.StartMeeting(zoomtest.MeetingSpec{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 2))
		got := rc.received()
		require.Len(t, got, 2)
		require.Equal(t, got[0].Body, got[1].Body)
		require.NotEqual(t, got[0].Header.Get("x-zm-request-id"), got[1].Header.Get("x-zm-request-id"))
		ds := s.Deliveries()
		require.Equal(t, ds[0].ID, ds[1].DuplicateOf)
		require.True(t, ds[0].Delivered && ds[1].Delivered)
	})

	t.Run("NumericIDSendsANumber", func(t *testing.T) {
		t.Parallel()
		s, _ := hooked(t, nil)
		s.AddRule(zoomtest.ForEvent("meeting.ended", zoomtest.Action{NumericID: true}))
		uuid := s.StartMeeting(zoomtest.MeetingSpec{ID: 91234567890})
		s.EndMeeting(uuid, time.Time{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 2))
		ds := s.Deliveries()
		require.Contains(t, string(ds[0].Body), `"id":"91234567890"`)
		require.Contains(t, string(ds[1].Body), `"id":91234567890,`)
	})

	t.Run("DelayLetsLaterHappeningsOvertake", func(t *testing.T) {
		t.Parallel()
		s, rc := hooked(t, nil)
		s.AddRule(zoomtest.ForEvent("meeting.participant_joined", zoomtest.Action{Delay: 250 * time.Millisecond}))
		uuid := s.StartMeeting(zoomtest.MeetingSpec{})
		p := s.Join(uuid, ana, time.Time{})
		s.Leave(uuid, p.UserID, time.Time{}, "")
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 3))
		require.Equal(t, []string{"meeting.started", "meeting.participant_left", "meeting.participant_joined"}, rc.events(),
			"a left before its joined, as §3 reports")
	})

	t.Run("StopWebhooksDropsWhatHappensMeanwhile", func(t *testing.T) {
		t.Parallel()
		s, rc := hooked(t, nil)
		uuid := s.StartMeeting(zoomtest.MeetingSpec{})
		s.StopWebhooks()
		p := s.Join(uuid, ana, time.Time{})
		s.Leave(uuid, p.UserID, time.Time{}, "")
		s.ResumeWebhooks()
		s.EndMeeting(uuid, time.Time{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 4))
		require.Equal(t, []string{"meeting.started", "meeting.ended"}, rc.events())
		require.Equal(t, "stopped", s.Deliveries()[1].Reason)
	})

	t.Run("ClearRulesRemovesThem", func(t *testing.T) {
		t.Parallel()
		s, rc := hooked(t, nil)
		s.AddRule(zoomtest.DropNth("meeting.started", 0))
		s.ClearRules()
		s.StartMeeting(zoomtest.MeetingSpec{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))
		require.Equal(t, []string{"meeting.started"}, rc.events())
	})
}

func TestWebhooksWithoutTargetAreDropped(t *testing.T) {
	t.Parallel()
	s := newServer(t)
	s.StartMeeting(zoomtest.MeetingSpec{})
	require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))
	d := s.Deliveries()[0]
	require.True(t, d.Dropped)
	require.Equal(t, "no target", d.Reason)
}

func TestValidateURL(t *testing.T) {
	t.Parallel()

	t.Run("PassesWithTheRightAnswer", func(t *testing.T) {
		t.Parallel()
		s, rc := hooked(t, nil)
		require.NoError(t, s.ValidateURL(ctxTimeout(t)))
		got := rc.received()
		require.Len(t, got, 1)
		require.True(t, got[0].Verified, "the validation request is signed")
		require.Regexp(t, `^\{"payload":\{"plainToken":"[A-Za-z0-9_-]{22}"\},"event_ts":\d{13},"event":"endpoint.url_validation"\}$`, string(got[0].Body))
		require.Regexp(t, requestIDRE, got[0].Header.Get("x-zm-request-id"))
		require.Regexp(t, traceParentRE, got[0].Header.Get("traceparent"))
		require.Equal(t, "Zoom Marketplace/1.0a", got[0].Header.Get("User-Agent"))
		require.Empty(t, s.Deliveries(), "validations are not deliveries")
		v := s.Validations()
		require.Len(t, v, 1)
		require.Equal(t, zoomtest.Validation{At: v[0].At, Periodic: false, Status: 200, OK: true}, v[0])
	})

	tests := []struct {
		name    string
		handler http.HandlerFunc
		timeout time.Duration
		wantErr string
		status  int
	}{
		{name: "FailsWithAnotherSecret", wantErr: "answered 401", status: 401,
			handler: func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				if !verify("someone else's", r.Header.Get("x-zm-request-timestamp"), r.Header.Get("x-zm-signature"), body) {
					w.WriteHeader(http.StatusUnauthorized)
				}
			}},
		{name: "FailsWithAWrongToken", wantErr: "wrong encryptedToken", status: 200,
			handler: func(w http.ResponseWriter, r *http.Request) {
				body, _ := io.ReadAll(r.Body)
				plain := regexp.MustCompile(`"plainToken":"([^"]+)"`).FindSubmatch(body)[1]
				_ = json.NewEncoder(w).Encode(map[string]string{"plainToken": string(plain), "encryptedToken": strings.Repeat("0", 64)})
			}},
		{name: "FailsWithAnotherPlainToken", wantErr: "plainToken differs", status: 200,
			handler: func(w http.ResponseWriter, _ *http.Request) {
				_ = json.NewEncoder(w).Encode(map[string]string{"plainToken": vectorPlain, "encryptedToken": vectorEncrypted})
			}},
		{name: "FailsWithARedirect", wantErr: "answered 308", status: 308,
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "/elsewhere", http.StatusPermanentRedirect)
			}},
		{name: "FailsWhenTooSlow", wantErr: "deadline exceeded", timeout: 50 * time.Millisecond,
			handler: func(_ http.ResponseWriter, r *http.Request) {
				_, _ = io.ReadAll(r.Body) // the server notices a hang-up only after the body
				<-r.Context().Done()
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tt.handler)
			t.Cleanup(srv.Close)
			var opts []zoomtest.Option
			if tt.timeout > 0 {
				opts = append(opts, zoomtest.WithWebhookTimeout(tt.timeout))
			}
			s := newServer(t, opts...)
			s.SetWebhookTarget(srv.URL, secretToken)
			require.ErrorContains(t, s.ValidateURL(ctxTimeout(t)), tt.wantErr)
			v := s.Validations()
			require.Len(t, v, 1)
			require.False(t, v[0].OK)
			require.Equal(t, tt.status, v[0].Status)
			require.Contains(t, v[0].Err, tt.wantErr)
		})
	}

	t.Run("FailsWithoutATarget", func(t *testing.T) {
		t.Parallel()
		s := newServer(t)
		require.ErrorContains(t, s.ValidateURL(ctxTimeout(t)), "no webhook target")
		require.Empty(t, s.Validations(), "nothing was sent")
	})
}

// TestURLRevalidation covers §2: revalidation every 72 hours once the
// endpoint is saved; six failures in a row disable the event subscription
// until the endpoint is validated and saved again.
func TestURLRevalidation(t *testing.T) {
	t.Parallel()

	t.Run("RevalidatesOnScheduleAfterTheFirstValidation", func(t *testing.T) {
		t.Parallel()
		s, rc := hooked(t, nil)
		s.SetRevalidationInterval(10 * time.Millisecond)
		// Happenings before the endpoint is saved send no validation.
		s.StartMeeting(zoomtest.MeetingSpec{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))
		require.Empty(t, s.Validations())

		require.NoError(t, s.ValidateURL(ctxTimeout(t)))
		require.NoError(t, s.WaitValidations(ctxTimeout(t), 4))
		v := s.Validations()
		require.False(t, v[0].Periodic)
		for i, x := range v[1:4] {
			require.True(t, x.Periodic, "validation %d", i+2)
			require.True(t, x.OK, "validation %d: %s", i+2, x.Err)
		}
		var validations int
		for _, r := range rc.received() {
			if r.Event == "endpoint.url_validation" {
				require.True(t, r.Verified)
				validations++
			}
		}
		require.GreaterOrEqual(t, validations, 4)
	})

	t.Run("SixFailuresInARowDisableTheSubscription", func(t *testing.T) {
		t.Parallel()
		var failing atomic.Bool
		// Failing revalidations fail in turn with a 5xx, a slow answer, a 404
		// and a 503.
		s, rc := hooked(t, func(nth int, r *http.Request) int {
			if !failing.Load() {
				return http.StatusOK
			}
			switch nth % 4 {
			case 0:
				return http.StatusInternalServerError
			case 1:
				<-r.Context().Done()
				return http.StatusOK
			case 2:
				return http.StatusNotFound
			}
			return http.StatusServiceUnavailable
		}, zoomtest.WithWebhookTimeout(100*time.Millisecond))

		require.NoError(t, s.ValidateURL(ctxTimeout(t)))
		failing.Store(true)
		for i := range 5 {
			require.Error(t, s.Revalidate(ctxTimeout(t)), "revalidation %d", i+1)
			require.False(t, s.SubscriptionDisabled(), "after %d failures", i+1)
		}
		// A good revalidation resets the count.
		failing.Store(false)
		require.NoError(t, s.Revalidate(ctxTimeout(t)))
		failing.Store(true)
		// A failed ValidateURL does not count: it is a save that did not happen.
		require.Error(t, s.ValidateURL(ctxTimeout(t)))
		// Revalidations signed with a Secret Token the receiver does not
		// know fail too, as after a rotation our config missed.
		failing.Store(false)
		s.SetWebhookTarget(rc.srv.URL, "rotated")
		for i := range 6 {
			require.False(t, s.SubscriptionDisabled(), "after %d failures", i)
			require.Error(t, s.Revalidate(ctxTimeout(t)), "revalidation %d", i+1)
		}
		require.True(t, s.SubscriptionDisabled())
		v := s.Validations()
		require.Len(t, v, 1+5+1+1+6)
		for _, x := range v[len(v)-6:] {
			require.True(t, x.Periodic)
			require.False(t, x.OK)
			require.Equal(t, http.StatusUnauthorized, x.Status, "signed with a secret the receiver does not know")
		}

		// Disabled: happenings are dropped and revalidation stops.
		s.SetRevalidationInterval(time.Millisecond)
		s.StartMeeting(zoomtest.MeetingSpec{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))
		d := s.Deliveries()[0]
		require.True(t, d.Dropped)
		require.Equal(t, "disabled", d.Reason)
		require.ErrorContains(t, s.Revalidate(ctxTimeout(t)), "disabled")
		require.Len(t, s.Validations(), len(v), "nothing sent while disabled")

		// A failed ValidateURL leaves it disabled; a successful one enables
		// it again, and delivery and revalidation resume.
		require.Error(t, s.ValidateURL(ctxTimeout(t)))
		require.True(t, s.SubscriptionDisabled())
		s.SetWebhookTarget(rc.srv.URL, secretToken)
		require.NoError(t, s.ValidateURL(ctxTimeout(t)))
		require.False(t, s.SubscriptionDisabled())
		s.StartMeeting(zoomtest.MeetingSpec{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 2))
		require.True(t, s.Deliveries()[1].Delivered)
		require.NoError(t, s.WaitValidations(ctxTimeout(t), len(v)+3))
		next := s.Validations()[len(v)+2]
		require.True(t, next.Periodic && next.OK, "the timer runs again: %+v", next)
	})

	t.Run("TimerDisablesTheSubscriptionToo", func(t *testing.T) {
		t.Parallel()
		var mu sync.Mutex
		failing := false
		s, _ := hooked(t, func(int, *http.Request) int {
			mu.Lock()
			defer mu.Unlock()
			if failing {
				return http.StatusBadGateway
			}
			return http.StatusOK
		})
		require.NoError(t, s.ValidateURL(ctxTimeout(t)))
		mu.Lock()
		failing = true
		mu.Unlock()
		s.SetRevalidationInterval(time.Millisecond)
		waitFor(t, "the subscription to be disabled", s.SubscriptionDisabled)
		v := s.Validations()
		require.Len(t, v, 7, "the first validation and six failed revalidations")
		for _, x := range v[1:] {
			require.True(t, x.Periodic)
			require.Equal(t, http.StatusBadGateway, x.Status)
		}
	})

	t.Run("ARetryDueWhileDisabledIsDropped", func(t *testing.T) {
		t.Parallel()
		var (
			s    *zoomtest.Server
			errs = make(chan error, 6)
		)
		ctx := ctxTimeout(t)
		s, _ = hooked(t, func(nth int, _ *http.Request) int {
			switch nth {
			case 1: // ValidateURL
				return http.StatusOK
			case 2: // the delivery's first try: the subscription is disabled meanwhile
				for range 6 {
					errs <- s.Revalidate(ctx)
				}
			}
			return http.StatusInternalServerError
		})
		s.SetRetrySchedule(time.Millisecond)
		require.NoError(t, s.ValidateURL(ctx))
		s.StartMeeting(zoomtest.MeetingSpec{})
		require.NoError(t, s.WaitDelivered(ctx, 1))
		for range 6 {
			require.Error(t, <-errs)
		}
		require.True(t, s.SubscriptionDisabled())
		d := s.Deliveries()[0]
		require.True(t, d.Dropped)
		require.Equal(t, "disabled", d.Reason)
		require.Equal(t, 1, d.Attempts, "the retry was never sent")
	})
}

func TestWebinarAndRecordingEvents(t *testing.T) {
	t.Parallel()
	s, rc := hooked(t, nil)
	uuid := s.StartMeeting(zoomtest.MeetingSpec{ID: 95551234567, Webinar: true, Topic: "Quarterly webinar"})
	p := s.Join(uuid, guest, time.Time{})
	s.Leave(uuid, p.UserID, time.Time{}, "")
	s.EndMeeting(uuid, time.Time{})
	s.CompleteRecording(uuid, time.Time{})
	require.NoError(t, s.WaitDelivered(ctxTimeout(t), 5))
	require.Equal(t, []string{"webinar.started", "webinar.participant_joined", "webinar.participant_left",
		"webinar.ended", "recording.completed"}, rc.events())
	ds := s.Deliveries()
	require.Contains(t, string(ds[1].Body), `"type":5,`)
	require.Contains(t, string(ds[2].Body), `left the webinar.<br>Reason: left the meeting"`)
	require.Contains(t, string(ds[3].Body), `"practice_session":false}`)
	rec := ds[4].Body
	require.True(t, bytes.HasPrefix(rec, []byte(`{"event":"recording.completed","event_ts":`)))
	require.Contains(t, string(rec), `"download_token":"`)
	require.Contains(t, string(rec), `"id":95551234567,`)
}

func TestCloseStopsPendingDeliveries(t *testing.T) {
	t.Parallel()
	s, _ := hooked(t, func(int, *http.Request) int { return http.StatusInternalServerError })
	s.StartMeeting(zoomtest.MeetingSpec{}) // default schedule: the retry waits 5 minutes
	waitFor(t, "the first try", func() bool { return s.Deliveries()[0].Attempts == 1 })
	s.Close()
	require.ErrorContains(t, s.WaitDelivered(ctxTimeout(t), 1), "closed")
	require.ErrorContains(t, s.WaitValidations(ctxTimeout(t), 1), "closed")
	require.ErrorContains(t, s.ValidateURL(ctxTimeout(t)), "closed")
}
