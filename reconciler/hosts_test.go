package reconciler_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/reconciler"
	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

func TestHostCause(t *testing.T) {
	t.Parallel()
	runOnEveryBackend(t, map[string]func(t *testing.T, dbURL string){
		"OneHostLosingEndsIsNamedOnceAndResolvedByItsEnd": testHostEndsLost,
		"OneHostUnheardIsNamedOnPro":                      testHostUnheard,
		"EveryHostLosingIsNoHostCause":                    testHostCauseNeedsOthers,
		"OneHostUnheardIsNamedOnBusiness":                 testHostUnheardDashboard,
		"APassHoldsItsAlertsUntilItNamedTheirCause":       testHostCauseHoldsAlerts,
	})
}

// testHostCauseHoldsAlerts: the cause is named at the end of the pass that
// finds the host's losses, so the sender must not see those losses' alerts
// before then, or they would go out one by one instead of folded into it.
func testHostCauseHoldsAlerts(t *testing.T, dbURL string) {
	ctx := context.Background()
	b := setup(t, dbURL)
	for _, u := range []zoomtest.User{alice, bob} {
		b.zoom.AddUser(u)
	}
	b.hostDay(t, 3, map[string]*lost{alice.ID: {ended: true}}, alice, bob)
	b.clk.Advance(30*time.Minute + grace + time.Minute)
	b.heartbeat(t)

	claimedMidPass := 0
	res := b.pass(t, func(o *reconciler.PassOptions) {
		o.ProgressFunc = func(reconciler.Progress) {
			// A sender polling while the pass runs.
			msgs, err := b.st.ClaimAlerts(ctx, 0, b.clk.Now(), time.Minute, 100)
			require.NoError(t, err)
			claimedMidPass += len(msgs)
		}
	})
	require.Equal(t, 3, count(kinds(res), store.KindMissedMeetingEnded))
	require.Equal(t, 1, count(kinds(res), store.KindHostEndedMissing))
	require.Zero(t, claimedMidPass, "an alert the cause folds was due before the cause existed")
	msgs, err := b.st.ClaimAlerts(ctx, 0, b.clk.Now(), time.Minute, 100)
	require.NoError(t, err)
	require.Len(t, msgs, 4, "once the pass ended, its alerts and their cause are due together")
}

// Hosts of the fake account: Alice's app consent is the one missing.
var (
	alice = zoomtest.User{ID: "AliceHartUserID0000001", FirstName: "Alice", LastName: "Hart", Email: "alice@example.org"}
	bob   = zoomtest.User{ID: "BobStoneUserID00000002", FirstName: "Bob", LastName: "Stone", Email: "bob@example.org"}
	carol = zoomtest.User{ID: "CarolDiazUserID0000003", FirstName: "Carol", LastName: "Diaz", Email: "carol@example.org"}
)

// hostMeeting plays a 30-minute meeting of host starting now, with one
// participant, and returns its UUID.
func (b *testBundle) hostMeeting(t *testing.T, host zoomtest.User, topic string) string {
	t.Helper()
	start := b.clk.Now()
	uuid := b.zoom.StartMeeting(zoomtest.MeetingSpec{HostID: host.ID, Topic: topic, Start: start})
	p := b.zoom.Join(uuid, zoomtest.Person{Name: "Guest " + topic}, start.Add(time.Minute))
	b.zoom.Leave(uuid, p.UserID, start.Add(20*time.Minute), "")
	b.zoom.EndMeeting(uuid, start.Add(30*time.Minute))
	return uuid
}

// hostDay plays an hour-spaced round of meetings: each of hosts holds one per
// round, and lose says what each host's webhooks lose (nil: everything arrives;
// absent from deliver: nothing does).
func (b *testBundle) hostDay(t *testing.T, rounds int, lose map[string]*lost, hosts ...zoomtest.User) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for r := range rounds {
		for _, h := range hosts {
			topic := h.FirstName + " " + string(rune('A'+r))
			uuid := b.hostMeeting(t, h, topic)
			out[h.ID] = append(out[h.ID], uuid)
			l, ok := lose[h.ID]
			switch {
			case !ok:
				b.deliver(t, uuid, lost{})
			case l != nil:
				b.deliver(t, uuid, *l)
			}
		}
		b.clk.Advance(time.Hour)
	}
	return out
}

func count(res []string, kind store.Kind) int {
	n := 0
	for _, k := range res {
		if len(k) >= len(kind) && k[:len(kind)] == string(kind) && (len(k) == len(kind) || k[len(kind)] == ' ') {
			n++
		}
	}
	return n
}

func testHostEndsLost(t *testing.T, dbURL string) {
	ctx := context.Background()
	b := setup(t, dbURL)
	for _, u := range []zoomtest.User{alice, bob, carol} {
		b.zoom.AddUser(u)
	}
	// Alice's three meetings lose their end; Bob's arrive whole; Carol loses
	// one end, once: a single loss is no pattern.
	b.hostDay(t, 3, map[string]*lost{alice.ID: {ended: true}}, alice, bob)
	carolsUUID := b.hostMeeting(t, carol, "Carol A")
	b.deliver(t, carolsUUID, lost{ended: true})
	b.clk.Advance(30*time.Minute + grace + time.Minute)
	b.heartbeat(t)

	res := b.pass(t)
	got := kinds(res)
	require.Equal(t, 4, count(got, store.KindMissedMeetingEnded), "per meeting, as before: %v", got)
	require.Equal(t, []string{"host_ended_missing Alice A "}, filter(got, store.KindHostEndedMissing), "one cause, for Alice only")
	require.Zero(t, count(got, store.KindHostEventsMissing), "%v", got)
	var f = res.Discrepancies[len(res.Discrepancies)-1]
	require.Equal(t, store.KindHostEndedMissing, f.Kind)
	require.Equal(t, "Alice Hart <alice@example.org>", f.Host, "named as Zoom's listing names her")
	require.Contains(t, f.Detail, "no meeting.ended for the last 3 meetings of Alice Hart <alice@example.org>")
	require.Contains(t, f.Detail, alice.ID)

	d, err := b.st.OpenHostCause(ctx, store.KindHostEndedMissing, alice.ID)
	require.NoError(t, err)
	_, err = b.st.OpenHostCause(ctx, store.KindHostEndedMissing, carol.ID)
	require.ErrorIs(t, err, store.ErrNotFound)

	// A second pass, later, with Alice's next end lost too: nothing new but
	// that meeting's own discrepancy.
	b.hostDay(t, 1, map[string]*lost{alice.ID: {ended: true}}, alice, bob)
	b.clk.Advance(grace)
	b.heartbeat(t)
	require.Equal(t, []string{"missed_meeting_ended Alice A "}, kinds(b.pass(t)), "the open cause is not raised again")
	b.heartbeat(t)
	require.Empty(t, kinds(b.pass(t)))

	// Her next meeting's start arrives: that is not what was missing.
	next := b.hostMeeting(t, alice, "Alice next")
	b.deliver(t, next, lost{ended: true})
	_, err = b.st.OpenHostCause(ctx, store.KindHostEndedMissing, alice.ID)
	require.NoError(t, err, "a meeting.started does not end a stretch of lost meeting.ended")
	// Its end arrives: her events flow again.
	inst, _ := b.zoom.Truth(next)
	ended := store.MeetingUpdate{UUID: next, HostID: alice.ID, EndTime: inst.End, Ended: true, Source: store.SourceWebhook}
	_, err = b.st.InsertEvent(ctx, store.Ingest{Event: store.Event{DedupKey: next + "|ended", Type: "meeting.ended",
		EventTS: &inst.End, ReceivedAt: b.clk.Now(), MeetingUUID: next, Body: []byte("{}")}, Meeting: &ended}, b.clk.Now())
	require.NoError(t, err)
	_, err = b.st.OpenHostCause(ctx, store.KindHostEndedMissing, alice.ID)
	require.ErrorIs(t, err, store.ErrNotFound, "her meeting.ended closes it")
	closed, err := b.st.Discrepancy(ctx, store.KindHostEndedMissing, d.MeetingUUID, alice.ID)
	require.NoError(t, err)
	require.Equal(t, store.ResolvedHostEventsFlowing, closed.Resolution)
}

func testHostUnheard(t *testing.T, dbURL string) {
	// On Pro plans the listing goes host by host, so a meeting no webhook
	// mentioned still has its host.
	b := setup(t, dbURL, zoomtest.WithPlan(zoomtest.PlanPro))
	for _, u := range []zoomtest.User{alice, bob} {
		b.zoom.AddUser(u)
	}
	uuids := b.hostDay(t, 3, map[string]*lost{alice.ID: nil}, alice, bob)
	b.clk.Advance(grace)
	b.heartbeat(t)
	got := kinds(b.pass(t))
	require.Equal(t, 3, count(got, store.KindMissedMeetingStarted), "%v", got)
	require.Equal(t, []string{"host_events_missing Alice A "}, filter(got, store.KindHostEventsMissing), "%v", got)
	require.Zero(t, count(got, store.KindHostEndedMissing), "%v", got)

	// Any webhook of hers ends it, even about an old meeting.
	ctx := context.Background()
	now := b.clk.Now()
	_, err := b.st.InsertEvent(ctx, store.Ingest{
		Event:   store.Event{DedupKey: "late", Type: "meeting.participant_joined", EventTS: &now, ReceivedAt: now, MeetingUUID: uuids[alice.ID][0], Body: []byte("{}")},
		Meeting: &store.MeetingUpdate{UUID: uuids[alice.ID][0], HostID: alice.ID, Source: store.SourceWebhook},
	}, now)
	require.NoError(t, err)
	_, err = b.st.OpenHostCause(ctx, store.KindHostEventsMissing, alice.ID)
	require.ErrorIs(t, err, store.ErrNotFound)
}

func testHostUnheardDashboard(t *testing.T, dbURL string) {
	// The dashboard's rows give no host ID: the pass asks for it.
	b := setup(t, dbURL)
	for _, u := range []zoomtest.User{alice, bob} {
		b.zoom.AddUser(u)
	}
	b.hostDay(t, 3, map[string]*lost{alice.ID: nil}, alice, bob)
	b.clk.Advance(grace)
	b.heartbeat(t)
	res := b.pass(t)
	got := kinds(res)
	require.Equal(t, 3, count(got, store.KindMissedMeetingStarted), "%v", got)
	require.Equal(t, []string{"host_events_missing Alice A "}, filter(got, store.KindHostEventsMissing), "%v", got)
	f := res.Discrepancies[len(res.Discrepancies)-1]
	require.Contains(t, f.Detail, "no webhook at all for the last 3 meetings of Alice Hart <alice@example.org>")
}

func testHostCauseNeedsOthers(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	for _, u := range []zoomtest.User{alice, bob} {
		b.zoom.AddUser(u)
	}
	b.hostDay(t, 3, map[string]*lost{alice.ID: {ended: true}, bob.ID: {ended: true}}, alice, bob)
	b.clk.Advance(grace)
	b.heartbeat(t)
	got := kinds(b.pass(t))
	require.Equal(t, 6, count(got, store.KindMissedMeetingEnded), "%v", got)
	require.Zero(t, count(got, store.KindHostEndedMissing), "no host's ends arrive: not one host's doing: %v", got)
}

func filter(res []string, kind store.Kind) []string {
	out := []string{}
	for _, k := range res {
		if count([]string{k}, kind) == 1 {
			out = append(out, k)
		}
	}
	return out
}
