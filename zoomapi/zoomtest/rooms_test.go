package zoomtest_test

import (
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// event is one delivery's body, decoded for the fields these tests read.
type event struct {
	Event   string `json:"event"`
	Payload struct {
		Object struct {
			UUID             string            `json:"uuid"`
			BreakoutRoomUUID string            `json:"breakout_room_uuid"`
			Participant      map[string]string `json:"participant"`
		} `json:"object"`
	} `json:"payload"`
}

// eventsOf decodes every delivery that names the instance uuid, in
// happening order (deliveries are recorded even without a target).
func eventsOf(t *testing.T, s *zoomtest.Server, uuid string) []event {
	t.Helper()
	var out []event
	for _, d := range s.Deliveries() {
		var e event
		require.NoError(t, json.Unmarshal(d.Body, &e), "body %s", d.Body)
		if e.Payload.Object.UUID == uuid && e.Payload.Object.Participant != nil {
			out = append(out, e)
		}
	}
	return out
}

// rowsByUser indexes the participants of a list answer by user_id; a
// user_id listed twice keeps both rows in order.
func rowsByUser(t *testing.T, a answer) map[string][]map[string]any {
	t.Helper()
	require.Equal(t, 200, a.Status, "body %s", a.Body)
	out := map[string][]map[string]any{}
	for _, r := range a.JSON(t)["participants"].([]any) {
		row := r.(map[string]any)
		out[row["user_id"].(string)] = append(out[row["user_id"].(string)], row)
	}
	return out
}

func TestWaitingRoom(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithTokenLifetime(24*time.Hour))
	tok := token(t, s)
	start := clk.Now()
	at := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }
	bob := zoomtest.Person{Name: "Bob Roe", Email: "bob@example.org"}

	uuid := s.StartMeeting(zoomtest.MeetingSpec{ID: 84512093377, HostID: host.ParticipantUserID, Start: start})
	h := s.Join(uuid, host, at(0))
	a := s.JoinWaitingRoom(uuid, ana, at(1))
	g := s.JoinWaitingRoom(uuid, guest, at(2))
	s.Admit(uuid, a.UserID, at(3))
	s.LeaveWaitingRoom(uuid, g.UserID, at(4))
	b := s.Join(uuid, bob, at(5))
	s.PutInWaitingRoom(uuid, b.UserID, at(6))
	s.EndMeeting(uuid, at(10))
	clk.Advance(11 * time.Minute)

	t.Run("EventsCarryDateTimeNotJoinTime", func(t *testing.T) {
		want := []struct {
			event, userID, field string
			minute               int
		}{
			{"meeting.participant_joined", h.UserID, "join_time", 0},
			{"meeting.participant_joined_waiting_room", a.UserID, "date_time", 1},
			{"meeting.participant_joined_waiting_room", g.UserID, "date_time", 2},
			{"meeting.participant_admitted", a.UserID, "date_time", 3},
			{"meeting.participant_joined", a.UserID, "join_time", 3},
			{"meeting.participant_left_waiting_room", g.UserID, "date_time", 4},
			{"meeting.participant_joined", b.UserID, "join_time", 5},
			{"meeting.participant_left", b.UserID, "leave_time", 6},
			{"meeting.participant_put_in_waiting_room", b.UserID, "date_time", 6},
			{"meeting.participant_left", h.UserID, "leave_time", 10},
			{"meeting.participant_left", a.UserID, "leave_time", 10},
			{"meeting.participant_left_waiting_room", b.UserID, "date_time", 10},
		}
		got := eventsOf(t, s, uuid)
		require.Len(t, got, len(want))
		for i, w := range want {
			p := got[i].Payload.Object.Participant
			require.Equal(t, w.event, got[i].Event, "event %d", i)
			require.Equal(t, w.userID, p["user_id"], "event %d (%s)", i, w.event)
			require.Equal(t, zoomTimeOf(at(w.minute)), p[w.field], "event %d (%s): %s", i, w.event, w.field)
			for _, other := range []string{"join_time", "leave_time", "date_time"} {
				if other != w.field {
					require.NotContains(t, p, other, "event %d (%s)", i, w.event)
				}
			}
		}
		require.Equal(t, a.ParticipantUUID, got[4].Payload.Object.Participant["participant_uuid"], "admission keeps the participant_uuid")
	})

	t.Run("RowsTellWaitingFromAttending", func(t *testing.T) {
		for _, path := range []string{
			"/report/meetings/" + enc(uuid) + "/participants",
			"/past_meetings/" + enc(uuid) + "/participants",
			"/metrics/meetings/" + enc(uuid) + "/participants?type=past",
		} {
			t.Run(path, func(t *testing.T) {
				rows := rowsByUser(t, get(t, s, tok, path))
				type stay struct {
					status     string
					join, left int
				}
				want := map[string][]stay{
					h.UserID: {{"in_meeting", 0, 10}},
					a.UserID: {{"in_waiting_room", 1, 3}, {"in_meeting", 3, 10}},
					g.UserID: {{"in_waiting_room", 2, 4}}, // never admitted: no attendance (§10)
					b.UserID: {{"in_meeting", 5, 6}, {"in_waiting_room", 6, 10}},
				}
				require.Len(t, rows, len(want))
				for userID, stays := range want {
					require.Len(t, rows[userID], len(stays), "rows of %s", userID)
					for i, st := range stays {
						row := rows[userID][i]
						require.Equal(t, st.status, row["status"], "%s row %d", userID, i)
						require.Equal(t, zoomTimeOf(at(st.join)), row["join_time"], "%s row %d", userID, i)
						require.Equal(t, zoomTimeOf(at(st.left)), row["leave_time"], "%s row %d", userID, i)
					}
				}
			})
		}
	})

	t.Run("CountsOnlyAttendance", func(t *testing.T) {
		past := get(t, s, tok, "/past_meetings/"+enc(uuid)).JSON(t)
		require.EqualValues(t, 3, past["participants_count"], "host, Ana admitted, Bob before the waiting room")
		require.EqualValues(t, 10+7+1, past["total_minutes"], "waiting is not attendance")
	})

	t.Run("TruthHasTheStatuses", func(t *testing.T) {
		truth, ok := s.Truth(uuid)
		require.True(t, ok)
		var statuses []string
		for _, sess := range truth.Sessions {
			statuses = append(statuses, sess.Person.UserID+" "+sess.Status)
		}
		require.Equal(t, []string{
			h.UserID + " in_meeting", a.UserID + " in_waiting_room", g.UserID + " in_waiting_room",
			a.UserID + " in_meeting", b.UserID + " in_meeting", b.UserID + " in_waiting_room",
		}, statuses)
	})

	t.Run("AWaiterNeverAdmittedMakesNoReport", func(t *testing.T) {
		lone := endedMeetingWith(s, clk, func(uuid string, start time.Time) {
			s.Join(uuid, host, start)
			w := s.JoinWaitingRoom(uuid, ana, start.Add(time.Minute))
			s.LeaveWaitingRoom(uuid, w.UserID, start.Add(2*time.Minute))
		})
		get(t, s, tok, "/report/meetings/"+enc(lone)+"/participants").requireError(t, 404, 3001, "Meeting ID is invalid or not end.")
		require.Empty(t, get(t, s, tok, "/past_meetings/"+enc(lone)+"/participants").JSON(t)["participants"])
	})

	t.Run("RefusesWhatZoomCannotDo", func(t *testing.T) {
		running := s.StartMeeting(zoomtest.MeetingSpec{})
		in := s.Join(running, bob, time.Time{})
		webinar := s.StartWebinar(zoomtest.MeetingSpec{})
		tests := []struct {
			name string
			call func()
		}{
			{"AdmitSomeoneNotWaiting", func() { s.Admit(running, in.UserID, time.Time{}) }},
			{"LeaveWaitingRoomWhenIn", func() { s.LeaveWaitingRoom(running, in.UserID, time.Time{}) }},
			{"PutInWaitingRoomSomeoneAbsent", func() { s.PutInWaitingRoom(running, "1", time.Time{}) }},
			{"WaitingRoomInAWebinar", func() { s.JoinWaitingRoom(webinar, ana, time.Time{}) }},
			{"WaitingRoomOfAnEndedMeeting", func() { s.JoinWaitingRoom(uuid, ana, time.Time{}) }},
			{"JoinTwiceWhileWaiting", func() {
				w := s.JoinWaitingRoom(running, ana, time.Time{})
				s.Join(running, zoomtest.Person{UserID: w.UserID}, time.Time{})
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { require.Panics(t, tt.call) })
		}
	})
}

func TestBreakoutRooms(t *testing.T) {
	t.Parallel()
	clk := newClock()
	s := newServer(t, zoomtest.WithClock(clk.Now), zoomtest.WithTokenLifetime(24*time.Hour))
	tok := token(t, s)
	start := clk.Now()
	at := func(m int) time.Time { return start.Add(time.Duration(m) * time.Minute) }

	uuid := s.StartMeeting(zoomtest.MeetingSpec{ID: 84512093377, HostID: host.ParticipantUserID, Start: start})
	h := s.Join(uuid, host, at(0))
	u1 := s.Join(uuid, ana, at(1))
	u2 := s.MoveToBreakoutRoom(uuid, u1.UserID, "Room A", at(5))
	live := rowsByUser(t, get(t, s, tok, "/metrics/meetings/"+enc(uuid)+"/participants?type=live"))
	u3 := s.ReturnFromBreakoutRoom(uuid, u2.UserID, at(15))
	u4 := s.MoveToBreakoutRoom(uuid, u3.UserID, "Room A", at(20))
	s.Leave(uuid, u4.UserID, at(25), "")
	s.EndMeeting(uuid, at(30))
	clk.Advance(31 * time.Minute)

	truth, ok := s.Truth(uuid)
	require.True(t, ok)
	require.Len(t, truth.BreakoutRooms, 1, "Room A is one room, entered twice")
	room := truth.BreakoutRooms[0]
	require.Equal(t, "Room A", room.Name)
	require.NotEmpty(t, room.UUID)
	require.NotEqual(t, uuid, room.UUID)

	t.Run("EachMoveIsANewUserIDWithTheSameParticipantUUID", func(t *testing.T) {
		ids := []string{u1.UserID, u2.UserID, u3.UserID, u4.UserID}
		for i, p := range []zoomtest.Person{u1, u2, u3, u4} {
			require.Equal(t, u1.ParticipantUUID, p.ParticipantUUID, "move %d", i)
			require.NotContains(t, ids[:i], p.UserID, "move %d reuses a user_id", i)
		}
	})

	t.Run("MainMeetingSeesLeftAndJoinedInTheSameSecond", func(t *testing.T) {
		var main []string
		for _, e := range eventsOf(t, s, uuid) {
			p := e.Payload.Object.Participant
			if p["user_id"] == h.UserID {
				continue
			}
			require.Equal(t, u1.ParticipantUUID, p["participant_uuid"], "%s", e.Event)
			if e.Event == "meeting.participant_joined" || e.Event == "meeting.participant_left" {
				main = append(main, e.Event[len("meeting.participant_"):]+" "+p["user_id"]+" "+p["join_time"]+p["leave_time"])
			}
		}
		// Into a room: joined first; back: left first (§10: either order).
		require.Equal(t, []string{
			"joined " + u1.UserID + " " + zoomTimeOf(at(1)),
			"joined " + u2.UserID + " " + zoomTimeOf(at(5)),
			"left " + u1.UserID + " " + zoomTimeOf(at(5)),
			"left " + u2.UserID + " " + zoomTimeOf(at(15)),
			"joined " + u3.UserID + " " + zoomTimeOf(at(15)),
			"joined " + u4.UserID + " " + zoomTimeOf(at(20)),
			"left " + u3.UserID + " " + zoomTimeOf(at(20)),
			"left " + u4.UserID + " " + zoomTimeOf(at(25)),
		}, main, "ana's main-meeting events")
	})

	t.Run("BreakoutEventsNameTheRoomAndTheParent", func(t *testing.T) {
		var got []event
		for _, e := range eventsOf(t, s, uuid) {
			if e.Payload.Object.BreakoutRoomUUID != "" {
				got = append(got, e)
			}
		}
		want := []struct {
			event, parent, field string
			minute, joined       int
		}{
			{"meeting.participant_joined_breakout_room", u2.UserID, "join_time", 5, 5},
			{"meeting.participant_left_breakout_room", u2.UserID, "leave_time", 15, 5},
			{"meeting.participant_joined_breakout_room", u4.UserID, "join_time", 20, 20},
			{"meeting.participant_left_breakout_room", u4.UserID, "leave_time", 25, 20},
		}
		require.Len(t, got, len(want))
		for i, w := range want {
			p := got[i].Payload.Object.Participant
			require.Equal(t, w.event, got[i].Event, "event %d", i)
			require.Equal(t, uuid, got[i].Payload.Object.UUID, "event %d: the main meeting's uuid", i)
			require.Equal(t, room.UUID, got[i].Payload.Object.BreakoutRoomUUID, "event %d", i)
			require.Equal(t, w.parent, p["parent_user_id"], "event %d: parent_user_id is the main stream's user_id", i)
			ts := strconv.FormatInt(at(w.joined).Unix(), 10)
			require.Regexp(t, regexp.MustCompile(`^\d+`+ts+`$`), p["user_id"], "event %d: digits with the joining timestamp appended", i)
			require.NotEqual(t, ts, p["user_id"])
			require.Equal(t, zoomTimeOf(at(w.minute)), p[w.field], "event %d", i)
		}
		require.Equal(t, got[0].Payload.Object.Participant["user_id"], got[1].Payload.Object.Participant["user_id"], "one stay, one room user_id")
		require.Equal(t, "Ana Ruiz left the meeting.<br>Reason: left the meeting", got[3].Payload.Object.Participant["leave_reason"])
		require.Equal(t, []zoomtest.BreakoutSession{
			{UserID: got[0].Payload.Object.Participant["user_id"], ParentUserID: u2.UserID, ParticipantUUID: u1.ParticipantUUID, Name: "Ana Ruiz",
				JoinTime: at(5), LeaveTime: at(15), LeaveReason: "Ana Ruiz left the meeting.<br>Reason: left the meeting"},
			{UserID: got[2].Payload.Object.Participant["user_id"], ParentUserID: u4.UserID, ParticipantUUID: u1.ParticipantUUID, Name: "Ana Ruiz",
				JoinTime: at(20), LeaveTime: at(25), LeaveReason: "Ana Ruiz left the meeting.<br>Reason: left the meeting"},
		}, room.Sessions)
	})

	t.Run("RowsCarryTheRoomAsBoMtgID", func(t *testing.T) {
		wantRoom := map[string]string{h.UserID: "", u1.UserID: "", u2.UserID: room.UUID, u3.UserID: "", u4.UserID: room.UUID}
		for _, path := range []string{
			"/report/meetings/" + enc(uuid) + "/participants",
			"/metrics/meetings/" + enc(uuid) + "/participants?type=past",
		} {
			rows := rowsByUser(t, get(t, s, tok, path))
			require.Len(t, rows, len(wantRoom), path)
			for userID, bo := range wantRoom {
				require.Len(t, rows[userID], 1, "%s: %s", path, userID)
				got, _ := rows[userID][0]["bo_mtg_id"].(string)
				require.Equal(t, bo, got, "%s: bo_mtg_id of %s", path, userID)
				require.Equal(t, "in_meeting", rows[userID][0]["status"])
			}
		}
		require.Len(t, live[u2.UserID], 1, "live, while Ana was in the room")
		require.Equal(t, room.UUID, live[u2.UserID][0]["bo_mtg_id"])
		require.NotContains(t, live[u1.UserID][0], "bo_mtg_id", "the session before the move")
		for _, sess := range truth.Sessions {
			require.Equal(t, wantRoom[sess.Person.UserID], sess.BreakoutRoomUUID, "truth of %s", sess.Person.UserID)
		}
	})

	t.Run("AMoveIsOnePerson", func(t *testing.T) {
		report := get(t, s, tok, "/report/meetings/"+enc(uuid)).JSON(t)
		require.EqualValues(t, 5, report["participants_count"], "one per main-meeting session")
		day := start.Format(time.DateOnly)
		// Two people, so the meeting is "past", not "pastOne".
		require.Len(t, get(t, s, tok, "/metrics/meetings?type=past&from="+day+"&to="+day).JSON(t)["meetings"], 1)
	})

	t.Run("CloseBreakoutRoomsBringsEveryoneBack", func(t *testing.T) {
		m := s.StartMeeting(zoomtest.MeetingSpec{})
		x := s.MoveToBreakoutRoom(m, s.Join(m, ana, time.Time{}).UserID, "A", time.Time{})
		y := s.MoveToBreakoutRoom(m, s.Join(m, guest, time.Time{}).UserID, "B", time.Time{})
		back := s.CloseBreakoutRooms(m, time.Time{})
		require.Len(t, back, 2)
		require.Equal(t, x.ParticipantUUID, back[0].ParticipantUUID)
		require.Equal(t, y.ParticipantUUID, back[1].ParticipantUUID)
		tr, _ := s.Truth(m)
		require.Len(t, tr.BreakoutRooms, 2)
		for _, r := range tr.BreakoutRooms {
			require.Len(t, r.Sessions, 1)
			require.False(t, r.Sessions[0].LeaveTime.IsZero(), "room %s closed", r.Name)
		}
		require.Panics(t, func() { s.ReturnFromBreakoutRoom(m, back[0].UserID, time.Time{}) }, "no longer in a room")
		require.Panics(t, func() { s.MoveToBreakoutRoom(m, back[0].UserID, "", time.Time{}) }, "a room needs a name")
	})
}

// endedMeetingWith starts a meeting at the clock's time, plays it, ends it
// a minute after the last happening and moves the clock past the end.
func endedMeetingWith(s *zoomtest.Server, clk *clock, play func(uuid string, start time.Time)) string {
	start := clk.Now()
	uuid := s.StartMeeting(zoomtest.MeetingSpec{HostID: host.ParticipantUserID, Start: start})
	play(uuid, start)
	s.EndMeeting(uuid, start.Add(10*time.Minute))
	clk.Advance(11 * time.Minute)
	return uuid
}

func zoomTimeOf(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }
