package reconciler_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
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
						left := leftAt(t, truth, bob)
						require.Equal(t, left.UnixMilli(), ev.EventTS, "event_ts is when Zoom says Bob left")
						require.Equal(t, left.UTC().Format(time.RFC3339), ev.Payload.Object.Participant.LeaveTime)
						require.True(t, left.Before(truth.End), "the fake has Bob leave before the end, so the order below is fixed")
					}
					rebuilt = append(rebuilt, ev.Event)
				}
				require.NoError(t, b.st.MarkForwardDelivered(ctx, ids, b.clk.Now()))
			}
			// A replay delivers in the order things happened (event_ts),
			// not the order the pass found them: Bob left, then the
			// meeting ended.
			require.Equal(t, []string{"meeting.participant_left", "meeting.ended"}, rebuilt)
		},
	})
}

// leftAt is when the finished in-meeting session of the participant with
// user_id id ended.
func leftAt(t *testing.T, truth zoomtest.Instance, id string) time.Time {
	t.Helper()
	for _, s := range truth.Sessions {
		if s.Person.UserID == id && s.Status == zoomtest.StatusInMeeting && !s.LeaveTime.IsZero() {
			return s.LeaveTime
		}
	}
	t.Fatalf("no finished session of %s in the fake", id)
	return time.Time{}
}
