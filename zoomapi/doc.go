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
// The Zoom behaviour behind each rule is cited from zoom-platform.md (a copy
// sits in testdata/zoom): §1 for OAuth, §5 for endpoints, pagination and UUID
// encoding, §6 for rate limits and §7 for error codes.
//
// Secrets: the client secret and access tokens never appear in errors, logs or
// metrics. Token endpoint failures are reported with Zoom's "reason" text only.
package zoomapi
