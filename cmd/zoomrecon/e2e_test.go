package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// TestEndToEnd runs zoomrecon serve as a user runs it, against the fake Zoom
// sending real signed webhooks, in compressed real time: meetings a moment
// long, grace and intervals in seconds. Chosen webhooks are lost; each loss
// must be detected exactly once, no meeting whose webhooks all arrived may be
// reported, and the backfilled state must equal Zoom's truth, through 500s
// and 429s from Zoom.
func TestEndToEnd(t *testing.T) {
	endToEnd(t, runEndToEnd)
}

// endToEnd runs run, an end-to-end test that starts serve as child
// processes, on every backend, in parallel; -short skips it.
func endToEnd(t *testing.T, run func(t *testing.T, dbURL string)) {
	t.Helper()
	t.Parallel()
	if testing.Short() {
		t.Skip("starts child processes and runs for several seconds")
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			run(t, b.URL(t))
		})
	}
}

// e2eMeeting is one meeting of the scenario and what its webhooks lose.
type e2eMeeting struct {
	topic string
	uuid  string
	// drop says whether the fake Zoom loses a delivery of this meeting.
	drop func(event string, body []byte) bool
}

func runEndToEnd(t *testing.T, dbURL string) {
	ctx := context.Background()
	zoom := zoomtest.New()
	t.Cleanup(zoom.Close)
	zoom.SetRetrySchedule(200*time.Millisecond, 400*time.Millisecond, 800*time.Millisecond)
	// Zoom misbehaves too: the pass must get through these.
	zoom.Inject(zoomtest.Fault{Path: "/past_meetings/{meetingId}", Times: 2, Status: 500})
	zoom.Inject(zoomtest.Fault{Path: "/report/meetings/{meetingId}/participants", Times: 1, Status: 502, Body: "<html>bad gateway</html>"})
	zoom.Inject(zoomtest.QPSFault("/metrics/meetings", 1))

	slack := newFakeSlack(t)
	creds := zoom.Credentials()
	d := startDaemon(t, dbURL,
		"SLACK_BOT_TOKEN=xoxb-e2e-secret-token", "SLACK_CHANNEL=C0E2E", "SLACK_API_URL="+slack.URL+"/api/",
		"ZOOM_ACCOUNT_ID="+creds.AccountID, "ZOOM_CLIENT_ID="+creds.ClientID, "ZOOM_CLIENT_SECRET="+creds.ClientSecret,
		"ZOOM_API_BASE_URL="+zoom.APIURL(), "ZOOM_OAUTH_TOKEN_URL="+zoom.TokenURL(),
		"ZOOMRECON_RECONCILE_INTERVAL=1s", "ZOOMRECON_MISSED_GRACE=2s",
		"ZOOMRECON_STALE_AFTER=6s", "ZOOMRECON_SILENCE_AFTER=4s", "ZOOMRECON_RECONCILE_LOOKBACK=1h",
		// Zoom's minute, compressed like the rest.
		"ZOOM_RESOURCE_INTENSIVE_PER_MINUTE=6000", "ZOOM_MINUTE_LIMIT_WAIT=200ms",
	)
	zoom.SetWebhookTarget(d.baseURL+"/webhooks/zoom", crashSecret)
	require.NoError(t, zoom.ValidateURL(ctx), "Zoom's URL validation")
	st := storetest.Open(t, dbURL)

	is := func(uuid string, event string, userID string) func(string, []byte) bool {
		return func(e string, body []byte) bool {
			return (event == "" || e == event) && bytes.Contains(body, jsonString(uuid)) &&
				(userID == "" || bytes.Contains(body, []byte(`"user_id":"`+userID+`"`)))
		}
	}
	meetings := []*e2eMeeting{
		{topic: "All delivered", uuid: "e2eAllDelivered00000A=="},
		{topic: "Ended lost", uuid: "/e2e//EndedLost0000A=="}, // must be encoded twice on the REST path
		{topic: "Left lost", uuid: "e2eLeftLost00000000A=="},
		{topic: "Join lost", uuid: "e2eJoinLost00000000A=="},
		{topic: "Never delivered", uuid: "e2eNeverDelivered00A=="},
		{topic: "Runs too long", uuid: "e2eRunsTooLong00000A=="},
		{topic: "Ran while Zoom was silent", uuid: "e2eSilentZoom000000A=="},
	}
	byTopic := map[string]*e2eMeeting{}
	for _, m := range meetings {
		byTopic[m.topic] = m
	}
	byTopic["Ended lost"].drop = is(byTopic["Ended lost"].uuid, "meeting.ended", "")
	byTopic["Left lost"].drop = is(byTopic["Left lost"].uuid, "meeting.participant_left", "101")
	byTopic["Join lost"].drop = is(byTopic["Join lost"].uuid, "meeting.participant_joined", "102")
	byTopic["Never delivered"].drop = is(byTopic["Never delivered"].uuid, "", "")
	zoom.AddRule(func(event string, body []byte, _ int) zoomtest.Action {
		for _, m := range meetings {
			if m.drop != nil && m.drop(event, body) {
				return zoomtest.Action{Drop: true}
			}
		}
		return zoomtest.Action{}
	})

	play := func(m *e2eMeeting, end bool) {
		uuid := zoom.StartMeeting(zoomtest.MeetingSpec{UUID: m.uuid, Topic: m.topic, HostID: "hostE2E"})
		ann := zoom.Join(uuid, zoomtest.Person{UserID: "101", Name: "Ann Lee", Email: "ann@example.org"}, time.Time{})
		zoom.Join(uuid, zoomtest.Person{UserID: "102", Name: "Bob Roe"}, time.Time{})
		zoom.Leave(uuid, ann.UserID, time.Time{}, "")
		if end {
			zoom.EndMeeting(uuid, time.Time{})
		}
	}
	for _, m := range meetings[:5] {
		play(m, true)
	}
	play(byTopic["Runs too long"], false)
	waitCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	require.NoError(t, zoom.WaitDelivered(waitCtx, len(zoom.Deliveries())))

	// Zoom goes quiet while a meeting runs.
	zoom.StopWebhooks()
	play(byTopic["Ran while Zoom was silent"], true)

	want := []string{
		"missed_meeting_ended Ended lost ",
		"missed_participant_left Left lost Ann Lee <ann@example.org>",
		"missed_participant_joined Join lost Bob Roe",
		"missed_meeting_started Never delivered ",
		"stale_meeting Runs too long ",
		"missed_meeting_started Ran while Zoom was silent ",
		"webhook_silence  ",
	}
	found := func() []string {
		ds, err := st.DiscrepanciesSince(ctx, time.Now().Add(-time.Hour))
		require.NoError(t, err)
		var out []string
		for _, d := range ds {
			who := ""
			if d.Subject != "" && d.Kind != store.KindWebhookSilence {
				who = participantText(d.ParticipantName, d.ParticipantEmail, d.Subject)
			}
			out = append(out, fmt.Sprintf("%s %s %s", d.Kind, d.Topic, who))
		}
		sort.Strings(out)
		return out
	}
	sort.Strings(want)
	seen := &lastSeen{}
	require.Eventually(t, func() bool { return slices.Equal(seen.set(found()), want) }, 60*time.Second, 50*time.Millisecond,
		"discrepancies: last seen %v, want %q", seen, want)

	// The support team hears of it on Slack.
	require.Eventually(t, func() bool {
		return slack.posted("Zoom never sent meeting.ended") && slack.posted("Runs too long")
	}, 60*time.Second, 50*time.Millisecond, "alerts reach Slack: %q", slack.texts())

	// Webhooks flow again and the long meeting ends: the silence and the
	// stale meeting resolve.
	zoom.ResumeWebhooks()
	zoom.EndMeeting(byTopic["Runs too long"].uuid, time.Time{})
	require.Eventually(t, func() bool {
		open, err := st.OpenDiscrepancies(ctx)
		require.NoError(t, err)
		for _, d := range open {
			if d.Kind == store.KindWebhookSilence || d.Kind == store.KindStaleMeeting {
				return false
			}
		}
		return true
	}, 30*time.Second, 50*time.Millisecond, "silence and stale meeting resolve once events flow")

	require.Eventually(t, func() bool { return slack.updates() > 0 }, 60*time.Second, 50*time.Millisecond,
		"a resolved discrepancy's message is edited in place")

	// Two more whole passes find nothing new, and every meeting's state is
	// Zoom's truth.
	runs := func() int64 {
		var n int64
		require.NoError(t, st.DB().GetContext(ctx, &n, `SELECT COUNT(*) FROM reconcile_runs WHERE finished_at IS NOT NULL`))
		return n
	}
	after := runs()
	require.Eventually(t, func() bool { return runs() >= after+3 }, 30*time.Second, 50*time.Millisecond)
	require.Equal(t, want, found(), "each loss detected exactly once")
	for _, m := range meetings {
		requireStateIsTruth(t, st, zoom, m)
	}
	var alerts int
	require.NoError(t, st.DB().GetContext(ctx, &alerts, `SELECT COUNT(*) FROM alert_outbox`))
	require.GreaterOrEqual(t, alerts, len(want), "an alert is queued with each discrepancy")

	// No secret in the logs or the metrics.
	_, metrics := get(t, d.baseURL+"/metrics")
	d.mu.Lock()
	logs := strings.Join(d.logs, "\n")
	d.mu.Unlock()
	require.Contains(t, metrics, "zoomrecon_alerts_")
	for _, secret := range []string{"xoxb-e2e-secret-token", creds.ClientSecret, crashSecret} {
		require.NotContains(t, logs, secret)
		require.NotContains(t, metrics, secret)
	}

	// The operator's view agrees.
	var out, errOut bytes.Buffer
	e := newEnv()
	e.stdout, e.stderr, e.stderrIsTerminal = &out, &errOut, false
	e.lookupEnv = func(k string) (string, bool) {
		if k == "ZOOMRECON_DATABASE_URL" {
			return dbURL, true
		}
		return "", false
	}
	require.Equal(t, 0, run(ctx, []string{"status", "--since", "1h", "--output", "json"}, e), errOut.String())
	var status struct {
		Discrepancies []struct {
			Kind       string     `json:"kind"`
			ResolvedAt *time.Time `json:"resolved_at"`
		} `json:"discrepancies"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &status))
	require.Len(t, status.Discrepancies, len(want))
}

// requireStateIsTruth compares a meeting's stored state with the fake's truth.
func requireStateIsTruth(t *testing.T, st *store.Store, zoom *zoomtest.Server, m *e2eMeeting) {
	t.Helper()
	truth, ok := zoom.Truth(m.uuid)
	require.True(t, ok, m.topic)
	got, err := st.Meeting(context.Background(), m.uuid)
	require.NoError(t, err, m.topic)
	require.Equal(t, store.StatusEnded, got.Status, m.topic)
	require.True(t, truth.End.Equal(*got.EndTime), "%s: end %v, want %v", m.topic, got.EndTime, truth.End)
	require.True(t, truth.Start.Equal(*got.StartTime), "%s: start %v, want %v", m.topic, got.StartTime, truth.Start)
	sessions, err := st.Sessions(context.Background(), m.uuid)
	require.NoError(t, err)
	want := map[string]string{}
	for _, s := range truth.Sessions {
		if s.Status == zoomtest.StatusInWaitingRoom {
			continue // waiting is no attendance (§10)
		}
		want["uid:"+s.Person.UserID] = fmt.Sprint(s.JoinTime.UTC(), " ", s.LeaveTime.UTC())
	}
	have := map[string]string{}
	for _, s := range sessions {
		require.NotNil(t, s.JoinTime, "%s: %s has no join", m.topic, s.ParticipantKey)
		require.NotNil(t, s.LeaveTime, "%s: %s has no leave", m.topic, s.ParticipantKey)
		have[s.ParticipantKey] = fmt.Sprint(s.JoinTime.UTC(), " ", s.LeaveTime.UTC())
	}
	require.Equal(t, want, have, m.topic)
}

func jsonString(s string) []byte {
	b, _ := json.Marshal(s)
	return b
}

// fakeSlack answers chat.postMessage and chat.update like Slack's Web API and
// records what it was sent.
type fakeSlack struct {
	*httptest.Server
	mu      sync.Mutex
	msgs    []string
	edits   int
	edited  []string // the texts of the edits
	counter int
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		if r.Form.Get("token") != "xoxb-e2e-secret-token" && r.Header.Get("Authorization") != "Bearer xoxb-e2e-secret-token" {
			_, _ = w.Write([]byte(`{"ok":false,"error":"invalid_auth"}`))
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "/chat.postMessage"):
			f.counter++
			f.msgs = append(f.msgs, r.Form.Get("text"))
			fmt.Fprintf(w, `{"ok":true,"channel":"C0E2E","ts":"1700000000.%06d"}`, f.counter)
		case strings.HasSuffix(r.URL.Path, "/chat.update"):
			f.edits++
			f.edited = append(f.edited, r.Form.Get("text"))
			fmt.Fprintf(w, `{"ok":true,"channel":"C0E2E","ts":%q}`, r.Form.Get("ts"))
		default:
			_, _ = w.Write([]byte(`{"ok":false,"error":"unknown_method"}`))
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeSlack) texts() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.msgs)
}

func (f *fakeSlack) posted(sub string) bool {
	return slices.ContainsFunc(f.texts(), func(s string) bool { return strings.Contains(s, sub) })
}

// editedTo says whether an edit of a message changed it to a text with sub.
func (f *fakeSlack) editedTo(sub string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.ContainsFunc(f.edited, func(s string) bool { return strings.Contains(s, sub) })
}

func (f *fakeSlack) updates() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.edits
}

// lastSeen keeps the last value a polled condition saw, so that a failure
// message shows it rather than the value when the wait began.
type lastSeen struct {
	mu sync.Mutex
	v  []string
}

func (l *lastSeen) set(v []string) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.v = v
	return v
}

func (l *lastSeen) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%q", l.v)
}
