package alerts

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/store"
)

// placeholder matches a template placeholder words left unfilled.
var placeholder = regexp.MustCompile(`\{[A-Za-z]+\}`)

// TestEveryKindReads renders every kind, of a meeting and of a webinar, in
// every shape a message takes, and finds no placeholder left unfilled: a
// template may only use what words fills where it is used.
func TestEveryKindReads(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)
	mk := func(k store.Kind, typ store.MeetingType, id int64, resolved bool) alert {
		info := k.Info()
		d := store.AlertDetail{
			Discrepancy: store.Discrepancy{ID: id, Kind: k, Detail: "what the reconciler saw", DetectedAt: at},
			MeetingID:   81234567890 + id, Topic: "Weekly sync", HostID: "host-ana", Type: typ,
		}
		switch {
		case info.Account:
			d.Subject = at.Add(-time.Hour).Format(time.RFC3339Nano)
		case info.Participant:
			d.MeetingUUID, d.Subject, d.ParticipantName = "uuid==", "uid:1", "Ana Lima"
		default:
			d.MeetingUUID = "uuid=="
		}
		if resolved {
			r := at.Add(time.Minute)
			d.ResolvedAt, d.Resolution = &r, info.ResolvedAs
		}
		return alert{msg: store.OutboxMessage{ID: id, Kind: k, DiscrepancyID: &id}, d: d, hasD: true}
	}
	unknown := store.Kind("missed_recording_completed")
	for _, k := range append(store.Kinds(), unknown) {
		kt, worded := kindTexts[k]
		require.Equal(t, k != unknown, worded, "%s: every kind has its wording", k)
		if worded {
			// genericText's would say nothing about the kind.
			for field, s := range map[string]string{"title": kt.title, "headline": kt.headline, "kept": kt.kept, "next": kt.next} {
				require.NotEmpty(t, s, "%s: %s is the kind's own", k, field)
			}
		}
		if k.Info().Account {
			// genericText has none: facts and lists would show the stretch's start unlabelled.
			for field, s := range map[string]string{"since": kt.since, "listed": kt.listed, "resolved": kt.resolved} {
				require.NotEmpty(t, s, "%s: an account kind says when its stretch began (%s)", k, field)
			}
		}
		for _, typ := range []store.MeetingType{store.TypeMeeting, store.TypeWebinar, ""} {
			t.Run(string(k)+"/"+string(typ), func(t *testing.T) {
				t.Parallel()
				one, two := mk(k, typ, 1, false), mk(k, typ, 2, false)
				done := []alert{mk(k, typ, 1, true), mk(k, typ, 2, true)}
				silence := mk(store.KindWebhookSilence, "", 9, false)
				for name, m := range map[string]message{
					"Single":         renderSingle(one, nil, 10),
					"SingleResolved": renderSingle(done[0], nil, 10),
					"Digest":         renderDigest([]alert{one, two}, 10),
					"Folded":         renderFolded(silence, []alert{one, two}, 10),
					"FollowUp":       renderFollowUp(done[:1], 10),
					"FollowUps":      renderFollowUp(done, 10),
				} {
					blocks, err := json.Marshal(m.blocks)
					require.NoError(t, err)
					require.Empty(t, placeholder.FindAllString(m.text, -1), "%s %s %q: text %q", k, name, typ, m.text)
					require.Empty(t, placeholder.FindAllString(string(blocks), -1), "%s %s %q: blocks", k, name, typ)
				}
			})
		}
	}
}
