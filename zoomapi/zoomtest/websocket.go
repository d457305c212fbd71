package zoomtest

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// DeliveryMode is the route events take: the webhook endpoint, the
// WebSocket subscription, or both. Zoom sends an event to every event
// subscription that includes it (§3, §11), so an app with both gets both.
type DeliveryMode int32

const (
	// DeliverWebhook sends events only as webhooks. The default without
	// WithWebSocketSubscription.
	DeliverWebhook DeliveryMode = iota
	// DeliverWebSocket sends events only over the WebSocket subscription.
	// The default with WithWebSocketSubscription.
	DeliverWebSocket
	// DeliverBoth sends every event both ways, with identical bodies.
	DeliverBoth
)

// The answers of the WebSocket host. §11 gives the envelope
// ({"module":...,"success":...}) but not Zoom's texts or close codes, so
// these are assumptions [U]: a client must read success, never the text.
const (
	wsMsgConnected       = "Connection established"
	wsMsgBadSubscription = "Invalid subscriptionId"
	wsMsgBadToken        = "Invalid access token."
	wsMsgExpiredToken    = "Access token is expired."
	wsMsgHeartbeat       = "heartbeat"
)

// Reasons a WebSocket connection ended, in WebSocketConnection.Ended.
const (
	WSEndedRefused      = "refused"       // build_connection answered success:false
	WSEndedReplaced     = "replaced"      // a newer connection to the subscription closed it (§11)
	WSEndedHeartbeat    = "heartbeat"     // no heartbeat within the timeout (§11)
	WSEndedTokenExpired = "token expired" // its access token expired or was revoked
	WSEndedDropped      = "dropped"       // DropWebSocket: the network failed, no close frame
	WSEndedClient       = "client"        // the client closed it or went away
	WSEndedClosed       = "closed"        // the Server closed
	WSEndedUnavailable  = "unavailable"   // SetWebSocketOutage: the upgrade was answered 503
)

// WebSocketConnection is one connection to the WebSocket host, accepted or not.
type WebSocketConnection struct {
	ID int
	At time.Time // the clock's time when it connected
	// Accepted is true when build_connection answered success:true.
	Accepted bool
	// Refusal is the message of a success:false answer at connect or, for
	// an open connection, when its token stopped working.
	Refusal string
	Ended   string // why it ended (a WSEnded* value); "" while open
}

// WebSocketDelivery is one event sent to the WebSocket subscription.
type WebSocketDelivery struct {
	Event string
	// Body is the event JSON, the exact bytes a webhook of the same event
	// carries; the frame holds it as the string in content (§11).
	Body []byte
	// Connection is the ID of the connection it went to; 0 if none was open,
	// and then the event is lost for good: Zoom neither retries nor replays (§11).
	Connection int
	Sent       bool // written to the connection
	Lost       bool // no connection, or it ended before the write
}

// wsMessage is every frame of the protocol (§11). Zoom's own fields beyond
// module, success and content are not documented [U].
type wsMessage struct {
	Module  string `json:"module"`
	Success *bool  `json:"success,omitempty"`
	Content string `json:"content,omitempty"`
}

// WithWebSocketSubscription makes the app's event subscription use
// WebSockets, with subscription ID id (§11), and makes DeliverWebSocket the
// delivery mode. WebSocketURL is where a client connects.
func WithWebSocketSubscription(id string) Option {
	return func(s *Server) {
		s.wsSubscription = id
		s.wsDefaultMode = true
	}
}

// WithWebSocketHeartbeatTimeout sets how long the WebSocket host waits for
// a heartbeat (from the connection, or since the last one) before it drops
// the connection. Default 30s: §11 says to send one every 30 seconds "or
// Zoom drops the connection"; Zoom's grace is not documented [U], so the
// fake allows none and a client must beat more often than that.
func WithWebSocketHeartbeatTimeout(d time.Duration) Option {
	return func(s *Server) { s.wsHeartbeat = d }
}

// wsHub is the WebSocket host ("ws.zoom.us"). Lock order: Server.mu before
// wsHub.mu; never call the Server's locking methods under wsHub.mu.
type wsHub struct {
	now          func() time.Time
	subscription string
	heartbeat    time.Duration
	// check returns the refusal message for token; "" if it works. It
	// takes the Server's lock.
	check func(token string) string

	mu          sync.Mutex // guards everything below
	cur         *wsConn
	live        map[*wsConn]struct{}
	connections []*WebSocketConnection
	deliveries  []*WebSocketDelivery
	closed      bool
	outage      bool
}

// wsConn is one open connection. Its loop (serve) owns the socket.
type wsConn struct {
	rec     *WebSocketConnection
	token   string
	beat    chan struct{} // a heartbeat arrived
	wake    chan struct{} // queue grew, or end was set
	recheck chan struct{}
	queue   []*WebSocketDelivery // guarded by wsHub.mu
	end     string               // set under wsHub.mu by others: replaced, dropped, closed
	// cancel aborts the socket's reads and writes at once, for a drop or
	// the Server's Close, so neither waits on a client that stopped reading.
	cancel context.CancelFunc
}

func (h *wsHub) endConnLocked(c *wsConn, why string) {
	if c.end == "" {
		c.end = why
	}
	if why == WSEndedDropped || why == WSEndedClosed {
		c.cancel()
	}
	if h.cur == c {
		h.cur = nil
	}
	signal(c.wake)
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// deliver sends one event to the open connection, if any. It is called
// under the Server's lock, in happening order, and never blocks.
func (h *wsHub) deliver(event string, body []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d := &WebSocketDelivery{Event: event, Body: body}
	h.deliveries = append(h.deliveries, d)
	if h.closed || h.cur == nil {
		d.Lost = true
		return
	}
	d.Connection = h.cur.rec.ID
	h.cur.queue = append(h.cur.queue, d)
	signal(h.cur.wake)
}

// recheckAll makes every open connection check its token again, after
// tokens expired, were revoked or the app was disabled. It never blocks.
func (h *wsHub) recheckAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.live {
		signal(c.recheck)
	}
}

func (h *wsHub) drop() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == nil {
		return false
	}
	h.endConnLocked(h.cur, WSEndedDropped)
	return true
}

func (h *wsHub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.live {
		h.endConnLocked(c, WSEndedClosed)
	}
}

// ServeHTTP is GET /ws?subscriptionId=<id>&access_token=<token> (§11). The
// upgrade always succeeds; a wrong subscription ID or token is answered
// over the socket with build_connection success:false, as §11 allows, and
// the socket is then closed with 1008.
func (h *wsHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/ws" {
		http.NotFound(w, r)
		return
	}
	h.mu.Lock()
	if h.outage {
		h.connections = append(h.connections, &WebSocketConnection{ID: len(h.connections) + 1, At: h.now(), Ended: WSEndedUnavailable})
		h.mu.Unlock()
		http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
		return
	}
	h.mu.Unlock()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		return // Accept has answered the failed upgrade
	}
	defer ws.CloseNow()
	q := r.URL.Query()
	token := q.Get("access_token")
	refusal := ""
	if q.Get("subscriptionId") != h.subscription || h.subscription == "" {
		refusal = wsMsgBadSubscription
	} else {
		refusal = h.check(token)
	}

	h.mu.Lock()
	rec := &WebSocketConnection{ID: len(h.connections) + 1, At: h.now(), Refusal: refusal}
	if refusal != "" {
		rec.Ended = WSEndedRefused // recorded before the client can see it
	}
	h.connections = append(h.connections, rec)
	closed := h.closed
	h.mu.Unlock()
	ctx := r.Context()
	if closed {
		h.finish(rec, WSEndedClosed)
		return
	}
	if refusal != "" {
		_ = writeWS(ctx, ws, wsMessage{Module: "build_connection", Success: new(false), Content: refusal})
		_ = ws.Close(websocket.StatusPolicyViolation, refusal)
		return
	}
	if err := writeWS(ctx, ws, wsMessage{Module: "build_connection", Success: new(true), Content: wsMsgConnected}); err != nil {
		h.finish(rec, WSEndedClient)
		return
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	c := &wsConn{cancel: cancel, rec: rec, token: token, beat: make(chan struct{}, 1), wake: make(chan struct{}, 1), recheck: make(chan struct{}, 1)}
	h.mu.Lock()
	rec.Accepted = true
	if h.closed {
		c.end = WSEndedClosed
	}
	// Only one connection per subscription: the new one closes the old (§11).
	if h.cur != nil {
		h.endConnLocked(h.cur, WSEndedReplaced)
	}
	h.cur = c
	h.live[c] = struct{}{}
	h.mu.Unlock()
	h.finish(rec, h.run(ctx, ws, c))
}

func (h *wsHub) finish(rec *WebSocketConnection, why string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rec.Ended = why
}

// run serves an accepted connection until it ends, and says why.
func (h *wsHub) run(ctx context.Context, ws *websocket.Conn, c *wsConn) (ended string) {
	var wg sync.WaitGroup
	defer func() {
		h.mu.Lock()
		h.endConnLocked(c, ended)
		delete(h.live, c)
		for _, d := range c.queue { // ended before the write: lost
			d.Lost = true
		}
		c.queue = nil
		h.mu.Unlock()
		c.cancel()
		ws.CloseNow()
		wg.Wait()
	}()
	readerDone := make(chan struct{})
	wg.Go(func() {
		defer close(readerDone)
		for {
			_, data, err := ws.Read(ctx)
			if err != nil {
				return
			}
			var m wsMessage
			if json.Unmarshal(data, &m) == nil && m.Module == "heartbeat" {
				signal(c.beat)
			}
		}
	})
	timer := time.NewTimer(h.heartbeat)
	defer timer.Stop()
	tokenOK := func() bool {
		msg := h.check(c.token)
		if msg == "" {
			return true
		}
		// Assumption (§11 is silent): Zoom checks the token of an open
		// connection too, and ends it with a success:false answer, the
		// "success:false over an open socket" §11 mentions.
		_ = writeWS(ctx, ws, wsMessage{Module: "build_connection", Success: new(false), Content: msg})
		_ = ws.Close(websocket.StatusPolicyViolation, msg)
		return false
	}
	for {
		select {
		case <-readerDone:
			h.mu.Lock()
			end := c.end // a drop or Close cancels reads too
			h.mu.Unlock()
			return cmp.Or(end, WSEndedClient)
		case <-timer.C:
			_ = ws.Close(websocket.StatusPolicyViolation, "heartbeat timeout")
			return WSEndedHeartbeat
		case <-c.recheck:
			if !tokenOK() {
				return WSEndedTokenExpired
			}
		case <-c.beat:
			if !tokenOK() {
				return WSEndedTokenExpired
			}
			timer.Reset(h.heartbeat)
			if writeWS(ctx, ws, wsMessage{Module: "heartbeat", Success: new(true), Content: wsMsgHeartbeat}) != nil {
				return WSEndedClient
			}
		case <-c.wake:
		}
		h.mu.Lock()
		end, queue := c.end, c.queue
		switch end {
		case WSEndedDropped, WSEndedClosed, WSEndedReplaced:
			// Ending: the defer marks the queue lost, as Zoom loses it.
		default:
			c.queue = nil // taken to write
		}
		h.mu.Unlock()
		switch end {
		case WSEndedDropped, WSEndedClosed:
			return end // CloseNow in the defer: no close frame, as a network failure
		case WSEndedReplaced:
			_ = ws.Close(websocket.StatusGoingAway, end)
			return end
		}
		for i, d := range queue {
			err := writeWS(ctx, ws, wsMessage{Module: "message", Content: string(d.Body)})
			h.mu.Lock()
			d.Sent = err == nil
			d.Lost = err != nil
			if err != nil {
				for _, rest := range queue[i+1:] {
					rest.Lost = true
				}
			}
			h.mu.Unlock()
			if err != nil {
				return WSEndedClient
			}
		}
	}
}

func writeWS(ctx context.Context, ws *websocket.Conn, m wsMessage) error {
	b, err := json.Marshal(m)
	if err != nil {
		panic("zoomtest: encode websocket message: " + err.Error()) // our own struct always encodes
	}
	return ws.Write(ctx, websocket.MessageText, b)
}

// wsRefusal is check for the hub: the message refusing token, "" if it
// is one the OAuth endpoint issued and is neither expired nor revoked (§1).
func (s *Server) wsRefusal(token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[token]
	if !ok || t.revoked || s.appDisabled {
		return wsMsgBadToken
	}
	if t.expired || !s.now().Before(t.expires) {
		return wsMsgExpiredToken
	}
	return ""
}

// WebSocketURL is the URL the Marketplace shows for the WebSocket
// subscription, ws://<host>/ws?subscriptionId=<id>; a client appends
// &access_token=<S2S token> (§11). It panics without WithWebSocketSubscription.
func (s *Server) WebSocketURL() string {
	if s.wsHub == nil {
		panic("zoomtest: WebSocketURL: no WithWebSocketSubscription")
	}
	return "ws" + s.ws.URL[len("http"):] + "/ws?subscriptionId=" + url.QueryEscape(s.wsHub.subscription)
}

// SetDeliveryMode chooses the route of events from now on.
func (s *Server) SetDeliveryMode(m DeliveryMode) { s.hooks.mode.Store(int32(m)) }

// DropWebSocket ends the open WebSocket connection as a network failure
// would, without a close frame. It reports whether one was open.
func (s *Server) DropWebSocket() bool { return s.wsHub != nil && s.wsHub.drop() }

// SetWebSocketOutage starts or ends an outage of the WebSocket host: while
// it lasts, the open connection is dropped as by DropWebSocket and every
// new one is answered 503 before the upgrade, so events happening meanwhile
// are lost. What Zoom answers in an outage is not documented [U]; a client
// must only treat any failed upgrade as "try again later".
func (s *Server) SetWebSocketOutage(on bool) {
	if s.wsHub == nil {
		panic("zoomtest: SetWebSocketOutage: no WithWebSocketSubscription")
	}
	s.wsHub.mu.Lock()
	defer s.wsHub.mu.Unlock()
	s.wsHub.outage = on
	if on && s.wsHub.cur != nil {
		s.wsHub.endConnLocked(s.wsHub.cur, WSEndedDropped)
	}
}

// ConnectElsewhere opens the subscription as another instance of the app
// would (a second deployment, a developer's laptop): with a token of its
// own, which closes the open connection (§11). It returns a channel closed
// when that connection ends, and a function that ends it.
func (s *Server) ConnectElsewhere(ctx context.Context) (ended <-chan struct{}, stop func(), err error) {
	s.mu.Lock()
	tok := s.issueLocked().AccessToken
	s.mu.Unlock()
	conn, _, err := websocket.Dial(ctx, s.WebSocketURL()+"&access_token="+url.QueryEscape(tok), nil)
	if err != nil {
		return nil, nil, err
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, _, err := conn.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	return done, func() { conn.CloseNow(); <-done }, nil
}

// WebSocketConnected reports whether a connection is open and answered
// success:true.
func (s *Server) WebSocketConnected() bool {
	if s.wsHub == nil {
		return false
	}
	s.wsHub.mu.Lock()
	defer s.wsHub.mu.Unlock()
	return s.wsHub.cur != nil
}

// WebSocketConnections lists every connection to the WebSocket host, in
// the order they came.
func (s *Server) WebSocketConnections() []WebSocketConnection {
	if s.wsHub == nil {
		return nil
	}
	s.wsHub.mu.Lock()
	defer s.wsHub.mu.Unlock()
	out := make([]WebSocketConnection, len(s.wsHub.connections))
	for i, c := range s.wsHub.connections {
		out[i] = *c
	}
	return out
}

// WebSocketDeliveries lists every event sent to the WebSocket
// subscription, lost ones included, in happening order.
func (s *Server) WebSocketDeliveries() []WebSocketDelivery {
	if s.wsHub == nil {
		return nil
	}
	s.wsHub.mu.Lock()
	defer s.wsHub.mu.Unlock()
	out := make([]WebSocketDelivery, len(s.wsHub.deliveries))
	for i, d := range s.wsHub.deliveries {
		out[i] = *d
		out[i].Body = slices.Clone(d.Body)
	}
	return out
}
