package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
)

// Ingest is one webhook event with the state it reports. Meeting and
// Participant are applied only when the event is new, so a redelivery changes
// nothing.
type Ingest struct {
	Event       Event
	Meeting     *MeetingUpdate
	Participant *ParticipantUpdate
}

// IngestBatch stores events and applies their state in one transaction, and
// reports for each whether it was new (false: its deduplication key was
// already stored). Batching lets concurrent requests share one commit; every
// event of the batch is durable when it returns nil, and none is when it
// returns an error.
func (s *Store) IngestBatch(ctx context.Context, items []Ingest, now time.Time) ([]bool, error) {
	inserted := make([]bool, len(items))
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		for i, it := range items {
			ok, err := s.ingest(ctx, tx, it, now)
			if err != nil {
				return err
			}
			inserted[i] = ok
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return inserted, nil
}

// InsertEvent stores one event and its state; see IngestBatch.
func (s *Store) InsertEvent(ctx context.Context, it Ingest, now time.Time) (bool, error) {
	res, err := s.IngestBatch(ctx, []Ingest{it}, now)
	if err != nil {
		return false, err
	}
	return res[0], nil
}

func (s *Store) ingest(ctx context.Context, tx *sqlx.Tx, it Ingest, now time.Time) (bool, error) {
	e := it.Event
	if e.DedupKey == "" || e.Type == "" {
		return false, errors.New("event without a deduplication key or type")
	}
	var id int64
	err := tx.GetContext(ctx, &id, s.q(`
INSERT INTO events (dedup_key, event_type, event_ts, received_at, meeting_uuid, body)
VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id`), e.DedupKey, e.Type, dbTime(e.EventTS), dbTime(e.ReceivedAt), e.MeetingUUID, e.Body)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // already stored: a redelivery
	}
	if err != nil {
		return false, fmt.Errorf("insert event: %w", err)
	}
	if it.Meeting != nil {
		if err := s.upsertMeeting(ctx, tx, *it.Meeting, now); err != nil {
			return false, err
		}
	}
	if it.Participant != nil {
		if it.Meeting == nil {
			if err := s.upsertMeeting(ctx, tx, MeetingUpdate{UUID: it.Participant.MeetingUUID}, now); err != nil {
				return false, err
			}
		}
		if _, err := s.applyParticipant(ctx, tx, *it.Participant, now); err != nil {
			return false, err
		}
	}
	return true, nil
}

// Event returns the stored event with the given deduplication key, or ErrNotFound.
func (s *Store) Event(ctx context.Context, dedupKey string) (Event, error) {
	var e Event
	err := s.db.GetContext(ctx, &e, s.q(`SELECT * FROM events WHERE dedup_key = ?`), dedupKey)
	if err != nil {
		return Event{}, fmt.Errorf("get event: %w", interpretError(err))
	}
	return e, nil
}

// CountEvents returns how many events are stored.
func (s *Store) CountEvents(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.GetContext(ctx, &n, `SELECT COUNT(*) FROM events`); err != nil {
		return 0, fmt.Errorf("count events: %w", err)
	}
	return n, nil
}

// LastEventReceivedAt returns when the most recent event was received, or
// ErrNotFound when none ever was. The reconciler uses it to notice a silent Zoom.
func (s *Store) LastEventReceivedAt(ctx context.Context) (time.Time, error) {
	// ORDER BY ... LIMIT 1 rather than MAX(): an aggregate loses the column's
	// declared type on SQLite and comes back as text.
	var t time.Time
	err := s.db.GetContext(ctx, &t, `SELECT received_at FROM events ORDER BY received_at DESC LIMIT 1`)
	if err != nil {
		return time.Time{}, fmt.Errorf("last event: %w", interpretError(err))
	}
	return t, nil
}
