// Command zoomrecon receives Zoom webhooks, reconciles them against Zoom's REST
// API, and alerts on Slack when webhooks went missing.
//
// This package owns main, the cobra commands, and the wiring of every other
// package: it is the only one that knows them all. It builds the logger and
// the metrics registry, serves /healthz, /readyz and /metrics, and owns the
// shutdown order.
//
// Nothing here holds global state: run takes its arguments, environment and
// output streams, so tests drive the real command tree in-process.
package main
