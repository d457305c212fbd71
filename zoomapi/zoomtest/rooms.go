package zoomtest

import (
	"fmt"
	"strconv"
	"time"
)

// Waiting rooms and breakout rooms, as zoom-platform.md §10 describes what
// they do to a meeting's events and participant rows. Both exist only in
// meetings: Zoom's waiting-room and breakout-room events are meeting.* events.
//
// Where Zoom documents the events but not their sequence, the fake picks one
// and says so below [U]; a receiver must not depend on those choices.

type breakoutRoom struct {
	uuid     string
	name     string
	sessions []*boSession
}

// boSession is one stay in a breakout room.
type boSession struct {
	room         *breakoutRoom
	p            Person // the person as the main meeting knows them meanwhile
	userID       string // the room's own user_id (§10)
	parentUserID string // the main meeting's user_id meanwhile (§10)
	join         time.Time
	leave        time.Time
	open         bool
	reason       string
}

// JoinWaitingRoom puts a person in a running meeting's waiting room and
// emits meeting.participant_joined_waiting_room, whose participant carries
// date_time, not join_time (§10). It returns p with the generated fields
// filled in, as Join does. Until Admit, the person is no attendance: the
// report, past-participant and Dashboard rows show the stay with status
// in_waiting_room (§10), and it does not count towards the two participants
// a report needs. at zero means now. It panics for webinars and wherever
// Join would.
func (s *Server) JoinWaitingRoom(uuid string, p Person, at time.Time) Person {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.meetingLocked("JoinWaitingRoom", uuid)
	p = s.personLocked("JoinWaitingRoom", inst, p)
	stay := &session{p: p, status: StatusInWaitingRoom, join: s.at(at), open: true}
	inst.sessions = append(inst.sessions, stay)
	s.emitWaitingLocked(inst, stay, "participant_joined_waiting_room", at)
	return p
}

// Admit lets a waiting person in: it closes their waiting-room stay, opens a
// join session and emits meeting.participant_admitted (with date_time), then
// meeting.participant_joined. The person keeps user_id and participant_uuid
// [U: Zoom documents neither whether they change on admission nor whether
// participant_left_waiting_room is sent too; the fake sends it only when a
// person leaves the waiting room without being admitted]. at zero means now.
// It panics if userID is not waiting.
func (s *Server) Admit(uuid, userID string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.meetingLocked("Admit", uuid)
	stay := inst.mustWaiting("Admit", userID)
	s.closeStayLocked(inst, stay, at, "participant_admitted")
	sess := &session{p: stay.p, status: StatusInMeeting, join: s.at(at), open: true}
	inst.sessions = append(inst.sessions, sess)
	s.emitJoinedLocked(inst, sess, at)
}

// LeaveWaitingRoom ends a waiting person's stay without admission (they gave
// up, or the host removed them) and emits
// meeting.participant_left_waiting_room. at zero means now. It panics if
// userID is not waiting.
func (s *Server) LeaveWaitingRoom(uuid, userID string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.meetingLocked("LeaveWaitingRoom", uuid)
	s.closeStayLocked(inst, inst.mustWaiting("LeaveWaitingRoom", userID), at, "participant_left_waiting_room")
}

// PutInWaitingRoom sends a participant back to the waiting room, as a host
// can: it closes their join session (and breakout-room stay) with
// participant_left, then emits meeting.participant_put_in_waiting_room and
// opens a waiting-room stay under the same user_id [U: Zoom documents the
// event, not whether participant_left accompanies it; the fake sends it so
// that every joined session is closed by a left]. at zero means now. It
// panics if userID has no open session.
func (s *Server) PutInWaitingRoom(uuid, userID string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.meetingLocked("PutInWaitingRoom", uuid)
	sess := inst.mustSession("PutInWaitingRoom", userID)
	s.leaveLocked(inst, sess, at, "left the meeting")
	stay := &session{p: sess.p, status: StatusInWaitingRoom, join: s.at(at), open: true}
	inst.sessions = append(inst.sessions, stay)
	s.emitWaitingLocked(inst, stay, "participant_put_in_waiting_room", at)
}

// MoveToBreakoutRoom moves a participant into the breakout room named room,
// created with a new breakout_room_uuid the first time a name is used, or
// from one room to another. As Zoom does (§10), the main meeting sees the
// person leave and join again in the same second, with a new user_id and the
// same participant_uuid, and with the same "left the meeting" reason as a
// real departure; then meeting.participant_joined_breakout_room carries the
// main meeting's uuid, the room's breakout_room_uuid, a parent_user_id equal
// to the new main-meeting user_id and a user_id of digits with a Unix
// timestamp appended. Zoom sends the main meeting's left and joined in either
// order: the fake sends joined first when moving into a room and last when
// moving back (ReturnFromBreakoutRoom), so receivers meet both. The
// main-meeting session opened here carries the room as bo_mtg_id in report
// and Dashboard rows.
//
// userID is the person's current main-meeting user_id. It returns the person
// with the new one. at zero means now. It panics for an empty room name and
// if userID has no open session.
func (s *Server) MoveToBreakoutRoom(uuid, userID, room string, at time.Time) Person {
	s.mu.Lock()
	defer s.mu.Unlock()
	if room == "" {
		panic("zoomtest: MoveToBreakoutRoom: empty room name")
	}
	inst := s.meetingLocked("MoveToBreakoutRoom", uuid)
	sess := inst.mustSession("MoveToBreakoutRoom", userID)
	return s.moveLocked(inst, sess, inst.room(room), at).p
}

// ReturnFromBreakoutRoom brings a participant back from their breakout room
// to the main meeting: meeting.participant_left_breakout_room, then the main
// meeting's participant_left and participant_joined with a new user_id and
// the same participant_uuid (§10). userID is the person's current
// main-meeting user_id. It returns the person with the new one. at zero
// means now. It panics if userID has no open session or is in no room.
func (s *Server) ReturnFromBreakoutRoom(uuid, userID string, at time.Time) Person {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.meetingLocked("ReturnFromBreakoutRoom", uuid)
	sess := inst.mustSession("ReturnFromBreakoutRoom", userID)
	if sess.bo == nil {
		panic(fmt.Sprintf("zoomtest: ReturnFromBreakoutRoom: user_id %s is in no breakout room of %q", userID, uuid))
	}
	return s.moveLocked(inst, sess, nil, at).p
}

// CloseBreakoutRooms brings everyone in a breakout room back to the main
// meeting, as ReturnFromBreakoutRoom does one by one, and returns them with
// their new user_ids in session order.
func (s *Server) CloseBreakoutRooms(uuid string, at time.Time) []Person {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.meetingLocked("CloseBreakoutRooms", uuid)
	var out []Person
	for _, sess := range inst.sessions {
		if sess.open && sess.bo != nil {
			out = append(out, s.moveLocked(inst, sess, nil, at).p)
		}
	}
	return out
}

// moveLocked replaces a main-meeting session by a new one that stands for
// the person in room to (nil: back in the main meeting), emitting the events
// of §10 in the order MoveToBreakoutRoom describes.
func (s *Server) moveLocked(inst *instance, sess *session, to *breakoutRoom, at time.Time) *session {
	const reason = "left the meeting" // §10: a move reads like a departure
	when := s.at(at)
	if sess.bo != nil && sess.bo.open {
		s.leaveRoomLocked(inst, sess.bo, at, reason)
	}
	next := &session{p: sess.p, status: StatusInMeeting, join: when, open: true}
	next.p.UserID = inst.newUserID()
	inst.sessions = append(inst.sessions, next)
	sess.leave, sess.open, sess.reason = when, false, leaveReason(sess.p.Name, false, reason)
	left := func() {
		s.emitLocked(inst.event("participant_left"), at, func(numeric bool) any { return inst.participantObject(numeric, sess, false) })
	}
	if to == nil {
		left()
		s.emitJoinedLocked(inst, next, at)
		return next
	}
	s.emitJoinedLocked(inst, next, at)
	left()
	bo := &boSession{
		room: to, p: next.p, parentUserID: next.p.UserID, join: when, open: true,
		// §10: the room's user_id is digits with a timestamp appended.
		userID: inst.newUserID() + strconv.FormatInt(when.Unix(), 10),
	}
	to.sessions = append(to.sessions, bo)
	next.bo = bo
	s.emitLocked("meeting.participant_joined_breakout_room", at, func(numeric bool) any { return inst.breakoutObject(numeric, bo, true) })
	return next
}

// leaveRoomLocked closes a breakout-room stay and emits
// meeting.participant_left_breakout_room.
func (s *Server) leaveRoomLocked(inst *instance, bo *boSession, at time.Time, reason string) {
	bo.leave, bo.open = s.at(at), false
	bo.reason = leaveReason(bo.p.Name, false, reason)
	s.emitLocked("meeting.participant_left_breakout_room", at, func(numeric bool) any { return inst.breakoutObject(numeric, bo, false) })
}

// closeStayLocked ends a waiting-room stay and emits what (admitted,
// left_waiting_room) for it.
func (s *Server) closeStayLocked(inst *instance, stay *session, at time.Time, what string) {
	stay.leave, stay.open = s.at(at), false
	s.emitWaitingLocked(inst, stay, what, at)
}

func (s *Server) emitWaitingLocked(inst *instance, stay *session, what string, at time.Time) {
	when := zoomTime(s.at(at))
	s.emitLocked("meeting."+what, at, func(numeric bool) any { return inst.waitingObject(numeric, stay, what, when) })
}

// meetingLocked returns a running meeting instance; waiting and breakout
// rooms have no webinar events.
func (s *Server) meetingLocked(op, uuid string) *instance {
	inst := s.runningLocked(op, uuid)
	if inst.m.webinar {
		panic(fmt.Sprintf("zoomtest: %s: %q is a webinar; waiting and breakout rooms are modelled for meetings", op, uuid))
	}
	return inst
}

// mustWaiting returns userID's open waiting-room stay or panics.
func (inst *instance) mustWaiting(op, userID string) *session {
	stay := inst.openStay(userID)
	if stay == nil || stay.inMeeting() {
		panic(fmt.Sprintf("zoomtest: %s: user_id %s is not in the waiting room of %q", op, userID, inst.uuid))
	}
	return stay
}

// room returns the breakout room with that name, creating it.
func (inst *instance) room(name string) *breakoutRoom {
	for _, r := range inst.rooms {
		if r.name == name {
			return r
		}
	}
	r := &breakoutRoom{uuid: newInstanceUUID(), name: name}
	inst.rooms = append(inst.rooms, r)
	return r
}
