package store

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// sessionKey names the sessions one participant has in one meeting instance.
type sessionKey struct{ meetingUUID, participantKey string }

// pendingSession is a session as a batch leaves it: read from the database
// (id set) or new, and whether the batch changed it.
type pendingSession struct {
	ParticipantSession
	changed bool
}

// applyParticipants records joins and leaves in order. It reads the sessions
// of every participant the batch touches in one query per meeting, pairs each
// side in memory (pairSessions), then writes the changed sessions and inserts
// the new ones in one statement: a few statements per batch instead of two per
// event.
func (s *Store) applyParticipants(ctx context.Context, tx *sqlx.Tx, updates []ParticipantUpdate, now time.Time) error {
	if len(updates) == 0 {
		return nil
	}
	updates = slices.Clone(updates)
	for i, u := range updates {
		updates[i] = u.clean()
	}
	keysByMeeting := map[string][]string{}
	seen := map[sessionKey]bool{}
	for _, u := range updates {
		key := u.Participant.Key()
		if key == "" {
			return errors.New("participant update without any identity")
		}
		if (u.JoinTime.IsZero()) == (u.LeaveTime.IsZero()) {
			return errors.New("participant update must carry exactly one of join and leave time")
		}
		sk := sessionKey{u.MeetingUUID, key}
		if !seen[sk] {
			seen[sk] = true
			keysByMeeting[u.MeetingUUID] = append(keysByMeeting[u.MeetingUUID], key)
		}
	}

	meetings := slices.Sorted(maps.Keys(keysByMeeting))
	sessions := map[sessionKey][]*pendingSession{}
	for _, meeting := range meetings {
		err := inChunks(keysByMeeting[meeting], func(keys []string) error {
			st, err := s.txStmt(ctx, tx, `SELECT * FROM participant_sessions WHERE meeting_uuid = ? AND participant_key IN (`+
				placeholders(1, len(keys))+`)`)
			if err != nil {
				return err
			}
			var rows []ParticipantSession
			if err := st.SelectContext(ctx, &rows, append([]any{meeting}, anySlice(keys)...)...); err != nil {
				return err
			}
			for _, r := range rows {
				sk := sessionKey{r.MeetingUUID, r.ParticipantKey}
				sessions[sk] = append(sessions[sk], &pendingSession{ParticipantSession: r})
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("read participant sessions: %w", err)
		}
	}

	var created []*pendingSession
	for _, u := range updates {
		sk := sessionKey{u.MeetingUUID, u.Participant.Key()}
		ps, isNew := pairSessions(sessions[sk], u)
		if isNew {
			ps.MeetingUUID, ps.ParticipantKey, ps.CreatedAt = u.MeetingUUID, sk.participantKey, dbTime(now)
			sessions[sk] = append(sessions[sk], ps)
			created = append(created, ps)
		}
		ps.changed = true
		ps.UpdatedAt = dbTime(now)
	}

	var changed []*pendingSession
	for _, meeting := range meetings {
		for _, key := range keysByMeeting[meeting] {
			for _, ps := range sessions[sessionKey{meeting, key}] {
				if ps.changed && ps.ID != 0 {
					changed = append(changed, ps)
				}
			}
		}
	}
	if err := s.updateSessions(ctx, tx, changed); err != nil {
		return err
	}
	return s.insertSessions(ctx, tx, created)
}

// pairSessions applies one join or leave to the participant's sessions,
// whatever order the events arrive in (zoom-platform.md §3 "Ordering"), and
// returns the session it landed in, which is new when none fits:
//
//   - a join already recorded at the same time changes nothing; a join fills
//     the join-less session that left soonest at or after it; otherwise it
//     opens a new session (a rejoin);
//   - a leave already recorded at the same time changes nothing; a leave
//     closes the open session with the latest join at or before it; otherwise
//     it starts a session whose join is still unknown.
//
// Identity fields the session lacks are filled from the update.
func pairSessions(list []*pendingSession, u ParticipantUpdate) (*pendingSession, bool) {
	var match *pendingSession
	if !u.JoinTime.IsZero() {
		at := dbTime(u.JoinTime)
		match = findSession(list,
			func(ps *pendingSession) bool { return ps.JoinTime != nil && ps.JoinTime.Equal(at) },
			func(ps *pendingSession) bool { return ps.JoinTime == nil && !ps.LeaveTime.Before(at) },
			func(a, b *pendingSession) bool { return a.LeaveTime.Before(*b.LeaveTime) })
	} else {
		at := dbTime(u.LeaveTime)
		match = findSession(list,
			func(ps *pendingSession) bool { return ps.LeaveTime != nil && ps.LeaveTime.Equal(at) },
			func(ps *pendingSession) bool { return ps.LeaveTime == nil && !ps.JoinTime.After(at) },
			func(a, b *pendingSession) bool { return a.JoinTime.After(*b.JoinTime) })
	}
	isNew := match == nil
	if isNew {
		match = &pendingSession{}
	}
	ps := &match.ParticipantSession
	if ps.JoinTime == nil && !u.JoinTime.IsZero() {
		ps.JoinTime, ps.JoinSource = dbTimePtr(u.JoinTime), u.Source
	}
	if ps.LeaveTime == nil && !u.LeaveTime.IsZero() {
		ps.LeaveTime, ps.LeaveSource = dbTimePtr(u.LeaveTime), u.Source
	}
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&ps.LeaveReason, u.LeaveReason)
	p := u.Participant
	fill(&ps.UserID, p.UserID)
	fill(&ps.ParticipantUserID, p.ParticipantUserID)
	fill(&ps.ParticipantUUID, p.ParticipantUUID)
	fill(&ps.RegistrantID, p.RegistrantID)
	fill(&ps.UserName, p.UserName)
	fill(&ps.Email, p.Email)
	return match, isNew
}

// findSession returns the session that already records this side (same),
// else the best (by better) of those it can complete (fits), else nil.
func findSession(list []*pendingSession, same, fits func(*pendingSession) bool, better func(a, b *pendingSession) bool) *pendingSession {
	var best *pendingSession
	for _, ps := range list {
		if same(ps) {
			return ps
		}
		if fits(ps) && (best == nil || better(ps, best)) {
			best = ps
		}
	}
	return best
}

// updateSessions writes changed sessions back with a few statements: an insert
// of rows that all exist, turned into updates by ON CONFLICT, costs one
// statement per chunk instead of one per leave.
func (s *Store) updateSessions(ctx context.Context, tx *sqlx.Tx, changed []*pendingSession) error {
	err := inChunks(changed, func(changed []*pendingSession) error {
		args := make([]any, 0, 16*len(changed))
		for _, ps := range changed {
			args = append(append(args, ps.ID), sessionValues(ps)...)
		}
		query := `INSERT INTO participant_sessions (id, ` + sessionColumns + `)` + s.dialect.overrideIdentity +
			` VALUES ` + placeholders(16, len(changed)) + `
ON CONFLICT (id) DO UPDATE SET
    join_time = excluded.join_time, join_source = excluded.join_source,
    leave_time = excluded.leave_time, leave_source = excluded.leave_source, leave_reason = excluded.leave_reason,
    user_id = excluded.user_id, participant_user_id = excluded.participant_user_id,
    participant_uuid = excluded.participant_uuid, registrant_id = excluded.registrant_id,
    user_name = excluded.user_name, email = excluded.email, updated_at = excluded.updated_at`
		_, err := s.txExec(ctx, tx, query, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("update participant sessions: %w", err)
	}
	return nil
}

// sessionColumns are the columns a session is written with, in the order
// insertSessions and updateSessions bind them (after id, for the update).
const sessionColumns = `meeting_uuid, participant_key, user_id, participant_user_id, participant_uuid,
    registrant_id, user_name, email, join_time, join_source, leave_time, leave_source, leave_reason,
    created_at, updated_at`

// sessionValues are a session's values in sessionColumns order.
func sessionValues(ps *pendingSession) []any {
	return []any{ps.MeetingUUID, ps.ParticipantKey, ps.UserID, ps.ParticipantUserID, ps.ParticipantUUID,
		ps.RegistrantID, ps.UserName, ps.Email, ps.JoinTime, ps.JoinSource, ps.LeaveTime, ps.LeaveSource,
		ps.LeaveReason, ps.CreatedAt, ps.UpdatedAt}
}

// insertSessions inserts new sessions with a few multi-row statements.
func (s *Store) insertSessions(ctx context.Context, tx *sqlx.Tx, created []*pendingSession) error {
	err := inChunks(created, func(created []*pendingSession) error {
		args := make([]any, 0, 15*len(created))
		for _, ps := range created {
			args = append(args, sessionValues(ps)...)
		}
		query := `INSERT INTO participant_sessions (` + sessionColumns + `) VALUES ` + placeholders(15, len(created))
		_, err := s.txExec(ctx, tx, query, args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("insert participant sessions: %w", err)
	}
	return nil
}
