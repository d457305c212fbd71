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
}

// Session is one join session as it really happened.
type Session struct {
	Person      Person
	JoinTime    time.Time
	LeaveTime   time.Time // zero while the person is still in
	LeaveReason string
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
	Sessions []Session // in the order Join was called
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
	nextUser int64
}

type session struct {
	p      Person
	join   time.Time
	leave  time.Time
	open   bool
	reason string
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

// Join opens a join session in a running instance and emits
// participant_joined. It returns p with the generated fields filled in. at
// zero means now. It panics if the instance is unknown or ended, or if
// p.UserID already has an open session.
func (s *Server) Join(uuid string, p Person, at time.Time) Person {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.runningLocked("Join", uuid)
	when := s.at(at)
	if p.UserID == "" {
		p.UserID = strconv.FormatInt(inst.nextUser, 10)
		inst.nextUser += 1024
	} else if inst.openSession(p.UserID) != nil {
		panic(fmt.Sprintf("zoomtest: Join: user_id %s is already in %q", p.UserID, uuid))
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
	sess := &session{p: p, join: when, open: true}
	inst.sessions = append(inst.sessions, sess)
	s.emitLocked(inst.event("participant_joined"), at, func(numeric bool) any { return inst.participantObject(numeric, sess, true) })
	return p
}

// Leave closes userID's open session and emits participant_left. reason is
// what follows "Reason: " in leave_reason; "" means "left the meeting". at
// zero means now. It panics if there is no such open session.
func (s *Server) Leave(uuid string, userID string, at time.Time, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.runningLocked("Leave", uuid)
	sess := inst.openSession(userID)
	if sess == nil {
		panic(fmt.Sprintf("zoomtest: Leave: user_id %s has no open session in %q", userID, uuid))
	}
	s.leaveLocked(inst, sess, at, cmp.Or(reason, "left the meeting"))
}

func (s *Server) leaveLocked(inst *instance, sess *session, at time.Time, reason string) {
	sess.leave = s.at(at)
	sess.open = false
	sess.reason = fmt.Sprintf("%s left the %s.<br>Reason: %s", sess.p.Name, kindName(inst.m.webinar), reason)
	s.emitLocked(inst.event("participant_left"), at, func(numeric bool) any { return inst.participantObject(numeric, sess, false) })
}

// EndMeeting ends a running instance. Like Zoom when the host ends a meeting
// for all (§3), it first emits participant_left for everyone still in, with
// "Host ended the meeting." as the reason, then meeting.ended (or
// webinar.ended). at zero means now.
func (s *Server) EndMeeting(uuid string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inst := s.runningLocked("EndMeeting", uuid)
	for _, sess := range inst.sessions {
		if sess.open {
			s.leaveLocked(inst, sess, at, "Host ended the meeting.")
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

func (inst *instance) openSession(userID string) *session {
	for _, sess := range inst.sessions {
		if sess.open && sess.p.UserID == userID {
			return sess
		}
	}
	return nil
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

// uniqueParticipants counts people, not sessions: a rejoin is the same person.
func (inst *instance) uniqueParticipants() int {
	seen := map[string]bool{}
	for _, sess := range inst.sessions {
		key := "uuid:" + sess.p.ParticipantUUID
		if sess.p.ParticipantUserID != "" {
			key = "user:" + sess.p.ParticipantUserID
		}
		seen[key] = true
	}
	return len(seen)
}

// sessionsByJoin returns the sessions in join-time order.
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
		out.Sessions = append(out.Sessions, Session{Person: sess.p, JoinTime: sess.join, LeaveTime: sess.leave, LeaveReason: sess.reason})
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
