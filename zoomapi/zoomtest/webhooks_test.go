package zoomtest_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/webhook"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

const secretToken = "exampleSecretToken123"

// received is one request a receiver got.
type received struct {
	Header   http.Header
	Body     []byte
	Verified bool
	Event    string
}

// receiver is an httptest webhook endpoint that checks Zoom's signature
// with the webhook package and answers as answer says.
type receiver struct {
	srv    *httptest.Server
	secret string
	// answer chooses the status for the nth request (from 1); nil answers 200.
	answer func(nth int, r *http.Request) int

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
	body, _ := io.ReadAll(r.Body)
	verified := webhook.VerifySignature([]string{rc.secret}, r.Header.Get(webhook.HeaderTimestamp), r.Header.Get(webhook.HeaderSignature), body) == 0
	var env struct {
		Event   string `json:"event"`
		Payload struct {
			PlainToken string `json:"plainToken"`
		} `json:"payload"`
	}
	_ = json.Unmarshal(body, &env)
	rc.mu.Lock()
	rc.got = append(rc.got, received{Header: r.Header.Clone(), Body: body, Verified: verified, Event: env.Event})
	nth := len(rc.got)
	rc.mu.Unlock()

	status := http.StatusOK
	if rc.answer != nil {
		status = rc.answer(nth, r)
	}
	if !verified {
		status = http.StatusUnauthorized
	}
	if status == http.StatusOK && env.Event == "endpoint.url_validation" {
		mac := hmac.New(sha256.New, []byte(rc.secret))
		mac.Write([]byte(env.Payload.PlainToken))
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"plainToken": env.Payload.PlainToken, "encryptedToken": hex.EncodeToString(mac.Sum(nil))})
		return
	}
	w.WriteHeader(status)
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

var envelopeRE = regexp.MustCompile(`^\{"event":"[a-z_.]+","payload":\{"account_id":"[A-Za-z0-9]{22}","object":\{.*\}\},"event_ts":\d{13}\}$`)

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
	for i, r := range rc.received() {
		d := deliveries[i]
		require.True(t, r.Verified, "delivery %d signature", d.ID)
		require.Equal(t, d.Body, r.Body, "exact bytes")
		require.Regexp(t, envelopeRE, string(r.Body))
		require.Equal(t, "application/json; charset=utf-8", r.Header.Get("Content-Type"))
		require.Equal(t, "Zoom Marketplace/1.0a", r.Header.Get("User-Agent"))
		require.Equal(t, s.Credentials().ClientID, r.Header.Get("clientid"))
		require.Regexp(t, `^\d{10}$`, r.Header.Get(webhook.HeaderTimestamp))
		require.NotEmpty(t, r.Header.Get("x-zm-trackingid"))
		require.True(t, d.Delivered)
		require.Equal(t, 1, d.Attempts)
		require.Equal(t, 200, d.Status)
		require.Equal(t, r.Header.Get(webhook.HeaderTimestamp), d.Tries[0].Timestamp)
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

func TestWebhookRetries(t *testing.T) {
	t.Parallel()

	t.Run("RetriesAfterAServerErrorWithAFreshSignature", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		s, rc := hooked(t, func(nth int, _ *http.Request) int {
			clk.Advance(5 * time.Minute) // Zoom's first retry comes 5 minutes later (§3)
			if nth < 3 {
				return http.StatusInternalServerError
			}
			return http.StatusNoContent
		}, zoomtest.WithClock(clk.Now))
		s.SetRetrySchedule(time.Millisecond, time.Millisecond, time.Millisecond)
		s.StartMeeting(zoomtest.MeetingSpec{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))

		d := s.Deliveries()[0]
		require.True(t, d.Delivered)
		require.Equal(t, 3, d.Attempts)
		require.Equal(t, 204, d.Status)
		got := rc.received()
		require.Len(t, got, 3)
		seen := map[string]bool{}
		for i, r := range got {
			require.True(t, r.Verified)
			require.Equal(t, got[0].Body, r.Body, "an identical body on every try")
			sig := r.Header.Get(webhook.HeaderSignature)
			require.False(t, seen[sig], "try %d reuses a signature", i+1)
			seen[sig] = true
			require.Equal(t, d.Tries[i].Signature, sig)
		}
		require.Equal(t, []int{500, 500, 204}, []int{d.Tries[0].Status, d.Tries[1].Status, d.Tries[2].Status})
	})

	t.Run("GivesUpAfterTheLastRetry", func(t *testing.T) {
		t.Parallel()
		s, rc := hooked(t, func(int, *http.Request) int { return http.StatusServiceUnavailable })
		s.SetRetrySchedule(time.Millisecond, 2*time.Millisecond, 3*time.Millisecond)
		s.StartMeeting(zoomtest.MeetingSpec{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))
		d := s.Deliveries()[0]
		require.True(t, d.GaveUp)
		require.False(t, d.Delivered)
		require.Equal(t, 4, d.Attempts, "the first try and three retries")
		require.Len(t, rc.received(), 4)
	})

	t.Run("OnlyTwoHundredAndTwoOhFourCount", func(t *testing.T) {
		t.Parallel()
		s, _ := hooked(t, func(nth int, _ *http.Request) int {
			if nth == 1 {
				return http.StatusAccepted
			}
			return http.StatusOK
		})
		s.SetRetrySchedule(time.Millisecond)
		s.StartMeeting(zoomtest.MeetingSpec{})
		require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))
		require.Equal(t, 2, s.Deliveries()[0].Attempts)
	})

	t.Run("ASlowAnswerIsAFailure", func(t *testing.T) {
		t.Parallel()
		s, _ := hooked(t, func(nth int, r *http.Request) int {
			if nth == 1 {
				<-r.Context().Done() // never answers in time; the fake hangs up
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
		require.Empty(t, s.Deliveries(), "validations are not deliveries")
	})

	t.Run("FailsWithAnotherSecret", func(t *testing.T) {
		t.Parallel()
		rc := newReceiver(t, nil)
		rc.secret = "someone else's"
		s := newServer(t)
		s.SetWebhookTarget(rc.srv.URL, secretToken)
		require.ErrorContains(t, s.ValidateURL(ctxTimeout(t)), "answered 401")
	})

	t.Run("FailsWithAWrongToken", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			plain := regexp.MustCompile(`"plainToken":"([^"]+)"`).FindSubmatch(body)[1]
			_ = json.NewEncoder(w).Encode(map[string]string{"plainToken": string(plain), "encryptedToken": strings.Repeat("0", 64)})
		}))
		t.Cleanup(srv.Close)
		s := newServer(t)
		s.SetWebhookTarget(srv.URL, secretToken)
		require.ErrorContains(t, s.ValidateURL(ctxTimeout(t)), "wrong encryptedToken")
	})

	t.Run("FailsWhenTooSlow", func(t *testing.T) {
		t.Parallel()
		s, _ := hooked(t, func(_ int, r *http.Request) int {
			<-r.Context().Done()
			return http.StatusOK
		}, zoomtest.WithWebhookTimeout(50*time.Millisecond))
		require.Error(t, s.ValidateURL(ctxTimeout(t)))
	})

	t.Run("FailsWithoutATarget", func(t *testing.T) {
		t.Parallel()
		require.Error(t, newServer(t).ValidateURL(ctxTimeout(t)))
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
}
