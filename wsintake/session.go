package wsintake

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/coder/websocket"
)

// frame is one message from Zoom (§11).
type frame struct {
	Module  string `json:"module"`
	Success *bool  `json:"success"`
	Content string `json:"content"`
}

// link is one accepted connection: a reader goroutine hands its frames to
// the session, and a heartbeat goroutine keeps it alive.
type link struct {
	conn   *websocket.Conn
	frames chan frame // closed when reading stops; err then says why
	err    error
	// token is the access token the link was opened with, and renewAt when
	// it is due for renewal.
	token   string
	renewAt time.Time
	stop    context.CancelFunc
	done    chan struct{} // both goroutines have returned
}

// close ends the link at once and waits for its goroutines.
func (l *link) close() {
	l.stop()
	l.conn.CloseNow()
	<-l.done
}

// open fetches a token, dials Zoom, reads build_connection and starts the
// link's goroutines, all within ConnectTimeout: a renewal runs inside the
// session's loop, which must get back to its heartbeats and claim.
func (in *Intake) open(ctx context.Context) (*link, error) {
	dialCtx, cancel := context.WithTimeoutCause(ctx, in.cfg.ConnectTimeout, errors.New("websocket connect timed out"))
	defer cancel()
	token, renewAt, err := in.tokens.AccessToken(dialCtx)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(in.cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("websocket url: %w", err)
	}
	q := u.Query()
	q.Set("subscriptionId", in.cfg.SubscriptionID)
	q.Set("access_token", token)
	u.RawQuery = q.Encode()

	conn, _, err := websocket.Dial(dialCtx, u.String(), nil)
	if err != nil {
		return nil, redact(fmt.Errorf("dial websocket: %w", err), token)
	}
	conn.SetReadLimit(in.cfg.MaxMessageBytes)
	f, err := readFrame(dialCtx, conn)
	switch {
	case err != nil && dialCtx.Err() != nil:
		err = context.Cause(dialCtx)
	case err == nil && f.Module != "build_connection":
		err = fmt.Errorf("first message is %q, not build_connection", f.Module)
	case err == nil && (f.Success == nil || !*f.Success):
		// Zoom may refuse a token it issued (revoked, expired early): the
		// next attempt must not offer it again.
		in.tokens.ForgetAccessToken(token)
		conn.CloseNow()
		return nil, &RefusedError{Message: f.Content}
	}
	if err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("waiting for build_connection: %w", err)
	}

	lctx, stop := context.WithCancel(ctx)
	l := &link{conn: conn, frames: make(chan frame, 64), token: token, renewAt: renewAt, stop: stop, done: make(chan struct{})}
	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		in.heartbeat(lctx, conn)
	}()
	go func() {
		defer close(l.done)
		defer func() { <-beatDone }()
		defer stop()
		defer close(l.frames)
		for {
			f, err := readFrame(lctx, conn)
			if err != nil {
				l.err = fmt.Errorf("read websocket: %w", err)
				return
			}
			select {
			case l.frames <- f:
			case <-lctx.Done():
				l.err = lctx.Err()
				return
			}
		}
	}()
	return l, nil
}

// session runs one connection, and the ones that replace it to renew the
// token, until it ends; established reports whether Zoom accepted it.
func (in *Intake) session(ctx context.Context) (established bool, err error) {
	cur, err := in.open(ctx)
	if err != nil {
		return false, err
	}
	var old *link // the link a renewal replaced, drained until Zoom closes it
	defer func() {
		cur.close()
		if old != nil {
			old.close()
		}
	}()
	in.metrics.connected.Set(1)
	connectedAt := in.cfg.Now()
	if !in.up(ctx, connectedAt) {
		return true, errLostHold
	}

	beat := time.NewTicker(in.cfg.HeartbeatInterval)
	defer beat.Stop()
	renew := time.NewTimer(in.untilRenewal(cur))
	defer renew.Stop()
	var oldFrames chan frame
	for {
		select {
		case <-ctx.Done():
			if old != nil {
				in.drain(ctx, old)
			}
			in.drain(ctx, cur)
			return true, nil
		case f, ok := <-cur.frames:
			if !ok {
				return true, cur.err
			}
			if err := in.handle(ctx, f); err != nil {
				if _, ok := errors.AsType[*RefusedError](err); ok {
					// Zoom stopped taking the token (expired, revoked).
					in.tokens.ForgetAccessToken(cur.token)
				}
				return true, err
			}
		case f, ok := <-oldFrames:
			if !ok {
				oldFrames = nil
				continue
			}
			if f.Module == "message" { // in flight when the new link opened
				if err := in.handle(ctx, f); err != nil {
					return true, err // not stored: what follows is a gap
				}
			}
		case <-beat.C:
			if !in.hold(ctx) {
				return true, errLostHold
			}
			// The database refused to record the connection: the gap
			// it ended is still open here. Try again.
			if (in.gap != nil || in.pending != nil) && !in.up(ctx, connectedAt) {
				return true, errLostHold
			}
		case <-renew.C:
			next, err := in.open(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return true, nil
				}
				in.logger.WarnContext(ctx, "could not renew the websocket connection's token; keeping the connection, retrying in a minute",
					slog.Any("error", err))
				renew.Reset(time.Minute)
				continue
			}
			// Zoom closes the older connection when a newer one opens
			// (§11); events in flight on it are still read.
			if old != nil {
				old.close()
			}
			old, cur = cur, next
			oldFrames = old.frames
			renew.Reset(in.untilRenewal(cur))
			in.logger.DebugContext(ctx, "websocket connection renewed with a new token")
		}
	}
}

// drain stores the events l has read and not yet handed over, as zoomrecon
// stops: Zoom sent them once and never will again. It stops l reading
// first; what Zoom sends after that falls in the gap zoomrecon's stop
// records. It takes at most IngestTimeout.
func (in *Intake) drain(ctx context.Context, l *link) {
	l.stop()
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.cfg.IngestTimeout)
	defer cancel()
	for f := range l.frames {
		if f.Module == "message" && dctx.Err() == nil {
			_ = in.handle(dctx, f) // a failure is logged; the reconciler finds the event
		}
	}
}

// untilRenewal is how long until l's token is due for renewal; at least a
// second, so a token due already does not spin.
func (in *Intake) untilRenewal(l *link) time.Duration {
	return max(time.Second, l.renewAt.Sub(in.cfg.Now()))
}

// handle acts on one frame of the current link.
func (in *Intake) handle(ctx context.Context, f frame) error {
	switch f.Module {
	case "message":
		in.metrics.events.Inc()
		return in.store(ctx, []byte(f.Content))
	case "build_connection":
		if f.Success != nil && !*f.Success {
			return &RefusedError{Message: f.Content}
		}
	case "heartbeat":
		in.logger.DebugContext(ctx, "websocket heartbeat answered")
	default:
		in.logger.DebugContext(ctx, "unknown websocket message", "module", f.Module)
	}
	return nil
}

// heartbeat sends {"module":"heartbeat"} every HeartbeatInterval until ctx
// ends or a write fails, which closes the connection.
func (in *Intake) heartbeat(ctx context.Context, conn *websocket.Conn) {
	t := time.NewTicker(in.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		wctx, cancel := context.WithTimeout(ctx, in.cfg.HeartbeatInterval)
		err := conn.Write(wctx, websocket.MessageText, []byte(`{"module":"heartbeat"}`))
		cancel()
		if err != nil {
			if ctx.Err() == nil {
				in.logger.WarnContext(ctx, "could not send the websocket heartbeat; reconnecting", slog.Any("error", err))
				conn.CloseNow() // unblocks the reader
			}
			return
		}
	}
}

// store hands one event to the ingest path, retrying a few times: Zoom will
// not send it again. If it still fails, the connection is ended, so that
// what follows is recorded as a gap and reconciled.
func (in *Intake) store(ctx context.Context, body []byte) error {
	receivedAt := in.cfg.Now()
	var err error
	for attempt := range 3 {
		if attempt > 0 && !sleep(ctx, in.backoff(attempt-1)) {
			return nil
		}
		// Not cancelled with ctx: an event being stored as zoomrecon stops
		// is stored all the same.
		ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), in.cfg.IngestTimeout)
		_, err = in.ingest.Ingest(ictx, body, receivedAt)
		cancel()
		if err == nil || ctx.Err() != nil {
			return nil
		}
	}
	in.logger.ErrorContext(ctx, "websocket event not stored; Zoom does not resend it, the reconciler will look for it", slog.Any("error", err))
	if in.pending == nil || receivedAt.Before(*in.pending) {
		in.pending = &receivedAt // the gap begins with this event
	}
	return fmt.Errorf("could not store an event: %w", err)
}

func readFrame(ctx context.Context, conn *websocket.Conn) (frame, error) {
	_, data, err := conn.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return frame{}, fmt.Errorf("websocket message is not JSON: %w", err)
	}
	return f, nil
}

// redact removes the token, which travels in the URL, from an error.
func redact(err error, token string) error {
	if token == "" {
		return err
	}
	s := err.Error()
	for _, t := range []string{token, url.QueryEscape(token)} {
		s = strings.ReplaceAll(s, t, "<redacted>")
	}
	return errors.New(s)
}
