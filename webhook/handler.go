package webhook

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/store"
)

// EventStore is what the receiver needs from the database.
type EventStore interface {
	// IngestBatch stores events and their state in one transaction and
	// reports, per event, whether it was new.
	IngestBatch(ctx context.Context, items []store.Ingest, now time.Time) ([]bool, error)
	// RecordWebhookReport stores the refusal tally and the URL validations.
	RecordWebhookReport(ctx context.Context, r store.WebhookReport, now time.Time) error
	// PruneWebhookTally forgets the tally before a time.
	PruneWebhookTally(ctx context.Context, before time.Time) error
}

// Config tunes the handler. Zero values mean the defaults.
type Config struct {
	// SecretTokens are the Zoom app's webhook Secret Tokens; a delivery signed
	// with any of them is accepted (several while rotating). With none, every
	// delivery is refused.
	SecretTokens []string
	// ReplayWindow is how far x-zm-request-timestamp may be from now, either
	// way, for an authentically signed delivery. Zoom never retries a 4xx and
	// may sign its retries (up to ~85 minutes late) with the first attempt's
	// timestamp (zoom-platform.md §2–3), so it must cover the retry schedule;
	// a replay inside it is a duplicate, which deduplication makes a no-op.
	// Default 24h.
	ReplayWindow time.Duration
	// MaxBodyBytes caps a request body. Default 1 MiB.
	MaxBodyBytes int64
	// MaxBatch caps how many events share one commit. Default 128.
	MaxBatch int
	// AnswerWithin bounds how long a delivery waits for its commit before it
	// is answered 503, counted from its arrival; Zoom counts anything slower
	// than 3 s as failed (§3). Default 2.5s.
	AnswerWithin time.Duration
	// CommitTimeout bounds one commit. Default 2s.
	CommitTimeout time.Duration
	// FlushInterval is how often refusals and validations are written to the
	// store. Default 1s.
	FlushInterval time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// LastValidation is when Zoom's URL validation was last answered, before
	// this process started; zero if never.
	LastValidation time.Time
	// LastEvent is when the newest stored event was accepted, before this
	// process started; zero if never. It seeds the gauge, so an alert on
	// the gauge's age does not fire on every restart.
	LastEvent time.Time
}

// Outcomes label zoomrecon_webhook_requests_total: every request ends in
// exactly one. The refusals are the store's names for them.
const (
	OutcomeAccepted       = "accepted"
	OutcomeDuplicate      = "duplicate"
	OutcomeURLValidation  = "url_validation"
	OutcomeBadSignature   = string(store.RefusalBadSignature)
	OutcomeStaleTimestamp = string(store.RefusalStaleTimestamp)
	OutcomeBadRequest     = string(store.RefusalBadRequest)
	OutcomeTooLarge       = string(store.RefusalTooLarge)
	OutcomeStoreError     = string(store.RefusalUnavailable)
)

// skewedTimestamp is how far a request timestamp may be from now before the
// delivery counts as signed long ago: the tolerance third-party guides use
// (§2). Beyond it, Zoom signed a retry with its first attempt's timestamp, or
// a clock is off.
const skewedTimestamp = 5 * time.Minute

// Handler receives Zoom's webhook deliveries.
type Handler struct {
	cfg       Config
	logger    *slog.Logger
	committer *groupCommitter
	metrics   *metrics
	reports   EventStore
	report    *report
	// skewLogged makes the first delivery accepted with an old or future
	// timestamp be logged, once per process.
	skewLogged sync.Once
}

// NewHandler returns the receiver. It registers its metrics on reg. Run must
// run beside it to write what it refuses to the store.
func NewHandler(cfg Config, events EventStore, logger *slog.Logger, reg prometheus.Registerer) *Handler {
	cfg.ReplayWindow = cmp.Or(cfg.ReplayWindow, 24*time.Hour)
	cfg.MaxBodyBytes = cmp.Or(cfg.MaxBodyBytes, 1<<20)
	cfg.MaxBatch = cmp.Or(cfg.MaxBatch, 128)
	cfg.AnswerWithin = cmp.Or(cfg.AnswerWithin, 2500*time.Millisecond)
	cfg.CommitTimeout = cmp.Or(cfg.CommitTimeout, 2*time.Second)
	cfg.FlushInterval = cmp.Or(cfg.FlushInterval, time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := newMetrics(reg)
	if !cfg.LastValidation.IsZero() {
		m.lastValidation.Set(float64(cfg.LastValidation.UnixNano()) / 1e9)
	}
	if !cfg.LastEvent.IsZero() {
		m.lastEvent.Set(float64(cfg.LastEvent.UnixNano()) / 1e9)
	}
	return &Handler{
		cfg:     cfg,
		logger:  logger.With("component", "webhook"),
		metrics: m,
		reports: events,
		report:  newReport(),
		committer: &groupCommitter{
			commit:   events.IngestBatch,
			maxBatch: cfg.MaxBatch,
			timeout:  cfg.CommitTimeout,
			now:      cfg.Now,
			observe:  m.observeCommit,
		},
	}
}

// ServeHTTP checks, stores and answers one delivery.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The answer is due within Zoom's 3 s of real time, whatever the clock.
	arrived := time.Now()
	if r.Method != http.MethodPost {
		// Not a delivery (Zoom always POSTs): counted, not tallied.
		w.Header().Set("Allow", http.MethodPost)
		h.reject(r, w, http.StatusMethodNotAllowed, OutcomeBadRequest, "method "+r.Method+" not allowed; Zoom POSTs")
		return
	}
	receivedAt := h.cfg.Now()

	// Refuse an announced oversize body before reading any of it; the
	// MaxBytesReader catches one that lies or is chunked.
	if r.ContentLength > h.cfg.MaxBodyBytes {
		h.refuse(r, w, receivedAt, http.StatusRequestEntityTooLarge, store.RefusalTooLarge, "body larger than the limit", nil)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.refuse(r, w, receivedAt, http.StatusRequestEntityTooLarge, store.RefusalTooLarge, "body larger than the limit", nil)
			return
		}
		h.refuse(r, w, receivedAt, http.StatusBadRequest, store.RefusalBadRequest, "reading body: "+err.Error(), nil)
		return
	}

	// The signature covers the exact bytes received; nothing of the body is
	// used before it is checked.
	ts := r.Header.Get(HeaderTimestamp)
	sig := r.Header.Get(HeaderSignature)
	if ts == "" || sig == "" {
		h.refuse(r, w, receivedAt, http.StatusUnauthorized, store.RefusalBadSignature, "missing "+HeaderSignature+" or "+HeaderTimestamp+" header", body)
		return
	}
	token := VerifySignature(h.cfg.SecretTokens, ts, sig, body)
	if token < 0 {
		h.refuse(r, w, receivedAt, http.StatusUnauthorized, store.RefusalBadSignature, "signature matches no configured secret token", body)
		return
	}
	sent, ok := parseTimestamp(ts)
	if !ok {
		h.refuse(r, w, receivedAt, http.StatusUnauthorized, store.RefusalStaleTimestamp, HeaderTimestamp+" is not Unix seconds", body)
		return
	}
	skew := receivedAt.Sub(sent)
	if skew > h.cfg.ReplayWindow || skew < -h.cfg.ReplayWindow {
		h.refuse(r, w, receivedAt, http.StatusUnauthorized, store.RefusalStaleTimestamp,
			"request timestamp is "+skew.Round(time.Second).String()+" from now, outside ZOOMRECON_WEBHOOK_REPLAY_WINDOW of "+h.cfg.ReplayWindow.String(), body)
		return
	}

	env := parseEnvelope(body)
	if env.Event == eventURLValidation {
		h.answerValidation(r, w, receivedAt, env, body, h.cfg.SecretTokens[token])
		return
	}
	if skew > skewedTimestamp || skew < -skewedTimestamp {
		h.acceptedSkewed(r, env, skew, sent)
	}

	item, unapplied := ingestFor(env, body, receivedAt)
	res, err := h.committer.submit(item, h.cfg.AnswerWithin-time.Since(arrived))
	if err != nil {
		h.metrics.requests.WithLabelValues(OutcomeStoreError).Inc()
		h.report.refused(store.RefusalUnavailable, receivedAt)
		h.logger.ErrorContext(r.Context(), "event not stored; answering 503 so Zoom retries",
			"event_type", env.Event, "meeting_uuid", item.Event.MeetingUUID, slog.Any("error", err))
		http.Error(w, "event not stored, retry later", http.StatusServiceUnavailable)
		return
	}
	if !res.inserted {
		h.metrics.requests.WithLabelValues(OutcomeDuplicate).Inc()
		h.logger.DebugContext(r.Context(), "duplicate delivery", "event_type", env.Event, "dedup_key", item.Event.DedupKey)
		writeJSON(w, map[string]string{"status": "duplicate"})
		return
	}
	h.metrics.accepted(env.Event, receivedAt, item.Event.EventTS)
	if unapplied = cmp.Or(unapplied, res.unapplied); unapplied != "" {
		h.metrics.unapplied.Inc()
		h.logger.WarnContext(r.Context(), "event stored but its state not applied",
			"event_type", env.Event, "meeting_uuid", item.Event.MeetingUUID, "reason", unapplied)
	}
	writeJSON(w, map[string]string{"status": "accepted"})
}

// acceptedSkewed counts an authentic delivery signed long ago (or ahead), and
// logs the first: they tell how Zoom really signs its retries, which it does
// not document (§3).
func (h *Handler) acceptedSkewed(r *http.Request, env envelope, skew time.Duration, sent time.Time) {
	direction := "past"
	if skew < 0 {
		direction = "future"
	}
	h.metrics.skewed.WithLabelValues(direction).Inc()
	h.skewLogged.Do(func() {
		attrs := []any{"event_type", env.Event, "timestamp_skew", skew.Round(time.Second).String()}
		if env.EventTS != nil {
			// A timestamp equal to event_ts means the signature is the first
			// attempt's: Zoom repeats it on retries.
			attrs = append(attrs, "timestamp_minus_event_ts", sent.Sub(env.EventTS.Truncate(time.Second)).Round(time.Second).String())
		}
		h.logger.InfoContext(r.Context(), "accepted an authentic delivery whose signature timestamp is far from now "+
			"(first of its kind; zoomrecon_webhook_skewed_timestamps_total counts them)", attrs...)
	})
}

// answerValidation answers Zoom's signed URL-validation challenge
// (zoom-platform.md §2) with the token that signed it.
func (h *Handler) answerValidation(r *http.Request, w http.ResponseWriter, at time.Time, env envelope, body []byte, secretToken string) {
	var p validationPayload
	if err := json.Unmarshal(env.Payload, &p); err != nil || p.PlainToken == "" {
		h.refuse(r, w, at, http.StatusBadRequest, store.RefusalBadRequest, "endpoint.url_validation without payload.plainToken", body)
		return
	}
	h.metrics.requests.WithLabelValues(OutcomeURLValidation).Inc()
	h.metrics.lastValidation.Set(float64(at.UnixNano()) / 1e9)
	h.report.validation(store.Validation{At: at, Answered: true})
	h.logger.InfoContext(r.Context(), "answered Zoom's URL validation")
	writeJSON(w, map[string]string{
		"plainToken":     p.PlainToken,
		"encryptedToken": EncryptToken(secretToken, p.PlainToken),
	})
}

// reject answers a request that failed a check, counts it and logs the
// reason once. It never logs the body or the signature.
func (h *Handler) reject(r *http.Request, w http.ResponseWriter, status int, outcome, why string) {
	h.metrics.requests.WithLabelValues(outcome).Inc()
	h.logger.WarnContext(r.Context(), "webhook rejected",
		"status", status, "outcome", outcome, "reason", why, "remote_addr", r.RemoteAddr)
	http.Error(w, http.StatusText(status)+": "+why, status)
}

// refuse rejects a delivery and adds it to the tally Zoom's refusals are kept
// in, since Zoom never retries one (§3). body, when read, tells whether the
// request was a URL validation: refusing one is urgent.
func (h *Handler) refuse(r *http.Request, w http.ResponseWriter, at time.Time, status int, reason store.Refusal, why string, body []byte) {
	h.reject(r, w, status, string(reason), why)
	// Only the cause says whether this was a validation: refused ones are
	// tallied and alarmed as validations, not as lost events.
	if body != nil && parseEnvelope(body).Event == eventURLValidation {
		h.validationRefused(at, status, why)
		return
	}
	h.report.refused(reason, at)
}

// validationRefused tallies a refused URL validation and raises its alarm.
func (h *Handler) validationRefused(at time.Time, status int, why string) {
	h.report.refused(store.RefusalURLValidation, at)
	detail := fmt.Sprintf("Zoom's URL validation at %s was refused with %d: %s. "+
		"Zoom revalidates the endpoint every 72 hours and disables the app's event subscription after six failures in a row.",
		at.UTC().Format("2006-01-02 15:04:05 UTC"), status, why)
	h.report.validation(store.Validation{At: at, Detail: detail, Alert: validationAlert(at, detail)})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// Ingest stores one event that arrived by another authenticated route than a
// signed delivery (Zoom's WebSocket event subscription, zoom-platform.md §11)
// exactly as ServeHTTP stores a verified body: same parsing, same
// deduplication key, same group commit, same state. It returns once the event
// is committed, reporting whether it was new; ctx's deadline, if sooner than
// twice CommitTimeout, bounds the wait.
func (h *Handler) Ingest(ctx context.Context, body []byte, receivedAt time.Time) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	env := parseEnvelope(body)
	item, unapplied := ingestFor(env, body, receivedAt)
	wait := 2 * h.cfg.CommitTimeout
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	res, err := h.committer.submit(item, wait)
	if err != nil {
		return false, fmt.Errorf("store %s event: %w", env.Event, err)
	}
	if !res.inserted {
		return false, nil
	}
	h.metrics.lastEvent.Set(float64(receivedAt.UnixNano()) / 1e9)
	if unapplied = cmp.Or(unapplied, res.unapplied); unapplied != "" {
		h.metrics.unapplied.Inc()
		h.logger.WarnContext(ctx, "event stored but its state not applied",
			"event_type", env.Event, "meeting_uuid", item.Event.MeetingUUID, "reason", unapplied)
	}
	return true, nil
}
