// Package migrations owns zoomrecon's database schema: numbered .sql files for
// each dialect, embedded in the binary, and Up, which applies what is pending.
//
// The two dialects carry the same tables, columns and constraints; they differ
// only where the SQL must (identity columns, TIMESTAMPTZ, BYTEA). A migration
// that has landed is never edited: change the schema with a new file in both
// folders.
//
// It knows nothing of the rest of zoomrecon; the store opens the database and
// calls Up.
package migrations
