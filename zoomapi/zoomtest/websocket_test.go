package zoomtest_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

const wsSubscription = "wsSubExample01"

// frame is one message from Zoom's WebSocket host, as §11 documents it.
type frame struct {
	Module  string `json:"module"`
	Success *bool  `json:"success"`
	Content string `json:"content"`
}

// wsClient speaks §11's protocol from the app's side, written here from
// zoom-platform.md and not from the fake's code.
type wsClient struct {
	conn   *websocket.Conn
	frames chan frame
	done   chan struct{}
	err    error // why reading stopped; read after done
}

// dialWS connects as §11 says: the subscription's URL plus
// &access_token=<S2S token> in the query string.
func dialWS(t *testing.T, rawURL, tok string) *wsClient {
	t.Helper()
	u, err := url.Parse(rawURL)
	require.NoError(t, err)
	q := u.Query()
	q.Set("access_token", tok)
	u.RawQuery = q.Encode()
	conn, _, err := websocket.Dial(ctxTimeout(t), u.String(), nil)
	require.NoError(t, err)
	conn.SetReadLimit(4 << 20) // events can pass 32 KiB (§11)
	c := &wsClient{conn: conn, frames: make(chan frame, 64), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				c.err = err
				return
			}
			var f frame
			if err := json.Unmarshal(data, &f); err != nil {
				c.err = err
				return
			}
			c.frames <- f
		}
	}()
	t.Cleanup(func() { conn.CloseNow(); <-c.done })
	return c
}

// next waits for the next frame.
func (c *wsClient) next(t *testing.T) frame {
	t.Helper()
	select {
	case f := <-c.frames:
		return f
	case <-c.done:
		select {
		case f := <-c.frames:
			return f
		default:
		}
		t.Fatalf("connection ended before a frame: %v", c.err)
	case <-ctxTimeout(t).Done():
		t.Fatal("no frame within the deadline")
	}
	return frame{}
}

// closed waits for the connection to end, with no frame left unread, and
// returns the close status the server sent (-1 for none).
func (c *wsClient) closed(t *testing.T) websocket.StatusCode {
	t.Helper()
	select {
	case <-c.done:
	case <-ctxTimeout(t).Done():
		t.Fatal("connection still open after the deadline")
	}
	select {
	case f := <-c.frames:
		t.Fatalf("unread frame %+v", f)
	default:
	}
	return websocket.CloseStatus(c.err)
}

func (c *wsClient) heartbeat(t *testing.T) {
	t.Helper()
	require.NoError(t, c.conn.Write(ctxTimeout(t), websocket.MessageText, []byte(`{"module":"heartbeat"}`)))
}

// connected dials and checks the build_connection success answer.
func connected(t *testing.T, s *zoomtest.Server) *wsClient {
	t.Helper()
	c := dialWS(t, s.WebSocketURL(), token(t, s))
	f := c.next(t)
	require.Equal(t, "build_connection", f.Module)
	require.NotNil(t, f.Success)
	require.True(t, *f.Success, "build_connection: %+v", f)
	waitFor(t, "connected", s.WebSocketConnected)
	return c
}

func requireRefusal(t *testing.T, c *wsClient, message string) {
	t.Helper()
	f := c.next(t)
	require.Equal(t, "build_connection", f.Module)
	require.NotNil(t, f.Success)
	require.False(t, *f.Success)
	require.Equal(t, message, f.Content)
	require.Equal(t, websocket.StatusPolicyViolation, c.closed(t))
}

func lastConnection(s *zoomtest.Server) zoomtest.WebSocketConnection {
	cs := s.WebSocketConnections()
	return cs[len(cs)-1]
}

func TestWebSocketHandshake(t *testing.T) {
	t.Parallel()

	t.Run("SucceedsWithIssuedTokenAndSubscription", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, zoomtest.WithWebSocketSubscription(wsSubscription))
		connected(t, s)
		require.Equal(t, []zoomtest.WebSocketConnection{{ID: 1, At: s.WebSocketConnections()[0].At, Accepted: true}}, s.WebSocketConnections())
	})

	cases := []struct {
		name    string
		url     func(s *zoomtest.Server) string
		token   func(t *testing.T, s *zoomtest.Server) string
		message string
	}{
		{
			name:    "RefusesUnknownToken",
			token:   func(*testing.T, *zoomtest.Server) string { return "not-a-token" },
			message: "Invalid access token.",
		},
		{
			name:    "RefusesMissingToken", // §11: the token is a query parameter
			token:   func(*testing.T, *zoomtest.Server) string { return "" },
			message: "Invalid access token.",
		},
		{
			name: "RefusesExpiredToken",
			token: func(t *testing.T, s *zoomtest.Server) string {
				tok := token(t, s)
				s.ExpireTokens()
				return tok
			},
			message: "Access token is expired.",
		},
		{
			name: "RefusesWrongSubscriptionID",
			url: func(s *zoomtest.Server) string {
				u, _ := url.Parse(s.WebSocketURL())
				u.RawQuery = url.Values{"subscriptionId": {"someoneElses"}}.Encode()
				return u.String()
			},
			message: "Invalid subscriptionId",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := newServer(t, zoomtest.WithWebSocketSubscription(wsSubscription))
			u, tok := s.WebSocketURL(), token(t, s)
			if tc.url != nil {
				u = tc.url(s)
			}
			if tc.token != nil {
				tok = tc.token(t, s)
			}
			requireRefusal(t, dialWS(t, u, tok), tc.message)
			require.False(t, s.WebSocketConnected(), tc.name)
			got := lastConnection(s)
			require.Equal(t, zoomtest.WebSocketConnection{ID: 1, At: got.At, Refusal: tc.message, Ended: zoomtest.WSEndedRefused}, got, tc.name)
		})
	}
}

func TestWebSocketHeartbeat(t *testing.T) {
	t.Parallel()

	t.Run("AnsweredAndKeepsConnectionOpen", func(t *testing.T) {
		t.Parallel()
		const timeout = 150 * time.Millisecond
		s := newServer(t, zoomtest.WithWebSocketSubscription(wsSubscription), zoomtest.WithWebSocketHeartbeatTimeout(timeout))
		c := connected(t, s)
		// Beating faster than the timeout for three timeouts keeps it open (§11).
		tick := time.NewTicker(timeout / 4)
		defer tick.Stop()
		deadline := time.Now().Add(3 * timeout)
		for time.Now().Before(deadline) {
			c.heartbeat(t)
			f := c.next(t)
			require.Equal(t, "heartbeat", f.Module, "answer to a heartbeat: %+v", f)
			require.NotNil(t, f.Success)
			require.True(t, *f.Success)
			<-tick.C
		}
		require.True(t, s.WebSocketConnected())
		require.Empty(t, lastConnection(s).Ended)
	})

	t.Run("DropsConnectionWhenHeartbeatsStop", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, zoomtest.WithWebSocketSubscription(wsSubscription), zoomtest.WithWebSocketHeartbeatTimeout(50*time.Millisecond))
		c := connected(t, s)
		start := time.Now() // before the heartbeat that restarts the server's timer
		c.heartbeat(t)
		require.Equal(t, "heartbeat", c.next(t).Module)
		require.Equal(t, websocket.StatusPolicyViolation, c.closed(t))
		require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond, "dropped before the timeout")
		waitFor(t, "the drop recorded", func() bool { return lastConnection(s).Ended == zoomtest.WSEndedHeartbeat })
		require.False(t, s.WebSocketConnected())
	})
}

func TestWebSocketSecondConnectionClosesFirst(t *testing.T) {
	t.Parallel()
	s := newServer(t, zoomtest.WithWebSocketSubscription(wsSubscription))
	first := connected(t, s)
	second := connected(t, s)
	require.Equal(t, websocket.StatusGoingAway, first.closed(t))
	waitFor(t, "the first recorded as replaced", func() bool { return s.WebSocketConnections()[0].Ended == zoomtest.WSEndedReplaced })

	uuid := s.StartMeeting(zoomtest.MeetingSpec{})
	f := second.next(t)
	require.Equal(t, "message", f.Module)
	require.Contains(t, f.Content, uuid)
	require.Equal(t, 2, s.WebSocketDeliveries()[0].Connection)
}

func TestWebSocketEventsWhileDisconnectedAreLost(t *testing.T) {
	t.Parallel()
	s := newServer(t, zoomtest.WithWebSocketSubscription(wsSubscription))
	start := time.Date(2024, 3, 5, 14, 0, 0, 0, time.UTC)
	uuid := s.StartMeeting(zoomtest.MeetingSpec{Start: start}) // before any connection: lost

	c := connected(t, s)
	p := s.Join(uuid, zoomtest.Person{Name: "Ana Ruiz"}, start.Add(time.Minute))
	requireEvent(t, c.next(t), "meeting.participant_joined")
	// Arrives once: the next frame is the answer to a later heartbeat.
	c.heartbeat(t)
	require.Equal(t, "heartbeat", c.next(t).Module)

	require.True(t, s.DropWebSocket())
	require.Equal(t, websocket.StatusCode(-1), c.closed(t), "a network drop sends no close frame")
	waitFor(t, "disconnected", func() bool { return !s.WebSocketConnected() })
	waitFor(t, "the drop recorded", func() bool { return lastConnection(s).Ended == zoomtest.WSEndedDropped })
	s.Leave(uuid, p.UserID, start.Add(2*time.Minute), "") // while disconnected: lost

	again := connected(t, s)
	s.EndMeeting(uuid, start.Add(3*time.Minute))
	// No replay: the first frame after reconnecting is the new event.
	requireEvent(t, again.next(t), "meeting.ended")

	// The fake marks a frame sent once its write returns, which can be
	// after the client has read it.
	waitFor(t, "every delivery settled", func() bool {
		for _, d := range s.WebSocketDeliveries() {
			if !d.Sent && !d.Lost {
				return false
			}
		}
		return true
	})
	var got []string
	for _, d := range s.WebSocketDeliveries() {
		got = append(got, d.Event+" "+map[bool]string{true: "sent", false: "lost"}[d.Sent])
		require.NotEqual(t, d.Sent, d.Lost, "%s: exactly one of sent and lost", d.Event)
	}
	require.Equal(t, []string{"meeting.started lost", "meeting.participant_joined sent", "meeting.participant_left lost", "meeting.ended sent"}, got)
	require.Empty(t, s.Deliveries(), "DeliverWebSocket sends no webhooks")
}

func requireEvent(t *testing.T, f frame, event string) {
	t.Helper()
	require.Equal(t, "message", f.Module, "frame %+v", f)
	var body struct {
		Event   string          `json:"event"`
		EventTS int64           `json:"event_ts"`
		Payload json.RawMessage `json:"payload"`
	}
	require.NoError(t, json.Unmarshal([]byte(f.Content), &body), "content is the event JSON as a string (§11)")
	require.Equal(t, event, body.Event)
	require.NotZero(t, body.EventTS)
	require.NotEmpty(t, body.Payload)
}

func TestWebSocketBothRoutesCarryIdenticalBodies(t *testing.T) {
	t.Parallel()
	s, rc := hooked(t, nil, zoomtest.WithWebSocketSubscription(wsSubscription))
	s.SetDeliveryMode(zoomtest.DeliverBoth)
	c := connected(t, s)
	uuid := s.StartMeeting(zoomtest.MeetingSpec{})
	s.CompleteRecording(uuid, time.Time{})

	require.NoError(t, s.WaitDelivered(ctxTimeout(t), 2))
	hooks := rc.received()
	require.Len(t, hooks, 2)
	for i, event := range []string{"meeting.started", "recording.completed"} {
		f := c.next(t)
		requireEvent(t, f, event)
		require.Equal(t, string(hooks[i].Body), f.Content, "%s: the same bytes on both routes", event)
	}
}

func TestWebSocketTokenExpiry(t *testing.T) {
	t.Parallel()

	// §11 is silent on what Zoom does to an open connection whose token
	// stops working. The fake assumes it checks and ends the connection
	// with build_connection success:false (the "success:false over an open
	// socket" of §11), then closes it with 1008; a client must reconnect
	// with a fresh token.
	t.Run("ExpireTokensEndsOpenConnection", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, zoomtest.WithWebSocketSubscription(wsSubscription))
		c := connected(t, s)
		s.ExpireTokens()
		requireRefusal(t, c, "Access token is expired.")
		waitFor(t, "ended for its token", func() bool { return lastConnection(s).Ended == zoomtest.WSEndedTokenExpired })
		connected(t, s) // a fresh token connects
	})

	t.Run("LifetimeEndsOpenConnectionAtNextHeartbeat", func(t *testing.T) {
		t.Parallel()
		clk := newClock()
		s := newServer(t, zoomtest.WithWebSocketSubscription(wsSubscription), zoomtest.WithClock(clk.Now))
		c := connected(t, s)
		clk.Advance(3599 * time.Second)
		c.heartbeat(t)
		requireRefusal(t, c, "Access token is expired.")
	})

	t.Run("RevokedByNewerTokenEndsOpenConnection", func(t *testing.T) {
		t.Parallel()
		s := newServer(t, zoomtest.WithWebSocketSubscription(wsSubscription), zoomtest.WithRevokeOnNewToken(true))
		c := connected(t, s)
		token(t, s)
		requireRefusal(t, c, "Invalid access token.")
	})
}

func TestWebSocketWebhookModeSendsNothingOverSocket(t *testing.T) {
	t.Parallel()
	s, rc := hooked(t, nil, zoomtest.WithWebSocketSubscription(wsSubscription))
	s.SetDeliveryMode(zoomtest.DeliverWebhook)
	c := connected(t, s)
	s.StartMeeting(zoomtest.MeetingSpec{})
	require.NoError(t, s.WaitDelivered(ctxTimeout(t), 1))
	require.Len(t, rc.received(), 1)
	c.heartbeat(t)
	require.Equal(t, "heartbeat", c.next(t).Module, "no event frame before the heartbeat answer")
	require.Empty(t, s.WebSocketDeliveries())
}

func TestWebSocketOutage(t *testing.T) {
	t.Parallel()
	s := newServer(t, zoomtest.WithWebSocketSubscription(wsSubscription))
	c := connected(t, s)
	s.SetWebSocketOutage(true)
	require.Equal(t, websocket.StatusCode(-1), c.closed(t), "the outage drops the open connection without a close frame")
	waitFor(t, "disconnected", func() bool { return !s.WebSocketConnected() })

	u, err := url.Parse(s.WebSocketURL())
	require.NoError(t, err)
	q := u.Query()
	q.Set("access_token", token(t, s))
	u.RawQuery = q.Encode()
	_, resp, err := websocket.Dial(ctxTimeout(t), u.String(), nil)
	require.Error(t, err, "no upgrade during the outage")
	require.NotNil(t, resp)
	require.Equal(t, 503, resp.StatusCode)
	require.Equal(t, zoomtest.WSEndedUnavailable, lastConnection(s).Ended)

	uuid := s.StartMeeting(zoomtest.MeetingSpec{}) // during the outage: lost
	s.SetWebSocketOutage(false)
	again := connected(t, s)
	s.EndMeeting(uuid, time.Time{})
	requireEvent(t, again.next(t), "meeting.ended")
	ds := s.WebSocketDeliveries()
	require.Len(t, ds, 2)
	require.Equal(t, "meeting.started", ds[0].Event)
	require.True(t, ds[0].Lost, "the start happened while no one was connected")
	// The fake marks a delivery sent after the write returns, which can be
	// after the client has read it.
	waitFor(t, "the end marked sent", func() bool {
		ds := s.WebSocketDeliveries()
		return ds[1].Sent && !ds[1].Lost
	})
}

func TestWebSocketConnectElsewhere(t *testing.T) {
	t.Parallel()
	s := newServer(t, zoomtest.WithWebSocketSubscription(wsSubscription))
	ours := connected(t, s)
	ended, stop, err := s.ConnectElsewhere(ctxTimeout(t))
	require.NoError(t, err)
	require.Equal(t, websocket.StatusGoingAway, ours.closed(t), "the other instance's connection replaces ours")
	waitFor(t, "the other connected", func() bool {
		cs := s.WebSocketConnections()
		return len(cs) == 2 && cs[1].Accepted && s.WebSocketConnected()
	})
	stop()
	<-ended
	waitFor(t, "the other gone", func() bool { return !s.WebSocketConnected() })
}
