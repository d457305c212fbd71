package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// This file holds what the alert sender needs beyond claiming (outbox.go):
// delivering several alerts as one Slack message, reading what a message says,
// and announcing, once, that a delivered alert's discrepancy resolved.

// AlertDetail is a discrepancy with the meeting facts an alert shows. The
// meeting fields are zero when the meeting is unknown (a webhook silence has
// none).
type AlertDetail struct {
	Discrepancy
	MeetingID        int64      `db:"meeting_id"`
	Topic            string     `db:"topic"`
	HostID           string     `db:"host_id"`
	StartTime        *time.Time `db:"start_time"`
	EndTime          *time.Time `db:"end_time"`
	ParticipantName  string     `db:"participant_name"`
	ParticipantEmail string     `db:"participant_email"`

	// Type tells a webinar from a meeting, whose webhooks differ
	// (webinar.ended); empty when the meeting is unknown.
	Type MeetingType `db:"type"`

	// Mute is the active mute that holds back the discrepancy's alerts; nil
	// when none does. AlertDetails leaves it nil (see MutesFor).
	Mute *Mute `db:"-"`
}

// AlertDetails returns the discrepancies among ids, keyed by ID, with their
// meeting and participant. IDs that do not exist are left out.
func (s *Store) AlertDetails(ctx context.Context, ids []int64) (map[int64]AlertDetail, error) {
	out := make(map[int64]AlertDetail, len(ids))
	for part := range slices.Chunk(ids, inChunk) {
		query, args, err := sqlx.In(`
SELECT d.*, COALESCE(m.meeting_id, 0) AS meeting_id, COALESCE(m.topic, '') AS topic,
    COALESCE(m.type, '') AS type, COALESCE(m.host_id, '') AS host_id, m.start_time, m.end_time,
    COALESCE((SELECT ps.user_name FROM participant_sessions ps
              WHERE d.subject <> '' AND ps.meeting_uuid = d.meeting_uuid AND ps.participant_key = d.subject
              ORDER BY ps.id LIMIT 1), '') AS participant_name,
    COALESCE((SELECT ps.email FROM participant_sessions ps
              WHERE d.subject <> '' AND ps.meeting_uuid = d.meeting_uuid AND ps.participant_key = d.subject
              ORDER BY ps.id LIMIT 1), '') AS participant_email
FROM discrepancies d LEFT JOIN meetings m ON m.uuid = d.meeting_uuid
WHERE d.id IN (?)`, part)
		if err != nil {
			return nil, fmt.Errorf("alert details: %w", err)
		}
		var rows []AlertDetail
		if err := s.db.SelectContext(ctx, &rows, s.q(query), args...); err != nil {
			return nil, fmt.Errorf("alert details: %w", err)
		}
		for _, r := range rows {
			out[r.ID] = r
		}
	}
	return out, nil
}

// inChunk bounds the IDs one IN list carries, well under SQLite's and
// PostgreSQL's parameter limits.
const inChunk = 500

// AlertDelivery is one Slack message that carried one or more alerts.
type AlertDelivery struct {
	// IDs are the outbox messages the Slack message carried.
	IDs    []int64
	SentAt time.Time
	// Channel and TS locate the Slack message so it can be edited later:
	// both empty for an incoming webhook, Channel "log" when only logged.
	Channel string
	TS      string
	// Announced lists those of IDs whose discrepancy the message already
	// showed resolved, so their resolution is not announced again.
	Announced []int64
}

// MarkAlertsSent records, in one transaction, that Slack accepted a message
// carrying d.IDs. It returns ErrNotFound when one of them does not exist.
func (s *Store) MarkAlertsSent(ctx context.Context, d AlertDelivery) error {
	if len(d.IDs) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		n, err := s.execIn(ctx, tx, `
UPDATE alert_outbox SET status = 'sent', sent_at = ?, slack_channel = ?, slack_ts = ?, last_error = ''
WHERE id IN (?)`, d.IDs, dbTime(d.SentAt), d.Channel, d.TS)
		if err != nil {
			return fmt.Errorf("mark alerts sent: %w", err)
		}
		if n < int64(len(d.IDs)) {
			return fmt.Errorf("mark alerts sent: %w", ErrNotFound)
		}
		_, err = s.execIn(ctx, tx, `
INSERT INTO alert_announcements (outbox_id, status, next_attempt_at, announced_at)
SELECT id, 'announced', ?, ? FROM alert_outbox WHERE id IN (?)
ON CONFLICT (outbox_id) DO UPDATE SET status = 'announced', announced_at = excluded.announced_at, last_error = ''`,
			d.Announced, dbTime(d.SentAt), dbTime(d.SentAt))
		if err != nil {
			return fmt.Errorf("mark alerts sent: record announced: %w", err)
		}
		return nil
	})
}

// MarkAlertsFailed records that Slack did not accept the message carrying
// ids: they are tried again at next, or never again when dead (Slack refused
// the message for good).
func (s *Store) MarkAlertsFailed(ctx context.Context, ids []int64, next time.Time, errText string, dead bool) error {
	return s.markFailed(ctx, "mark alerts failed", outboxLease, ids, next, errText, dead)
}

// ReleaseAlerts gives claimed messages back without counting the claim as a
// try: they are due again at next. A sender releases what it claimed but did
// not attempt (Slack asked it to wait, or it is shutting down).
func (s *Store) ReleaseAlerts(ctx context.Context, ids []int64, next time.Time) error {
	return s.release(ctx, "release alerts", outboxLease, ids, next)
}

var (
	outboxLease       = leased{table: "alert_outbox", key: "id"}
	announcementLease = leased{table: "alert_announcements", key: "outbox_id"}
)

// updateIDs runs query, whose last placeholder is an IN list, for ids in one
// transaction; args come before the list.
func (s *Store) updateIDs(ctx context.Context, what, query string, ids []int64, args ...any) error {
	if len(ids) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := s.execIn(ctx, tx, query, ids, args...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
}

// execIn runs query, whose last placeholder is an IN list, in tx for ids in
// chunks of inChunk; args come before the list. It returns the rows affected.
func (s *Store) execIn(ctx context.Context, tx *sqlx.Tx, query string, ids []int64, args ...any) (int64, error) {
	var n int64
	for part := range slices.Chunk(ids, inChunk) {
		q, qargs, err := sqlx.In(query, append(slices.Clone(args), part)...)
		if err != nil {
			return 0, err
		}
		res, err := tx.ExecContext(ctx, s.q(q), qargs...)
		if err != nil {
			return 0, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		n += k
	}
	return n, nil
}

// CauseAlert is an open discrepancy of a kind that folds the missed alerts
// it explains (KindInfo.Folds: a webhook silence, a host kind) with the alert
// queued for it.
type CauseAlert struct {
	Discrepancy
	// Alert is its first outbox message; nil when none was queued.
	Alert *OutboxMessage
	// Since, for a host kind, is when the first meeting of its stretch
	// started (that meeting is its MeetingUUID); nil for other kinds.
	Since *time.Time
}

// OpenCauseAlerts lists the open discrepancies of every kind that folds the
// alerts it explains (KindInfo.Folds), in table order and oldest first within
// a kind, each with its alert.
func (s *Store) OpenCauseAlerts(ctx context.Context) ([]CauseAlert, error) {
	var kinds []Kind
	for _, info := range kindTable {
		if info.Folds {
			kinds = append(kinds, info.Kind)
		}
	}
	return s.openCauses(ctx, kinds)
}

func (s *Store) openCauses(ctx context.Context, kinds []Kind) ([]CauseAlert, error) {
	query, args, err := sqlx.In(`
SELECT d.*, m.start_time AS since FROM discrepancies d LEFT JOIN meetings m ON m.uuid = d.meeting_uuid AND d.meeting_uuid <> ''
WHERE d.resolved_at IS NULL AND d.kind IN (?) ORDER BY d.detected_at, d.id`, kinds)
	if err != nil {
		return nil, fmt.Errorf("open causes: %w", err)
	}
	var ds []struct {
		Discrepancy
		Since *time.Time `db:"since"`
	}
	if err := s.db.SelectContext(ctx, &ds, s.q(query), args...); err != nil {
		return nil, fmt.Errorf("open causes: %w", err)
	}
	if len(ds) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	query, args, err = sqlx.In(`SELECT * FROM alert_outbox WHERE discrepancy_id IN (?) ORDER BY id`, ids)
	if err != nil {
		return nil, fmt.Errorf("open causes: %w", err)
	}
	var msgs []OutboxMessage
	if err := s.db.SelectContext(ctx, &msgs, s.q(query), args...); err != nil {
		return nil, fmt.Errorf("open causes: %w", err)
	}
	out := make([]CauseAlert, 0, len(ds))
	for _, k := range kinds {
		for _, d := range ds {
			if d.Kind != k {
				continue
			}
			c := CauseAlert{Discrepancy: d.Discrepancy, Since: d.Since}
			for _, m := range msgs {
				if m.DiscrepancyID != nil && *m.DiscrepancyID == d.ID {
					c.Alert = &m
					break
				}
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// AlertsInMessage lists the delivered alerts that the Slack message at
// channel and ts carries, oldest first.
func (s *Store) AlertsInMessage(ctx context.Context, channel, ts string) ([]OutboxMessage, error) {
	if ts == "" {
		// Incoming webhooks and the log leave ts empty; those are not one message.
		return nil, errors.New("alerts in message: ts is empty")
	}
	var out []OutboxMessage
	err := s.db.SelectContext(ctx, &out, s.q(`
SELECT * FROM alert_outbox WHERE slack_channel = ? AND slack_ts = ? AND status = 'sent' ORDER BY id`), channel, ts)
	if err != nil {
		return nil, fmt.Errorf("alerts in message: %w", err)
	}
	return out, nil
}

// Announcement is a delivered alert whose discrepancy resolved and whose
// resolution is not yet announced.
type Announcement struct {
	Alert OutboxMessage
	// Tries counts the claims of this announcement, this one included.
	Tries int
}

// ClaimAnnouncements finds the delivered alerts whose discrepancy resolved at
// or after since and were never announced, then takes up to limit due
// announcements, oldest first, and leases them to the caller until
// now+lease for the serve run by, like ClaimAlerts. An announcement is recorded once per alert:
// after MarkAnnounced (or an AlertDelivery that listed it in Announced) it is
// never returned again. since bounds the search so that it stays cheap however
// long the history grows.
func (s *Store) ClaimAnnouncements(ctx context.Context, by int64, now, since time.Time, lease time.Duration, limit int) ([]Announcement, error) {
	var out []Announcement
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		// The discrepancies_open index (resolved_at, kind) finds the recently
		// resolved; alert_outbox_discrepancy their alerts.
		_, err := s.txExec(ctx, tx, `
INSERT INTO alert_announcements (outbox_id, status, next_attempt_at)
SELECT o.id, 'pending', ? FROM discrepancies d JOIN alert_outbox o ON o.discrepancy_id = d.id
WHERE d.resolved_at >= ? AND o.status = 'sent'
    AND NOT EXISTS (SELECT 1 FROM alert_announcements a WHERE a.outbox_id = o.id)
ON CONFLICT (outbox_id) DO NOTHING`, dbTime(now), dbTime(since))
		if err != nil {
			return fmt.Errorf("claim announcements: %w", err)
		}
		var claimed []struct {
			ID    int64 `db:"outbox_id"`
			Tries int   `db:"tries"`
		}
		claimQ, claimArgs := s.claimQuery(announcementLease, claim{by: by, now: now, lease: lease, limit: limit}, "outbox_id, tries")
		err = tx.SelectContext(ctx, &claimed, claimQ, claimArgs...)
		if err != nil {
			return fmt.Errorf("claim announcements: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		tries := make(map[int64]int, len(claimed))
		ids := make([]int64, 0, len(claimed))
		for _, c := range claimed {
			tries[c.ID] = c.Tries
			ids = append(ids, c.ID)
		}
		query, args, err := sqlx.In(`SELECT * FROM alert_outbox WHERE id IN (?) ORDER BY id`, ids)
		if err != nil {
			return fmt.Errorf("claim announcements: %w", err)
		}
		var msgs []OutboxMessage
		if err := tx.SelectContext(ctx, &msgs, s.q(query), args...); err != nil {
			return fmt.Errorf("claim announcements: %w", err)
		}
		for _, m := range msgs {
			out = append(out, Announcement{Alert: m, Tries: tries[m.ID]})
		}
		return nil
	})
	return out, err
}

// MarkAnnounced records that the resolutions of the alerts outboxIDs were
// announced (or needed no announcement); they are never claimed again.
func (s *Store) MarkAnnounced(ctx context.Context, outboxIDs []int64, at time.Time) error {
	return s.updateIDs(ctx, "mark announced", `
UPDATE alert_announcements SET status = 'announced', announced_at = ?, last_error = ''
WHERE outbox_id IN (?)`, outboxIDs, dbTime(at))
}

// MarkAnnouncementsFailed records a failed announcement: it is tried again at
// next, or never again when dead (Slack refused it for good, e.g. the message
// was deleted).
func (s *Store) MarkAnnouncementsFailed(ctx context.Context, outboxIDs []int64, next time.Time, errText string, dead bool) error {
	return s.markFailed(ctx, "mark announcements failed", announcementLease, outboxIDs, next, errText, dead)
}

// ReleaseAnnouncements gives claimed announcements back without counting the
// claim as a try: they are due again at next.
func (s *Store) ReleaseAnnouncements(ctx context.Context, outboxIDs []int64, next time.Time) error {
	return s.release(ctx, "release announcements", announcementLease, outboxIDs, next)
}

// AlertStatus is the health of alert delivery, for status and metrics.
type AlertStatus struct {
	OutboxStats
	// Failing counts pending messages whose last try failed.
	Failing int
	// LastError is the error of the failing message retried last; empty when
	// none is failing.
	LastError string
	// LastSentAt is when Slack last accepted a message; nil when never.
	LastSentAt *time.Time
	// AnnouncementsPending counts resolutions waiting to be announced.
	AnnouncementsPending int
}

// AlertStatus reports how alert delivery is going.
func (s *Store) AlertStatus(ctx context.Context) (AlertStatus, error) {
	stats, err := s.AlertOutboxStats(ctx)
	if err != nil {
		return AlertStatus{}, err
	}
	st := AlertStatus{OutboxStats: stats}
	// One query for what the outbox stats lack: this runs on every pass.
	var more struct {
		Failing              int    `db:"failing"`
		AnnouncementsPending int    `db:"announcements_pending"`
		LastError            string `db:"last_error"`
	}
	err = s.db.GetContext(ctx, &more, `
SELECT
    (SELECT COUNT(*) FROM alert_outbox WHERE status = 'pending' AND last_error <> '') AS failing,
    (SELECT COUNT(*) FROM alert_announcements WHERE status = 'pending') AS announcements_pending,
    COALESCE((SELECT last_error FROM alert_outbox WHERE status = 'pending' AND last_error <> ''
              ORDER BY next_attempt_at DESC, id DESC LIMIT 1), '') AS last_error`)
	if err != nil {
		return AlertStatus{}, fmt.Errorf("alert status: %w", err)
	}
	st.Failing, st.AnnouncementsPending, st.LastError = more.Failing, more.AnnouncementsPending, more.LastError
	// Selecting the column itself, not MAX(), keeps its type on SQLite.
	var sent []time.Time
	err = s.db.SelectContext(ctx, &sent, `
SELECT sent_at FROM alert_outbox WHERE status = 'sent' AND sent_at IS NOT NULL ORDER BY sent_at DESC LIMIT 1`)
	if err != nil {
		return AlertStatus{}, fmt.Errorf("alert status: %w", err)
	}
	if len(sent) == 1 {
		st.LastSentAt = &sent[0]
	}
	return st, nil
}
