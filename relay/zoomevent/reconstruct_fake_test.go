package zoomevent_test

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/relay/zoomevent"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// receiver is an httptest webhook endpoint that keeps every body whose
// signature checks out (§2), in arrival order.
type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	bad    int
}

func newReceiver(t *testing.T, secret string) (*receiver, string) {
	t.Helper()
	r := &receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte("v0:" + req.Header.Get("x-zm-request-timestamp") + ":"))
		mac.Write(body)
		ok := err == nil && hmac.Equal([]byte(req.Header.Get("x-zm-signature")), []byte("v0="+hex.EncodeToString(mac.Sum(nil))))
		r.mu.Lock()
		defer r.mu.Unlock()
		if !ok {
			r.bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		r.bodies = append(r.bodies, body)
	}))
	t.Cleanup(srv.Close)
	return r, srv.URL
}

// TestReconstructMatchesFakeZoom plays a meeting and a webinar on the fake
// Zoom, rebuilds every event it sent from its truth (what the reconciler
// learns from Zoom's REST API), and compares each rebuilt body field by
// field with the one the fake posted. Two differences are allowed, both
// because the reconciled data cannot carry what the live event did:
//
//   - event_ts: the fake stamps the happening's time to the millisecond, as
//     Zoom does, while its model and REST answers keep whole seconds (§ intro),
//     so a rebuilt event_ts is up to 999 ms earlier. The times are played
//     with sub-second parts to hold the bound.
//   - practice_session: the fake's webinar.ended carries it as captures do
//     (§4 [O]), but Zoom's generated type does not list it and no REST
//     answer says whether an instance was a practice session, so Reconstruct
//     leaves it out.
func TestReconstructMatchesFakeZoom(t *testing.T) {
	t.Parallel()
	ref := loadReference(t)
	const secret = "exampleSecretToken123"
	zoom := zoomtest.New()
	t.Cleanup(zoom.Close)
	recv, url := newReceiver(t, secret)
	zoom.SetWebhookTarget(url, secret)

	base := time.Date(2024, 3, 5, 14, 2, 11, 512*int(time.Millisecond), time.UTC)
	meeting := zoom.StartMeeting(zoomtest.MeetingSpec{
		ID: 84512093377, UUID: "/t6WJ0cK+QvOe2m/hY1Lx9A==", HostID: "Hs8QeW2rTy5uIo1pAs3dFg", Topic: "Support stand-up",
		Type: 8, Duration: 45, Timezone: "America/Chicago", Start: base,
	})
	ana := zoom.Join(meeting, zoomtest.Person{Name: "Ana Ruiz", Email: "ana.ruiz@example.org", ParticipantUserID: "Pt4RkLm9Qw2eXc7vBn1MzA"}, base.Add(89465*time.Millisecond))
	zoom.Join(meeting, zoomtest.Person{Name: "Gäst 👋 <Ext> & Co"}, base.Add(171*time.Second+819*time.Millisecond))
	zoom.Leave(meeting, ana.UserID, base.Add(28*time.Minute+53728*time.Millisecond), "")
	zoom.Join(meeting, zoomtest.Person{Name: "Ana Ruiz", ParticipantUserID: ana.ParticipantUserID}, base.Add(31*time.Minute+1*time.Millisecond)) // a rejoin: new user_id
	// The guest and Ana's second session are still in: the end makes them leave first.
	zoom.EndMeeting(meeting, base.Add(42*time.Minute+46999*time.Millisecond))

	// A webinar with Zoom's defaults: type 5, 60 minutes, zone UTC.
	webinar := zoom.StartWebinar(zoomtest.MeetingSpec{ID: 95551234567, HostID: "Hs8QeW2rTy5uIo1pAs3dFg", Topic: "Quarterly webinar", Start: base.Add(time.Hour)})
	zoom.Join(webinar, zoomtest.Person{Name: "Pia Panel", Email: "pia@example.org", Panelist: true}, base.Add(time.Hour+time.Second))
	lea := zoom.Join(webinar, zoomtest.Person{Name: "Lea Vogt", Email: "lea@example.net", RegistrantID: "Rg7yT5uI3oP1aS9dF2gH4j"}, base.Add(time.Hour+73*time.Second))
	zoom.Leave(webinar, lea.UserID, base.Add(time.Hour+58*time.Minute+38*time.Second), "")
	zoom.EndWebinar(webinar, base.Add(2*time.Hour+28*time.Second))

	// What the fake sent: started, 3 joined, 3 left and ended of the
	// meeting; started, 2 joined, 2 left and ended of the webinar.
	const sent = 8 + 6
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, zoom.WaitDelivered(ctx, sent))
	for _, d := range zoom.Deliveries() {
		require.True(t, d.Delivered, "delivery %d (%s): %+v", d.ID, d.Event, d)
	}
	recv.mu.Lock()
	bodies, bad := recv.bodies, recv.bad
	recv.mu.Unlock()
	require.Zero(t, bad, "bodies with a bad signature")
	require.Len(t, bodies, sent)
	posted := map[string][]byte{}
	for _, b := range bodies {
		posted[key(t, b)] = b
	}
	require.Len(t, posted, sent, "one body per event, session and instance")

	// What the reconciler would rebuild from Zoom's truth.
	account := zoom.Credentials().AccountID
	rebuilt := map[string][]byte{}
	build := func(event string, at time.Time, m zoomevent.Meeting, p *zoomevent.Participant) {
		body, err := zoomevent.Reconstruct(event, account, at, m, p)
		require.NoError(t, err, event)
		rebuilt[key(t, body)] = body
	}
	for _, uuid := range []string{meeting, webinar} {
		inst, ok := zoom.Truth(uuid)
		require.True(t, ok)
		kind := "meeting."
		if inst.Webinar {
			kind = "webinar."
		}
		m := zoomevent.Meeting{
			UUID: inst.UUID, ID: inst.ID, HostID: inst.HostID, Topic: inst.Topic, Webinar: inst.Webinar,
			ZoomType: inst.Type, Duration: inst.Duration, Start: inst.Start, End: inst.End, Timezone: inst.Timezone,
		}
		build(kind+"started", inst.Start, m, nil)
		build(kind+"ended", inst.End, m, nil)
		for _, s := range inst.Sessions {
			p := &zoomevent.Participant{
				UserID: s.Person.UserID, UserName: s.Person.Name, ID: s.Person.ParticipantUserID,
				ParticipantUUID: s.Person.ParticipantUUID, Email: s.Person.Email, RegistrantID: s.Person.RegistrantID,
				JoinTime: s.JoinTime, LeaveTime: s.LeaveTime, LeaveReason: s.LeaveReason,
			}
			build(kind+"participant_joined", s.JoinTime, m, p)
			build(kind+"participant_left", s.LeaveTime, m, p)
		}
	}

	require.ElementsMatch(t, keys(posted), keys(rebuilt), "the events rebuilt are the events sent")
	for k, body := range posted {
		part := strings.Split(k, " ") // event, uuid, user_id
		t.Run(part[0]+"/"+cmp.Or(part[2], "Instance"), func(t *testing.T) {
			want, got := flatten(t, body), flatten(t, rebuilt[k])

			sentTS, err := want["event_ts"].(json.Number).Int64()
			require.NoError(t, err)
			ourTS, err := got["event_ts"].(json.Number).Int64()
			require.NoError(t, err)
			require.GreaterOrEqual(t, sentTS-ourTS, int64(0), "event_ts: sent %d, rebuilt %d", sentTS, ourTS)
			require.Less(t, sentTS-ourTS, int64(1000), "event_ts: sent %d, rebuilt %d", sentTS, ourTS)
			delete(want, "event_ts")
			delete(got, "event_ts")

			event := part[0]
			if event == "webinar.ended" {
				require.Equal(t, false, want["payload.object.practice_session"])
				require.NotContains(t, ref[event], "payload.object.practice_session", "the reference lists practice_session now: build it")
				delete(want, "payload.object.practice_session")
			}
			require.Equal(t, want, got, "sent %s\nrebuilt %s", body, rebuilt[k])
		})
	}
}

// key names one event of one session of one instance: what a receiver
// deduplicates on (§3).
func key(t *testing.T, body []byte) string {
	t.Helper()
	var b struct {
		Event   string `json:"event"`
		Payload struct {
			Object struct {
				UUID        string `json:"uuid"`
				Participant struct {
					UserID string `json:"user_id"`
				} `json:"participant"`
			} `json:"object"`
		} `json:"payload"`
	}
	require.NoError(t, json.Unmarshal(body, &b), "body %s", body)
	return strings.Join([]string{b.Event, b.Payload.Object.UUID, b.Payload.Object.Participant.UserID}, " ")
}

func keys(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
