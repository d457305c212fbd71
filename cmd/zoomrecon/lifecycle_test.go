package main

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/store/storetest"
)

// lifecycleDB is a migrated database holding four discrepancies of three
// meetings: one left open, one to acknowledge, one whose host is muted, and
// one backfilled (resolved at once).
type lifecycleDB struct {
	vars                             map[string]string
	st                               *store.Store
	open, toAck, ofMuted, backfilled int64
}

func newLifecycleDB(t *testing.T, dbURL string) lifecycleDB {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t, dbURL)
	now := time.Now().Add(-time.Hour)
	rec := func(n int, host string, backfilled bool) int64 {
		uuid := fmt.Sprintf("uuid-%d==", n)
		require.NoError(t, st.ApplyMeeting(ctx, store.MeetingUpdate{UUID: uuid, MeetingID: int64(8100 + n), HostID: host,
			Topic: fmt.Sprintf("Sync %d", n), StartTime: now.Add(-time.Hour), Started: true, Source: store.SourceWebhook}, now))
		d := store.Discrepancy{Kind: store.KindMissedMeetingEnded, MeetingUUID: uuid, Detail: "lost", DetectedAt: now, Backfilled: backfilled}
		if backfilled {
			d.ResolvedAt, d.Resolution = &now, store.ResolvedBackfilled
		}
		got, _, err := st.RecordDiscrepancy(ctx, d, nil)
		require.NoError(t, err)
		return got.ID
	}
	// The lab host joined as herself once: that is how her email is known.
	db := lifecycleDB{vars: map[string]string{"ZOOMRECON_DATABASE_URL": dbURL, "USER": "ana"}, st: st}
	db.open = rec(1, "host-bob", false)
	db.toAck = rec(2, "host-bob", false)
	db.ofMuted = rec(3, "host-lab", false)
	require.NoError(t, st.ApplyParticipant(ctx, store.ParticipantUpdate{MeetingUUID: "uuid-3==",
		Participant: store.Participant{UserID: "1", ParticipantUserID: "host-lab", UserName: "Lab", Email: "lab@example.com"},
		JoinTime:    now.Add(-time.Hour), Source: store.SourceWebhook}, now))
	db.backfilled = rec(4, "host-bob", true)
	return db
}

func TestAckCommand(t *testing.T) {
	t.Parallel()
	for _, bk := range storetest.Backends() {
		t.Run(bk.Name, func(t *testing.T) {
			t.Parallel()
			db := newLifecycleDB(t, bk.URL(t))
			id := func(n int64) string { return fmt.Sprint(n) }
			cases := []struct {
				name     string
				args     []string
				code     int
				out, err string
			}{
				{"Acknowledges", []string{"ack", id(db.toAck), "--note", "calling Zoom"}, 0,
					fmt.Sprintf("Acknowledged discrepancy %d (missed_meeting_ended) as ana.\n", db.toAck), ""},
				{"UnknownID", []string{"ack", "9999"}, 1, "",
					`zoomrecon: discrepancy 9999 does not exist; "zoomrecon status" lists discrepancies with their IDs` + "\n"},
				{"Resolved", []string{"ack", id(db.backfilled)}, 1, "",
					fmt.Sprintf("zoomrecon: discrepancy %d is resolved already (zoomrecon backfilled it from Zoom's API; no action needed); there is nothing to acknowledge\n", db.backfilled)},
				{"NotAnID", []string{"ack", "abc"}, 1, "",
					`zoomrecon: ID: "abc" is not a discrepancy ID; use the number zoomrecon lists, e.g. 12` + "\n"},
			}
			for _, c := range cases {
				code, out, errOut := cliRun(t, db.vars, c.args...)
				require.Equal(t, c.code, code, "%s: %s", c.name, errOut)
				require.Equal(t, c.out, out, c.name)
				require.Equal(t, c.err, errOut, c.name)
			}
			d, err := db.st.DiscrepancyByID(context.Background(), db.toAck)
			require.NoError(t, err)
			require.Equal(t, "ana", d.AcknowledgedBy)
			require.Equal(t, "calling Zoom", d.AckNote)
		})
	}
}

func TestMuteCommands(t *testing.T) {
	t.Parallel()
	for _, bk := range storetest.Backends() {
		t.Run(bk.Name, func(t *testing.T) {
			t.Parallel()
			db := newLifecycleDB(t, bk.URL(t))
			errCases := []struct {
				name string
				args []string
				err  string
			}{
				{"NeitherHostNorMeeting", []string{"mute", "--for", "7d", "--reason", "x"},
					"zoomrecon: --host or --meeting: set exactly one, e.g. --host ana@example.com or --meeting 81234567890\n"},
				{"Both", []string{"mute", "--host", "a@b.c", "--meeting", "1", "--for", "7d", "--reason", "x"},
					"zoomrecon: --host or --meeting: set exactly one, e.g. --host ana@example.com or --meeting 81234567890\n"},
				{"AllProblemsAtOnce", []string{"mute", "--host", "a@b.c", "--for", "soon"},
					"zoomrecon: --for: \"soon\" is not a positive duration; use e.g. 72h or 7d\n" +
						"zoomrecon: --reason: required; say why, e.g. --reason \"test account\"\n"},
				{"UnmuteUnknown", []string{"unmute", "9999"},
					"zoomrecon: mute 9999 does not exist; \"zoomrecon mute list\" lists the active mutes\n"},
			}
			for _, c := range errCases {
				code, out, errOut := cliRun(t, db.vars, c.args...)
				require.Equal(t, 1, code, c.name)
				require.Empty(t, out, c.name)
				require.Equal(t, c.err, errOut, c.name)
			}

			code, out, errOut := cliRun(t, db.vars, "mute", "list")
			require.Equal(t, 0, code, errOut)
			require.Equal(t, "No active mutes.\n", out)

			before := time.Now()
			code, out, errOut = cliRun(t, db.vars, "mute", "--host", "lab@example.com", "--for", "7d", "--reason", "lab account")
			require.Equal(t, 0, code, errOut)
			require.Regexp(t, `^Mute (\d+): alerts about host lab@example.com are held back until \S+ \(lab account\)\.\n$`, out)
			muteID := regexp.MustCompile(`^Mute (\d+)`).FindStringSubmatch(out)[1]
			code, out, errOut = cliRun(t, db.vars, "mute", "--meeting", "8102", "--for", "72h", "--reason", "drill")
			require.Equal(t, 0, code, errOut)
			require.Contains(t, out, "alerts about meeting 8102 are held back until")

			code, out, errOut = cliRun(t, db.vars, "mute", "list", "--output", "json")
			require.Equal(t, 0, code, errOut)
			var mutes []struct {
				ID        int64     `json:"id"`
				Host      string    `json:"host"`
				MeetingID int64     `json:"meeting_id"`
				Reason    string    `json:"reason"`
				CreatedBy string    `json:"created_by"`
				Until     time.Time `json:"until"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &mutes), out)
			require.Len(t, mutes, 2)
			require.Equal(t, int64(8102), mutes[0].MeetingID, "soonest to end first")
			require.Equal(t, "lab@example.com", mutes[1].Host)
			require.Equal(t, "ana", mutes[1].CreatedBy)
			require.WithinDuration(t, before.Add(7*24*time.Hour), mutes[1].Until, time.Minute)

			code, out, errOut = cliRun(t, db.vars, "mute", "list")
			require.Equal(t, 0, code, errOut)
			require.Regexp(t, `ID\s+HOST\s+MEETING ID\s+UNTIL\s+BY\s+REASON\n`, out)
			require.Regexp(t, muteID+`\s+lab@example.com\s+-\s+\S+\s+ana\s+lab account\n`, out)

			code, out, errOut = cliRun(t, db.vars, "unmute", muteID)
			require.Equal(t, 0, code, errOut)
			require.Equal(t, "Mute "+muteID+" lifted: alerts about host lab@example.com go out again.\n", out)
			code, _, errOut = cliRun(t, db.vars, "unmute", muteID)
			require.Equal(t, 1, code)
			require.Equal(t, "zoomrecon: mute "+muteID+" has ended already; \"zoomrecon mute list\" lists the active mutes\n", errOut)
		})
	}
}

func TestStatusShowsLifecycle(t *testing.T) {
	t.Parallel()
	for _, bk := range storetest.Backends() {
		t.Run(bk.Name, func(t *testing.T) {
			t.Parallel()
			db := newLifecycleDB(t, bk.URL(t))
			code, _, errOut := cliRun(t, db.vars, "ack", fmt.Sprint(db.toAck), "--note", "on it")
			require.Equal(t, 0, code, errOut)
			code, _, errOut = cliRun(t, db.vars, "mute", "--host", "LAB@example.com", "--for", "7d", "--reason", "lab account")
			require.Equal(t, 0, code, errOut)

			code, out, errOut := cliRun(t, db.vars, "status")
			require.Equal(t, 0, code, errOut)
			require.Regexp(t, `Discrepancies since \S+: 4, 1 open, 1 acknowledged, 1 muted\n`, out)
			require.Regexp(t, fmt.Sprintf(`\n%d\s+\S+\s+missed_meeting_ended\s+8102\s+Sync 2\s+-\s+acknowledged by ana: on it\n`, db.toAck), out)
			require.Regexp(t, fmt.Sprintf(`\n%d\s+.*muted until \S+ \(mute \d+: lab account\)\n`, db.ofMuted), out)
			require.Regexp(t, fmt.Sprintf(`\n%d\s+.*resolved \S+ \(backfilled\)\n`, db.backfilled), out)

			code, out, errOut = cliRun(t, db.vars, "status", "--output", "json")
			require.Equal(t, 0, code, errOut)
			var rep struct {
				Open          int `json:"open"`
				Acknowledged  int `json:"acknowledged"`
				Muted         int `json:"muted"`
				Discrepancies []struct {
					ID             int64      `json:"id"`
					State          string     `json:"state"`
					AcknowledgedAt *time.Time `json:"acknowledged_at"`
					AckNote        string     `json:"ack_note"`
					MutedUntil     *time.Time `json:"muted_until"`
					MuteReason     string     `json:"mute_reason"`
					Resolution     string     `json:"resolution"`
				} `json:"discrepancies"`
			}
			require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
			require.Equal(t, [3]int{1, 1, 1}, [3]int{rep.Open, rep.Acknowledged, rep.Muted})
			states := map[int64]string{}
			for _, d := range rep.Discrepancies {
				states[d.ID] = d.State
				switch d.ID {
				case db.toAck:
					require.NotNil(t, d.AcknowledgedAt)
					require.Equal(t, "on it", d.AckNote)
				case db.ofMuted:
					require.NotNil(t, d.MutedUntil)
					require.Equal(t, "lab account", d.MuteReason)
				case db.backfilled:
					require.Equal(t, "backfilled", d.Resolution)
				}
			}
			require.Equal(t, map[int64]string{db.open: "open", db.toAck: "acknowledged", db.ofMuted: "muted", db.backfilled: "resolved"}, states)
		})
	}
}
