package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/relay/relaytest"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

const appSecret = "e2e-application-secret"

// TestRelayEndToEnd runs serve (as child processes, so one can be killed)
// between the fake Zoom and an application that verifies Zoom's signature:
// the application gets every event Zoom delivered, once and in order per
// meeting, plus one rebuilt event for each loss zoomrecon backfilled; it
// is down a while and then gets everything; serve is killed mid-delivery and
// nothing is lost; replay sends a chosen window again.
func TestRelayEndToEnd(t *testing.T) {
	endToEnd(t, runRelayEndToEnd)
}

func runRelayEndToEnd(t *testing.T, dbURL string) {
	ctx := context.Background()
	zoom := zoomtest.New()
	t.Cleanup(zoom.Close)
	zoom.SetRetrySchedule(200*time.Millisecond, 400*time.Millisecond, 800*time.Millisecond)
	app := relaytest.New(appSecret)
	t.Cleanup(app.Close)
	creds := zoom.Credentials()
	vars := map[string]string{
		"ZOOMRECON_DATABASE_URL": dbURL, "ZOOM_WEBHOOK_SECRET_TOKEN": crashSecret,
		"ZOOM_ACCOUNT_ID": creds.AccountID, "ZOOM_CLIENT_ID": creds.ClientID, "ZOOM_CLIENT_SECRET": creds.ClientSecret,
		"ZOOM_API_BASE_URL": zoom.APIURL(), "ZOOM_OAUTH_TOKEN_URL": zoom.TokenURL(),
		"ZOOMRECON_RECONCILE_INTERVAL": "1s", "ZOOMRECON_MISSED_GRACE": "2s", "ZOOMRECON_RECONCILE_LOOKBACK": "1h",
		"ZOOMRECON_STALE_AFTER": "1h", "ZOOMRECON_SILENCE_AFTER": "1h",
		"ZOOM_RESOURCE_INTENSIVE_PER_MINUTE": "6000", "ZOOM_MINUTE_LIMIT_WAIT": "200ms",
		"ZOOMRECON_FORWARD_URL": app.URL + "/zoom/events", "ZOOMRECON_FORWARD_SECRET_TOKEN": appSecret,
	}
	env := []string{relayBackoffEnv + "=50ms"}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	d := startDaemon(t, dbURL, env...)
	zoom.SetWebhookTarget(d.baseURL+"/webhooks/zoom", crashSecret)
	require.NoError(t, zoom.ValidateURL(ctx))
	st := storetest.Open(t, dbURL)

	// One meeting complete; one loses its end and a leave, which zoomrecon
	// backfills from the API and rebuilds for the application.
	lossy := "e2eRelayLossyMeeting0A=="
	var bob string
	zoom.AddRule(func(event string, body []byte, _ int) zoomtest.Action {
		leave := event == "meeting.participant_left" && bob != "" && bytes.Contains(body, []byte(`"user_id":"`+bob+`"`))
		return zoomtest.Action{Drop: bytes.Contains(body, jsonString(lossy)) && (event == "meeting.ended" || leave)}
	})
	play := func(uuid, topic string) {
		uuid = zoom.StartMeeting(zoomtest.MeetingSpec{UUID: uuid, Topic: topic})
		ann := zoom.Join(uuid, zoomtest.Person{Name: "Ann " + topic}, time.Time{})
		b := zoom.Join(uuid, zoomtest.Person{Name: "Bob " + topic}, time.Time{})
		if strings.Contains(topic, "Lossy") {
			bob = b.UserID
		}
		zoom.Leave(uuid, b.UserID, time.Time{}, "")
		zoom.Leave(uuid, ann.UserID, time.Time{}, "")
		zoom.EndMeeting(uuid, time.Time{})
	}
	play("", "Complete")
	play(lossy, "Lossy")

	// Everything Zoom delivered, once each and in order per meeting, and a
	// rebuilt event for each loss.
	delivered := func() map[string][]string { // meeting → events Zoom delivered, in order
		out := map[string][]string{}
		for _, dl := range zoom.Deliveries() {
			if !dl.Delivered {
				continue
			}
			var ev struct {
				Payload struct {
					Object struct {
						UUID string `json:"uuid"`
					} `json:"object"`
				} `json:"payload"`
			}
			_ = json.Unmarshal(dl.Body, &ev)
			out[ev.Payload.Object.UUID] = append(out[ev.Payload.Object.UUID], dl.Event)
		}
		return out
	}
	got := func() (sent map[string][]string, rebuilt []string) {
		sent = map[string][]string{}
		for _, dl := range app.Deliveries() {
			if dl.Reconstructed {
				rebuilt = append(rebuilt, dl.Event)
				continue
			}
			sent[dl.MeetingUUID] = append(sent[dl.MeetingUUID], dl.Event)
		}
		return sent, rebuilt
	}
	require.Eventually(t, func() bool {
		sent, rebuilt := got()
		want := delivered()
		return len(want) == 2 && len(sent) == 2 && equalSequences(sent, want) && len(rebuilt) == 2
	}, 60*time.Second, 20*time.Millisecond, "every event delivered, in order per meeting, and the two rebuilt: %v", app.Deliveries())
	_, rebuilt := got()
	require.ElementsMatch(t, []string{"meeting.ended", "meeting.participant_left"}, rebuilt)
	stored, err := st.CountEvents(ctx)
	require.NoError(t, err)
	sent, _ := got()
	n := 0
	for _, evs := range sent {
		n += len(evs)
	}
	require.EqualValues(t, stored, n, "one delivery per stored event")
	require.Zero(t, app.Refused(), "every signature verified by the application")
	status := runCLI(t, vars, "status")
	require.Contains(t, status.stdout, "Relay:                 default: 0 pending, ", status.stderr)

	// The application is down a while: what happens meanwhile is delivered
	// once it is back.
	app.Answer(relaytest.Answer{Status: 503, Body: "maintenance"}, -1)
	play("", "During maintenance")
	require.Eventually(t, func() bool { return app.Refused() >= 3 }, 30*time.Second, 10*time.Millisecond)
	app.Accept()
	require.Eventually(t, func() bool {
		sent, _ := got()
		return equalSequences(sent, delivered())
	}, 60*time.Second, 20*time.Millisecond, "all delivered once the application is back")

	// kill -9 while deliveries are in flight to a slow application.
	app.SetDelay(300 * time.Millisecond)
	play("", "Killed mid-delivery")
	require.Eventually(t, func() bool {
		sent, _ := got()
		return len(sent) == 4
	}, 30*time.Second, 10*time.Millisecond, "the first delivery of the meeting arrived")
	require.NoError(t, d.cmd.Process.Signal(syscall.SIGKILL))
	<-d.exited
	app.SetDelay(0)
	d2 := startDaemon(t, dbURL, env...)
	zoom.SetWebhookTarget(d2.baseURL+"/webhooks/zoom", crashSecret)
	require.Eventually(t, func() bool {
		sent, _ := got()
		return equalSequences(sent, delivered())
	}, 60*time.Second, 20*time.Millisecond, "nothing lost to the kill: %v", app.Deliveries())

	// replay sends a chosen window again; the application skips what it has
	// by its delivery ID.
	before := len(app.Deliveries())
	out := runCLI(t, vars, "replay", "--since", "1h", "--event", "meeting.ended", "--wait")
	require.Equal(t, 0, out.code, out.stderr)
	require.Contains(t, out.stdout, "queued 4 deliveries")
	require.Contains(t, out.stdout, "4/4 delivered")
	require.Equal(t, 4, app.Replays(), "three ends Zoom sent and the one rebuilt")
	require.Len(t, app.Deliveries(), before, "nothing new to the application: it had them all")
}

// equalSequences says whether got has exactly want's events, per meeting, in
// want's order.
func equalSequences(got, want map[string][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g := got[k]
		if len(g) != len(w) {
			return false
		}
		for i := range w {
			if g[i] != w[i] {
				return false
			}
		}
	}
	return true
}
