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
// already stored, or appears earlier in the batch). Batching lets concurrent
// requests share one commit; every event of the batch is durable when it
// returns nil, and none is when it returns an error.
func (s *Store) IngestBatch(ctx context.Context, items []Ingest, now time.Time) ([]bool, error) {
	items = slices.Clone(items)
	for i, it := range items {
		if it.Event.DedupKey == "" {
			return nil, errors.New("event without a deduplication key")
		}
		items[i] = it.clean()
	}
	var inserted []bool
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if inserted, err = s.insertEvents(ctx, tx, items); err != nil {
			return err
		}
		// Most events of a batch are participant events of a few meetings,
		// each carrying the same meeting fields; applying those again is a
		// no-op, so each distinct update is applied once per transaction.
		var (
			meetings     []MeetingUpdate
			applied      = map[MeetingUpdate]bool{}
			participants []ParticipantUpdate
		)
		for i, it := range items {
			if !inserted[i] {
				continue
			}
			m := it.Meeting
			if m == nil && it.Participant != nil {
				m = &MeetingUpdate{UUID: it.Participant.MeetingUUID} // sessions need their meeting row
			}
			if m != nil && !applied[*m] {
				meetings = append(meetings, *m)
				applied[*m] = true
			}
			if it.Participant != nil {
				participants = append(participants, *it.Participant)
			}
		}
		// The upsert locks each meeting's row until commit, and every
		// participant change upserts its meeting first: that lock is what
		// keeps two PostgreSQL replicas from pairing the same sessions at
		// once. Taking the locks in UUID order keeps two batches that share
		// meetings from deadlocking; the stable sort keeps each meeting's
		// updates in arrival order.
		slices.SortStableFunc(meetings, func(a, b MeetingUpdate) int { return strings.Compare(a.UUID, b.UUID) })
		for _, m := range meetings {
			if err := s.upsertMeeting(ctx, tx, m, now); err != nil {
				return err
			}
		}
		if err := s.applyParticipants(ctx, tx, participants, now); err != nil {
			return err
		}
		if err := s.queueNewEvents(ctx, tx, items, inserted, now); err != nil {
			return err
		}
		return s.resolveLate(ctx, tx, items, inserted, now)
	})
	if err != nil {
		return nil, interpretError(err)
	}
	return inserted, nil
}

// insertEvents inserts the batch's events with a few multi-row statements
// and reports which were new.
func (s *Store) insertEvents(ctx context.Context, tx *sqlx.Tx, items []Ingest) ([]bool, error) {
	var keys []string
	err := inChunks(items, func(items []Ingest) error {
		args := make([]any, 0, 6*len(items))
		for _, it := range items {
			e := it.Event
			args = append(args, e.DedupKey, e.Type, dbTimeOrNil(e.EventTS), dbTime(e.ReceivedAt), e.MeetingUUID, e.Body)
		}
		st, err := s.txStmt(ctx, tx, "INSERT INTO events (dedup_key, event_type, event_ts, received_at, meeting_uuid, body) VALUES "+
			placeholders(6, len(items))+" ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key")
		if err != nil {
			return err
		}
		var chunk []string
		if err := st.SelectContext(ctx, &chunk, args...); err != nil {
			return err
		}
		keys = append(keys, chunk...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	isNew := make(map[string]bool, len(keys))
	for _, k := range keys {
		isNew[k] = true
	}
	inserted := make([]bool, len(items))
	for i, it := range items {
		// A key twice in one batch was inserted once: the first is new.
		inserted[i] = isNew[it.Event.DedupKey]
		delete(isNew, it.Event.DedupKey)
	}
	return inserted, nil
}

// clean makes the event's text storable on both backends (see dbText).
func (it Ingest) clean() Ingest {
	e := &it.Event
	e.DedupKey, e.Type, e.MeetingUUID = dbText(e.DedupKey), dbText(e.Type), dbText(e.MeetingUUID)
	if it.Meeting != nil {
		m := it.Meeting.clean()
		it.Meeting = &m
	}
	if it.Participant != nil {
		p := it.Participant.clean()
		it.Participant = &p
	}
	return it
}

// InsertEvent stores one event and its state; see IngestBatch.
func (s *Store) InsertEvent(ctx context.Context, it Ingest, now time.Time) (bool, error) {
	res, err := s.IngestBatch(ctx, []Ingest{it}, now)
	if err != nil {
		return false, err
	}
	return res[0], nil
}

// Event returns the stored event with the given deduplication key, or ErrNotFound.
func (s *Store) Event(ctx context.Context, dedupKey string) (Event, error) {
	var e Event
	err := s.db.GetContext(ctx, &e, s.q(`SELECT * FROM events WHERE dedup_key = ?`), dbText(dedupKey))
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
	// The newest row by id rather than MAX(received_at): ids follow commit
	// order, which keeps an index off the ingest path, and an aggregate would
	// lose the column's declared type on SQLite and come back as text.
	var t time.Time
	err := s.db.GetContext(ctx, &t, `SELECT received_at FROM events ORDER BY id DESC LIMIT 1`)
	if err != nil {
		return time.Time{}, fmt.Errorf("last event: %w", interpretError(err))
	}
	return t, nil
}
