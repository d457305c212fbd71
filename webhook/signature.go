package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Header names Zoom signs its deliveries with (zoom-platform.md §2).
const (
	HeaderSignature = "x-zm-signature"
	HeaderTimestamp = "x-zm-request-timestamp"
)

// Sign returns the x-zm-signature value Zoom sends for body at timestamp
// (Unix seconds, as sent in x-zm-request-timestamp): "v0=" and the lower-case
// hex HMAC-SHA256, keyed with the secret token, of "v0:{timestamp}:{body}".
func Sign(secretToken, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secretToken))
	mac.Write([]byte("v0:"))
	mac.Write([]byte(timestamp))
	mac.Write([]byte(":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// VerifySignature reports which of the secret tokens signed body, comparing
// in constant time over the exact bytes received. It returns -1 when none did.
// Several tokens are accepted while one is being rotated.
func VerifySignature(secretTokens []string, timestamp, signature string, body []byte) int {
	if timestamp == "" || len(signature) != len("v0=")+sha256.Size*2 {
		return -1
	}
	for i, token := range secretTokens {
		if hmac.Equal([]byte(Sign(token, timestamp, body)), []byte(signature)) {
			return i
		}
	}
	return -1
}

// EncryptToken answers Zoom's URL-validation challenge: the lower-case hex
// HMAC-SHA256 of the plain token alone, keyed with the secret token.
func EncryptToken(secretToken, plainToken string) string {
	mac := hmac.New(sha256.New, []byte(secretToken))
	mac.Write([]byte(plainToken))
	return hex.EncodeToString(mac.Sum(nil))
}

// parseTimestamp reads x-zm-request-timestamp, Unix seconds in decimal.
func parseTimestamp(s string) (time.Time, bool) {
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil || sec <= 0 {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}
