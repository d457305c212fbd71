package zoomapi_test

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// reference is the part of zoom-api-reference.json this test reads.
type reference struct {
	Endpoints map[string]struct {
		PathParams  map[string]string `json:"PathParams"`
		QueryParams map[string]string `json:"QueryParams"`
	} `json:"endpoints"`
}

type refEndpoint struct {
	method, template string
	segs             []string
	query            []string
}

func loadReference(t *testing.T) []refEndpoint {
	t.Helper()
	raw, err := os.ReadFile("../testdata/zoom/zoom-api-reference.json")
	require.NoError(t, err)
	var ref reference
	require.NoError(t, json.Unmarshal(raw, &ref))
	var out []refEndpoint
	for key, ep := range ref.Endpoints {
		method, template, ok := strings.Cut(key, " ")
		require.True(t, ok, "endpoint key %q", key)
		e := refEndpoint{method: method, template: template, segs: strings.Split(strings.TrimPrefix(template, "/"), "/")}
		for q := range ep.QueryParams {
			e.query = append(e.query, q)
		}
		out = append(out, e)
	}
	require.NotEmpty(t, out)
	return out
}

// matchReference finds the reference endpoint for a raw escaped path below
// /v2. A {param} segment matches any one non-empty raw segment, so a UUID
// whose '/' was not encoded does not match.
func matchReference(refs []refEndpoint, method, rawPath string) (refEndpoint, bool) {
	segs := strings.Split(strings.TrimPrefix(rawPath, "/v2/"), "/")
	for _, r := range refs {
		if r.method != method || len(r.segs) != len(segs) {
			continue
		}
		ok := true
		for i, s := range r.segs {
			if strings.HasPrefix(s, "{") {
				ok = ok && segs[i] != ""
			} else {
				ok = ok && s == segs[i]
			}
		}
		if ok {
			return r, true
		}
	}
	return refEndpoint{}, false
}

// TestConformance exercises every method and holds each request the client
// sent (path and query parameters, as the fake logged them) to
// zoom-api-reference.json, and checks that every endpoint the reference lists
// was exercised.
func TestConformance(t *testing.T) {
	t.Parallel()
	refs := loadReference(t)
	b := setup(t, setupOpts{})
	s, c, ctx := b.zoom, b.client, t.Context()

	host := "HostUser0000000000001"
	s.AddUser(zoomtest.User{ID: host, Email: "host@example.org"})
	start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
	from, to := start.AddDate(0, 0, -40), time.Now() // two date windows
	meeting := endedMeeting(s, zoomtest.MeetingSpec{ID: 81234567890, UUID: "/ab+cd//ef==", HostID: host, Start: start}, 2)
	single := endedMeeting(s, zoomtest.MeetingSpec{HostID: host, Start: start}, 1)
	const webinarID = 95551234567
	webinar := endedMeeting(s, zoomtest.MeetingSpec{ID: webinarID, UUID: "//webinar+B==", Webinar: true, HostID: host, Start: start}, 2)
	live := s.StartMeeting(zoomtest.MeetingSpec{HostID: host})
	s.Join(live, zoomtest.Person{Name: "Live one"}, time.Time{})
	liveWebinar := s.StartWebinar(zoomtest.MeetingSpec{HostID: host})

	collect(t, c.Users(ctx, "active"))
	collect(t, c.Users(ctx, ""))
	_, err := c.GetMeeting(ctx, 81234567890)
	require.NoError(t, err)
	_, err = c.PastMeeting(ctx, meeting)
	require.NoError(t, err)
	_, err = c.PastMeetingInstances(ctx, 81234567890)
	require.NoError(t, err)
	collect(t, c.PastMeetingParticipants(ctx, meeting))
	_, err = c.ReportMeeting(ctx, meeting)
	require.NoError(t, err)
	collect(t, c.ReportMeetingParticipants(ctx, meeting))
	collect(t, c.ReportUserMeetings(ctx, host, from, to))
	for _, typ := range []zoomapi.DashboardType{zoomapi.DashboardLive, zoomapi.DashboardPast, zoomapi.DashboardPastOne} {
		collect(t, c.DashboardMeetings(ctx, typ, from, to))
	}
	collect(t, c.DashboardMeetingParticipants(ctx, meeting, zoomapi.DashboardPast))
	collect(t, c.DashboardMeetingParticipants(ctx, single, zoomapi.DashboardPastOne))
	collect(t, c.DashboardWebinars(ctx, zoomapi.DashboardPast, from, to))
	collect(t, c.PastWebinarParticipants(ctx, webinar))
	collect(t, c.ReportWebinarParticipants(ctx, webinar))
	_, err = c.GetWebinar(ctx, webinarID)
	require.NoError(t, err)
	_, err = c.PastWebinarInstances(ctx, webinarID)
	require.NoError(t, err)
	_, err = c.ReportWebinar(ctx, webinar)
	require.NoError(t, err)
	collect(t, c.ReportActiveUsers(ctx, from, to))
	_, err = c.DashboardMeeting(ctx, meeting, zoomapi.DashboardPast)
	require.NoError(t, err)
	_, err = c.DashboardMeeting(ctx, live, zoomapi.DashboardLive)
	require.NoError(t, err)
	_, err = c.DashboardWebinar(ctx, webinar, zoomapi.DashboardPast)
	require.NoError(t, err)
	collect(t, c.DashboardWebinarParticipants(ctx, webinar, zoomapi.DashboardPast))
	collect(t, c.DashboardWebinarParticipants(ctx, liveWebinar, zoomapi.DashboardLive))

	reqs := b.requests(t)
	require.NotEmpty(t, reqs)
	exercised := map[string]bool{}
	for _, r := range reqs {
		ref, ok := matchReference(refs, r.Method, r.Path)
		require.True(t, ok, "%s %s matches no endpoint of zoom-api-reference.json", r.Method, r.Path)
		exercised[ref.method+" "+ref.template] = true
		for q := range r.Query {
			require.True(t, slices.Contains(ref.query, q), "%s %s: query parameter %q is not defined for %s", r.Method, r.Path, q, ref.template)
		}
		require.Equal(t, 200, r.Status, "%s %s?%s", r.Method, r.Path, r.Query.Encode())
	}
	for _, ref := range refs {
		require.True(t, exercised[ref.method+" "+ref.template], "%s %s was never exercised", ref.method, ref.template)
	}
}
