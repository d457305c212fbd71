package main

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// TestEndToEndRealAccount runs zoomrecon serve, as a user runs it, through a
// compressed day of what real accounts do (zoom-platform.md §10): webinars,
// waiting rooms, breakout rooms, a PMI used three times, one-person meetings
// and a start lost on its own. Every planned loss must be reported once and
// backfilled; nothing else may be reported.
func TestEndToEndRealAccount(t *testing.T) {
	endToEnd(t, runRealAccount)
}

func runRealAccount(t *testing.T, dbURL string) {
	ctx := context.Background()
	r := newDeliveryRig(t, dbURL, 8*time.Second)
	r.start(t)
	r.zoom.SetWebhookTarget(r.hook, crashSecret)
	require.NoError(t, r.zoom.ValidateURL(ctx))
	zoom := r.zoom

	uuids := map[string]string{}
	id := func(topic string) string {
		u := "e2e" + topic
		for len(u) < 22 {
			u += "0"
		}
		u = u[:22] + "=="
		uuids[topic] = u
		return u
	}
	drop := map[string]string{} // uuid → the one event it loses; "" loses all
	zoom.AddRule(func(event string, body []byte, _ int) zoomtest.Action {
		for uuid, lost := range drop {
			if (lost == "" || lost == event) && containsJSONString(body, uuid) {
				return zoomtest.Action{Drop: true}
			}
		}
		return zoomtest.Action{}
	})
	person := func(name string) zoomtest.Person { return zoomtest.Person{Name: name} }

	// A webinar that loses its end, and one that loses everything.
	for _, w := range []struct{ topic, lost string }{{"WebinarEndLost", "webinar.ended"}, {"WebinarUnheard", ""}} {
		uuid := id(w.topic)
		drop[uuid] = w.lost
		zoom.StartWebinar(zoomtest.MeetingSpec{UUID: uuid, Topic: w.topic, HostID: "hostE2E"})
		zoom.Join(uuid, zoomtest.Person{Name: "Pia Panel " + w.topic, Panelist: true}, time.Time{})
		zoom.Join(uuid, person("Ada Attendee "+w.topic), time.Time{})
		zoom.EndWebinar(uuid, time.Time{})
	}
	// A meeting whose meeting.started alone is lost.
	startLost := id("StartLost")
	drop[startLost] = "meeting.started"
	zoom.StartMeeting(zoomtest.MeetingSpec{UUID: startLost, Topic: "StartLost", HostID: "hostE2E"})
	zoom.Join(startLost, person("Ann Lee"), time.Time{})
	zoom.Join(startLost, person("Bob Roe"), time.Time{})
	zoom.EndMeeting(startLost, time.Time{})
	// A waiting room: one guest admitted, one never.
	waiting := id("WaitingRoom")
	zoom.StartMeeting(zoomtest.MeetingSpec{UUID: waiting, Topic: "WaitingRoom", HostID: "hostE2E"})
	zoom.Join(waiting, person("Hana Host"), time.Time{})
	never := zoom.JoinWaitingRoom(waiting, person("Never Admitted"), time.Time{})
	in := zoom.JoinWaitingRoom(waiting, person("Let In"), time.Time{})
	zoom.Admit(waiting, in.UserID, time.Time{})
	zoom.LeaveWaitingRoom(waiting, never.UserID, time.Time{})
	zoom.EndMeeting(waiting, time.Time{})
	// Breakout rooms.
	rooms := id("Breakout")
	zoom.StartMeeting(zoomtest.MeetingSpec{UUID: rooms, Topic: "Breakout", HostID: "hostE2E"})
	zoom.Join(rooms, person("Tess Teacher"), time.Time{})
	kim := zoom.Join(rooms, person("Kim Student"), time.Time{})
	lee := zoom.Join(rooms, person("Lee Student"), time.Time{})
	kim = zoom.MoveToBreakoutRoom(rooms, kim.UserID, "Room 1", time.Time{})
	zoom.MoveToBreakoutRoom(rooms, lee.UserID, "Room 2", time.Time{})
	zoom.MoveToBreakoutRoom(rooms, kim.UserID, "Room 2", time.Time{})
	zoom.CloseBreakoutRooms(rooms, time.Time{})
	zoom.EndMeeting(rooms, time.Time{})
	// A PMI used three times in a row; the second loses its end.
	const pmi = 5557654321
	for i, topic := range []string{"PMIFirst", "PMISecond", "PMIThird"} {
		uuid := id(topic)
		if i == 1 {
			drop[uuid] = "meeting.ended"
		}
		zoom.StartMeeting(zoomtest.MeetingSpec{ID: pmi, Type: 4, UUID: uuid, Topic: topic, HostID: "hostE2E"})
		zoom.Join(uuid, person("Owner "+topic), time.Time{})
		zoom.Join(uuid, person("Guest "+topic), time.Time{})
		zoom.EndMeeting(uuid, time.Time{})
	}
	// One-person meetings: one heard, one not.
	for _, topic := range []string{"AloneHeard", "AloneUnheard"} {
		uuid := id(topic)
		if topic == "AloneUnheard" {
			drop[uuid] = ""
		}
		zoom.StartMeeting(zoomtest.MeetingSpec{UUID: uuid, Topic: topic, HostID: "hostE2E"})
		zoom.Join(uuid, person("Solo "+topic), time.Time{})
		zoom.EndMeeting(uuid, time.Time{})
	}
	// The day goes on: a meeting after the losses is heard, so they are
	// losses, not a silent Zoom. Zoom's times are whole seconds: it comes in a
	// later second than the losses, or its webhooks could not tell.
	lossSecond := time.Now().Truncate(time.Second)
	require.Eventually(t, func() bool { return time.Now().Truncate(time.Second).After(lossSecond) }, 5*time.Second, 10*time.Millisecond)
	last := id("DayGoesOn")
	zoom.StartMeeting(zoomtest.MeetingSpec{UUID: last, Topic: "DayGoesOn", HostID: "hostE2E"})
	zoom.Join(last, person("Late Comer"), time.Time{})
	zoom.Join(last, person("Later Comer"), time.Time{})
	zoom.EndMeeting(last, time.Time{})
	require.NoError(t, zoom.WaitDelivered(ctx, len(zoom.Deliveries())))

	want := []string{
		"missed_meeting_ended PMISecond",
		"missed_meeting_ended WebinarEndLost",
		"missed_meeting_started AloneUnheard",
		"missed_meeting_started StartLost",
		"missed_meeting_started WebinarUnheard",
	}
	seen := &lastSeen{}
	require.Eventually(t, func() bool { return slices.Equal(seen.set(r.found(t)), want) }, 60*time.Second, 50*time.Millisecond,
		"discrepancies: last seen %v, want %q", seen, want)
	r.waitPasses(t, 3)
	require.Equal(t, want, r.found(t), "each planned loss once, and nothing else")
	for topic, uuid := range uuids {
		requireStateIsTruth(t, r.st, zoom, &e2eMeeting{topic: topic, uuid: uuid})
	}
}

func containsJSONString(body []byte, s string) bool { return bytes.Contains(body, jsonString(s)) }
