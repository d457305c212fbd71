// Package reconciler finds what Zoom's webhooks missed. A pass asks Zoom's
// REST API (through package zoomapi) what happened in a window, compares it
// with what the webhook receiver stored, records each difference as a
// discrepancy, and backfills the state with source "reconciled".
//
// It owns the rules that keep the verdicts trustworthy:
//
//   - Only a positive answer from Zoom is evidence. An API error means "could
//     not ask": the pass records it and skips that meeting, and never
//     concludes that something is missing.
//   - A "missed" verdict waits the grace period past the moment Zoom's API
//     shows the thing happened, because Zoom may still be retrying its
//     webhook (zoom-platform.md §3) and its report data lags the end of a
//     meeting (§5 "When data appears").
//   - History is not news: the scheduled sweep reaches back no further than
//     the daemon's first start.
//   - When Zoom was told to retry (zoomrecon down, or answering 503), the
//     verdict waits for Zoom's retry horizon instead (§3).
//   - A pass is idempotent: discrepancies are unique, and a meeting confirmed
//     complete is never fetched again, so a pass costs about (open meetings) +
//     (newly ended meetings) + (pages of the window listing) API calls.
//   - Zoom's quotas are the account's, shared with every other app (§6, §10):
//     a pass spends at most the day's budget of Heavy and Resource-intensive
//     calls, spreads the listing of a window over passes and over the day
//     (listing.go), and reads attendance from Medium endpoints.
//   - Webinars are meetings with their own endpoints; a waiting-room stay is
//     no attendance; an instance is live only if Zoom says so of its UUID,
//     not of its meeting number (§10).
//
// Delivering alerts is package alerts' job; scheduling the loop is Loop's.
package reconciler
