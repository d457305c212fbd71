package relay

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/zoomrecon/zoomrecon/webhook"
)

// ErrWrongSecret is a destination that answered the URL validation with
// another Secret Token than zoomrecon signs with.
var ErrWrongSecret = errors.New("the destination answers Zoom's URL validation with a different Secret Token")

// Validate performs Zoom's endpoint.url_validation challenge against d, as
// Zoom does before it sends an endpoint events (zoom-platform.md §2): a
// signed event with a plainToken, to be answered with the token's HMAC under
// the destination's Secret Token. An answer computed with another secret is
// ErrWrongSecret: every delivery would fail the application's signature
// check. Any other failure (unreachable, 5xx) is worth trying again.
func (r *Relay) Validate(ctx context.Context, d Destination) error {
	raw := make([]byte, 16)
	_, _ = crand.Read(raw)
	plain := hex.EncodeToString(raw)
	body, err := json.Marshal(map[string]any{
		"event":    "endpoint.url_validation",
		"event_ts": r.cfg.Now().UnixMilli(),
		"payload":  map[string]string{"plainToken": plain},
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.URL, strings.NewReader(string(body)))
	if err != nil {
		return fmt.Errorf("validate %s: %w", d.Name, err)
	}
	ts := strconv.FormatInt(r.cfg.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "zoomrecon-relay")
	req.Header.Set("x-zm-request-timestamp", ts)
	req.Header.Set("x-zm-signature", webhook.Sign(d.SecretToken, ts, body))
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("validate %s: %w", d.Name, redactURL(err))
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		// A Zoom handler checks the signature first: ours fails its check.
		return fmt.Errorf("validate %s: %w (it refused the signature: HTTP %d); set the destination's secret to the Secret Token its Zoom handler verifies with",
			d.Name, ErrWrongSecret, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("validate %s: the URL validation was answered HTTP %d: %s", d.Name, resp.StatusCode, strings.TrimSpace(string(answer)))
	}
	var got struct {
		PlainToken     string `json:"plainToken"`
		EncryptedToken string `json:"encryptedToken"`
	}
	if err := json.Unmarshal(answer, &got); err != nil {
		return fmt.Errorf("validate %s: the answer is not Zoom's {plainToken, encryptedToken} JSON: %w", d.Name, err)
	}
	if got.PlainToken != plain {
		return fmt.Errorf("validate %s: the answer's plainToken is not the one sent", d.Name)
	}
	if got.EncryptedToken != webhook.EncryptToken(d.SecretToken, plain) {
		return fmt.Errorf("validate %s: %w; set the destination's secret to the Secret Token its Zoom handler verifies with", d.Name, ErrWrongSecret)
	}
	return nil
}
