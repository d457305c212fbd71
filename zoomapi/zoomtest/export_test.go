package zoomtest

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
