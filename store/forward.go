package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// This file keeps the relay's queue: every event zoomrecon accepts, and every
// event it rebuilt for one Zoom lost, is queued for each destination that
// wants it in the transaction that stores it, and delivered from there with
// the alert outbox's lease (leased), one meeting's deliveries in order.

// ForwardRoute is a relay destination as the store queues for it.
type ForwardRoute struct {
	Name string
	// Match reports whether the destination wants an event of this type.
	Match func(eventType string) bool
}

// Wants reports whether the destination wants an event of type eventType:
// every event, when it has no Match.
func (r ForwardRoute) Wants(eventType string) bool { return r.Match == nil || r.Match(eventType) }

// ForwardStatus is where a delivery stands.
type ForwardStatus string

const (
	ForwardPending   ForwardStatus = "pending"
	ForwardDelivered ForwardStatus = "delivered"
	// ForwardDead: the destination refused it for good (a 4xx) or it was
	// retried past the give-up time; zoomrecon replay can send it again.
	ForwardDead ForwardStatus = "dead"
)

// forwardLease is the relay queue as leased: each destination claims its own
// rows, and one meeting's rows one at a time, in order.
var forwardLease = leased{table: "forward_deliveries", key: "id", scope: "destination", inOrder: "meeting_uuid"}

// ReconstructedEvent is an event Zoom never sent, rebuilt from its API in
// Zoom's payload shape when zoomrecon backfilled what it would have carried.
type ReconstructedEvent struct {
	// DedupKey names what it stands for, so a repeated backfill stores it once.
	DedupKey    string
	Type        string
	MeetingUUID string
	// EventTS is when Zoom says it happened.
	EventTS time.Time
	Body    []byte
}

// ForwardDelivery is one event to deliver to one destination.
type ForwardDelivery struct {
	ID int64 `db:"id"`
	// EventID or ReconstructedID is the event delivered.
	EventID         *int64    `db:"event_id"`
	ReconstructedID *int64    `db:"reconstructed_id"`
	Destination     string    `db:"destination"`
	EventType       string    `db:"event_type"`
	MeetingUUID     string    `db:"meeting_uuid"`
	Tries           int       `db:"tries"`
	CreatedAt       time.Time `db:"created_at"`
	// Reconstructed says zoomrecon rebuilt the event: Zoom never sent it.
	Reconstructed bool `db:"reconstructed"`
	// Replay says `zoomrecon replay` queued it again.
	Replay bool   `db:"replay"`
	Body   []byte `db:"body"`
}

// DeliveryID names the event delivered, the same for every delivery of it
// (a retry, a replay), so the application can deduplicate: "e<id>" for an
// event Zoom sent, "r<id>" for one zoomrecon rebuilt.
func (d ForwardDelivery) DeliveryID() string {
	if d.ReconstructedID != nil {
		return "r" + strconv.FormatInt(*d.ReconstructedID, 10)
	}
	if d.EventID != nil {
		return "e" + strconv.FormatInt(*d.EventID, 10)
	}
	return "d" + strconv.FormatInt(d.ID, 10)
}

// forwardRef is a stored event (of events, or of reconstructed_events) to
// queue for forwarding.
type forwardRef struct {
	ID      int64  `db:"id"`
	Type    string `db:"event_type"`
	Meeting string `db:"meeting_uuid"`
}

// queueForward queues the events refs (of events, or of
// reconstructed_events when reconstructed) for every route that wants their
// types, in id order, holding their meetings first (lockMeetings).
func (s *Store) queueForward(ctx context.Context, tx *sqlx.Tx, refs []forwardRef, reconstructed bool, routes []ForwardRoute, now time.Time) error {
	if len(routes) == 0 || len(refs) == 0 {
		return nil
	}
	meetings := make([]string, 0, len(refs))
	for _, r := range refs {
		meetings = append(meetings, r.Meeting)
	}
	if err := s.lockMeetings(ctx, tx, meetings); err != nil {
		return err
	}
	return s.insertForward(ctx, tx, refs, reconstructed, false, routes, now)
}

// insertForward queues refs as queueForward does, for a caller that holds
// their meetings already; replay marks them queued by zoomrecon replay.
func (s *Store) insertForward(ctx context.Context, tx *sqlx.Tx, refs []forwardRef, reconstructed, replay bool, routes []ForwardRoute, now time.Time) error {
	src, col := "events", "event_id"
	if reconstructed {
		src, col = "reconstructed_events", "reconstructed_id"
	}
	for _, r := range routes {
		var want []int64
		for _, ref := range refs {
			if r.Wants(ref.Type) {
				want = append(want, ref.ID)
			}
		}
		if len(want) == 0 {
			continue
		}
		slices.Sort(want)
		if _, err := s.execIn(ctx, tx, `
INSERT INTO forward_deliveries (destination, `+col+`, event_type, meeting_uuid, replay, next_attempt_at, created_at)
SELECT ?, id, event_type, meeting_uuid, ?, ?, ? FROM `+src+` WHERE id IN (?) ORDER BY id`,
			want, r.Name, replay, dbTime(now), dbTime(now)); err != nil {
			return fmt.Errorf("queue for %s: %w", r.Name, err)
		}
	}
	return nil
}

// lockMeetings holds each meeting until tx ends, on PostgreSQL. A delivery's
// id, which orders a meeting's deliveries, is drawn from a sequence when the
// row is inserted, not when its transaction commits: without the lock, an
// ingest could queue a meeting's next event and commit while a backfill that
// drew an earlier id for the same meeting is still open, and the relay, not
// seeing the earlier row yet, would send the later one first. Locks are
// taken in order, so two transactions never wait on each other in a circle;
// a transaction that locks meeting rows (ingest, a backfill) does so before.
func (s *Store) lockMeetings(ctx context.Context, tx *sqlx.Tx, meetings []string) error {
	keys := make([]string, 0, len(meetings))
	for _, m := range meetings {
		if m != "" { // no meeting, no order to keep
			keys = append(keys, "meeting."+m)
		}
	}
	if err := s.lockKeys(ctx, tx, keys); err != nil {
		return fmt.Errorf("lock meetings for forwarding: %w", err)
	}
	return nil
}

// lockKeys holds each key until tx ends, on PostgreSQL (an advisory lock
// per key, in this schema). They are taken in byte order, within and across
// statements, so two transactions never wait on each other in a circle.
func (s *Store) lockKeys(ctx context.Context, tx *sqlx.Tx, keys []string) error {
	if s.dialect.lockKeys == "" {
		return nil
	}
	keys = slices.Clone(keys)
	slices.Sort(keys)
	// A statement per chunk: a statement per key cost ingest a round trip
	// for each meeting.
	return inChunks(slices.Compact(keys), func(part []string) error {
		_, err := tx.ExecContext(ctx, s.q(fmt.Sprintf(s.dialect.lockKeys, strings.Repeat("(?), ", len(part)-1)+"(?)")), anySlice(part)...)
		return err
	})
}

// queueNewEvents queues the events of the batch that were new.
func (s *Store) queueNewEvents(ctx context.Context, tx *sqlx.Tx, items []Ingest, inserted []bool, now time.Time) error {
	if len(s.forward) == 0 {
		return nil
	}
	var keys []string
	for i, it := range items {
		if inserted[i] {
			keys = append(keys, it.Event.DedupKey)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	refs, err := selectIn[forwardRef](ctx, s, tx, `SELECT id, event_type, meeting_uuid FROM events WHERE dedup_key IN (?)`, keys)
	if err != nil {
		return fmt.Errorf("queue for forwarding: %w", err)
	}
	return s.queueForward(ctx, tx, refs, false, s.forward, now)
}

// storeReconstructed stores the rebuilt events that are new and queues them.
func (s *Store) storeReconstructed(ctx context.Context, tx *sqlx.Tx, events []ReconstructedEvent, now time.Time) error {
	var refs []forwardRef
	for _, e := range events {
		var id int64
		err := tx.GetContext(ctx, &id, s.q(`
INSERT INTO reconstructed_events (dedup_key, event_type, meeting_uuid, event_ts, body, created_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (dedup_key) DO NOTHING RETURNING id`),
			dbText(e.DedupKey), e.Type, dbText(e.MeetingUUID), dbTime(e.EventTS), e.Body, dbTime(now))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			continue // rebuilt before
		case err != nil:
			return fmt.Errorf("store reconstructed %s: %w", e.Type, err)
		}
		refs = append(refs, forwardRef{ID: id, Type: e.Type, Meeting: dbText(e.MeetingUUID)})
	}
	return s.queueForward(ctx, tx, refs, true, s.forward, now)
}

// ClaimForward leases up to limit due deliveries of destination to the serve
// run by until now+lease, at most one per meeting (the earliest still
// pending), with their bodies.
func (s *Store) ClaimForward(ctx context.Context, destination string, by int64, now time.Time, lease time.Duration, limit int) ([]ForwardDelivery, error) {
	ids, err := s.claimHeadsIn(ctx, forwardLease, claim{by: by, now: now, lease: lease, limit: limit, scope: destination})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries for %s: %w", destination, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	q, args, err := sqlx.In(`
SELECT d.id, d.event_id, d.reconstructed_id, d.destination, d.event_type, d.meeting_uuid, d.tries, d.created_at, d.replay,
       d.reconstructed_id IS NOT NULL AS reconstructed, COALESCE(e.body, r.body) AS body
FROM forward_deliveries d
LEFT JOIN events e ON e.id = d.event_id
LEFT JOIN reconstructed_events r ON r.id = d.reconstructed_id
WHERE d.id IN (?) ORDER BY d.id`, ids)
	if err != nil {
		return nil, err
	}
	var out []ForwardDelivery
	if err := sqlx.SelectContext(ctx, s.db, &out, s.q(q), args...); err != nil {
		return nil, fmt.Errorf("read claimed deliveries: %w", err)
	}
	return out, nil
}

// MarkForwardDelivered records that the destination accepted the deliveries
// ids at at. A dead letter of the same event to the same destination (a
// replay delivered it) is superseded and goes, so the dead count says what
// the application still lacks.
func (s *Store) MarkForwardDelivered(ctx context.Context, ids []int64, at time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		rows, err := selectIn[struct {
			Destination string `db:"destination"`
			N           int64  `db:"n"`
		}](ctx, s, tx, `
SELECT destination, COUNT(*) AS n FROM forward_deliveries WHERE id IN (?) AND status <> 'delivered' GROUP BY destination`, ids)
		if err != nil {
			return err
		}
		counts := map[string]int64{} // by destination, over the chunks
		for _, r := range rows {
			counts[r.Destination] += r.N
		}
		if _, err := s.execIn(ctx, tx, `
UPDATE forward_deliveries SET status = 'delivered', delivered_at = ?, claimed_by = NULL, last_error = ''
WHERE id IN (?)`, ids, dbTime(at)); err != nil {
			return err
		}
		for _, dest := range slices.Sorted(maps.Keys(counts)) { // in order: no two replicas wait on each other
			if _, err := tx.ExecContext(ctx, s.q(`
INSERT INTO forward_counts (destination, delivered) VALUES (?, ?)
ON CONFLICT (destination) DO UPDATE SET delivered = forward_counts.delivered + excluded.delivered`), dest, counts[dest]); err != nil {
				return err
			}
		}
		_, err = s.execIn(ctx, tx, `
DELETE FROM forward_deliveries WHERE status = 'dead' AND id IN (
    SELECT o.id FROM forward_deliveries o JOIN forward_deliveries n ON n.destination = o.destination
        AND (n.event_id = o.event_id OR n.reconstructed_id = o.reconstructed_id)
    WHERE o.status = 'dead' AND n.id IN (?))`, ids)
		return err
	})
	if err != nil {
		return fmt.Errorf("mark deliveries delivered: %w", err)
	}
	return nil
}

// ForwardFailure is a failed try of one delivery.
type ForwardFailure struct {
	ID int64
	// Next is when it is tried again; ignored when Dead.
	Next time.Time
	Err  string
	// AnswerStatus and AnswerBody are the destination's answer, if any: a
	// dead letter keeps the 4xx that refused it.
	AnswerStatus int
	AnswerBody   string
	Dead         bool
	// Alarm, with Dead, is the forward_dead alarm raised in the same
	// transaction unless one is open for the destination.
	Alarm *ForwardAlarm
}

// ForwardAlarm is a forward_dead alarm about a destination.
type ForwardAlarm struct {
	Destination string
	Detail      string // after "destination NAME: "
	At          time.Time
	Alert       *OutboxMessage
}

// MarkForwardFailed records a failed try: due again at f.Next, or dead.
func (s *Store) MarkForwardFailed(ctx context.Context, f ForwardFailure) error {
	status := ForwardPending
	if f.Dead {
		status = ForwardDead
	}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, s.q(`
UPDATE forward_deliveries SET status = ?, next_attempt_at = ?, last_error = ?, answer_status = ?, answer_body = ?, claimed_by = NULL
WHERE id = ? AND status = 'pending'`), status, dbTime(f.Next), dbText(f.Err), f.AnswerStatus, dbText(f.AnswerBody), f.ID); err != nil {
			return err
		}
		if f.Dead && f.Alarm != nil {
			_, err := s.raiseForwardDead(ctx, tx, *f.Alarm)
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("mark delivery failed: %w", err)
	}
	return nil
}

// ReleaseForward gives back claimed deliveries not tried, due again at next.
func (s *Store) ReleaseForward(ctx context.Context, ids []int64, next time.Time) error {
	return s.release(ctx, "release deliveries", forwardLease, ids, next)
}

// ForwardStats is one destination's queue.
type ForwardStats struct {
	Destination string `db:"destination"`
	Pending     int64  `db:"pending"`
	// OldestPending is when the oldest pending delivery was queued.
	OldestPending *time.Time `db:"-"`
	Delivered     int64      `db:"delivered"`
	// Failing counts pending deliveries whose last try failed.
	Failing int64 `db:"failing"`
	Dead    int64 `db:"dead"`
	// LastError is the latest failure's, when one is failing.
	LastError string `db:"-"`
	// LastDead is the latest dead delivery's error, with the answer that
	// refused it, when there is one.
	LastDead string `db:"-"`
}

// ForwardQueueStats reports every destination's queue, by name. It reads
// only the open deliveries (pending or dead) and the delivered counts, never
// the delivered rows history retention keeps: it runs at every scrape.
func (s *Store) ForwardQueueStats(ctx context.Context) ([]ForwardStats, error) {
	var open []ForwardStats
	err := s.db.SelectContext(ctx, &open, `
SELECT destination,
       SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending,
       0 AS delivered,
       SUM(CASE WHEN status = 'pending' AND last_error <> '' THEN 1 ELSE 0 END) AS failing,
       SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS dead
FROM forward_deliveries WHERE status <> 'delivered' GROUP BY destination`)
	if err != nil {
		return nil, fmt.Errorf("forward queue stats: %w", err)
	}
	var delivered []struct {
		Destination string `db:"destination"`
		N           int64  `db:"delivered"`
	}
	if err := s.db.SelectContext(ctx, &delivered, `SELECT destination, delivered FROM forward_counts`); err != nil {
		return nil, fmt.Errorf("forward queue stats: %w", err)
	}
	byName := map[string]*ForwardStats{}
	for i := range open {
		byName[open[i].Destination] = &open[i]
	}
	var idle []ForwardStats // destinations with nothing open
	for _, d := range delivered {
		if st, ok := byName[d.Destination]; ok {
			st.Delivered = d.N
			continue
		}
		idle = append(idle, ForwardStats{Destination: d.Destination, Delivered: d.N})
	}
	out := append(open, idle...)
	slices.SortFunc(out, func(a, b ForwardStats) int { return strings.Compare(a.Destination, b.Destination) })
	for i := range out {
		if out[i].Dead > 0 {
			var last struct {
				Err    string `db:"last_error"`
				Status int    `db:"answer_status"`
				Body   string `db:"answer_body"`
			}
			if err := s.db.GetContext(ctx, &last, s.q(`
SELECT last_error, answer_status, answer_body FROM forward_deliveries WHERE destination = ? AND status = 'dead'
ORDER BY id DESC LIMIT 1`), out[i].Destination); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("forward queue stats: %w", err)
			}
			out[i].LastDead = last.Err
			if last.Status != 0 && !strings.Contains(last.Err, last.Body) {
				out[i].LastDead += fmt.Sprintf(" (answer %d: %s)", last.Status, last.Body)
			}
		}
		if out[i].Pending == 0 {
			continue
		}
		// Read on its own: SQLite's MIN over a CASE returns text.
		var oldest time.Time
		switch err := s.db.GetContext(ctx, &oldest, s.q(`
SELECT created_at FROM forward_deliveries WHERE destination = ? AND status = 'pending' ORDER BY id LIMIT 1`),
			out[i].Destination); {
		case errors.Is(err, sql.ErrNoRows): // delivered since the count
		case err != nil:
			return nil, fmt.Errorf("forward queue stats: %w", err)
		default:
			out[i].OldestPending = &oldest
		}
		if out[i].Failing == 0 {
			continue
		}
		err := s.db.GetContext(ctx, &out[i].LastError, s.q(`
SELECT last_error FROM forward_deliveries WHERE destination = ? AND status = 'pending' AND last_error <> ''
ORDER BY next_attempt_at DESC, id DESC LIMIT 1`), out[i].Destination)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("forward queue stats: %w", err)
		}
	}
	return out, nil
}

// forwardDeadPrefix begins the detail of a forward_dead discrepancy about
// destination: what finds the one open for it.
func forwardDeadPrefix(destination string) string { return "destination " + destination + ":" }

// raiseForwardDead records a as a forward_dead discrepancy with its alert,
// unless one about its destination is open. Its subject is when the stretch
// began, so a later one is a new alarm.
func (s *Store) raiseForwardDead(ctx context.Context, tx *sqlx.Tx, a ForwardAlarm) (bool, error) {
	prefix := forwardDeadPrefix(a.Destination)
	if err := s.lockAlarm(ctx, tx, string(KindForwardDead)+"."+a.Destination); err != nil {
		return false, err
	}
	var open int
	if err := tx.GetContext(ctx, &open, s.q(`
SELECT COUNT(*) FROM discrepancies WHERE kind = ? AND resolved_at IS NULL AND substr(detail, 1, ?) = ?`),
		KindForwardDead, len(prefix), prefix); err != nil {
		return false, err
	}
	if open > 0 {
		return false, nil
	}
	_, raised, err := s.recordDiscrepancy(ctx, tx, Discrepancy{
		Kind: KindForwardDead, Subject: dbTime(a.At).Format(time.RFC3339Nano),
		Detail: prefix + " " + a.Detail, DetectedAt: a.At,
	}, a.Alert)
	return raised, err
}

// RaiseForwardAlarm raises a forward_dead alarm that no dead delivery
// carries (a destination that cannot be validated), unless one about its
// destination is open.
func (s *Store) RaiseForwardAlarm(ctx context.Context, a ForwardAlarm) (bool, error) {
	var raised bool
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		raised, err = s.raiseForwardDead(ctx, tx, a)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("raise forward alarm: %w", err)
	}
	return raised, nil
}

// ResolveForwardDead closes the open forward_dead alarm about destination:
// it accepted a delivery at at.
func (s *Store) ResolveForwardDead(ctx context.Context, destination string, at time.Time) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		var open []string
		if err := tx.SelectContext(ctx, &open, s.q(`
SELECT subject FROM discrepancies WHERE kind = ? AND resolved_at IS NULL AND substr(detail, 1, ?) = ?`),
			KindForwardDead, len(forwardDeadPrefix(destination)), forwardDeadPrefix(destination)); err != nil {
			return err
		}
		for _, subject := range open {
			if _, err := s.resolveDiscrepancy(ctx, tx, KindForwardDead, "", subject, KindForwardDead.Info().ResolvedAs, at, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("resolve forward alarm: %w", err)
	}
	return nil
}
