package reconciler_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/reconciler"
	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

func TestLoop(t *testing.T) {
	t.Parallel()

	t.Run("RunsPassesOverTheWindowSinceFirstStart", func(t *testing.T) {
		t.Parallel()
		b := setup(t, storetest.SQLiteURL(t))
		type passed struct {
			res reconciler.Result
			err error
		}
		passes := make(chan passed, 10)
		ctx, cancel := context.WithCancel(context.Background())
		loop := reconciler.NewLoop(reconciler.LoopConfig{
			Interval: 10 * time.Millisecond, Lookback: 24 * time.Hour, FirstStart: b.since,
			NowFunc: b.clk.Now,
			// Runs on the loop's goroutine: it reports, the test judges. A pass
			// that cancel interrupts is not one the test waits for.
			AfterPassFunc: func(res reconciler.Result, err error) {
				if ctx.Err() != nil {
					return
				}
				select {
				case passes <- passed{res, err}:
				default:
				}
			},
		}, b.r)
		done := make(chan error, 1)
		go func() { done <- loop.Run(ctx) }()
		for range 2 {
			select {
			case p := <-passes:
				require.NoError(t, p.err)
				require.True(t, p.res.Window.Since.Equal(b.since), "the sweep starts at the first start, not a day back: %v", p.res.Window.Since)
			case <-time.After(30 * time.Second):
				t.Fatal("no pass within 30s")
			}
		}
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after cancel")
		}
	})

	t.Run("AKickRunsAPassAtOnce", func(t *testing.T) {
		t.Parallel()
		b := setup(t, storetest.SQLiteURL(t))
		passes := make(chan error, 10)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		loop := reconciler.NewLoop(reconciler.LoopConfig{
			// The first pass comes after a stagger of up to 5 s, the next an
			// hour later: only the kicks bring the passes the test waits for.
			Interval: time.Hour, FirstStart: b.since, NowFunc: b.clk.Now,
			AfterPassFunc: func(_ reconciler.Result, err error) {
				if ctx.Err() == nil {
					passes <- err
				}
			},
		}, b.r)
		done := make(chan error, 1)
		go func() { done <- loop.Run(ctx) }()
		for range 2 {
			loop.Kick(b.since)
			select {
			case err := <-passes:
				require.NoError(t, err)
			case <-time.After(4 * time.Second):
				t.Fatal("no pass within 4s of a kick")
			}
		}
		cancel()
		require.NoError(t, <-done)
	})

	t.Run("StopsMidPassOnShutdown", func(t *testing.T) {
		t.Parallel()
		b := setup(t, storetest.SQLiteURL(t))
		// Zoom hangs: the pass is stuck in its first call until shutdown.
		b.zoom.Inject(zoomtest.Fault{Delay: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		var passErr error
		loop := reconciler.NewLoop(reconciler.LoopConfig{
			Interval: time.Millisecond, FirstStart: b.since, NowFunc: b.clk.Now,
			AfterPassFunc: func(_ reconciler.Result, err error) { passErr = err },
		}, b.r)
		done := make(chan error, 1)
		go func() { done <- loop.Run(ctx) }()
		require.Eventually(t, func() bool { return b.client.Calls() > 0 }, 30*time.Second, time.Millisecond, "the pass asks Zoom")
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after cancel while a pass was waiting on Zoom")
		}
		require.True(t, errors.Is(passErr, context.Canceled) || passErr == nil, "pass error: %v", passErr)
	})
}
