package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// This file holds what people do to discrepancies (acknowledge them, mute the
// alerts of a host or a meeting) and the queue of Slack edits that show it.

// State is where a discrepancy stands for the people it alerts.
type State string

const (
	// StateOpen: a person should look.
	StateOpen State = "open"
	// StateAcknowledged: open, and a person has taken it on.
	StateAcknowledged State = "acknowledged"
	// StateMuted: open, and an active mute holds back its alerts.
	StateMuted State = "muted"
	// StateResolved: closed, for the reason in Resolution.
	StateResolved State = "resolved"
)

// State says where d stands given whether an active mute matches it: closed
// beats acknowledged (someone owns it) beats muted beats open.
func (d Discrepancy) State(muted bool) State {
	switch {
	case d.ResolvedAt != nil:
		return StateResolved
	case d.AcknowledgedAt != nil:
		return StateAcknowledged
	case muted:
		return StateMuted
	}
	return StateOpen
}

// ErrResolved is returned when a person acts on a discrepancy that is closed
// already.
var ErrResolved = errors.New("discrepancy is resolved")

// ErrMuteEnded is returned when a mute that ended or ran out is lifted.
var ErrMuteEnded = errors.New("mute has ended")

// DiscrepancyByID returns the discrepancy id, or ErrNotFound.
func (s *Store) DiscrepancyByID(ctx context.Context, id int64) (Discrepancy, error) {
	var d Discrepancy
	if err := s.db.GetContext(ctx, &d, s.q(`SELECT * FROM discrepancies WHERE id = ?`), id); err != nil {
		return Discrepancy{}, fmt.Errorf("get discrepancy %d: %w", id, interpretError(err))
	}
	return d, nil
}

// Acknowledge records that by took the open discrepancy id on at at, with
// note, and in the same transaction queues the edit of its delivered
// messages. Acknowledging again replaces who and the note. It returns
// ErrNotFound for an unknown id and ErrResolved for a closed one.
func (s *Store) Acknowledge(ctx context.Context, id int64, by, note string, at time.Time) (Discrepancy, error) {
	var d Discrepancy
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &d, s.q(`SELECT * FROM discrepancies WHERE id = ?`), id); err != nil {
			return interpretError(err)
		}
		if d.ResolvedAt != nil {
			return ErrResolved
		}
		at, by, note = dbTime(at), dbText(by), dbText(note)
		if _, err := s.txExec(ctx, tx, `UPDATE discrepancies SET acknowledged_at = ?, acknowledged_by = ?, ack_note = ? WHERE id = ?`,
			at, by, note, id); err != nil {
			return err
		}
		d.AcknowledgedAt, d.AcknowledgedBy, d.AckNote = &at, by, note
		return s.queueEdits(ctx, tx, []int64{id}, at)
	})
	if err != nil {
		return Discrepancy{}, fmt.Errorf("acknowledge discrepancy %d: %w", id, err)
	}
	return d, nil
}

// Mute holds back the alerts of one host's or one meeting's discrepancies
// from CreatedAt until Until, unless ended earlier (Unmute).
type Mute struct {
	ID int64 `db:"id"`
	// Host is the host's email or Zoom user ID. A discrepancy matches when
	// its meeting's host_id is Host, or when the host joined a meeting we
	// recorded with Host as their email (Zoom gives the host's user ID as
	// the participant's): webhooks about meetings carry the host's ID only.
	Host string `db:"host"`
	// MeetingID is Zoom's numeric meeting ID: every instance matches.
	MeetingID int64      `db:"meeting_id"`
	Reason    string     `db:"reason"`
	CreatedBy string     `db:"created_by"`
	CreatedAt time.Time  `db:"created_at"`
	Until     time.Time  `db:"until"`
	EndedAt   *time.Time `db:"ended_at"`
}

// Active reports whether m holds alerts back at now.
func (m Mute) Active(now time.Time) bool {
	return m.EndedAt == nil && m.Until.After(now)
}

// ErrInvalidMute is returned for a mute that names neither or both of a host
// and a meeting, has no reason, or ends before it begins.
var ErrInvalidMute = errors.New("invalid mute")

// AddMute records m and returns it with its ID. In the same transaction it
// queues the edit of the delivered messages of the open discrepancies it
// matches, so they say they are muted.
func (s *Store) AddMute(ctx context.Context, m Mute) (Mute, error) {
	m.Host, m.Reason, m.CreatedBy = strings.TrimSpace(dbText(m.Host)), dbText(m.Reason), dbText(m.CreatedBy)
	switch {
	case (m.Host == "") == (m.MeetingID == 0):
		return Mute{}, fmt.Errorf("add mute: %w: name a host or a meeting, not both", ErrInvalidMute)
	case strings.TrimSpace(m.Reason) == "":
		return Mute{}, fmt.Errorf("add mute: %w: a reason is required", ErrInvalidMute)
	case !m.Until.After(m.CreatedAt):
		return Mute{}, fmt.Errorf("add mute: %w: it must end after it begins", ErrInvalidMute)
	}
	m.CreatedAt, m.Until, m.EndedAt = dbTime(m.CreatedAt), dbTime(m.Until), nil
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		err := tx.GetContext(ctx, &m.ID, s.q(`
INSERT INTO mutes (host, meeting_id, reason, created_by, created_at, until) VALUES (?, ?, ?, ?, ?, ?)
RETURNING id`), m.Host, m.MeetingID, m.Reason, m.CreatedBy, m.CreatedAt, m.Until)
		if err != nil {
			return err
		}
		return s.queueMuteEdits(ctx, tx, m.ID, m.CreatedAt)
	})
	if err != nil {
		return Mute{}, fmt.Errorf("add mute: %w", err)
	}
	return m, nil
}

// Unmute ends the active mute id at at and queues the edit of the messages
// it had marked muted. It returns ErrNotFound for an unknown id and
// ErrMuteEnded for one that ended or ran out.
func (s *Store) Unmute(ctx context.Context, id int64, at time.Time) (Mute, error) {
	var m Mute
	at = dbTime(at)
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &m, s.q(`SELECT * FROM mutes WHERE id = ?`), id); err != nil {
			return interpretError(err)
		}
		if !m.Active(at) {
			return ErrMuteEnded
		}
		// Queued while the mute still matches, before it ends.
		if err := s.queueMuteEdits(ctx, tx, id, at); err != nil {
			return err
		}
		m.EndedAt = &at
		_, err := s.txExec(ctx, tx, `UPDATE mutes SET ended_at = ? WHERE id = ?`, at, id)
		return err
	})
	if err != nil {
		return Mute{}, fmt.Errorf("unmute %d: %w", id, err)
	}
	return m, nil
}

// ActiveMutes lists the mutes active at now, soonest to end first.
func (s *Store) ActiveMutes(ctx context.Context, now time.Time) ([]Mute, error) {
	var out []Mute
	err := s.db.SelectContext(ctx, &out, s.q(`
SELECT * FROM mutes WHERE ended_at IS NULL AND until > ? ORDER BY until, id`), dbTime(now))
	if err != nil {
		return nil, fmt.Errorf("list mutes: %w", err)
	}
	return out, nil
}

// muteMatch is the condition under which the mute mu matches the discrepancy
// whose meeting is m. Account kinds have no meeting and are never muted: a
// silence is everyone's problem.
const muteMatch = `((mu.meeting_id <> 0 AND mu.meeting_id = m.meeting_id)
    OR (mu.host <> '' AND m.host_id <> '' AND (mu.host = m.host_id OR EXISTS (
        SELECT 1 FROM participant_sessions ps
        WHERE ps.participant_user_id = m.host_id AND LOWER(ps.email) = LOWER(mu.host)))))`

// MutesFor returns, for those of the discrepancies ids that a mute active at
// now matches, that mute (the one that lasts longest), keyed by discrepancy
// ID.
func (s *Store) MutesFor(ctx context.Context, ids []int64, now time.Time) (map[int64]Mute, error) {
	out := map[int64]Mute{}
	if len(ids) == 0 {
		return out, nil
	}
	// Mutes are few and usually none: skip the join when there are none.
	var active int
	if err := s.db.GetContext(ctx, &active, s.q(`SELECT COUNT(*) FROM mutes WHERE ended_at IS NULL AND until > ?`), dbTime(now)); err != nil {
		return nil, fmt.Errorf("mutes for discrepancies: %w", err)
	}
	if active == 0 {
		return out, nil
	}
	for part := range slices.Chunk(ids, inChunk) {
		query, args, err := sqlx.In(`
SELECT d.id AS discrepancy_id, mu.* FROM discrepancies d
JOIN meetings m ON m.uuid = d.meeting_uuid
JOIN mutes mu ON mu.ended_at IS NULL AND mu.until > ? AND `+muteMatch+`
WHERE d.id IN (?)
ORDER BY mu.until, mu.id`, dbTime(now), part)
		if err != nil {
			return nil, fmt.Errorf("mutes for discrepancies: %w", err)
		}
		var rows []struct {
			DiscrepancyID int64 `db:"discrepancy_id"`
			Mute
		}
		if err := s.db.SelectContext(ctx, &rows, s.q(query), args...); err != nil {
			return nil, fmt.Errorf("mutes for discrepancies: %w", err)
		}
		for _, r := range rows { // the longest-lasting last, so it wins
			out[r.DiscrepancyID] = r.Mute
		}
	}
	return out, nil
}

// MarkAlertsMuted records that the claimed alerts ids were kept from Slack by
// the mute muteID: they are dead, never tried again, and stay recorded.
func (s *Store) MarkAlertsMuted(ctx context.Context, ids []int64, muteID int64, at time.Time) error {
	return s.updateIDs(ctx, "mark alerts muted", `
UPDATE alert_outbox SET status = 'dead', muted_by = ?, next_attempt_at = ?, claimed_by = NULL, last_error = ''
WHERE id IN (?)`, ids, muteID, dbTime(at))
}

// queueMuteEdits queues the edits of the messages of the open discrepancies
// the mute id matches.
func (s *Store) queueMuteEdits(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time) error {
	var ids []int64
	err := tx.SelectContext(ctx, &ids, s.q(`
SELECT d.id FROM discrepancies d
JOIN meetings m ON m.uuid = d.meeting_uuid
JOIN mutes mu ON mu.id = ? AND `+muteMatch+`
WHERE d.resolved_at IS NULL`), id)
	if err != nil {
		return fmt.Errorf("find muted discrepancies: %w", err)
	}
	return s.queueEdits(ctx, tx, ids, now)
}

// queueEdits queues, due at now, the edit of every message Slack accepted
// for the discrepancies ids that can be edited (it has a ts: a bot's). An
// edit already queued or done is due again: the message re-renders from
// the discrepancy as it stands when the edit is made.
func (s *Store) queueEdits(ctx context.Context, tx *sqlx.Tx, ids []int64, now time.Time) error {
	for part := range slices.Chunk(ids, inChunk) {
		query, args, err := sqlx.In(`
INSERT INTO alert_edits (outbox_id, status, next_attempt_at)
SELECT id, 'pending', ? FROM alert_outbox
WHERE discrepancy_id IN (?) AND status = 'sent' AND slack_ts <> ''
ON CONFLICT (outbox_id) DO UPDATE SET status = 'pending', tries = 0, next_attempt_at = excluded.next_attempt_at,
    last_error = '', claimed_by = NULL`, dbTime(now), part)
		if err != nil {
			return fmt.Errorf("queue edits: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.q(query), args...); err != nil {
			return fmt.Errorf("queue edits: %w", err)
		}
	}
	return nil
}

var editLease = leased{table: "alert_edits", key: "outbox_id"}

// ClaimEdits takes up to limit due edits, oldest first, and leases them to
// the serve run by until now+lease, like ClaimAlerts. It returns the
// delivered alerts whose messages are to be edited.
func (s *Store) ClaimEdits(ctx context.Context, by int64, now time.Time, lease time.Duration, limit int) ([]OutboxMessage, error) {
	var out []OutboxMessage
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var ids []int64
		query, args := s.claimQuery(editLease, claim{by: by, now: now, lease: lease, limit: limit}, "outbox_id")
		if err := tx.SelectContext(ctx, &ids, query, args...); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		query, args, err := sqlx.In(`SELECT * FROM alert_outbox WHERE id IN (?) ORDER BY id`, ids)
		if err != nil {
			return err
		}
		return tx.SelectContext(ctx, &out, s.q(query), args...)
	})
	if err != nil {
		return nil, fmt.Errorf("claim edits: %w", err)
	}
	return out, nil
}

// MarkEdited records that the messages of the alerts outboxIDs were edited
// (or need no edit).
func (s *Store) MarkEdited(ctx context.Context, outboxIDs []int64, at time.Time) error {
	return s.updateIDs(ctx, "mark edited", `
UPDATE alert_edits SET status = 'edited', edited_at = ?, last_error = '', claimed_by = NULL
WHERE outbox_id IN (?)`, outboxIDs, dbTime(at))
}

// MarkEditsFailed records a failed edit: tried again at next, or never again
// when dead.
func (s *Store) MarkEditsFailed(ctx context.Context, outboxIDs []int64, next time.Time, errText string, dead bool) error {
	return s.markFailed(ctx, "mark edits failed", editLease, outboxIDs, next, errText, dead)
}

// ReleaseEdits gives claimed edits back without counting the claim as a try.
func (s *Store) ReleaseEdits(ctx context.Context, outboxIDs []int64, next time.Time) error {
	return s.release(ctx, "release edits", editLease, outboxIDs, next)
}

// PendingEdits counts the edits waiting to be made.
func (s *Store) PendingEdits(ctx context.Context) (int, error) {
	var n int
	if err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM alert_edits WHERE status = 'pending'`); err != nil {
		return 0, fmt.Errorf("count pending edits: %w", err)
	}
	return n, nil
}

// MuteByID returns the mute id, or ErrNotFound.
func (s *Store) MuteByID(ctx context.Context, id int64) (Mute, error) {
	var m Mute
	if err := s.db.GetContext(ctx, &m, s.q(`SELECT * FROM mutes WHERE id = ?`), id); err != nil {
		return Mute{}, fmt.Errorf("get mute %d: %w", id, interpretError(err))
	}
	return m, nil
}
