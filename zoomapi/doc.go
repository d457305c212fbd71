// Package zoomapi owns zoomrecon's client for Zoom's REST API: Server-to-Server
// OAuth tokens, the client-side rate limiter, retries, Zoom's wire shapes,
// typed results and iterators, typed errors and the client's metrics.
//
// It deliberately leaves to others what the answers mean: the reconciler
// decides what to compare and when to ask again, the store owns persisted
// types, cmd/zoomrecon copies configuration into Config. zoomapi imports none
// of our packages.
//
// Invariant: only a Zoom answer that says so is "missing". errors.Is(err,
// ErrNotFound) is true only for Zoom's own "does not exist" answers (codes
// 3001 and 1001, or a 404 carrying Zoom's JSON error). Transport failures,
// timeouts, exhausted 5xx retries, rate limits, token and scope problems
// never match ErrNotFound: they mean "we could not ask".
//
// Zoom's limits live in one table (limits.go): each endpoint's rate-limit
// label and page-size cap (LabelOf, PageSizeOf), each plan's limits per label
// (RateLimit) and the daily total Heavy and Resource-intensive calls share
// (DailyQuota). The client spends within them: it asks every list for its
// cap; paces Resource-intensive calls per minute
// (Config.ResourceIntensivePerMinute) and waits out their per-minute 429s
// (Config.MinuteLimitWait); counts every attempt per label and UTC day
// (Spent, SeedSpent, zoomrecon_zoomapi_calls_today); and refuses Heavy and
// Resource-intensive calls beyond its daily budget (Config.DailyBudget,
// SetDailyBudget) with ErrBudgetExhausted before Zoom's shared quota runs
// out, because other apps on the account spend it too. Deciding what the
// budget should be, and which calls deserve it, is the reconciler's.
//
// The Zoom behaviour behind each rule is cited from zoom-platform.md (a copy
// sits in testdata/zoom): §1 for OAuth, §5 for endpoints, pagination and UUID
// encoding, §6 for rate limits and §7 for error codes.
//
// Secrets: the client secret and access tokens never appear in errors, logs or
// metrics. Token endpoint failures are reported with Zoom's "reason" text only.
package zoomapi
