// Package relay delivers the events zoomrecon stores to the application
// behind it: every event Zoom sent, deduplicated, and every event Zoom lost,
// rebuilt from its API (package zoomevent). A delivery looks like Zoom's own
// webhook (the same body, signed in Zoom's v0 scheme with the destination's
// Secret Token), so a handler written for Zoom works unchanged with its secret
// replaced.
package relay
