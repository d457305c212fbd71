package reconciler_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// TestRealAccounts plays what real accounts do and a clean test day does not
// (zoom-platform.md §10): each planned loss is reported once and backfilled,
// and nothing else is reported.
func TestRealAccounts(t *testing.T) {
	t.Parallel()
	runOnEveryBackend(t, map[string]func(t *testing.T, dbURL string){
		"ALostStartAloneIsReported":                     testLostStart,
		"AWebinarsLostEndIsReported":                    func(t *testing.T, dbURL string) { testWebinarLostEnd(t, dbURL, zoomtest.PlanBusiness) },
		"AWebinarsLostEndIsReportedOnPro":               func(t *testing.T, dbURL string) { testWebinarLostEnd(t, dbURL, zoomtest.PlanPro) },
		"AWebinarNeverDeliveredIsReported":              testWebinarNeverDelivered,
		"WaitingRoomStaysAreNoAttendance":               func(t *testing.T, dbURL string) { testWaitingRoom(t, dbURL, false) },
		"WaitingRoomStaysAreNoAttendanceWhenAllIsLost":  func(t *testing.T, dbURL string) { testWaitingRoom(t, dbURL, true) },
		"BreakoutMovesAreNoDiscrepancy":                 testBreakoutMoves,
		"APMIsLaterInstanceDoesNotKeepAnEarlierOneLive": testPMI,
		"AOnePersonMeetingNeverDeliveredIsReported":     testOnePersonNeverDelivered,
	})
}

func testLostStart(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	b.clk.Advance(time.Minute)
	uuid, _, _ := b.meeting(t, "Start lost", false)
	b.deliver(t, uuid, lost{started: true})
	m, err := b.st.Meeting(context.Background(), uuid)
	require.NoError(t, err)
	require.Equal(t, store.SourceUnknown, m.StartSource, "the participant events gave only a hint of the start")

	b.clk.Advance(30*time.Minute + grace + time.Minute)
	res := b.pass(t)
	require.Equal(t, []string{"missed_meeting_started Start lost "}, kinds(res), "the lost start, and not the joins that arrived")
	require.Contains(t, res.Discrepancies[0].Detail, "meeting.started never arrived")
	m, err = b.st.Meeting(context.Background(), uuid)
	require.NoError(t, err)
	truth, _ := b.zoom.Truth(uuid)
	require.Equal(t, store.SourceReconciled, m.StartSource)
	require.True(t, truth.Start.Equal(*m.StartTime))
	requireSessionsMatch(t, b, uuid)
	require.Empty(t, kinds(b.pass(t)), "once")
}

func testWebinarLostEnd(t *testing.T, dbURL string, plan zoomtest.Plan) {
	b := setup(t, dbURL, zoomtest.WithPlan(plan))
	b.clk.Advance(time.Minute)
	start := b.clk.Now()
	w := b.zoom.StartWebinar(zoomtest.MeetingSpec{Topic: "Quarterly webinar", Start: start})
	b.zoom.Join(w, zoomtest.Person{Name: "Pia Panel", Email: "pia@example.org", Panelist: true}, start)
	b.zoom.Join(w, zoomtest.Person{Name: "Ada Attendee", Email: "ada@example.org"}, start.Add(time.Minute))
	b.zoom.Join(w, zoomtest.Person{Name: "Gus Guest"}, start.Add(2*time.Minute))
	b.zoom.EndWebinar(w, start.Add(40*time.Minute))
	b.deliver(t, w, lost{ended: true})

	b.clk.Advance(40*time.Minute + grace + time.Minute)
	b.heartbeat(t)
	res := b.pass(t)
	require.Equal(t, []string{"missed_meeting_ended Quarterly webinar "}, kinds(res))
	require.Contains(t, res.Discrepancies[0].Detail, "webinar.ended never arrived")
	m, err := b.st.Meeting(context.Background(), w)
	require.NoError(t, err)
	require.Equal(t, store.TypeWebinar, m.Type)
	require.Equal(t, store.SourceReconciled, m.EndSource)
	b.clk.Advance(time.Minute)
	b.heartbeat(t)
	require.Empty(t, kinds(b.pass(t)), "once; panelists' and attendees' final leaves are part of the lost end")
	requireSessionsMatch(t, b, w)
}

func testWebinarNeverDelivered(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	b.clk.Advance(time.Minute)
	start := b.clk.Now()
	w := b.zoom.StartWebinar(zoomtest.MeetingSpec{Topic: "Unheard webinar", Start: start})
	b.zoom.Join(w, zoomtest.Person{Name: "Pia Panel", Panelist: true}, start)
	ada := b.zoom.Join(w, zoomtest.Person{Name: "Ada Attendee"}, start.Add(time.Minute))
	b.zoom.Leave(w, ada.UserID, start.Add(10*time.Minute), "")
	b.zoom.EndWebinar(w, start.Add(30*time.Minute))
	b.clk.Advance(30*time.Minute + grace + time.Minute)
	b.heartbeat(t)
	require.Equal(t, []string{"missed_meeting_started Unheard webinar "}, kinds(b.pass(t)))
	b.clk.Advance(time.Minute)
	b.heartbeat(t)
	require.Empty(t, kinds(b.pass(t)))
	m, err := b.st.Meeting(context.Background(), w)
	require.NoError(t, err)
	require.Equal(t, store.TypeWebinar, m.Type)
	require.Equal(t, store.StatusEnded, m.Status)
	requireSessionsMatch(t, b, w)
}

func testWaitingRoom(t *testing.T, dbURL string, lostAll bool) {
	b := setup(t, dbURL)
	b.clk.Advance(time.Minute)
	start := b.clk.Now()
	uuid := b.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "With a waiting room", Start: start})
	b.zoom.Join(uuid, zoomtest.Person{Name: "Hana Host"}, start)
	never := b.zoom.JoinWaitingRoom(uuid, zoomtest.Person{Name: "Never Admitted"}, start.Add(2*time.Minute))
	admitted := b.zoom.JoinWaitingRoom(uuid, zoomtest.Person{Name: "Let In"}, start.Add(3*time.Minute))
	b.zoom.Admit(uuid, admitted.UserID, start.Add(5*time.Minute))
	b.zoom.LeaveWaitingRoom(uuid, never.UserID, start.Add(20*time.Minute))
	b.zoom.EndMeeting(uuid, start.Add(30*time.Minute))
	if !lostAll {
		b.deliver(t, uuid, lost{})
	}
	b.clk.Advance(30*time.Minute + grace + time.Minute)
	b.heartbeat(t)
	want := []string{}
	if lostAll {
		want = []string{"missed_meeting_started With a waiting room "}
	}
	require.Equal(t, want, kinds(b.pass(t)), "a guest who only waited is no missed join")
	b.clk.Advance(time.Minute)
	b.heartbeat(t)
	require.Empty(t, kinds(b.pass(t)))
	requireSessionsMatch(t, b, uuid)
	sessions, err := b.st.Sessions(context.Background(), uuid)
	require.NoError(t, err)
	for _, s := range sessions {
		require.NotEqual(t, "Never Admitted", s.UserName, "no session was backfilled for someone never admitted")
	}
}

func testBreakoutMoves(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	b.clk.Advance(time.Minute)
	start := b.clk.Now()
	uuid := b.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Workshop", Start: start})
	b.zoom.Join(uuid, zoomtest.Person{Name: "Tess Teacher", Email: "tess@example.org"}, start)
	kim := b.zoom.Join(uuid, zoomtest.Person{Name: "Kim Student"}, start.Add(time.Minute))
	lee := b.zoom.Join(uuid, zoomtest.Person{Name: "Lee Student"}, start.Add(time.Minute))
	kim = b.zoom.MoveToBreakoutRoom(uuid, kim.UserID, "Room 1", start.Add(5*time.Minute))
	lee = b.zoom.MoveToBreakoutRoom(uuid, lee.UserID, "Room 2", start.Add(5*time.Minute))
	kim = b.zoom.MoveToBreakoutRoom(uuid, kim.UserID, "Room 2", start.Add(10*time.Minute))
	back := b.zoom.CloseBreakoutRooms(uuid, start.Add(20*time.Minute))
	require.Len(t, back, 2)
	b.zoom.EndMeeting(uuid, start.Add(30*time.Minute))
	// Every webhook arrives, but the stream named the moved sessions by
	// user_ids the report does not use (§10): only names and times tie them.
	renamed := map[string]string{}
	truth, _ := b.zoom.Truth(uuid)
	for _, s := range truth.Sessions {
		if s.BreakoutRoomUUID != "" || s.JoinTime.After(start.Add(2*time.Minute)) {
			renamed[s.Person.UserID] = "9" + s.Person.UserID
		}
	}
	require.NotEmpty(t, renamed)
	b.deliver(t, uuid, lost{renamed: renamed})
	b.clk.Advance(30*time.Minute + grace + time.Minute)
	b.heartbeat(t)
	res := b.pass(t)
	require.Empty(t, kinds(res), "room moves are neither departures nor arrivals Zoom's webhooks missed")
	sessions, err := b.st.Sessions(context.Background(), uuid)
	require.NoError(t, err)
	require.Len(t, sessions, len(truth.Sessions), "nothing was backfilled beside what the webhooks said")
}

func testPMI(t *testing.T, dbURL string) {
	// Pro: the report listing leaves out a one-person instance, so only
	// asking about it tells that it ended. Zoom's past data of it is slow to
	// come (§10 says a minute or two; here four hours, to outlast the stale
	// threshold), while the number's status already describes a later
	// instance.
	b := setup(t, dbURL, zoomtest.WithPlan(zoomtest.PlanPro))
	b.zoom.SetReportDelay(4 * time.Hour)
	const pmi = 5551234567
	b.clk.Advance(time.Minute)
	play := func(topic string, solo, loseEnd, end bool) string {
		start := b.clk.Now()
		uuid := b.zoom.StartMeeting(zoomtest.MeetingSpec{ID: pmi, Type: 4, Topic: topic, Start: start})
		b.zoom.Join(uuid, zoomtest.Person{Name: "Owner " + topic}, start)
		if !solo {
			b.zoom.Join(uuid, zoomtest.Person{Name: "Guest " + topic}, start.Add(time.Minute))
		}
		if end {
			b.zoom.EndMeeting(uuid, start.Add(20*time.Minute))
		}
		b.deliver(t, uuid, lost{ended: loseEnd})
		return uuid
	}
	play("First", false, false, true)
	b.clk.Advance(25 * time.Minute)
	second := play("Second", true, true, true)
	b.clk.Advance(25 * time.Minute)
	play("Third", false, false, false) // live now, on the same number
	var found []string
	for range 6 * 5 {
		b.clk.Advance(10 * time.Minute)
		b.heartbeat(t)
		for _, k := range kinds(b.pass(t)) {
			require.False(t, strings.HasPrefix(k, "stale_meeting Second"), "the earlier instance is over, not stuck")
			found = append(found, k)
		}
	}
	require.Contains(t, found, "missed_meeting_ended Second ")
	m, err := b.st.Meeting(context.Background(), second)
	require.NoError(t, err)
	truth, _ := b.zoom.Truth(second)
	require.True(t, truth.End.Equal(*m.EndTime), "its end is Zoom's, once Zoom's data came")
	for _, k := range found {
		require.Contains(t, []string{"missed_meeting_ended Second ", "stale_meeting Third "}, k, "only the planned loss and the live one")
	}
}

func testOnePersonNeverDelivered(t *testing.T, dbURL string) {
	b := setup(t, dbURL)
	b.clk.Advance(time.Minute)
	start := b.clk.Now()
	uuid := b.zoom.StartMeeting(zoomtest.MeetingSpec{Topic: "Alone and unheard", Start: start})
	b.zoom.Join(uuid, zoomtest.Person{Name: "Solo"}, start)
	b.zoom.EndMeeting(uuid, start.Add(10*time.Minute))
	b.clk.Advance(10*time.Minute + grace + time.Minute)
	b.heartbeat(t)
	require.Equal(t, []string{"missed_meeting_started Alone and unheard "}, kinds(b.pass(t)))
	b.clk.Advance(time.Minute)
	b.heartbeat(t)
	require.Empty(t, kinds(b.pass(t)))
	requireSessionsMatch(t, b, uuid)
}
