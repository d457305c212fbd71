package main

import (
	"context"
	"database/sql"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store/storetest"
)

type serveBundle struct {
	baseURL string
	stderr  *syncBuffer
	stop    func() int // cancels serve and returns its exit code
	notes   chan string
}

// startServe runs the real serve command in-process on a free loopback port;
// tune sets the env's hooks.
func startServe(t *testing.T, vars map[string]string, tune ...func(*env)) serveBundle {
	t.Helper()
	vars["ZOOMRECON_LISTEN_ADDR"] = "127.0.0.1:0"
	e, _, stderr := testEnv(vars)
	for _, f := range tune {
		f(&e)
	}
	addrCh := make(chan net.Addr, 1)
	notes := make(chan string, 8)
	e.onListen = func(a net.Addr) { addrCh <- a }
	e.notify = func(s string) { notes <- s }

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"serve"}, e) }()

	var addr net.Addr
	select {
	case addr = <-addrCh:
	case code := <-done:
		cancel()
		t.Fatalf("serve exited with %d before listening: %s", code, stderr.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("serve did not listen within 30s: %s", stderr.String())
	}
	stopped := false
	stop := func() int {
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(30 * time.Second):
			t.Fatalf("serve did not stop within 30s")
			return -1
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return serveBundle{baseURL: "http://" + addr.String(), stderr: stderr, stop: stop, notes: notes}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func TestServe(t *testing.T) {
	t.Parallel()

	t.Run("AnswersHealthReadyAndMetricsThenStopsCleanly", func(t *testing.T) {
		t.Parallel()
		srv := startServe(t, map[string]string{"ZOOMRECON_DATABASE_URL": storetest.SQLiteURL(t)})
		require.Equal(t, "READY=1", <-srv.notes)

		code, body := get(t, srv.baseURL+"/healthz")
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "ok\n", body)

		code, _ = get(t, srv.baseURL+"/readyz")
		require.Equal(t, http.StatusOK, code)

		code, body = get(t, srv.baseURL+"/metrics")
		require.Equal(t, http.StatusOK, code)
		require.Contains(t, body, `zoomrecon_build_info{version="dev"} 1`)
		require.Contains(t, body, "go_goroutines")

		require.Equal(t, 0, srv.stop())
		require.Equal(t, "STOPPING=1", <-srv.notes)
		_, err := http.Get(srv.baseURL + "/healthz")
		require.Error(t, err, "the listener must be closed after shutdown")
	})

	t.Run("PingsTheSystemdWatchdogWhileTheDatabaseAnswers", func(t *testing.T) {
		t.Parallel()
		u := storetest.SQLiteURL(t)
		srv := startServe(t, map[string]string{"ZOOMRECON_DATABASE_URL": u, "WATCHDOG_USEC": "40000"})
		waitNote := func(want string) bool {
			deadline := time.After(10 * time.Second)
			for {
				select {
				case n := <-srv.notes:
					if n == want {
						return true
					}
				case <-deadline:
					return false
				}
			}
		}
		require.True(t, waitNote("WATCHDOG=1"), "no watchdog ping")
		require.NoError(t, os.Remove(strings.TrimPrefix(u, "sqlite:")))
		// Drain what was sent before the file went, then expect silence.
		require.Eventually(t, func() bool {
			select {
			case <-srv.notes:
				return false
			case <-time.After(200 * time.Millisecond):
				return true
			}
		}, 10*time.Second, time.Millisecond, "watchdog pings must stop once the database is gone")
	})

	t.Run("SaysOnceWhatIsNotConfigured", func(t *testing.T) {
		t.Parallel()
		srv := startServe(t, map[string]string{"ZOOMRECON_DATABASE_URL": storetest.SQLiteURL(t)})
		require.Eventually(t, func() bool {
			return strings.Contains(srv.stderr.String(), "Slack is not configured: alerts are only logged")
		}, 30*time.Second, 10*time.Millisecond, "log: %s", srv.stderr.String())
		require.Equal(t, 0, srv.stop())
		logs := srv.stderr.String()
		// Exactly what config check warns about, each once.
		for _, w := range []string{
			"ZOOM_WEBHOOK_SECRET_TOKEN is not set: every webhook delivery will be refused with 401",
			"ZOOM_ACCOUNT_ID, ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET are not set",
			"Slack is not configured: alerts are only logged",
		} {
			require.Equal(t, 1, strings.Count(logs, w), "%q in %s", w, logs)
		}
		require.Equal(t, 3, strings.Count(logs, `"level":"WARN"`), logs)
	})

	t.Run("ReadyTurns503WhenSQLiteFileIsGone", func(t *testing.T) {
		t.Parallel()
		u := storetest.SQLiteURL(t)
		srv := startServe(t, map[string]string{"ZOOMRECON_DATABASE_URL": u})
		code, _ := get(t, srv.baseURL+"/readyz")
		require.Equal(t, http.StatusOK, code)

		require.NoError(t, os.Remove(strings.TrimPrefix(u, "sqlite:")))
		code, body := get(t, srv.baseURL+"/readyz")
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Contains(t, body, "not ready")
		code, _ = get(t, srv.baseURL+"/healthz")
		require.Equal(t, http.StatusOK, code, "alive even when not ready")
	})

	t.Run("ReadyTurns503WhileTheStoreCannotCommit", func(t *testing.T) {
		t.Parallel()
		u := storetest.SQLiteURL(t)
		srv := startServe(t, map[string]string{"ZOOMRECON_DATABASE_URL": u})
		code, _ := get(t, srv.baseURL+"/readyz")
		require.Equal(t, http.StatusOK, code)

		// Another process holds SQLite's write lock: reads work, commits wait.
		other, err := sql.Open("sqlite", "file:"+strings.TrimPrefix(u, "sqlite:"))
		require.NoError(t, err)
		defer other.Close()
		conn, err := other.Conn(context.Background())
		require.NoError(t, err)
		_, err = conn.ExecContext(context.Background(), "BEGIN IMMEDIATE")
		require.NoError(t, err)
		start := time.Now()
		code, body := get(t, srv.baseURL+"/readyz")
		require.Equal(t, http.StatusServiceUnavailable, code, body)
		require.Less(t, time.Since(start), 5*time.Second, "readyz answers within its own timeout")

		_, err = conn.ExecContext(context.Background(), "ROLLBACK")
		require.NoError(t, err)
		require.NoError(t, conn.Close())
		code, _ = get(t, srv.baseURL+"/readyz")
		require.Equal(t, http.StatusOK, code, "ready again once commits work")
	})

	t.Run("ReadyTurns503WhenPostgresSchemaIsGone", func(t *testing.T) {
		t.Parallel()
		u := storetest.PostgresURL(t)
		srv := startServe(t, map[string]string{"ZOOMRECON_DATABASE_URL": u})
		code, _ := get(t, srv.baseURL+"/readyz")
		require.Equal(t, http.StatusOK, code)

		db, err := sql.Open("pgx", u)
		require.NoError(t, err)
		defer db.Close()
		_, err = db.Exec("DROP TABLE goose_db_version, events CASCADE")
		require.NoError(t, err)
		code, _ = get(t, srv.baseURL+"/readyz")
		require.Equal(t, http.StatusServiceUnavailable, code)
	})

	t.Run("BindErrorNamesTheKey", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		res := runCLI(t, map[string]string{
			"ZOOMRECON_DATABASE_URL": storetest.SQLiteURL(t),
			"ZOOMRECON_LISTEN_ADDR":  ln.Addr().String(),
		}, "serve")
		require.Equal(t, 1, res.code)
		require.Contains(t, res.stderr, "zoomrecon: ZOOMRECON_LISTEN_ADDR: listen tcp "+ln.Addr().String())
	})
}
