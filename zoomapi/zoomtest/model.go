package zoomtest

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// User is a user of the fake account, as GET /users lists them.
type User struct {
	ID        string // "" in AddUser: generated, 22 characters
	Email     string // "" in AddUser: generated
	FirstName string
	LastName  string
	Type      int    // 1 basic, 2 licensed (default)
	Status    string // active (default), inactive, pending
}

// MeetingSpec describes an instance to start.
type MeetingSpec struct {
	// ID is the meeting number; 0 generates an 11-digit one. Starting an ID
	// again makes a new instance (new UUID) of the same meeting, as a
	// recurring meeting or a reused PMI does.
	ID int64
	// UUID is the instance UUID; "" generates the base64 of 16 random bytes,
	// which sometimes contains '/', '+' and a leading '/' (§4, §5).
	UUID   string
	HostID string // the host's user ID; "" uses the account's owner. Unknown hosts are created.
	Topic  string
	// Type is 1 instant, 2 scheduled (default), 8 recurring with a fixed
	// time; for webinars 5 (default), 6 or 9 (§4).
	Type    int
	Webinar bool
	Start   time.Time // zero: now
	// Duration is the scheduled length in minutes that events and GET
	// /meetings report (§4: not the actual length). Default 60, 0 for instant meetings.
	Duration int
	Timezone string // IANA zone; default "UTC"
}

// Person is one participant's join session as Join takes and returns it.
type Person struct {
	// UserID is Zoom's per-session participant user_id: a string of digits,
	// new for every join (§4). "" generates one.
	UserID string
	Name   string
	Email  string // "" for guests and hidden addresses
	// ParticipantUserID is the Zoom user ID of a participant from the
	// account; "" for externals, whose id and participant_user_id Zoom
	// returns empty (§5 privacy caveats). Unknown IDs are added as users.
	ParticipantUserID string
	// ParticipantUUID is the participant's GUID; "" reuses the one of an
	// earlier session of the same user or email in this instance, else
	// generates one.
	ParticipantUUID string
	RegistrantID    string
	// Panelist marks a webinar panelist; other webinar participants are
	// attendees. Dashboard webinar rows name the role (§5).
	Panelist bool
}

// Session statuses, as report, past-participant and Dashboard rows carry
// them in status (zoom-platform.md §5, §10).
const (
	StatusInMeeting     = "in_meeting"
	StatusInWaitingRoom = "in_waiting_room"
)

// Session is one join session as it really happened: one row of the report,
// past-participant and Dashboard participant lists.
type Session struct {
	Person Person
	// Status is StatusInMeeting for a session in the meeting, or
	// StatusInWaitingRoom for a stay in the waiting room (JoinWaitingRoom,
	// PutInWaitingRoom), which is no attendance (§10).
	Status      string
	JoinTime    time.Time // for a waiting-room stay, when it began
	LeaveTime   time.Time // zero while the person is still in
	LeaveReason string    // "" for waiting-room stays: their events carry none
	// BreakoutRoomUUID is the breakout room the person was in during this
	// session of the main meeting, "" if none. Its report and Dashboard rows
	// carry it as bo_mtg_id (§10).
	BreakoutRoomUUID string
}

// BreakoutRoom is one breakout room of an instance as it really happened.
type BreakoutRoom struct {
	UUID     string // breakout_room_uuid in its events
	Name     string // as MoveToBreakoutRoom named it
	Sessions []BreakoutSession
}

// BreakoutSession is one stay in a breakout room, as the
// meeting.participant_joined_breakout_room and _left_breakout_room events
// describe it (§10).
type BreakoutSession struct {
	// UserID is the room's own user_id: digits with a Unix timestamp appended.
	UserID string
	// ParentUserID is the user_id of the person's main-meeting session
	// during the stay, the one the main meeting's participant_joined named.
	ParentUserID    string
	ParticipantUUID string // the same as in the main meeting
	Name            string
	JoinTime        time.Time
	LeaveTime       time.Time // zero while the person is still in the room
	LeaveReason     string
}

// Instance is one meeting or webinar instance as it really happened.
type Instance struct {
	UUID     string
	ID       int64
	HostID   string
	Topic    string
	Type     int
	Webinar  bool
	Timezone string
	Duration int       // scheduled minutes
	Start    time.Time // whole seconds, UTC
	End      time.Time // zero while running
	// Sessions are the join sessions and waiting-room stays in the order
	// they began.
	Sessions      []Session
	BreakoutRooms []BreakoutRoom // in the order first used
}

type userRecord struct {
	User
	pmi     int64
	created time.Time
}

func (u *userRecord) displayName() string {
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

type meeting struct {
	id        int64
	webinar   bool
	instances []*instance // in start order
}

type instance struct {
	m        *meeting
	uuid     string
	hostID   string
	topic    string
	typ      int
	duration int
	timezone string
	start    time.Time
	end      time.Time
	ended    bool
	sessions []*session
	rooms    []*breakoutRoom
	nextUser int64
}

// session is one row of the participant lists: a join session in the main
// meeting or a stay in its waiting room.
type session struct {
	p      Person
	status string // StatusInMeeting or StatusInWaitingRoom
	join   time.Time
	leave  time.Time
	open   bool
	reason string
	bo     *boSession // the breakout-room stay this main-meeting session stands for, if any
}

func (sess *session) inMeeting() bool { return sess.status == StatusInMeeting }

// boMtgID is the bo_mtg_id of the session's rows: its breakout room, if any.
func (sess *session) boMtgID() string {
	if sess.bo == nil {
		return ""
	}
	return sess.bo.room.uuid
}

// AddUser adds a user to the account; see User for the defaults. Users need
// not be added: hosts and internal participants are created when referenced.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addUserLocked(u)
}

// Users lists the account's users in the order they were added.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.userOrder))
	for _, id := range s.userOrder {
		out = append(out, s.users[id].User)
	}
	return out
}

func (s *Server) addUserLocked(u User) *userRecord {
	u.ID = cmp.Or(u.ID, randString(22, alnum))
	if r, ok := s.users[u.ID]; ok {
		return r
	}
	u.Email = cmp.Or(u.Email, strings.ToLower(u.ID)+"@example.com")
	u.Type = cmp.Or(u.Type, 2)
	u.Status = cmp.Or(u.Status, "active")
	r := &userRecord{User: u, pmi: 1000000000 + mrand.Int64N(9000000000), created: s.now().UTC().Truncate(time.Second)}
	s.users[u.ID] = r
	s.userOrder = append(s.userOrder, u.ID)
	return r
}

// hostLocked returns the host with that ID, creating it if needed; "" is
// the account's owner.
func (s *Server) hostLocked(id string) *userRecord {
	if id == "" {
		if s.defaultHost == "" {
			s.defaultHost = s.addUserLocked(User{FirstName: "Account", LastName: "Owner"}).ID
		}
		id = s.defaultHost
	}
	if r, ok := s.users[id]; ok {
		return r
	}
	return s.addUserLocked(User{ID: id, FirstName: "Host", LastName: id[:min(len(id), 6)]})
}

// StartMeeting starts an instance and emits meeting.started (or
// webinar.started). It returns the instance UUID. It panics if the meeting
// already has a running instance or the UUID is taken: Zoom allows neither.
func (s *Server) StartMeeting(spec MeetingSpec) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	at := s.at(spec.Start)
	host := s.hostLocked(spec.HostID)
	id := spec.ID
	for id == 0 || (spec.ID == 0 && s.meetings[id] != nil) {
		id = 80000000000 + mrand.Int64N(20000000000) // 11 digits (§4)
	}
	m := s.meetings[id]
	if m == nil {
		m = &meeting{id: id, webinar: spec.Webinar}
		s.meetings[id] = m
	}
	if m.webinar != spec.Webinar {
		panic(fmt.Sprintf("zoomtest: StartMeeting: %d is already a %s", id, kindName(m.webinar)))
	}
	if last := m.latest(); last != nil && !last.ended {
		panic(fmt.Sprintf("zoomtest: StartMeeting: %d already has a running instance %q", id, last.uuid))
	}
	uuid := spec.UUID
	for uuid == "" || (spec.UUID == "" && s.instances[uuid] != nil) {
		uuid = newInstanceUUID()
	}
	if s.instances[uuid] != nil {
		panic(fmt.Sprintf("zoomtest: StartMeeting: instance %q already exists", uuid))
	}
	typ := spec.Type
	if typ == 0 {
		typ = 2
		if spec.Webinar {
			typ = 5
		}
	}
	duration := spec.Duration
	if duration == 0 && typ != 1 {
		duration = 60
	}
	inst := &instance{
		m:        m,
		uuid:     uuid,
		hostID:   host.ID,
		topic:    spec.Topic,
		typ:      typ,
		duration: duration,
		timezone: cmp.Or(spec.Timezone, "UTC"),
		start:    at,
		nextUser: 16778240, // Zoom's session user_ids count up from here in steps of 1024
	}
	m.instances = append(m.instances, inst)
	s.instances[uuid] = inst
	s.started = append(s.started, inst)
	s.emitLocked(inst.event("started"), spec.Start, func(numeric bool) any { return inst.startedObject(numeric) })
	return uuid
}

// StartWebinar starts a webinar instance: StartMeeting with spec.Webinar
// set, so it emits webinar.started and returns the instance UUID. Join,
// Leave and EndWebinar then play it; a Person with Panelist set joins as a
// panelist, anyone else as an attendee. Its type defaults to 5 (§4).
func (s *Server) StartWebinar(spec MeetingSpec) string {
	spec.Webinar = true
	return s.StartMeeting(spec)
}

// EndWebinar ends a running webinar instance as EndMeeting does, emitting
// participant_left for everyone still in and then webinar.ended. It panics
// if the instance is not a webinar.
func (s *Server) EndWebinar(uuid string, at time.Time) {
	s.mu.Lock()
	webinar := s.instances[uuid] != nil && s.instances[uuid].m.webinar
	s.mu.Unlock()
	if !webinar {
		panic(fmt.Sprintf("zoomtest: EndWebinar: %q is not a webinar instance", uuid))
	}
	s.EndMeeting(uuid, at)
}

// Join opens a join session in a running instance and emits
// participant_joined. It returns p with the generated fields filled in. at
// zero means now. It panics if the instance is unknown or ended, or if
// p.UserID already has an open session or waiting-room stay.
func (s *Server) Join(uuid string, p Person, at time.Time) Person {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.runningLocked("Join", uuid)
	p = s.personLocked("Join", inst, p)
	sess := &session{p: p, status: StatusInMeeting, join: s.at(at), open: true}
	inst.sessions = append(inst.sessions, sess)
	s.emitJoinedLocked(inst, sess, at)
	return p
}

// personLocked fills in a newcomer's generated fields: a fresh user_id, the
// name and email of a known user, and the participant_uuid of an earlier
// session of the same person (§4).
func (s *Server) personLocked(op string, inst *instance, p Person) Person {
	if p.UserID == "" {
		p.UserID = inst.newUserID()
	} else if inst.openStay(p.UserID) != nil {
		panic(fmt.Sprintf("zoomtest: %s: user_id %s is already in %q", op, p.UserID, inst.uuid))
	}
	if p.ParticipantUserID != "" {
		u := s.users[p.ParticipantUserID]
		if u == nil {
			first, last, _ := strings.Cut(p.Name, " ")
			u = s.addUserLocked(User{ID: p.ParticipantUserID, Email: p.Email, FirstName: first, LastName: last})
		}
		p.Name = cmp.Or(p.Name, u.displayName())
		p.Email = cmp.Or(p.Email, u.Email)
	}
	if p.ParticipantUUID == "" {
		p.ParticipantUUID = inst.participantUUIDOf(p)
	}
	if p.ParticipantUUID == "" {
		p.ParticipantUUID = newParticipantUUID()
	}
	return p
}

// newUserID returns the next per-session user_id: Zoom's count up from
// 16778240 in steps of 1024 (§4).
func (inst *instance) newUserID() string {
	id := strconv.FormatInt(inst.nextUser, 10)
	inst.nextUser += 1024
	return id
}

func (s *Server) emitJoinedLocked(inst *instance, sess *session, at time.Time) {
	s.emitLocked(inst.event("participant_joined"), at, func(numeric bool) any { return inst.participantObject(numeric, sess, true) })
}

// Leave closes userID's open session and emits participant_left. reason is
// what follows "Reason: " in leave_reason; "" means "left the meeting". at
// zero means now. It panics if there is no such open session.
func (s *Server) Leave(uuid string, userID string, at time.Time, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.runningLocked("Leave", uuid)
	sess := inst.mustSession("Leave", userID)
	s.leaveLocked(inst, sess, at, cmp.Or(reason, "left the meeting"))
}

// leaveLocked closes a main-meeting session and emits participant_left. A
// person in a breakout room leaves the room first, with the same reason.
func (s *Server) leaveLocked(inst *instance, sess *session, at time.Time, reason string) {
	if sess.bo != nil && sess.bo.open {
		s.leaveRoomLocked(inst, sess.bo, at, reason)
	}
	sess.leave = s.at(at)
	sess.open = false
	sess.reason = leaveReason(sess.p.Name, inst.m.webinar, reason)
	s.emitLocked(inst.event("participant_left"), at, func(numeric bool) any { return inst.participantObject(numeric, sess, false) })
}

// leaveReason is Zoom's leave_reason text, with its HTML line break (§4).
func leaveReason(name string, webinar bool, reason string) string {
	return fmt.Sprintf("%s left the %s.<br>Reason: %s", name, kindName(webinar), reason)
}

// EndMeeting ends a running instance. Like Zoom when the host ends a meeting
// for all (§3), it first emits participant_left for everyone still in, with
// "Host ended the meeting." as the reason (preceded by
// participant_left_breakout_room for those in a breakout room), and
// participant_left_waiting_room for everyone still waiting, then
// meeting.ended (or webinar.ended). at zero means now.
func (s *Server) EndMeeting(uuid string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.runningLocked("EndMeeting", uuid)
	for _, sess := range inst.sessions {
		switch {
		case !sess.open:
		case sess.inMeeting():
			s.leaveLocked(inst, sess, at, "Host ended the meeting.")
		default:
			s.closeStayLocked(inst, sess, at, "participant_left_waiting_room")
		}
	}
	inst.end = s.at(at)
	inst.ended = true
	s.emitLocked(inst.event("ended"), at, func(numeric bool) any { return inst.endedObject(numeric) })
}

// CompleteRecording emits recording.completed for an instance, with a
// numeric id and a top-level download_token as Zoom sends it (§4). The
// model does not change. at zero means now.
func (s *Server) CompleteRecording(uuid string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[uuid]
	if !ok {
		panic(fmt.Sprintf("zoomtest: CompleteRecording: unknown instance %q", uuid))
	}
	host := s.users[inst.hostID]
	s.hooks.emit("recording.completed", s.recordingBody(inst, host, s.at(at), eventTS(s.now(), at)))
}

// Truth returns what really happened in an instance.
func (s *Server) Truth(uuid string) (Instance, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst, ok := s.instances[uuid]
	if !ok {
		return Instance{}, false
	}
	return inst.truth(), true
}

// Instances returns every instance in the order they were started.
func (s *Server) Instances() []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Instance, 0, len(s.started))
	for _, inst := range s.started {
		out = append(out, inst.truth())
	}
	return out
}

func (s *Server) runningLocked(op, uuid string) *instance {
	inst, ok := s.instances[uuid]
	if !ok {
		panic(fmt.Sprintf("zoomtest: %s: unknown instance %q", op, uuid))
	}
	if inst.ended {
		panic(fmt.Sprintf("zoomtest: %s: instance %q has ended", op, uuid))
	}
	return inst
}

// at turns a happening's time into the model's: now when zero, UTC, whole
// seconds as in every Zoom payload (§ intro).
func (s *Server) at(t time.Time) time.Time {
	if t.IsZero() {
		t = s.now()
	}
	return t.UTC().Truncate(time.Second)
}

// eventTS is a happening's event_ts in Unix milliseconds: the happening's own
// time with its sub-second part, or now.
func eventTS(now, at time.Time) int64 {
	if at.IsZero() {
		at = now
	}
	return at.UnixMilli()
}

func (s *Server) emitLocked(event string, at time.Time, object func(numeric bool) any) {
	ts := eventTS(s.now(), at)
	s.hooks.emit(event, func(numeric bool) []byte { return s.envelope(event, object(numeric), ts) })
}

func (m *meeting) latest() *instance {
	if len(m.instances) == 0 {
		return nil
	}
	return m.instances[len(m.instances)-1]
}

func (inst *instance) event(what string) string {
	return kindName(inst.m.webinar) + "." + what
}

func kindName(webinar bool) string {
	if webinar {
		return "webinar"
	}
	return "meeting"
}

// openStay returns userID's open session or waiting-room stay, if any.
func (inst *instance) openStay(userID string) *session {
	for _, sess := range inst.sessions {
		if sess.open && sess.p.UserID == userID {
			return sess
		}
	}
	return nil
}

// mustSession returns userID's open main-meeting session or panics.
func (inst *instance) mustSession(op, userID string) *session {
	sess := inst.openStay(userID)
	if sess == nil || !sess.inMeeting() {
		panic(fmt.Sprintf("zoomtest: %s: user_id %s has no open session in %q", op, userID, inst.uuid))
	}
	return sess
}

// participantUUIDOf finds the participant_uuid of an earlier session of the
// same person: Zoom keeps it across rejoins while user_id changes (§4).
func (inst *instance) participantUUIDOf(p Person) string {
	for _, sess := range inst.sessions {
		if (p.ParticipantUserID != "" && sess.p.ParticipantUserID == p.ParticipantUserID) ||
			(p.Email != "" && sess.p.Email == p.Email) {
			return sess.p.ParticipantUUID
		}
	}
	return ""
}

// uniqueParticipants counts people who were in the meeting, not sessions: a
// rejoin or a breakout-room move is the same person, and a waiting-room stay
// is no attendance (§10).
func (inst *instance) uniqueParticipants() int {
	seen := map[string]bool{}
	for _, sess := range inst.sessions {
		if !sess.inMeeting() {
			continue
		}
		key := "uuid:" + sess.p.ParticipantUUID
		if sess.p.ParticipantUserID != "" {
			key = "user:" + sess.p.ParticipantUserID
		}
		seen[key] = true
	}
	return len(seen)
}

// attended counts the join sessions in the meeting, waiting-room stays left out.
func (inst *instance) attended() int {
	n := 0
	for _, sess := range inst.sessions {
		if sess.inMeeting() {
			n++
		}
	}
	return n
}

// sessionsByJoin returns the sessions and waiting-room stays in join-time order.
func (inst *instance) sessionsByJoin() []*session {
	out := slices.Clone(inst.sessions)
	slices.SortStableFunc(out, func(a, b *session) int { return a.join.Compare(b.join) })
	return out
}

func (inst *instance) truth() Instance {
	out := Instance{
		UUID: inst.uuid, ID: inst.m.id, HostID: inst.hostID, Topic: inst.topic, Type: inst.typ,
		Webinar: inst.m.webinar, Timezone: inst.timezone, Duration: inst.duration,
		Start: inst.start, End: inst.end,
	}
	for _, sess := range inst.sessions {
		out.Sessions = append(out.Sessions, Session{
			Person: sess.p, Status: sess.status, JoinTime: sess.join, LeaveTime: sess.leave, LeaveReason: sess.reason,
			BreakoutRoomUUID: sess.boMtgID(),
		})
	}
	for _, room := range inst.rooms {
		r := BreakoutRoom{UUID: room.uuid, Name: room.name}
		for _, bo := range room.sessions {
			r.Sessions = append(r.Sessions, BreakoutSession{
				UserID: bo.userID, ParentUserID: bo.parentUserID, ParticipantUUID: bo.p.ParticipantUUID, Name: bo.p.Name,
				JoinTime: bo.join, LeaveTime: bo.leave, LeaveReason: bo.reason,
			})
		}
		out.BreakoutRooms = append(out.BreakoutRooms, r)
	}
	return out
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randString returns n random characters of alphabet.
func randString(n int, alphabet string) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// newInstanceUUID returns 24 characters of base64 ending "==", like Zoom's
// instance UUIDs, '/' and '+' included (§4).
func newInstanceUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// newParticipantUUID returns an upper-case GUID (§4).
func newParticipantUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := strings.ToUpper(hex.EncodeToString(b))
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// newTrackingID returns an x-zm-trackingid in the form REST responses use (§2).
func newTrackingID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return "v=2.0;clid=us06;rid=WEB_" + hex.EncodeToString(b)
}
