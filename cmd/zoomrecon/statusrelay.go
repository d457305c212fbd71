package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/relay"
	"github.com/zoomrecon/zoomrecon/store"
)

// forwardView is one relay destination's queue as status shows it.
type forwardView struct {
	Destination   string     `json:"destination"`
	Pending       int64      `json:"pending"`
	OldestPending *time.Time `json:"oldest_pending_since,omitempty"`
	Delivered     int64      `json:"delivered"`
	Failing       int64      `json:"failing"`
	Dead          int64      `json:"dead"`
	LastError     string     `json:"last_error,omitempty"`
	// LastDead is why the latest dead delivery died, with the
	// destination's answer.
	LastDead string `json:"last_dead,omitempty"`
	// Validation is how the last URL validation went, "ok" or why it
	// failed (nothing is delivered until it passes); "" before any.
	Validation string `json:"validation"`
}

// forwardStatus reads the queue of every configured destination, in the
// configuration's order; nil when nothing is forwarded.
func forwardStatus(ctx context.Context, cfg *config.Config, st *store.Store) ([]forwardView, error) {
	if len(cfg.Forward) == 0 {
		return nil, nil
	}
	stats, err := st.ForwardQueueStats(ctx)
	if err != nil {
		return nil, err
	}
	by := map[string]store.ForwardStats{}
	for _, s := range stats {
		by[s.Destination] = s
	}
	out := make([]forwardView, 0, len(cfg.Forward))
	for _, d := range cfg.Forward {
		s := by[d.Name]
		v := forwardView{Destination: d.Name, Pending: s.Pending, OldestPending: utcPtr(s.OldestPending),
			Delivered: s.Delivered, Failing: s.Failing, Dead: s.Dead, LastError: s.LastError, LastDead: s.LastDead}
		switch state, err := st.State(ctx, relay.ValidationStateKey(d.Name)); {
		case err == nil:
			v.Validation = state
		case !errors.Is(err, store.ErrNotFound):
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// printForward writes status's relay lines.
func printForward(w io.Writer, vs []forwardView, now time.Time) {
	for i, v := range vs {
		label := "Relay:                "
		if i > 0 {
			label = "                      "
		}
		fmt.Fprintf(w, "%s %s: %d pending", label, v.Destination, v.Pending)
		switch v.Validation {
		case "ok":
		case "":
			fmt.Fprint(w, " (not validated yet: nothing is delivered before)")
		default:
			fmt.Fprintf(w, " (NOT VALIDATED, nothing is delivered: %s)", v.Validation)
		}
		if v.OldestPending != nil {
			fmt.Fprintf(w, " (oldest queued %s)", ago(now.Sub(*v.OldestPending)))
		}
		fmt.Fprintf(w, ", %d delivered", v.Delivered)
		if v.Failing > 0 {
			fmt.Fprintf(w, ", FAILING: %d, last error: %s", v.Failing, v.LastError)
		}
		if v.Dead > 0 {
			fmt.Fprintf(w, ", DEAD: %d (zoomrecon replay --destination %s sends them again); last refused: %s", v.Dead, v.Destination, v.LastDead)
		}
		fmt.Fprintln(w)
	}
}
