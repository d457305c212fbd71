// Package store owns zoomrecon's database: opening it by URL (SQLite or
// PostgreSQL), applying migrations, every SQL statement, and the persisted row
// types (Event, Meeting, ParticipantSession, Discrepancy, ReconcileRun,
// OutboxMessage) with their kind and source constants. What each discrepancy
// kind means (urgent or not, about the account or one meeting, the webhook
// it reports lost, which incoming webhook resolves it and why) is one table,
// KindInfo per Kind in kinds.go, that every package reads; a kind not in it
// is refused where discrepancies are recorded.
//
// Each exported method is one transaction. The webhook receiver, the reconciler
// and the alert sender meet only here: none of them imports another.
//
// Invariants:
//   - an event's row is committed before the method that inserts it returns nil,
//     and a deduplication key is stored at most once;
//   - a discrepancy and the alert that announces it commit together;
//   - an alert claimed by one sender is invisible to every other sender until
//     its lease runs out.
//
// Times are written in UTC, truncated to the microsecond that PostgreSQL keeps,
// so a value read back equals the value written on both backends.
package store
