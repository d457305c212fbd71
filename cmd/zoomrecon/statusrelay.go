package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
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
	// Unconfigured marks a destination the configuration no longer names
	// whose deliveries are still pending: nothing delivers them.
	Unconfigured bool `json:"unconfigured,omitempty"`
}

// forwardStatus reads the queue of every configured destination, in the
// configuration's order, then of any other with deliveries still pending;
// nil when there is none.
func forwardStatus(ctx context.Context, cfg *config.Config, st *store.Store) ([]forwardView, error) {
	stats, err := st.ForwardQueueStats(ctx)
	if err != nil {
		return nil, err
	}
	by := map[string]store.ForwardStats{}
	for _, s := range stats {
		by[s.Destination] = s
	}
	var out []forwardView
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
	for _, s := range stats {
		if s.Pending > 0 && !slices.ContainsFunc(cfg.Forward, func(d config.ForwardDestination) bool { return d.Name == s.Destination }) {
			out = append(out, forwardView{Destination: s.Destination, Pending: s.Pending, OldestPending: utcPtr(s.OldestPending),
				Delivered: s.Delivered, Dead: s.Dead, Unconfigured: true})
		}
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
		switch {
		case v.Unconfigured:
			fmt.Fprint(w, " (NOT CONFIGURED any more: nothing delivers them, and their events are kept from pruning)")
		case v.Validation == "ok":
		case v.Validation == "":
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
