package webhook

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/zoomrecon/zoomrecon/store"
)

// EventStore is what the receiver needs from the database.
type EventStore interface {
	// IngestBatch stores events and their state in one transaction and
	// reports, per event, whether it was new.
	IngestBatch(ctx context.Context, items []store.Ingest, now time.Time) ([]bool, error)
}

// Config tunes the handler. Zero values mean the defaults.
type Config struct {
	// SecretTokens are the Zoom app's webhook Secret Tokens; a delivery signed
	// with any of them is accepted (several while rotating). With none, every
	// delivery is refused.
	SecretTokens []string
	// ReplayWindow is how far x-zm-request-timestamp may be from now, either
	// way. Zoom publishes no tolerance (zoom-platform.md §2). Default 5m.
	ReplayWindow time.Duration
	// MaxBodyBytes caps a request body. Default 1 MiB.
	MaxBodyBytes int64
	// MaxBatch caps how many events share one commit. Default 128.
	MaxBatch int
	// CommitTimeout bounds one commit; it must stay under Zoom's 3 s. Default 2s.
	CommitTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Outcomes label zoomrecon_webhook_requests_total: every request ends in
// exactly one.
const (
	OutcomeAccepted       = "accepted"
	OutcomeDuplicate      = "duplicate"
	OutcomeURLValidation  = "url_validation"
	OutcomeBadSignature   = "bad_signature"
	OutcomeStaleTimestamp = "stale_timestamp"
	OutcomeBadRequest     = "bad_request"
	OutcomeTooLarge       = "too_large"
	OutcomeStoreError     = "store_error"
)

// Handler receives Zoom's webhook deliveries.
type Handler struct {
	cfg       Config
	logger    *slog.Logger
	committer *groupCommitter
	metrics   *metrics
}

// NewHandler returns the receiver. It registers its metrics on reg.
func NewHandler(cfg Config, events EventStore, logger *slog.Logger, reg prometheus.Registerer) *Handler {
	cfg.ReplayWindow = cmp.Or(cfg.ReplayWindow, 5*time.Minute)
	cfg.MaxBodyBytes = cmp.Or(cfg.MaxBodyBytes, 1<<20)
	cfg.MaxBatch = cmp.Or(cfg.MaxBatch, 128)
	cfg.CommitTimeout = cmp.Or(cfg.CommitTimeout, 2*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := newMetrics(reg)
	return &Handler{
		cfg:     cfg,
		logger:  logger.With("component", "webhook"),
		metrics: m,
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
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.reject(r, w, http.StatusMethodNotAllowed, OutcomeBadRequest, "method "+r.Method+" not allowed; Zoom POSTs")
		return
	}
	receivedAt := h.cfg.Now()

	// Refuse an announced oversize body before reading any of it; the
	// MaxBytesReader catches one that lies or is chunked.
	if r.ContentLength > h.cfg.MaxBodyBytes {
		h.reject(r, w, http.StatusRequestEntityTooLarge, OutcomeTooLarge, "body larger than the limit")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.reject(r, w, http.StatusRequestEntityTooLarge, OutcomeTooLarge, "body larger than the limit")
			return
		}
		h.reject(r, w, http.StatusBadRequest, OutcomeBadRequest, "reading body: "+err.Error())
		return
	}

	// The signature covers the exact bytes received; nothing is parsed before
	// it is checked.
	ts := r.Header.Get(HeaderTimestamp)
	sig := r.Header.Get(HeaderSignature)
	if ts == "" || sig == "" {
		h.reject(r, w, http.StatusUnauthorized, OutcomeBadSignature, "missing "+HeaderSignature+" or "+HeaderTimestamp+" header")
		return
	}
	token := VerifySignature(h.cfg.SecretTokens, ts, sig, body)
	if token < 0 {
		h.reject(r, w, http.StatusUnauthorized, OutcomeBadSignature, "signature matches no configured secret token")
		return
	}
	sent, ok := parseTimestamp(ts)
	if !ok {
		h.reject(r, w, http.StatusUnauthorized, OutcomeStaleTimestamp, HeaderTimestamp+" is not Unix seconds")
		return
	}
	if skew := receivedAt.Sub(sent); skew > h.cfg.ReplayWindow || skew < -h.cfg.ReplayWindow {
		h.reject(r, w, http.StatusUnauthorized, OutcomeStaleTimestamp,
			"request timestamp is "+skew.Round(time.Second).String()+" from now, outside the replay window of "+h.cfg.ReplayWindow.String())
		return
	}

	env, err := parseEnvelope(body)
	if err != nil {
		h.reject(r, w, http.StatusBadRequest, OutcomeBadRequest, err.Error())
		return
	}
	if env.Event == eventURLValidation {
		h.answerValidation(r, w, env, h.cfg.SecretTokens[token])
		return
	}

	item, unapplied := ingestFor(env, body, receivedAt)
	inserted, err := h.committer.submit(r.Context(), item)
	if err != nil {
		h.metrics.requests.WithLabelValues(OutcomeStoreError).Inc()
		h.logger.ErrorContext(r.Context(), "event not stored; answering 503 so Zoom retries",
			"event_type", env.Event, "meeting_uuid", item.Event.MeetingUUID, slog.Any("error", err))
		http.Error(w, "event not stored, retry later", http.StatusServiceUnavailable)
		return
	}
	if !inserted {
		h.metrics.requests.WithLabelValues(OutcomeDuplicate).Inc()
		h.logger.DebugContext(r.Context(), "duplicate delivery", "event_type", env.Event, "dedup_key", item.Event.DedupKey)
		writeJSON(w, map[string]string{"status": "duplicate"})
		return
	}
	h.metrics.accepted(env.Event, receivedAt, item.Event.EventTS)
	if unapplied != "" {
		h.metrics.unapplied.Inc()
		h.logger.WarnContext(r.Context(), "event stored but its state not applied",
			"event_type", env.Event, "meeting_uuid", item.Event.MeetingUUID, "reason", unapplied)
	}
	writeJSON(w, map[string]string{"status": "accepted"})
}

// answerValidation answers Zoom's signed URL-validation challenge
// (zoom-platform.md §2) with the token that signed it.
func (h *Handler) answerValidation(r *http.Request, w http.ResponseWriter, env envelope, secretToken string) {
	var p validationPayload
	if err := json.Unmarshal(env.Payload, &p); err != nil || p.PlainToken == "" {
		h.reject(r, w, http.StatusBadRequest, OutcomeBadRequest, "endpoint.url_validation without payload.plainToken")
		return
	}
	h.metrics.requests.WithLabelValues(OutcomeURLValidation).Inc()
	h.logger.InfoContext(r.Context(), "answered Zoom's URL validation")
	writeJSON(w, map[string]string{
		"plainToken":     p.PlainToken,
		"encryptedToken": encryptToken(secretToken, p.PlainToken),
	})
}

// reject answers a request that failed a check, counts it and logs the reason
// once. It never logs the body or the signature.
func (h *Handler) reject(r *http.Request, w http.ResponseWriter, status int, outcome, reason string) {
	h.metrics.requests.WithLabelValues(outcome).Inc()
	h.logger.WarnContext(r.Context(), "webhook rejected",
		"status", status, "outcome", outcome, "reason", reason, "remote_addr", r.RemoteAddr)
	http.Error(w, http.StatusText(status)+": "+reason, status)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
