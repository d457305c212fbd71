// Package config reads zoomrecon's settings into a typed Config, validates
// them, and prints them with secrets redacted.
//
// It owns: the one list of settings (the keys table in config.go: env name,
// YAML key, default, whether it is secret, how it is parsed); reading an
// optional YAML file, the environment, KEY_FILE variables and systemd
// credentials ($CREDENTIALS_DIRECTORY); validating every value and every
// combination of values, reporting all problems at once in a
// *ValidationError; the Secret type; and Config.Entries for
// `zoomrecon config check`.
//
// For each key the first source that gives a non-empty value wins:
//
//	KEY > KEY_FILE > $CREDENTIALS_DIRECTORY/KEY > YAML file > default
//
// KEY_FILE and credentials apply to secrets only, and setting both KEY and
// KEY_FILE is an error. An empty value counts as unset.
//
// The forwarding destinations are the one setting outside the table
// (forward.go): the env form ZOOMRECON_FORWARD_URL, _SECRET_TOKEN and _EVENTS
// (rows of the table without a YAML key) is the destination "default", and
// the YAML file's forward list adds others. A listed destination's secret
// token follows the same order under its own env name,
// ZOOMRECON_FORWARD_<NAME>_SECRET_TOKEN, before the list's secret_token.
//
// It leaves to others: flags and which file to load (cmd/zoomrecon), copying
// values into each package's own small Config (cmd/zoomrecon), opening the
// database that DatabaseURL names (store), and what each setting means at run
// time. It imports no zoomrecon package and never reads os.Getenv: the
// environment comes in through Load's lookup function.
//
// Invariant: a secret value is never printed. Code reads it only through
// Secret.Reveal. String, GoString, LogValue and the JSON, YAML and text
// marshalers redact it, and no Problem or Entry contains it, nor the password
// in a database URL.
package config
