package main

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// TestServeMetricsAddr checks which listener answers what: by default one
// listener serves everything; with ZOOMRECON_METRICS_ADDR the operator
// endpoints move to it and the main listener serves only the webhook path.
func TestServeMetricsAddr(t *testing.T) {
	t.Parallel()
	for _, be := range storetest.Backends() {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			t.Run("OneListenerServesEverything", func(t *testing.T) {
				t.Parallel()
				srv := startServe(t, map[string]string{"ZOOMRECON_DATABASE_URL": be.URL(t), "ZOOM_WEBHOOK_SECRET_TOKEN": crashSecret})
				for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
					code, _ := get(t, srv.baseURL+p)
					require.Equal(t, http.StatusOK, code, p)
				}
				require.Equal(t, http.StatusUnauthorized, postUnsigned(t, srv.baseURL+"/webhooks/zoom"))
			})
			t.Run("MetricsAddrTakesTheOperatorEndpoints", func(t *testing.T) {
				t.Parallel()
				opsAddr := make(chan net.Addr, 1)
				srv := startServe(t, map[string]string{
					"ZOOMRECON_DATABASE_URL": be.URL(t), "ZOOM_WEBHOOK_SECRET_TOKEN": crashSecret,
					"ZOOMRECON_METRICS_ADDR": "127.0.0.1:0",
				}, func(e *env) { e.onMetricsListen = func(a net.Addr) { opsAddr <- a } })
				ops := "http://" + (<-opsAddr).String()
				require.NotEqual(t, srv.baseURL, ops)
				for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
					code, body := get(t, ops+p)
					require.Equal(t, http.StatusOK, code, "%s on the metrics addr", p)
					if p == "/metrics" {
						require.True(t, strings.Contains(body, "zoomrecon_build_info"), "a real scrape")
					}
					code, _ = get(t, srv.baseURL+p)
					require.Equal(t, http.StatusNotFound, code, "%s on the main listener", p)
				}
				require.Equal(t, http.StatusUnauthorized, postUnsigned(t, srv.baseURL+"/webhooks/zoom"), "the webhook stays on the main listener")
				require.Equal(t, http.StatusNotFound, postUnsigned(t, ops+"/webhooks/zoom"), "and only there")
				require.Equal(t, 0, srv.stop())
			})
		})
	}
}

// postUnsigned posts an event without Zoom's signature and returns the status.
func postUnsigned(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(`{"event":"meeting.started","event_ts":1,"payload":{}}`))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	return resp.StatusCode
}
