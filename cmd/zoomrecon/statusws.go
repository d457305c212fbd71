package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/zoomrecon/zoomrecon/config"
	"github.com/zoomrecon/zoomrecon/store"
)

// websocketView is the WebSocket event subscription as status shows it:
// who holds it, whether it is connected, and the gaps of the last 24 h.
type websocketView struct {
	SubscriptionID string `json:"subscription_id"`
	// State is "connected", "disconnected" (a holder is trying) or
	// "no holder" (no zoomrecon holds the subscription: all stopped).
	State          string     `json:"state"`
	Holder         string     `json:"holder,omitempty"` // host:pid of the serve run holding it
	ConnectedSince *time.Time `json:"connected_since,omitempty"`
	// DisconnectedSince is when the open gap began; nil while connected.
	DisconnectedSince *time.Time `json:"disconnected_since,omitempty"`
	DisconnectedCause string     `json:"disconnected_cause,omitempty"`
	// Gaps24h counts the disconnections that began in the last 24 h, and
	// GapSeconds24h how long the subscription was not connected in them.
	Gaps24h       int     `json:"gaps_24h"`
	GapSeconds24h float64 `json:"gap_seconds_24h"`
}

// WebSocket states, in websocketView.State.
const (
	wsConnected    = "connected"
	wsDisconnected = "disconnected"
	wsNoHolder     = "no holder"
	wsNeverUsed    = "never connected"
)

// websocketStatus reads the subscription's record; nil when the WebSocket
// is not configured.
func websocketStatus(ctx context.Context, cfg *config.Config, st *store.Store, now time.Time) (*websocketView, error) {
	sub := cfg.Zoom.WebSocketSubscriptionID
	if sub == "" {
		return nil, nil
	}
	v := &websocketView{SubscriptionID: sub}
	r, err := st.WebSocketStatus(ctx, sub, now.Add(-24*time.Hour), now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		v.State = wsNeverUsed
		return v, nil
	case err != nil:
		return nil, err
	}
	v.Gaps24h, v.GapSeconds24h = r.Gaps, r.GapTime.Seconds()
	switch {
	case r.Holder == nil:
		v.State = wsNoHolder
	case r.ConnectedSince != nil:
		v.State = wsConnected
		v.ConnectedSince = utcPtr(r.ConnectedSince)
	default:
		v.State = wsDisconnected
	}
	if r.Holder != nil {
		v.Holder = fmt.Sprintf("%s:%d", r.Holder.Host, r.Holder.PID)
	}
	if r.Open != nil {
		v.DisconnectedSince = utcPtr(&r.Open.StartedAt)
		v.DisconnectedCause = r.Open.Cause
	}
	return v, nil
}

// printWebSocket writes status's WebSocket line.
func printWebSocket(w io.Writer, v *websocketView, now time.Time) {
	if v == nil {
		return
	}
	const label = "WebSocket:             "
	switch {
	case v.State == wsConnected:
		fmt.Fprintf(w, "%sconnected since %s (held by %s)", label, v.ConnectedSince.Format(time.RFC3339), v.Holder)
	case v.State == wsDisconnected && v.DisconnectedSince == nil:
		// Taken over, or the holder could not record the gap yet.
		fmt.Fprintf(w, "%sDISCONNECTED (held by %s, connecting)", label, v.Holder)
	case v.State == wsDisconnected:
		fmt.Fprintf(w, "%sDISCONNECTED since %s (%s; held by %s, reconnecting): %s", label,
			v.DisconnectedSince.Format(time.RFC3339), ago(now.Sub(*v.DisconnectedSince)), v.Holder, v.DisconnectedCause)
	case v.State == wsNoHolder:
		fmt.Fprintf(w, "%sNOT CONNECTED: no zoomrecon serve holds the subscription", label)
		if v.DisconnectedSince != nil {
			fmt.Fprintf(w, " (since %s)", v.DisconnectedSince.Format(time.RFC3339))
		}
	default:
		fmt.Fprintf(w, "%snever connected to subscription %s", label, v.SubscriptionID)
	}
	fmt.Fprintln(w)
	if v.State != wsNeverUsed {
		fmt.Fprintf(w, "                       %s in 24 h, %s not connected (events Zoom sent then are lost; the reconciler backfills them)\n",
			plural(v.Gaps24h, "disconnection", "disconnections"), (time.Duration(v.GapSeconds24h) * time.Second).Round(time.Second))
	}
}
