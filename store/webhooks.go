package store

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
)

// Refusal is why the receiver answered a delivery without storing it. The
// values are user-facing: metric labels, status output and alert text.
type Refusal string

// Zoom never retries a 3xx or 4xx (zoom-platform.md §3): every refusal but
// RefusalUnavailable loses that delivery for good.
const (
	RefusalBadSignature   Refusal = "bad_signature"
	RefusalStaleTimestamp Refusal = "stale_timestamp"
	RefusalTooLarge       Refusal = "too_large"
	RefusalBadRequest     Refusal = "bad_request"
	// RefusalURLValidation is an endpoint.url_validation the receiver did
	// not answer, whatever the cause; six in a row disable the subscription.
	RefusalURLValidation Refusal = "url_validation_refused"
	// RefusalUnavailable is a 503: the database could not commit, and Zoom
	// retries the delivery later.
	RefusalUnavailable Refusal = "store_error"
)

// Refusals lists every refusal, in the order reports show them.
func Refusals() []Refusal {
	return []Refusal{RefusalURLValidation, RefusalBadSignature, RefusalStaleTimestamp, RefusalTooLarge,
		RefusalBadRequest, RefusalUnavailable}
}

// refusalTexts say, per refusal, what happened to n deliveries (singular and
// plural) and what to check.
var refusalTexts = map[Refusal]struct{ one, many, hint string }{
	RefusalBadSignature: {"delivery refused for a bad signature", "deliveries refused for a bad signature",
		"is ZOOM_WEBHOOK_SECRET_TOKEN the app's current Secret Token?"},
	RefusalStaleTimestamp: {"delivery refused for a timestamp outside ZOOMRECON_WEBHOOK_REPLAY_WINDOW",
		"deliveries refused for a timestamp outside ZOOMRECON_WEBHOOK_REPLAY_WINDOW", "is this server's clock right?"},
	RefusalTooLarge: {"delivery refused as larger than the body limit", "deliveries refused as larger than the body limit",
		"is something other than Zoom posting to the webhook path?"},
	RefusalBadRequest: {"malformed delivery refused", "malformed deliveries refused",
		"is a proxy in front of zoomrecon rewriting the requests?"},
	RefusalURLValidation: {"URL validation refused", "URL validations refused",
		"six in a row disable the app's event subscription"},
	RefusalUnavailable: {"delivery answered 503 because the database could not commit",
		"deliveries answered 503 because the database could not commit",
		"Zoom retries these for about 85 minutes; is the database up?"},
}

// Sentence says what happened and what to check, e.g. "412 deliveries
// refused for a bad signature since 2026-12-02 09:14:03 UTC: is
// ZOOM_WEBHOOK_SECRET_TOKEN the app's current Secret Token?".
func (r RefusalSummary) Sentence() string {
	t, ok := refusalTexts[r.Reason]
	if !ok {
		t.one, t.many = "delivery refused ("+string(r.Reason)+")", "deliveries refused ("+string(r.Reason)+")"
	}
	what := t.many
	if r.Count == 1 {
		what = t.one
	}
	out := fmt.Sprintf("%d %s since %s", r.Count, what, r.FirstAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	if t.hint != "" {
		out += ": " + t.hint
	}
	return out
}

// TallyCount is how many deliveries the receiver refused for one reason in
// one minute.
type TallyCount struct {
	Minute  time.Time `db:"minute"`
	Reason  Refusal   `db:"reason"`
	Count   int64     `db:"count"`
	FirstAt time.Time `db:"first_at"`
	LastAt  time.Time `db:"last_at"`
}

// Validation is one endpoint.url_validation the receiver answered or refused.
type Validation struct {
	At       time.Time
	Answered bool
	// Detail, for a refused one, says why, for the discrepancy it raises.
	Detail string
	// Alert, for a refused one, is queued with the discrepancy it raises.
	Alert *OutboxMessage
}

// WebhookReport is what the receiver reports since its last report.
type WebhookReport struct {
	Counts      []TallyCount
	Validations []Validation
}

// State keys the receiver keeps.
const (
	// StateURLValidationAnswered is when the receiver last answered Zoom's
	// URL validation, in RFC 3339.
	StateURLValidationAnswered = "url_validation_answered"
)

// RecordWebhookReport adds the report's counts to the tally and applies its
// validations in time order: a refused one raises a url_validation_refused
// discrepancy (with its alert) unless one is open; an answered one is
// remembered and resolves the open one.
func (s *Store) RecordWebhookReport(ctx context.Context, r WebhookReport, now time.Time) error {
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		err := inChunks(r.Counts, func(counts []TallyCount) error {
			args := make([]any, 0, 5*len(counts))
			for _, c := range counts {
				args = append(args, dbTime(c.Minute), c.Reason, c.Count, dbTime(c.FirstAt), dbTime(c.LastAt))
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO webhook_tally (minute, reason, count, first_at, last_at) VALUES `+
				placeholders(5, len(counts))+`
ON CONFLICT (minute, reason) DO UPDATE SET
    count    = webhook_tally.count + excluded.count,
    first_at = CASE WHEN excluded.first_at < webhook_tally.first_at THEN excluded.first_at ELSE webhook_tally.first_at END,
    last_at  = CASE WHEN excluded.last_at > webhook_tally.last_at THEN excluded.last_at ELSE webhook_tally.last_at END`), args...)
			return err
		})
		if err != nil {
			return fmt.Errorf("tally: %w", err)
		}
		vs := slices.Clone(r.Validations)
		slices.SortStableFunc(vs, func(a, b Validation) int { return a.At.Compare(b.At) })
		for _, v := range vs {
			if err := s.applyValidation(ctx, tx, v, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record webhook report: %w", err)
	}
	return nil
}

func (s *Store) applyValidation(ctx context.Context, tx *sqlx.Tx, v Validation, now time.Time) error {
	if v.Answered {
		at := dbTime(v.At).Format(time.RFC3339Nano)
		if _, err := tx.ExecContext(ctx, s.q(`
INSERT INTO daemon_state (key, value, updated_at) VALUES (?, ?, ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`),
			StateURLValidationAnswered, at, dbTime(now)); err != nil {
			return fmt.Errorf("remember validation: %w", err)
		}
		var open []string
		if err := tx.SelectContext(ctx, &open, s.q(`SELECT subject FROM discrepancies WHERE kind = ? AND resolved_at IS NULL`),
			KindURLValidationRefused); err != nil {
			return fmt.Errorf("open validation alarms: %w", err)
		}
		for _, subject := range open {
			if _, err := s.resolveDiscrepancy(ctx, tx, KindURLValidationRefused, "", subject,
				KindURLValidationRefused.Info().ResolvedAs, v.At, nil); err != nil {
				return err
			}
		}
		return nil
	}
	if err := s.lockAlarm(ctx, tx, string(KindURLValidationRefused)); err != nil {
		return err
	}
	var open int
	if err := tx.GetContext(ctx, &open, s.q(`SELECT COUNT(*) FROM discrepancies WHERE kind = ? AND resolved_at IS NULL`),
		KindURLValidationRefused); err != nil {
		return fmt.Errorf("open validation alarms: %w", err)
	}
	if open > 0 {
		return nil // one alarm per stretch of refusals
	}
	_, _, err := s.recordDiscrepancy(ctx, tx, Discrepancy{
		Kind: KindURLValidationRefused,
		// The first refusal names the stretch, so a later one is a new alarm.
		Subject: dbTime(v.At).Format(time.RFC3339Nano), Detail: v.Detail, DetectedAt: v.At,
	}, v.Alert)
	return err
}

// RefusalSummary is how many deliveries were refused for one reason over a
// stretch of time, and when the first and the last were.
type RefusalSummary struct {
	Reason  Refusal
	Count   int64
	FirstAt time.Time
	LastAt  time.Time
}

// RefusalsSince sums the tally from since on, by reason in Refusals order. The
// tally is kept per minute, so the minute holding since counts whole.
func (s *Store) RefusalsSince(ctx context.Context, since time.Time) ([]RefusalSummary, error) {
	var rows []TallyCount
	err := s.db.SelectContext(ctx, &rows, s.q(`SELECT * FROM webhook_tally WHERE last_at >= ?`), dbTime(since))
	if err != nil {
		return nil, fmt.Errorf("refusals since %s: %w", since.UTC().Format(time.RFC3339), err)
	}
	by := map[Refusal]*RefusalSummary{}
	for _, r := range rows {
		sum := by[r.Reason]
		if sum == nil {
			sum = &RefusalSummary{Reason: r.Reason, FirstAt: r.FirstAt, LastAt: r.LastAt}
			by[r.Reason] = sum
		}
		sum.Count += r.Count
		if r.FirstAt.Before(sum.FirstAt) {
			sum.FirstAt = r.FirstAt
		}
		if r.LastAt.After(sum.LastAt) {
			sum.LastAt = r.LastAt
		}
	}
	var out []RefusalSummary
	for _, reason := range Refusals() {
		if sum := by[reason]; sum != nil {
			out = append(out, *sum)
			delete(by, reason)
		}
	}
	// Reasons a newer zoomrecon wrote come last.
	for _, reason := range slices.Sorted(maps.Keys(by)) {
		out = append(out, *by[reason])
	}
	return out, nil
}

// PruneWebhookTally deletes the tally's minutes before before.
func (s *Store) PruneWebhookTally(ctx context.Context, before time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.q(`DELETE FROM webhook_tally WHERE minute < ?`), dbTime(before)); err != nil {
		return fmt.Errorf("prune webhook tally: %w", err)
	}
	return nil
}

// LastURLValidationAnswered returns when the receiver last answered Zoom's
// URL validation, or ErrNotFound.
func (s *Store) LastURLValidationAnswered(ctx context.Context) (time.Time, error) {
	v, err := s.State(ctx, StateURLValidationAnswered)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("state %s: %q is not an RFC 3339 time", StateURLValidationAnswered, v)
	}
	return t, nil
}
