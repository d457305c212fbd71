// Command retentionbench shows that pruning bounds the database. It simulates
// days of an account's webhooks at accelerated time: each simulated day's
// events (meetings with participants joining and leaving, each event with a
// raw body like Zoom's) go through store.IngestBatch into two SQLite files,
// and after each day one of them is pruned as serve prunes it
// (ZOOMRECON_EVENT_RETENTION, ZOOMRECON_HISTORY_RETENTION, then
// ReclaimSpace); the other, the baseline, keeps everything. It prints both
// files' sizes (database plus -wal) per simulated day and their ratio at the
// end.
//
//	go run ./cmd/retentionbench                      # 60 days of 6,000 events: 1/100 of 600k a day
//	go run ./cmd/retentionbench -per-day 600000      # a big account at full scale (slow)
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "retentionbench:", err)
		os.Exit(1)
	}
}

type options struct {
	days         int
	perDay       int
	participants int
	bodyBytes    int
	retention    time.Duration
	history      time.Duration
}

// start is the first simulated day.
var start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func run(args []string, out io.Writer) error {
	var o options
	fs := flag.NewFlagSet("retentionbench", flag.ContinueOnError)
	fs.IntVar(&o.days, "days", 60, "simulated days")
	fs.IntVar(&o.perDay, "per-day", 6000, "events per simulated day (a big account sends ~600,000: the default is 1/100 of that)")
	fs.IntVar(&o.participants, "participants", 20, "participants per meeting; each meeting is 2 + 2×participants events")
	fs.IntVar(&o.bodyBytes, "body-bytes", 1000, "bytes of each event's raw body (Zoom's are ~0.7-1.5 kB)")
	fs.DurationVar(&o.retention, "retention", 30*24*time.Hour, "ZOOMRECON_EVENT_RETENTION of the pruned file")
	fs.DurationVar(&o.history, "history", 400*24*time.Hour, "ZOOMRECON_HISTORY_RETENTION of the pruned file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "retentionbench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	open := func(name string) (*store.Store, string, error) {
		path := filepath.Join(dir, name+".db")
		st, err := store.Open(ctx, "sqlite:"+path, store.Options{})
		if err != nil {
			return nil, "", err
		}
		if _, err := st.Migrate(ctx); err != nil {
			return nil, "", err
		}
		return st, path, nil
	}
	pruned, prunedPath, err := open("pruned")
	if err != nil {
		return err
	}
	defer pruned.Close()
	kept, keptPath, err := open("baseline")
	if err != nil {
		return err
	}
	defer kept.Close()

	fmt.Fprintf(out, "%d simulated days of %d events a day (%.3g of a 600k/day account), %d-byte bodies, %d participants a meeting\n",
		o.days, o.perDay, float64(o.perDay)/600000, o.bodyBytes, o.participants)
	fmt.Fprintf(out, "pruned file: event retention %s, history retention %s, pruned and reclaimed after every day; baseline: never pruned\n\n",
		days(o.retention), days(o.history))
	fmt.Fprintf(out, "%4s %14s %14s %7s %12s %12s %10s\n", "day", "pruned MB", "baseline MB", "ratio", "events kept", "deleted", "prune took")

	began := time.Now()
	var prunedMB, keptMB []float64
	for d := range o.days {
		dayStart := start.AddDate(0, 0, d)
		batches := simulateDay(o, d, dayStart)
		for _, st := range []*store.Store{pruned, kept} {
			for _, b := range batches {
				if _, err := st.IngestBatch(ctx, b, b[len(b)-1].Event.ReceivedAt); err != nil {
					return fmt.Errorf("day %d: ingest: %w", d+1, err)
				}
			}
		}
		now := dayStart.Add(24 * time.Hour)
		t := time.Now()
		deleted, err := pruned.PruneEvents(ctx, now.Add(-o.retention), store.DefaultPruneBatch)
		if err != nil {
			return fmt.Errorf("day %d: prune events: %w", d+1, err)
		}
		hist, err := pruned.PruneHistory(ctx, now.Add(-o.history), store.DefaultPruneBatch)
		if err != nil {
			return fmt.Errorf("day %d: prune history: %w", d+1, err)
		}
		for _, n := range hist {
			deleted += n
		}
		if _, err := pruned.ReclaimSpace(ctx, 1000, 1000); err != nil {
			return fmt.Errorf("day %d: reclaim: %w", d+1, err)
		}
		took := time.Since(t)
		var left int
		if err := pruned.DB().GetContext(ctx, &left, "SELECT COUNT(*) FROM events"); err != nil {
			return err
		}
		p, k := fileMB(prunedPath), fileMB(keptPath)
		prunedMB, keptMB = append(prunedMB, p), append(keptMB, k)
		fmt.Fprintf(out, "%4d %14.1f %14.1f %7.2f %12d %12d %10s\n", d+1, p, k, p/k, left, deleted, took.Round(time.Millisecond))
	}
	last := len(prunedMB) - 1
	fmt.Fprintf(out, "\nday %d: pruned %.1f MB, baseline %.1f MB, ratio %.2f\n", last+1, prunedMB[last], keptMB[last], prunedMB[last]/keptMB[last])
	if plateau := int(o.retention / (24 * time.Hour)); plateau < last {
		lo, hi := prunedMB[plateau], prunedMB[plateau]
		for _, v := range prunedMB[plateau:] {
			lo, hi = min(lo, v), max(hi, v)
		}
		fmt.Fprintf(out, "pruned file from day %d to day %d: %.1f-%.1f MB (spread %.1f%% of day %d's size)\n",
			plateau+1, last+1, lo, hi, 100*(hi-lo)/prunedMB[plateau], plateau+1)
	}
	fmt.Fprintf(out, "wall time %s\n", time.Since(began).Round(time.Second))
	return nil
}

// simulateDay returns day d's events in ingest batches of 100, in time order:
// meetings spread over the day, each started, joined and left by its
// participants, and ended.
func simulateDay(o options, d int, dayStart time.Time) [][]store.Ingest {
	perMeeting := 2 + 2*o.participants
	meetings := max(1, o.perDay/perMeeting)
	step := 24 * time.Hour / time.Duration(meetings*perMeeting)
	var (
		all []store.Ingest
		at  = dayStart
	)
	for m := range meetings {
		uuid := fmt.Sprintf("day%d-meeting%d==", d, m)
		ev := func(typ string) store.Event {
			at = at.Add(step)
			return store.Event{DedupKey: typ + "/" + uuid + "/" + at.Format(time.RFC3339Nano), Type: typ, ReceivedAt: at,
				EventTS: &at, MeetingUUID: uuid, Body: body(o.bodyBytes, typ, uuid)}
		}
		started := ev("meeting.started")
		all = append(all, store.Ingest{Event: started, Meeting: &store.MeetingUpdate{UUID: uuid, MeetingID: int64(m + 1),
			HostID: "host", Topic: "Weekly", StartTime: started.ReceivedAt, Started: true, Source: store.SourceWebhook}})
		for _, side := range []string{"joined", "left"} {
			for p := range o.participants {
				e := ev("meeting.participant_" + side)
				u := &store.ParticipantUpdate{MeetingUUID: uuid, Source: store.SourceWebhook,
					Participant: store.Participant{UserID: fmt.Sprint(16778240 + p), UserName: fmt.Sprint("Person ", p)}}
				if side == "joined" {
					u.JoinTime = e.ReceivedAt
				} else {
					u.LeaveTime = e.ReceivedAt
				}
				all = append(all, store.Ingest{Event: e, Participant: u})
			}
		}
		ended := ev("meeting.ended")
		all = append(all, store.Ingest{Event: ended, Meeting: &store.MeetingUpdate{UUID: uuid, EndTime: ended.ReceivedAt,
			Ended: true, Source: store.SourceWebhook}})
	}
	var batches [][]store.Ingest
	for len(all) > 0 {
		n := min(100, len(all))
		batches, all = append(batches, all[:n]), all[n:]
	}
	return batches
}

// body is a Zoom-like JSON body of n bytes; random padding, since SQLite
// stores it as it is and Zoom's bodies do not repeat.
func body(n int, typ, uuid string) []byte {
	b := []byte(fmt.Sprintf(`{"event":%q,"payload":{"account_id":"AAAAAAAAAAAAAAAAAAAAAA","object":{"uuid":%q,"pad":"`, typ, uuid))
	pad := make([]byte, max(0, (n-len(b)-4)/2))
	_, _ = rand.Read(pad)
	b = append(b, hex.EncodeToString(pad)...)
	return append(b, `"}}}`...)
}

// fileMB is the size of a SQLite database with its -wal, in MB.
func fileMB(path string) float64 {
	var total int64
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			total += fi.Size()
		}
	}
	return float64(total) / 1e6
}

func days(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", d/(24*time.Hour))
	}
	return d.String()
}
