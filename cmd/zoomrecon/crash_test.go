package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store/storetest"
	"github.com/zoomrecon/zoomrecon/webhook"
)

const crashSecret = "crashTestSecretToken"

// childDaemon is zoomrecon serve running in a child process.
type childDaemon struct {
	cmd     *exec.Cmd
	baseURL string
	exited  chan error

	mu   sync.Mutex
	logs []string // its log lines, shown when a test fails
}

func startDaemon(t *testing.T, dbURL string, extraEnv ...string) *childDaemon {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(),
		mainEnv+"=1",
		"ZOOMRECON_DATABASE_URL="+dbURL,
		"ZOOMRECON_LISTEN_ADDR=127.0.0.1:0",
		"ZOOM_WEBHOOK_SECRET_TOKEN="+crashSecret,
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	d := &childDaemon{cmd: cmd, exited: make(chan error, 1)}

	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.mu.Lock()
			d.logs = append(d.logs, sc.Text())
			d.mu.Unlock()
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "zoomrecon serving" {
				addr <- line.Addr
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
		d.exited <- cmd.Wait()
	}()
	select {
	case a := <-addr:
		d.baseURL = "http://" + a
	case err := <-d.exited:
		t.Fatalf("daemon exited before listening: %v", err)
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("daemon did not listen within 60s")
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		if t.Failed() {
			d.mu.Lock()
			defer d.mu.Unlock()
			for _, l := range d.logs[max(0, len(d.logs)-80):] {
				t.Log("daemon: " + l)
			}
		}
	})
	return d
}

// joinEvent is a distinct, correctly signed participant_joined for participant n.
func joinEvent(n int) []byte {
	return fmt.Appendf(nil, `{"event":"meeting.participant_joined","payload":{"account_id":"Acct","object":{"id":"84512093377","uuid":"crash-meeting==","host_id":"H","topic":"Crash test","type":2,"start_time":"2024-03-05T14:02:11Z","participant":{"user_id":"%d","user_name":"P %d","join_time":"2024-03-05T14:03:40Z","email":""}}},"event_ts":%d}`,
		n, n, 1709647420000+int64(n))
}

func postSigned(ctx context.Context, client *http.Client, url string, body []byte) (int, error) {
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set(webhook.HeaderTimestamp, ts)
	req.Header.Set(webhook.HeaderSignature, webhook.Sign(crashSecret, ts, body))
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}

// TestCrashLosesNothingAnswered kills the daemon with SIGKILL in the middle of
// a load and checks that every event it answered 200 is in the database after
// a restart.
func TestCrashLosesNothingAnswered(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts child processes")
	}
	for _, b := range storetest.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			dbURL := b.URL(t)
			d := startDaemon(t, dbURL)
			url := d.baseURL + "/webhooks/zoom"
			client := &http.Client{Timeout: 10 * time.Second}

			var (
				mu       sync.Mutex
				accepted []int
				next     int
				wg       sync.WaitGroup
			)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			for range 8 {
				wg.Go(func() {
					for ctx.Err() == nil {
						mu.Lock()
						n := next
						next++
						mu.Unlock()
						code, err := postSigned(ctx, client, url, joinEvent(n))
						if err != nil {
							return // the daemon is gone
						}
						if code == http.StatusOK {
							mu.Lock()
							accepted = append(accepted, n)
							mu.Unlock()
						}
					}
				})
			}
			require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(accepted) >= 300 }, 60*time.Second, 5*time.Millisecond)
			require.NoError(t, d.cmd.Process.Signal(syscall.SIGKILL))
			<-d.exited
			wg.Wait() // every sender has seen its last answer
			mu.Lock()
			answered := append([]int(nil), accepted...)
			mu.Unlock()

			// Restart on the same database: it must come up ready, with every
			// answered event stored.
			d2 := startDaemon(t, dbURL)
			code, _ := get(t, d2.baseURL+"/readyz")
			require.Equal(t, http.StatusOK, code)

			st := storetest.Open(t, dbURL)
			sessions, err := st.Sessions(context.Background(), "crash-meeting==")
			require.NoError(t, err)
			stored := map[string]bool{}
			for _, s := range sessions {
				stored[s.UserID] = true
			}
			var missing []int
			for _, n := range answered {
				if !stored[strconv.Itoa(n)] {
					missing = append(missing, n)
				}
			}
			require.Empty(t, missing, "events answered 200 before the crash but not stored (of %d answered)", len(answered))
			t.Logf("%s: %d events answered before SIGKILL, all stored; %d rows in all", b.Name, len(answered), len(sessions))

			// And it goes on accepting.
			code, err = postSigned(context.Background(), client, d2.baseURL+"/webhooks/zoom", joinEvent(1_000_000))
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, code)
			require.NoError(t, d2.cmd.Process.Signal(syscall.SIGTERM))
			select {
			case err := <-d2.exited:
				require.NoError(t, err, "a SIGTERM'd daemon exits 0")
			case <-time.After(30 * time.Second):
				t.Fatal("daemon did not stop within 30s of SIGTERM")
			}
		})
	}
}
