package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// mainEnv makes the test binary act as the zoomrecon binary, so tests that
// need a real separate process (kill -9) run it without building anything.
const mainEnv = "ZOOMRECON_TEST_RUN_MAIN"

// wsHeartbeatEnv sets the child's env.wsHeartbeat.
const wsHeartbeatEnv = "ZOOMRECON_TEST_WS_HEARTBEAT"

// relayBackoffEnv sets the child's env.relayBackoff.
const relayBackoffEnv = "ZOOMRECON_TEST_RELAY_BACKOFF"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		e := newEnv()
		// Knobs a test sets for the child's env, as testEnv does in-process.
		if d, err := time.ParseDuration(os.Getenv(wsHeartbeatEnv)); err == nil {
			e.wsHeartbeat = d
		}
		if d, err := time.ParseDuration(os.Getenv(relayBackoffEnv)); err == nil {
			e.relayBackoff = d
		}
		code := run(ctx, os.Args[1:], e)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
