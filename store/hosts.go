package store

import (
	"context"
	"fmt"
	"time"
)

// HostMeeting is a meeting of a known host with what the reconciler needs to
// tell one host's lost webhooks from everyone's: whether any webhook about it
// was stored, and which webhooks it was found to miss.
type HostMeeting struct {
	Meeting
	// Heard says at least one webhook about the meeting was stored.
	Heard bool `db:"heard"`
	// Lost lists the missed kinds recorded for it whose webhook never
	// arrived after all (a discrepancy closed as ResolvedLateWebhook is not
	// a loss), in table order.
	Lost []Kind `db:"-"`
}

// HostMeetings lists the meetings with a known host that started at or after
// since, newest first.
func (s *Store) HostMeetings(ctx context.Context, since time.Time) ([]HostMeeting, error) {
	var out []HostMeeting
	// The events_meeting_uuid index answers each EXISTS.
	err := s.db.SelectContext(ctx, &out, s.q(`
SELECT m.*, EXISTS (SELECT 1 FROM events e WHERE e.meeting_uuid = m.uuid) AS heard
FROM meetings m WHERE m.host_id <> '' AND m.start_time >= ?
ORDER BY m.start_time DESC, m.first_seen_at DESC, m.uuid`), dbTime(since))
	if err != nil {
		return nil, fmt.Errorf("host meetings: %w", err)
	}
	if len(out) == 0 {
		return nil, nil
	}
	var lost []struct {
		MeetingUUID string `db:"meeting_uuid"`
		Kind        Kind   `db:"kind"`
	}
	err = s.db.SelectContext(ctx, &lost, s.q(`
SELECT d.meeting_uuid, d.kind FROM discrepancies d JOIN meetings m ON m.uuid = d.meeting_uuid
WHERE m.host_id <> '' AND m.start_time >= ? AND d.subject = '' AND d.resolution <> ?`),
		dbTime(since), ResolvedLateWebhook)
	if err != nil {
		return nil, fmt.Errorf("host meetings: lost webhooks: %w", err)
	}
	byUUID := make(map[string][]Kind, len(lost))
	for _, l := range lost {
		if l.Kind.Info().Missed {
			byUUID[l.MeetingUUID] = append(byUUID[l.MeetingUUID], l.Kind)
		}
	}
	for i := range out {
		for _, k := range Kinds() {
			for _, got := range byUUID[out[i].UUID] {
				if got == k {
					out[i].Lost = append(out[i].Lost, k)
				}
			}
		}
	}
	return out, nil
}

// OpenHostCause returns the open discrepancy of host kind k about host, or
// ErrNotFound: one is raised per host and stretch, and a stretch stays one
// while it is open however the reconciler's window moves.
func (s *Store) OpenHostCause(ctx context.Context, k Kind, host string) (Discrepancy, error) {
	var d Discrepancy
	err := s.db.GetContext(ctx, &d, s.q(`
SELECT * FROM discrepancies WHERE kind = ? AND subject = ? AND resolved_at IS NULL ORDER BY id LIMIT 1`), k, dbText(host))
	if err != nil {
		return Discrepancy{}, fmt.Errorf("open host cause: %w", interpretError(err))
	}
	return d, nil
}
