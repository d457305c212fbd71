package reconciler_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
)

// TestRebuiltEvents: every backfill stores the events Zoom should have sent,
// in its shape, for the relay: the end Zoom lost, and the leave the lost end
// took with it (recorded without an alert of its own).
func TestRebuiltEvents(t *testing.T) {
	t.Parallel()
	runOnEveryBackend(t, map[string]func(t *testing.T, dbURL string){
		"LostEndAndLeave": func(t *testing.T, dbURL string) {
			ctx := context.Background()
			b := setup(t, dbURL)
			uuid, _, bob := b.meeting(t, "Rebuilt", false)
			b.deliver(t, uuid, lost{ended: true, leaves: map[string]bool{bob: true}})
			b.clk.Advance(30*time.Minute + grace + time.Minute)
			require.Equal(t, []string{"missed_meeting_ended Rebuilt "}, kinds(b.pass(t)))
			require.Empty(t, kinds(b.pass(t)), "nothing new, and nothing rebuilt twice")

			route := []store.ForwardRoute{{Name: "check"}}
			n, err := b.st.QueueReplay(ctx, route, store.ReplayFilter{Since: b.since.Add(-time.Hour), Until: b.clk.Now().Add(time.Hour)}, b.clk.Now())
			require.NoError(t, err)
			require.Positive(t, n)
			truth, ok := b.zoom.Truth(uuid)
			require.True(t, ok)
			var rebuilt []string
			for {
				ds, err := b.st.ClaimForward(ctx, "check", 0, b.clk.Now(), time.Minute, 100)
				require.NoError(t, err)
				if len(ds) == 0 {
					break
				}
				ids := []int64{}
				for _, d := range ds {
					ids = append(ids, d.ID)
					if !d.Reconstructed {
						continue
					}
					var ev struct {
						Event   string `json:"event"`
						EventTS int64  `json:"event_ts"`
						Payload struct {
							AccountID string `json:"account_id"`
							Object    struct {
								UUID        string `json:"uuid"`
								ID          string `json:"id"`
								EndTime     string `json:"end_time"`
								Participant struct {
									UserID    string `json:"user_id"`
									LeaveTime string `json:"leave_time"`
								} `json:"participant"`
							} `json:"object"`
						} `json:"payload"`
					}
					require.NoError(t, json.Unmarshal(d.Body, &ev))
					require.Equal(t, uuid, ev.Payload.Object.UUID)
					require.NotEmpty(t, ev.Payload.Object.ID)
					switch ev.Event {
					case "meeting.ended":
						require.Equal(t, truth.End.UnixMilli(), ev.EventTS, "event_ts is when Zoom says it happened")
						require.Equal(t, truth.End.UTC().Format(time.RFC3339), ev.Payload.Object.EndTime)
					case "meeting.participant_left":
						require.Equal(t, bob, ev.Payload.Object.Participant.UserID)
					}
					rebuilt = append(rebuilt, ev.Event)
				}
				require.NoError(t, b.st.MarkForwardDelivered(ctx, ids, b.clk.Now()))
			}
			// Queued as the pass finds them: the end (checking open
			// meetings), then the leave it took (checking attendance); each
			// says when it happened in event_ts.
			require.Equal(t, []string{"meeting.ended", "meeting.participant_left"}, rebuilt)
		},
	})
}
