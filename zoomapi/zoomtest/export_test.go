package zoomtest

import "net/http"

// RouteInfo exposes the route table to the tests of zoomtest_test.
type RouteInfo struct {
	Template string
	Query    []string // honoured
	Ignored  []string // defined by Zoom, accepted and ignored
}

// Routes lists every endpoint the fake serves.
func (s *Server) Routes() []RouteInfo {
	var out []RouteInfo
	for _, rt := range s.routes {
		out = append(out, RouteInfo{Template: rt.template, Query: rt.query, Ignored: rt.ignored})
	}
	return out
}

// Sign is the fake's webhook signer, for the reference vector of §2.
var Sign = sign

// EncryptToken is the encryptedToken the fake expects for a URL
// validation, for the reference vector of §2.
var EncryptToken = encryptToken

// APIHandler answers API requests in process, without a connection, so a
// test can afford Zoom's real daily numbers (tens of thousands of calls).
func (s *Server) APIHandler() http.Handler { return http.HandlerFunc(s.serveAPI) }
