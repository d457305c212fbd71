// Package webhook owns zoomrecon's receiver for Zoom webhooks: the signature
// and replay checks, the URL-validation challenge, the body size limit,
// parsing, the deduplication key, the durable insert, and the meeting and
// participant state each event reports.
//
// It leaves to others what happens next: the store owns the SQL, the
// reconciler compares this state with Zoom's API, the alerts package talks to
// Slack. It imports only store.
//
// Invariant: an event is answered 200 only after the transaction that stores
// it has committed. A redelivery is answered 200 and changes nothing; a
// request that fails a check is answered 4xx and nothing of it is stored; a
// store failure is answered 503 so that Zoom retries.
//
// Zoom's rules behind each check are in zoom-platform.md (a copy sits in
// testdata/zoom): §2 for signatures and URL validation, §3 for delivery,
// retries and ordering, §4 for payload shapes.
package webhook
