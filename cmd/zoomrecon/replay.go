package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/store"
)

func newReplayCmd(e env, load func() (*config.Config, error)) *cobra.Command {
	var (
		since, until, destination, event string
		wait                             bool
	)
	cmd := &cobra.Command{
		Use:   "replay --since WHEN [--until WHEN] [--destination NAME] [--event TYPE] [--wait]",
		Short: "Deliver stored events to the relay's destinations again",
		Long: `Queue again, for the relay's destinations, the events stored for a window of
time: those Zoom sent and those zoomrecon rebuilt for the ones it lost, in the
order they happened. Use it after the application behind
zoomrecon was down longer than ZOOMRECON_FORWARD_GIVE_UP_AFTER, or to send a
destination what it refused. The running zoomrecon serve delivers them, marked
X-Zoomrecon-Replay: true; each keeps its X-Zoomrecon-Delivery-Id, so the
application skips what it already has.

--since and --until take a duration back from now (72h, 7d), a date
(2026-11-01) or an RFC 3339 time. With --wait it follows the delivery and exits
1 if any of it ends dead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := load()
			if err != nil {
				return err
			}
			now := e.now()
			from, to, err := parseWindow(since, until, now)
			if err != nil {
				return err
			}
			routes, err := replayRoutes(cfg, destination)
			if err != nil {
				return err
			}
			st, err := openWritable(cmd.Context(), load)
			if err != nil {
				return err
			}
			defer st.Close()
			n, err := st.QueueReplay(cmd.Context(), routes, store.ReplayFilter{Since: from, Until: to, EventType: event}, now)
			if err != nil && n > 0 {
				return fmt.Errorf("%w; %s were queued before it and will be delivered: "+
					"running the same replay again is safe, the application skips what it has by its X-Zoomrecon-Delivery-Id",
					err, plural(int(n), "delivery", "deliveries"))
			}
			if err != nil {
				return err
			}
			names := make([]string, len(routes))
			for i, r := range routes {
				names[i] = r.Name
			}
			fmt.Fprintf(e.stdout, "queued %s of the events from %s to %s for %s\n", plural(int(n), "delivery", "deliveries"),
				from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), strings.Join(names, ", "))
			if n == 0 || !wait {
				if n > 0 {
					fmt.Fprintln(e.stdout, `zoomrecon serve delivers them; "zoomrecon status" shows each destination's queue`)
				}
				return nil
			}
			return followReplay(cmd.Context(), e, st, now, n)
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "start of the window: 72h, 7d, 2026-11-01 or RFC 3339 (required)")
	cmd.Flags().StringVar(&until, "until", "", "end of the window (default now)")
	cmd.Flags().StringVar(&destination, "destination", "", "only this destination (default every one)")
	cmd.Flags().StringVar(&event, "event", "", "only events of this type, e.g. meeting.ended")
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the delivery until every replayed event is delivered or dead")
	return cmd
}

// replayRoutes are the destinations a replay queues for: one, or all.
func replayRoutes(cfg *config.Config, name string) ([]store.ForwardRoute, error) {
	routes := forwardRoutes(cfg)
	if len(routes) == 0 {
		return nil, errors.New("no destination to replay to: set ZOOMRECON_FORWARD_URL and ZOOMRECON_FORWARD_SECRET_TOKEN, or a forward: list in the YAML file")
	}
	if name == "" {
		return routes, nil
	}
	i := slices.IndexFunc(routes, func(r store.ForwardRoute) bool { return r.Name == name })
	if i < 0 {
		names := make([]string, len(routes))
		for j, r := range routes {
			names[j] = r.Name
		}
		return nil, fmt.Errorf("--destination: %q is not a configured destination; they are: %s", name, strings.Join(names, ", "))
	}
	return routes[i : i+1], nil
}

// followReplay prints the replay's progress every second until every
// delivery is delivered or dead; dead ones make it fail.
func followReplay(ctx context.Context, e env, st *store.Store, queuedAt time.Time, total int64) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := ""
	for {
		p, err := st.ReplayProgress(ctx, queuedAt)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%d/%d delivered, %d pending, %d dead", p[store.ForwardDelivered], total, p[store.ForwardPending], p[store.ForwardDead])
		if line != last {
			fmt.Fprintln(e.stdout, line)
			last = line
		}
		if p[store.ForwardPending] == 0 {
			if p[store.ForwardDead] > 0 {
				return &exitError{code: 1, msg: fmt.Sprintf("%d of the replayed deliveries are dead; \"zoomrecon status\" shows the destination's answer", p[store.ForwardDead])}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
