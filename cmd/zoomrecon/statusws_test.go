package main

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestPrintWebSocket(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	since := now.Add(-3 * time.Minute)
	tests := []struct {
		name string
		v    websocketView
		want string
	}{
		{"connected", websocketView{State: wsConnected, ConnectedSince: &since, Holder: "db1:42"},
			"connected since 2026-12-03T08:57:00Z (held by db1:42)"},
		{"disconnected", websocketView{State: wsDisconnected, DisconnectedSince: &since, DisconnectedCause: "read websocket: EOF", Holder: "db1:42"},
			"DISCONNECTED since 2026-12-03T08:57:00Z (3m ago; held by db1:42, reconnecting): read websocket: EOF"},
		// Just taken over, or the holder could not record the gap yet.
		{"disconnected, no gap on record", websocketView{State: wsDisconnected, Holder: "db2:7"},
			"DISCONNECTED (held by db2:7, connecting)"},
		{"no holder", websocketView{State: wsNoHolder, DisconnectedSince: &since},
			"NOT CONNECTED: no zoomrecon serve holds the subscription (since 2026-12-03T08:57:00Z)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			printWebSocket(&b, &tt.v, now)
			first, _, _ := strings.Cut(b.String(), "\n")
			require.Equal(t, "WebSocket:             "+tt.want, first)
		})
	}
}
