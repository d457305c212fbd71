package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

func TestReplayRefusals(t *testing.T) {
	t.Parallel()
	u := storetest.SQLiteURL(t)
	storetest.Open(t, u) // migrated, as serve leaves it
	forward := map[string]string{"ZOOMRECON_DATABASE_URL": u,
		"ZOOMRECON_FORWARD_URL": "http://127.0.0.1:9/zoom", "ZOOMRECON_FORWARD_SECRET_TOKEN": "app-secret"}
	cases := []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"NoSince", forward, []string{"replay"}, "--since is required"},
		{"UntilBeforeSince", forward, []string{"replay", "--since", "1h", "--until", "2h"}, "must be before --until"},
		{"NoDestination", map[string]string{"ZOOMRECON_DATABASE_URL": u}, []string{"replay", "--since", "1h"},
			"no destination to replay to: set ZOOMRECON_FORWARD_URL and ZOOMRECON_FORWARD_SECRET_TOKEN"},
		{"UnknownDestination", forward, []string{"replay", "--since", "1h", "--destination", "billing"},
			`--destination: "billing" is not a configured destination; they are: default`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			out := runCLI(t, tc.vars, tc.args...)
			require.Equal(t, 1, out.code)
			require.Contains(t, out.stderr, tc.want)
			require.NotContains(t, out.stderr, "app-secret")
		})
	}
	out := runCLI(t, forward, "replay", "--since", "1h")
	require.Equal(t, 0, out.code, out.stderr)
	require.Contains(t, out.stdout, "queued 0 deliveries of the events from ")
}

func TestStatusShowsAnUnconfiguredDestination(t *testing.T) {
	t.Parallel()
	u := storetest.SQLiteURL(t)
	st := storetest.OpenWith(t, u, store.Options{Forward: []store.ForwardRoute{{Name: "retired"}}})
	now := time.Now()
	_, err := st.IngestBatch(context.Background(), []store.Ingest{{Event: store.Event{
		DedupKey: "k1", Type: "meeting.started", ReceivedAt: now, MeetingUUID: "m1", Body: []byte(`{}`)}}}, now)
	require.NoError(t, err)
	out := runCLI(t, map[string]string{"ZOOMRECON_DATABASE_URL": u}, "status")
	require.Equal(t, 0, out.code, out.stderr)
	require.Contains(t, out.stdout, "Relay:                 retired: 1 pending (NOT CONFIGURED any more")
}
