package config

import (
	"encoding/json"
	"log/slog"
)

const redacted = "<redacted>"

// Secret is a configuration value that must never be printed: a password,
// a token, or a URL that carries one. Every way of formatting or marshalling
// it yields "<redacted>" (or "" when it is empty, so an unset secret is
// visible as unset). Reveal is the only way to read it.
type Secret string

// Reveal returns the secret's value, for the one place that must send it.
func (s Secret) Reveal() string { return string(s) }

// String returns "<redacted>", or "" when s is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString returns the same as String, so %#v stays redacted.
func (s Secret) GoString() string { return s.String() }

// LogValue redacts s in slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON encodes s as the JSON string "<redacted>" (or "").
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML encodes s as "<redacted>" (or "").
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText encodes s as "<redacted>" (or ""), for encoders that use
// encoding.TextMarshaler, such as map keys in JSON.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
