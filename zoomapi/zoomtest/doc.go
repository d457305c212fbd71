// Package zoomtest is a fake Zoom that behaves like the real one, for the
// zoomapi client tests, the reconciler's end-to-end tests and the demo.
//
// New starts two HTTP servers, as Zoom has two hosts: an OAuth server
// standing in for zoom.us (POST /oauth/token, Server-to-Server OAuth) and an
// API server standing in for api.zoom.us (the /v2 REST endpoints zoomrecon
// reconciles with). Behind them sits an in-memory model of one Zoom account:
// users, meetings and webinars, their instances (one per UUID) and the join
// sessions of their participants. Tests drive the model (StartMeeting, Join,
// Leave, EndMeeting) and the fake answers REST calls from it and sends the
// matching signed webhooks to a receiver, as Zoom would. Truth tells a test
// what really happened, to compare with what zoomrecon recorded.
//
// It owns: the wire shapes of zoom-platform.md written with its own structs
// (never zoomapi's, so a wrong field name cannot be wrong on both sides), the
// quirks zoomrecon must survive (double-encoded UUIDs, "not ended yet" 3001s,
// expiring page tokens, HH:MM durations, plan gating, rate limits with ISO
// 8601 Retry-After, Zoom's daily quotas per plan, the
// {"status":false,"errorCode":401} answer some API families give a bad
// token), fault injection (other apps spending the account's quota among
// them), a request log, and a webhook emitter that delivers like Zoom: its
// own HMAC signature, the headers of current docs and of older captures,
// either body key order, any 2xx in time as success, retries of 5xx,
// timeouts and connection failures only on the 5m/20m/60m schedule (with
// fresh or repeated timestamps), 3xx and 4xx refused for good, URL
// validation and 72-hour revalidation that disables the subscription after
// six failures, and drop, duplicate, delay and stop rules.
//
// It leaves to others: what a client does with the answers (zoomapi), how a
// receiver checks a delivery (webhook). It imports none of zoomrecon's
// packages, so a mistake cannot hide on both sides of a test.
//
// Invariants: every API response carries x-zm-trackingid and the
// X-RateLimit-* headers; every API request, delivery try and URL validation
// is recorded, faults included; a delivery ends in exactly one final state
// (delivered, dropped, refused or given up) unless the server is closed
// first. Zoom's daily quotas for the plan (§6) are on by default and counted
// per UTC day and label (CallsByLabel, CallHistory); SetDailyLimit overrides
// them. Per-second and per-minute limits stay off unless a test turns them
// on, since a test's burst would trip them. The model's times have Zoom's
// resolution, whole seconds. All methods are safe for concurrent use. The
// clock (WithClock) drives token expiry, page-token expiry, the report
// delay, rate-limit windows, the quotas' UTC day and webhook timestamps;
// webhook delays, retries and revalidations wait in real time, so tests
// compress them (SetRetrySchedule, SetRevalidationInterval, Action.Delay).
//
// # WebSocket event subscription
//
// WithWebSocketSubscription(id) adds a third host standing in for
// ws.zoom.us (§11). WebSocketURL is the URL the Marketplace shows,
// ws://<host>/ws?subscriptionId=<id>; a client appends
// &access_token=<token>, a token from the fake's own OAuth endpoint. The
// host answers every connection with {"module":"build_connection",
// "success":true|false,"content":<message>}; a wrong subscription ID or a
// missing, unknown, revoked or expired token gets success:false and a 1008
// close. Each {"module":"heartbeat"} is answered with
// {"module":"heartbeat","success":true,...}; a connection that sends none
// within the heartbeat timeout (30s, WithWebSocketHeartbeatTimeout) is
// closed. A second connection to the subscription closes the first with
// 1001. Events arrive as {"module":"message","content":"<event JSON>"},
// the exact bytes the webhook of the same event carries; an event that
// happens with no connection open is lost, never retried or replayed.
// SetDeliveryMode picks webhook, WebSocket (the default once a
// subscription is set) or both; webhook Rules other than NumericID shape
// only the webhook route. DropWebSocket fails the network under a client,
// and WebSocketConnected, WebSocketConnections and WebSocketDeliveries
// report what happened. Assumptions where §11 is silent [U]: Zoom's
// message texts and close codes, and that an open connection whose token
// expires or is revoked is ended with success:false (checked at each
// heartbeat and at once on ExpireTokens, SetAppDisabled or revocation).
//
// Zoom's rules behind each behaviour are cited from zoom-platform.md (a copy
// sits in testdata/zoom) by section; §9 is the checklist this package follows.
package zoomtest
