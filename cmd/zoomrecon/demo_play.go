package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// The demo's hosts. Alice Hart is the host whose meetings never end: every
// one of hers loses meeting.ended, while the others' meetings are complete.
var (
	hostAlice = zoomtest.User{ID: "aliceHartDemoHost01", FirstName: "Alice", LastName: "Hart", Email: "alice.hart@example.org"}
	hostDana  = zoomtest.User{ID: "danaRuizDemoHost002", FirstName: "Dana", LastName: "Ruiz", Email: "dana.ruiz@example.org"}
	hostOmar  = zoomtest.User{ID: "omarHaddadDemoHost3", FirstName: "Omar", LastName: "Haddad", Email: "omar.haddad@example.org"}
	hostPriya = zoomtest.User{ID: "priyaNairDemoHost04", FirstName: "Priya", LastName: "Nair", Email: "priya.nair@example.org"}
)

// What a played meeting loses.
type loss int

const (
	lossNothing loss = iota
	lossEnded        // its meeting.ended
	lossLeave        // the first participant's participant_left
	lossAll          // every webhook: the whole meeting
)

func (l loss) String() string {
	switch l {
	case lossEnded:
		return "meeting.ended lost"
	case lossLeave:
		return "Ann Lee's participant_left lost"
	case lossAll:
		return "every webhook lost: the whole meeting"
	}
	return "nothing lost"
}

// playedMeeting is one meeting the fake Zoom plays.
type playedMeeting struct {
	topic string
	host  zoomtest.User
	loss  loss
	// at is when it starts, after the cycle's start; length is how long it
	// lasts.
	at, length time.Duration
}

// firstCycle shows each kind of loss once, in meetings short enough that the
// first alert shows within 30 s of the start.
var firstCycle = []playedMeeting{
	{topic: "Support onboarding", host: hostDana, loss: lossEnded, at: 0, length: 4 * time.Second},
	{topic: "Design review", host: hostOmar, loss: lossLeave, at: 500 * time.Millisecond, length: 5 * time.Second},
	{topic: "Customer escalation call", host: hostPriya, loss: lossAll, at: time.Second, length: 4 * time.Second},
	{topic: "Alice Hart: 1:1 with Sam", host: hostAlice, loss: lossEnded, at: 1500 * time.Millisecond, length: 4 * time.Second},
	{topic: "Alice Hart: team standup", host: hostAlice, loss: lossEnded, at: 2 * time.Second, length: 4 * time.Second},
	{topic: "Alice Hart: hiring panel", host: hostAlice, loss: lossEnded, at: 2500 * time.Millisecond, length: 5 * time.Second},
	{topic: "Release planning", host: hostDana, loss: lossNothing, at: 3 * time.Second, length: 4 * time.Second},
}

// randomHosts host the meetings after the first cycle; never Alice, so her
// pattern stays hers.
var randomHosts = []zoomtest.User{hostDana, hostOmar, hostPriya}

// randomLosses are drawn for the meetings after the first cycle: half of
// them complete.
var randomLosses = []loss{lossNothing, lossNothing, lossNothing, lossEnded, lossLeave, lossAll}

// playMeetings plays the first cycle, then a meeting every 8 seconds, each 10
// to 30 seconds long and losing some of its webhooks at random, until ctx
// ends.
//
// Over the WebSocket (websocket), nothing is lost by drops: the losses are
// playOutages'.
func playMeetings(ctx context.Context, zoom *zoomtest.Server, out *terminal, websocket bool) {
	for _, h := range []zoomtest.User{hostAlice, hostDana, hostOmar, hostPriya} {
		zoom.AddUser(h)
	}
	p := &player{zoom: zoom, out: out, websocket: websocket}
	// The meetings' leaves and ends still to come; stopped when the demo ends.
	defer p.stop()

	out.printf("demo: first cycle: one meeting of each kind of loss, then random meetings\n")
	start := time.Now()
	for _, m := range firstCycle {
		if !p.wait(ctx, time.Until(start.Add(m.at))) {
			return
		}
		p.play(m)
	}
	if !p.wait(ctx, time.Until(start.Add(8*time.Second))) {
		return
	}
	for n := 1; ; n++ {
		p.play(playedMeeting{
			topic:  fmt.Sprintf("Demo meeting %d", n),
			host:   randomHosts[rand.N(len(randomHosts))],
			loss:   randomLosses[rand.N(len(randomLosses))],
			length: 10*time.Second + rand.N(20*time.Second),
		})
		if !p.wait(ctx, 8*time.Second) {
			return
		}
	}
}

type player struct {
	zoom      *zoomtest.Server
	out       *terminal
	websocket bool
	pending   []*time.Timer
}

// wait waits d, and reports false if ctx ended first.
func (p *player) wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(max(d, 0))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (p *player) stop() {
	for _, t := range p.pending {
		t.Stop()
	}
}

// play starts m with two participants; the first leaves halfway through and
// the meeting ends after m.length, losing what m.loss says.
func (p *player) play(m playedMeeting) {
	uuid := randomUUID()
	if p.websocket {
		m.loss = lossNothing // rules shape webhooks only; outages do the losing
	}
	if m.loss == lossAll {
		p.zoom.AddRule(dropFor(uuid, "", ""))
	}
	if m.loss == lossEnded {
		p.zoom.AddRule(dropFor(uuid, "meeting.ended", ""))
	}
	p.zoom.StartMeeting(zoomtest.MeetingSpec{UUID: uuid, Topic: m.topic, HostID: m.host.ID})
	first := p.zoom.Join(uuid, zoomtest.Person{Name: "Ann Lee", Email: "ann@example.org"}, time.Time{})
	p.zoom.Join(uuid, zoomtest.Person{Name: "Bob Roe"}, time.Time{})
	if m.loss == lossLeave {
		// Only Ann's leave: Bob's, when the host ends the meeting, arrives.
		p.zoom.AddRule(dropFor(uuid, "meeting.participant_left", first.UserID))
	}
	what := m.loss.String()
	if p.websocket {
		what = "its events go over the WebSocket"
	}
	p.out.printf("demo: %q (host %s %s) started, %s\n", m.topic, m.host.FirstName, m.host.LastName, what)
	p.pending = append(p.pending,
		time.AfterFunc(m.length/2, func() { p.zoom.Leave(uuid, first.UserID, time.Time{}, "") }),
		time.AfterFunc(m.length, func() { p.zoom.EndMeeting(uuid, time.Time{}) }))
}

// dropFor loses the deliveries of one meeting's event ("" for all of them),
// and of one participant's only when userID is not "".
func dropFor(uuid, event, userID string) zoomtest.Rule {
	needle := []byte(`"uuid":"` + uuid + `"`)
	who := []byte(`"user_id":"` + userID + `"`)
	return func(e string, body []byte, _ int) zoomtest.Action {
		return zoomtest.Action{Drop: (event == "" || e == event) && bytes.Contains(body, needle) &&
			(userID == "" || bytes.Contains(body, who))}
	}
}

// randomUUID makes an instance UUID shaped like Zoom's (base64 of 16 bytes)
// without '/' so the demo's log lines are easy to follow.
func randomUUID() string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+"
	b := make([]byte, 22)
	for i := range b {
		b[i] = alphabet[rand.N(len(alphabet))]
	}
	return string(b) + "=="
}

// The WebSocket host's outages in the demo: the first while the first
// cycle's meetings end, then one a minute, each long enough for its alert.
const (
	demoFirstOutage  = 3 * time.Second
	demoOutageLength = 8 * time.Second
	demoOutageEvery  = time.Minute
)

// playOutages makes the fake Zoom's WebSocket host unreachable now and then:
// every event Zoom sends meanwhile is lost, as with Zoom's own.
func playOutages(ctx context.Context, zoom *zoomtest.Server, out *terminal) {
	p := &player{}
	next := demoFirstOutage
	for {
		if !p.wait(ctx, next) {
			return
		}
		out.printf("demo: Zoom's WebSocket host is unreachable for %s: every event sent meanwhile is lost\n", demoOutageLength)
		zoom.SetWebSocketOutage(true)
		ok := p.wait(ctx, demoOutageLength)
		zoom.SetWebSocketOutage(false)
		if !ok {
			return
		}
		out.printf("demo: Zoom's WebSocket host is back\n")
		next = demoOutageEvery - demoOutageLength
	}
}
