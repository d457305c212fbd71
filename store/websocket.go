package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// This file keeps the WebSocket event subscription's record (zoom-platform.md
// §11): which serve run holds the one connection Zoom allows, and every
// stretch in which it was not connected. Zoom neither retries nor replays what
// it sent meanwhile, so each gap is a fact the reconciler acts on.

// WebSocketSeenWithin is how often a connected holder confirms its
// connection alive (HoldWebSocket) at the least: one silent longer is taken
// for dead, and what came after its last confirmation for lost.
const WebSocketSeenWithin = time.Minute

// WebSocketGap is a stretch in which the subscription was not connected.
type WebSocketGap struct {
	ID             int64      `db:"id"`
	SubscriptionID string     `db:"subscription_id"`
	StartedAt      time.Time  `db:"started_at"`
	EndedAt        *time.Time `db:"ended_at"` // nil while open
	// Cause says why it began: "zoomrecon started", or the error that ended
	// the connection.
	Cause string `db:"cause"`
}

// Span returns the gap as a span, an open one ending at now.
func (g WebSocketGap) Span(now time.Time) Span {
	if g.EndedAt != nil {
		return Span{From: g.StartedAt, To: *g.EndedAt}
	}
	return Span{From: g.StartedAt, To: now}
}

// HoldWebSocket claims subscription sub for the serve run by until
// now+lease, or renews its claim, and reports whether by holds it. It takes
// the subscription when no run holds it, when the holder's lease ran out, or
// when the holder is known to have ended (EndUptime). While by holds it and is
// connected, the claim also records that the connection was alive at now.
func (s *Store) HoldWebSocket(ctx context.Context, sub string, by int64, now time.Time, lease time.Duration) (bool, error) {
	var held bool
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`
INSERT INTO websocket_state (subscription_id) VALUES (?) ON CONFLICT (subscription_id) DO NOTHING`), sub); err != nil {
			return err
		}
		var got int64
		err := tx.GetContext(ctx, &got, s.q(`
UPDATE websocket_state SET holder = ?, lease_until = ?,
    seen_at = CASE WHEN connected_by = ? AND connected_since IS NOT NULL THEN ? ELSE seen_at END
WHERE subscription_id = ? AND (holder IS NULL OR holder = ? OR lease_until <= ?
    OR holder IN (SELECT id FROM uptime WHERE ended_at IS NOT NULL))
RETURNING holder`), by, dbTime(now.Add(lease)), by, dbTime(now), sub, by, dbTime(now))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return nil
		case err != nil:
			return err
		}
		held = got == by
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("hold websocket subscription: %w", err)
	}
	return held, nil
}

// ReleaseWebSocket gives up by's claim on sub, so another replica may take
// the subscription at once.
func (s *Store) ReleaseWebSocket(ctx context.Context, sub string, by int64) error {
	_, err := s.db.ExecContext(ctx, s.q(`
UPDATE websocket_state SET holder = NULL, lease_until = NULL WHERE subscription_id = ? AND holder = ?`), sub, by)
	if err != nil {
		return fmt.Errorf("release websocket subscription: %w", err)
	}
	return nil
}

// ErrNotHolder is a connection's change reported by a run that no longer
// holds the subscription: another took it over, and this run's view is stale.
var ErrNotHolder = errors.New("this zoomrecon no longer holds the websocket subscription")

// checkHolder returns ErrNotHolder unless by holds sub. A holder whose lease
// ran out still holds it until another run takes it.
func (s *Store) checkHolder(ctx context.Context, tx *sqlx.Tx, sub string, by int64) error {
	var holder *int64
	err := tx.GetContext(ctx, &holder, s.q(`SELECT holder FROM websocket_state WHERE subscription_id = ?`), sub)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	if holder == nil || *holder != by {
		return ErrNotHolder
	}
	return nil
}

// WebSocketDown records that sub is not connected at at, as seen by its
// holder by, and returns the open gap; ErrNotHolder if by does not hold sub
// (a connection that another run's replaced ends: that is no gap). A gap
// already open is kept. Otherwise one opens: at at when by itself was
// connected (it saw the connection end), or at the last moment an earlier
// holder confirmed its connection alive (that holder died connected, so what
// came after is lost), or at at when no connection is on record.
func (s *Store) WebSocketDown(ctx context.Context, sub string, by int64, at time.Time, cause string) (WebSocketGap, error) {
	var gap WebSocketGap
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.checkHolder(ctx, tx, sub, by); err != nil {
			return err
		}
		err := tx.GetContext(ctx, &gap, s.q(`
SELECT id, subscription_id, started_at, ended_at, cause FROM websocket_gaps WHERE subscription_id = ? AND ended_at IS NULL`), sub)
		if err == nil {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE websocket_state SET connected_since = NULL WHERE subscription_id = ?`), sub)
			return err
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var st struct {
			ConnectedBy    *int64     `db:"connected_by"`
			ConnectedSince *time.Time `db:"connected_since"`
			SeenAt         *time.Time `db:"seen_at"`
		}
		from := dbTime(at)
		err = tx.GetContext(ctx, &st, s.q(`SELECT connected_by, connected_since, seen_at FROM websocket_state WHERE subscription_id = ?`), sub)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case st.ConnectedSince != nil && st.SeenAt != nil && (st.ConnectedBy == nil || *st.ConnectedBy != by) && st.SeenAt.Before(from):
			from = *st.SeenAt
		}
		gap = WebSocketGap{SubscriptionID: sub, StartedAt: from, Cause: dbText(cause)}
		if err := tx.GetContext(ctx, &gap.ID, s.q(`
INSERT INTO websocket_gaps (subscription_id, started_at, cause) VALUES (?, ?, ?) RETURNING id`), sub, from, gap.Cause); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, s.q(`
INSERT INTO websocket_state (subscription_id) VALUES (?) ON CONFLICT (subscription_id) DO NOTHING`), sub)
		if err == nil {
			_, err = tx.ExecContext(ctx, s.q(`UPDATE websocket_state SET connected_since = NULL WHERE subscription_id = ?`), sub)
		}
		return err
	})
	if err != nil {
		return WebSocketGap{}, fmt.Errorf("record websocket disconnection: %w", err)
	}
	return gap, nil
}

// WebSocketUp records that by connected sub at at: the open gap, if any,
// ends at at and is returned, and the open discrepancies the connection
// closes (SignalWebSocketConnected) resolve; the alert sender announces
// their resolution as for any other. ErrNotHolder if by does not hold sub.
func (s *Store) WebSocketUp(ctx context.Context, sub string, by int64, at time.Time) (*WebSocketGap, error) {
	var closed *WebSocketGap
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := s.checkHolder(ctx, tx, sub, by); err != nil {
			return err
		}
		var gap WebSocketGap
		err := tx.GetContext(ctx, &gap, s.q(`
UPDATE websocket_gaps SET ended_at = ? WHERE subscription_id = ? AND ended_at IS NULL
RETURNING id, subscription_id, started_at, ended_at, cause`), dbTime(at), sub)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		default:
			closed = &gap
		}
		if _, err := tx.ExecContext(ctx, s.q(`
INSERT INTO websocket_state (subscription_id) VALUES (?) ON CONFLICT (subscription_id) DO NOTHING`), sub); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.q(`
UPDATE websocket_state SET connected_by = ?, connected_since = ?, seen_at = ? WHERE subscription_id = ?`), by, dbTime(at), dbTime(at), sub); err != nil {
			return err
		}
		for _, k := range Kinds() {
			if k.Info().ResolvedBy != SignalWebSocketConnected {
				continue
			}
			var open []string
			if err := tx.SelectContext(ctx, &open, s.q(`SELECT subject FROM discrepancies WHERE kind = ? AND resolved_at IS NULL`), k); err != nil {
				return err
			}
			for _, subject := range open {
				if _, err := s.resolveDiscrepancy(ctx, tx, k, "", subject, k.Info().ResolvedAs, at, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record websocket connection: %w", err)
	}
	return closed, nil
}

// RaiseWebSocketDisconnected records gap as a websocket_disconnected
// discrepancy detected at now, with its alert, unless one is already open.
// Its subject is the gap's start, so a later gap is a new alarm.
func (s *Store) RaiseWebSocketDisconnected(ctx context.Context, gap WebSocketGap, detail string, now time.Time, alert *OutboxMessage) (bool, error) {
	var raised bool
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var open int
		if err := tx.GetContext(ctx, &open, s.q(`SELECT COUNT(*) FROM discrepancies WHERE kind = ? AND resolved_at IS NULL`),
			KindWebSocketDisconnected); err != nil {
			return err
		}
		if open > 0 {
			return nil
		}
		var err error
		_, raised, err = s.recordDiscrepancy(ctx, tx, Discrepancy{
			Kind: KindWebSocketDisconnected, Subject: dbTime(gap.StartedAt).Format(time.RFC3339Nano),
			Detail: detail, DetectedAt: now,
		}, alert)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("raise websocket alert: %w", err)
	}
	return raised, nil
}

// WebSocketGaps returns the spans overlapping [after, now] in which sub was
// not connected: the recorded gaps, an open one ending at now, and, when the
// holder on record was connected but has not confirmed it within
// WebSocketSeenWithin (it died, and no run has taken over yet), the span
// from its last confirmation to now.
func (s *Store) WebSocketGaps(ctx context.Context, sub string, after, now time.Time) ([]Span, error) {
	var gaps []WebSocketGap
	err := s.db.SelectContext(ctx, &gaps, s.q(`
SELECT id, subscription_id, started_at, ended_at, cause FROM websocket_gaps
WHERE subscription_id = ? AND (ended_at IS NULL OR ended_at > ?) ORDER BY started_at`), sub, dbTime(after))
	if err != nil {
		return nil, fmt.Errorf("websocket gaps: %w", err)
	}
	out := make([]Span, 0, len(gaps)+1)
	open := false
	for _, g := range gaps {
		out = append(out, g.Span(now))
		open = open || g.EndedAt == nil
	}
	if !open {
		var seen *time.Time
		err := s.db.GetContext(ctx, &seen, s.q(`
SELECT seen_at FROM websocket_state WHERE subscription_id = ? AND connected_since IS NOT NULL`), sub)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("websocket gaps: %w", err)
		}
		if seen != nil && seen.Before(now.Add(-WebSocketSeenWithin)) {
			out = append(out, Span{From: *seen, To: now})
		}
	}
	return out, nil
}

// WebSocketReport is the subscription's state for status.
type WebSocketReport struct {
	SubscriptionID string
	// Holder is the serve run holding the subscription, nil when none does
	// or its claim ran out.
	Holder *RunInfo
	// ConnectedSince is when the holder connected, nil while not connected.
	ConnectedSince *time.Time
	// SeenAt is when a holder last confirmed the connection alive.
	SeenAt *time.Time
	// Open is the gap in progress, if any.
	Open *WebSocketGap
	// Gaps and GapTime count the gaps that began since the report's since,
	// and their length (an open one up to now).
	Gaps    int
	GapTime time.Duration
	// Last is the latest gap of the report's span that ended, if any.
	Last *WebSocketGap
}

// WebSocketStatus reports sub's state, counting gaps since since. It returns
// ErrNotFound when the subscription was never used with this database.
func (s *Store) WebSocketStatus(ctx context.Context, sub string, since, now time.Time) (WebSocketReport, error) {
	r := WebSocketReport{SubscriptionID: sub}
	var st struct {
		Holder         *int64     `db:"holder"`
		LeaseUntil     *time.Time `db:"lease_until"`
		ConnectedBy    *int64     `db:"connected_by"`
		ConnectedSince *time.Time `db:"connected_since"`
		SeenAt         *time.Time `db:"seen_at"`
	}
	err := s.db.GetContext(ctx, &st, s.q(`
SELECT holder, lease_until, connected_by, connected_since, seen_at FROM websocket_state WHERE subscription_id = ?`), sub)
	if err != nil {
		return r, fmt.Errorf("websocket status: %w", interpretError(err))
	}
	r.ConnectedSince, r.SeenAt = st.ConnectedSince, st.SeenAt
	if st.Holder != nil && st.LeaseUntil != nil && st.LeaseUntil.After(now) {
		var run RunInfo
		err := s.db.GetContext(ctx, &run, s.q(`
SELECT id, host, pid, started_at, beat_at, ended_at, facts FROM uptime WHERE id = ? AND ended_at IS NULL`), *st.Holder)
		switch {
		case err == nil:
			r.Holder = &run
		case !errors.Is(err, sql.ErrNoRows):
			return r, fmt.Errorf("websocket status: %w", err)
		}
	}
	if r.Holder == nil || st.ConnectedBy == nil || *st.ConnectedBy != r.Holder.ID {
		// Nobody is connected, whatever the last holder said; or a run
		// took over and has not connected yet.
		r.ConnectedSince = nil
	}
	var gaps []WebSocketGap
	if err := s.db.SelectContext(ctx, &gaps, s.q(`
SELECT id, subscription_id, started_at, ended_at, cause FROM websocket_gaps
WHERE subscription_id = ? AND (ended_at IS NULL OR ended_at > ? OR started_at >= ?) ORDER BY started_at`),
		sub, dbTime(since), dbTime(since)); err != nil {
		return r, fmt.Errorf("websocket status: %w", err)
	}
	for i, g := range gaps {
		if g.EndedAt == nil {
			r.Open = &gaps[i]
		} else {
			r.Last = &gaps[i]
		}
		span := g.Span(now)
		if span.From.Before(since) {
			span.From = since
		}
		if !g.StartedAt.Before(since) {
			r.Gaps++
		}
		r.GapTime += span.To.Sub(span.From)
	}
	return r, nil
}
