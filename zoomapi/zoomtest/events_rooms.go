package zoomtest

// Payloads of the waiting-room and breakout-room events (zoom-platform.md
// §10), written from zoom-api-reference.json with this package's own
// structs. Field order is the order of Zoom's generated types, which the
// reference keeps; the optional fields are left out when empty, as in the
// other participant events.

// waitingParticipant is payload.object.participant of
// meeting.participant_joined_waiting_room, _left_waiting_room and
// _put_in_waiting_room: date_time instead of join_time or leave_time (§10).
type waitingParticipant struct {
	UserID            string `json:"user_id"`
	UserName          string `json:"user_name"`
	ID                string `json:"id"`
	ParticipantUUID   string `json:"participant_uuid,omitempty"`
	DateTime          string `json:"date_time"`
	Email             string `json:"email"`
	ParticipantUserID string `json:"participant_user_id,omitempty"`
	RegistrantID      string `json:"registrant_id,omitempty"`
}

// admittedParticipant is payload.object.participant of
// meeting.participant_admitted, which Zoom's types give no
// participant_user_id.
type admittedParticipant struct {
	UserID          string `json:"user_id"`
	UserName        string `json:"user_name"`
	ID              string `json:"id"`
	ParticipantUUID string `json:"participant_uuid,omitempty"`
	DateTime        string `json:"date_time"`
	Email           string `json:"email"`
	RegistrantID    string `json:"registrant_id,omitempty"`
}

// breakoutObject is payload.object of meeting.participant_joined_breakout_room
// and _left_breakout_room: the main meeting's id and uuid, and the room's
// breakout_room_uuid (§10).
type breakoutObject struct {
	ID               meetingID           `json:"id"`
	UUID             string              `json:"uuid"`
	BreakoutRoomUUID string              `json:"breakout_room_uuid"`
	HostID           string              `json:"host_id"`
	Topic            string              `json:"topic"`
	Type             int                 `json:"type"`
	StartTime        string              `json:"start_time"`
	Timezone         string              `json:"timezone"`
	Duration         int                 `json:"duration"`
	Participant      breakoutParticipant `json:"participant"`
}

// breakoutParticipant carries the room's own user_id and, as
// parent_user_id, the person's user_id in the main meeting (§10).
type breakoutParticipant struct {
	UserID            string `json:"user_id"`
	ParentUserID      string `json:"parent_user_id"`
	UserName          string `json:"user_name"`
	ID                string `json:"id"`
	ParticipantUUID   string `json:"participant_uuid,omitempty"`
	JoinTime          string `json:"join_time,omitempty"`
	LeaveTime         string `json:"leave_time,omitempty"`
	LeaveReason       string `json:"leave_reason,omitempty"`
	Email             string `json:"email"`
	RegistrantID      string `json:"registrant_id,omitempty"`
	ParticipantUserID string `json:"participant_user_id,omitempty"`
}

// waitingObject is payload.object of a waiting-room event; what is the event
// name after "meeting.", dateTime the happening's time.
func (inst *instance) waitingObject(numeric bool, stay *session, what, dateTime string) participantObject {
	p := stay.p
	var participant any = waitingParticipant{
		UserID: p.UserID, UserName: p.Name, ID: p.ParticipantUserID, ParticipantUUID: p.ParticipantUUID,
		DateTime: dateTime, Email: p.Email, ParticipantUserID: p.ParticipantUserID, RegistrantID: p.RegistrantID,
	}
	if what == "participant_admitted" {
		participant = admittedParticipant{
			UserID: p.UserID, UserName: p.Name, ID: p.ParticipantUserID, ParticipantUUID: p.ParticipantUUID,
			DateTime: dateTime, Email: p.Email, RegistrantID: p.RegistrantID,
		}
	}
	return participantObject{
		ID: inst.id(numeric), UUID: inst.uuid, HostID: inst.hostID, Topic: inst.topic, Type: inst.typ,
		StartTime: zoomTime(inst.start), Timezone: inst.timezone, Duration: inst.duration, Participant: participant,
	}
}

func (inst *instance) breakoutObject(numeric bool, bo *boSession, joined bool) breakoutObject {
	p := bo.p
	bp := breakoutParticipant{
		UserID: bo.userID, ParentUserID: bo.parentUserID, UserName: p.Name, ID: p.ParticipantUserID,
		ParticipantUUID: p.ParticipantUUID, Email: p.Email, RegistrantID: p.RegistrantID, ParticipantUserID: p.ParticipantUserID,
	}
	if joined {
		bp.JoinTime = zoomTime(bo.join)
	} else {
		bp.LeaveTime, bp.LeaveReason = zoomTime(bo.leave), bo.reason
	}
	return breakoutObject{
		ID: inst.id(numeric), UUID: inst.uuid, BreakoutRoomUUID: bo.room.uuid, HostID: inst.hostID, Topic: inst.topic,
		Type: inst.typ, StartTime: zoomTime(inst.start), Timezone: inst.timezone, Duration: inst.duration, Participant: bp,
	}
}
