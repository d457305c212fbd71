package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
	"testing"
)

// mainEnv makes the test binary act as the zoomrecon binary, so tests that
// need a real separate process (kill -9) run it without building anything.
const mainEnv = "ZOOMRECON_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
		code := run(ctx, os.Args[1:], newEnv())
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}
