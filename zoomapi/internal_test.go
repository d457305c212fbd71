package zoomapi

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestEscapeUUID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, uuid, want string
	}{
		// zoom-platform.md §5, "UUIDs in paths".
		{"DoubleWhenLeadingSlashAndDoubleSlash", "/ab+cd//ef==", "%252Fab%252Bcd%252F%252Fef%253D%253D"},
		{"DoubleWhenOnlyLeadingSlash", "/abc+d==", "%252Fabc%252Bd%253D%253D"},
		{"DoubleWhenOnlyDoubleSlash", "ab//cd==", "ab%252F%252Fcd%253D%253D"},
		{"SingleForPlusEqualsAndInnerSlash", "t6WJ0cK+QvOe2m/hY1Lx9A==", "t6WJ0cK%2BQvOe2m%2FhY1Lx9A%3D%3D"},
		{"UnreservedUntouched", "AbC-._~09", "AbC-._~09"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, escapeUUID(tt.uuid), "uuid %q", tt.uuid)
		})
	}
}

// TestRawPathSurvivesURLParsing guards the assumption that net/url keeps our
// encoding (RawPath) when retryablehttp parses the URL string again.
func TestRawPathSurvivesURLParsing(t *testing.T) {
	t.Parallel()
	for _, uuid := range []string{"/ab+cd//ef==", "t6WJ0cK+QvOe2m/hY1Lx9A==", "plain"} {
		want := "/v2/past_meetings/" + escapeUUID(uuid) + "/participants"
		u, err := url.Parse("https://api.zoom.us" + want + "?page_size=300")
		require.NoError(t, err)
		require.Equal(t, want, u.EscapedPath(), "uuid %q", uuid)
		req, err := http.NewRequest(http.MethodGet, u.String(), nil)
		require.NoError(t, err)
		require.Equal(t, want, req.URL.EscapedPath(), "uuid %q", uuid)
	}
}

func TestMonthWindows(t *testing.T) {
	t.Parallel()
	day := func(s string) time.Time {
		d, err := time.Parse(dateLayout, s)
		require.NoError(t, err)
		return d
	}
	tests := []struct {
		name     string
		from, to time.Time
		want     [][2]string
	}{
		{"OneDay", day("2024-03-05"), day("2024-03-05"), [][2]string{{"2024-03-05", "2024-03-05"}}},
		{"JustUnderAMonth", day("2024-03-01"), day("2024-03-31"), [][2]string{{"2024-03-01", "2024-03-31"}}},
		{"SplitsAtMonth", day("2024-03-01"), day("2024-04-01"), [][2]string{{"2024-03-01", "2024-03-31"}, {"2024-04-01", "2024-04-01"}}},
		{"ClampsJan31", day("2024-01-31"), day("2024-03-15"), [][2]string{{"2024-01-31", "2024-02-28"}, {"2024-02-29", "2024-03-15"}}},
		{"UsesUTCDates", time.Date(2024, 3, 5, 23, 30, 0, 0, time.FixedZone("X", -2*3600)), day("2024-03-06"), [][2]string{{"2024-03-06", "2024-03-06"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := monthWindows(tt.from, tt.to)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
	_, err := monthWindows(day("2024-03-05"), day("2024-03-04"))
	require.Error(t, err)
}

func TestParseDashboardDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		s       string
		elapsed time.Duration
		want    time.Duration
	}{
		{"HMSAlways", "01:02:03", 0, time.Hour + 2*time.Minute + 3*time.Second},
		{"TwoPartsMatchingHoursMinutes", "01:30", 90 * time.Minute, 90 * time.Minute},
		{"TwoPartsMatchingMinutesSeconds", "16:08", 16*time.Minute + 8*time.Second, 16*time.Minute + 8*time.Second},
		{"TwoPartsLiveDefaultsToZoomDoc", "16:08", 0, 16*time.Minute + 8*time.Second},
		{"OnePartIsMinutes", "45", 0, 45 * time.Minute},
		{"Garbage", "n/a", time.Hour, 0},
		{"Empty", "", time.Hour, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, parseDashboardDuration(tt.s, tt.elapsed))
		})
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		v    string
		want time.Time
		ok   bool
	}{
		{"ISO8601", "2024-03-06T00:00:00Z", time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC), true},
		{"ISO8601Offset", "2024-03-06T01:00:00+01:00", time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC), true},
		{"Seconds", "2", now.Add(2 * time.Second), true},
		{"HTTPDate", "Wed, 06 Mar 2024 00:00:00 GMT", time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC), true},
		{"Empty", "", time.Time{}, false},
		{"Garbage", "soon", time.Time{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := retryAfterTime(tt.v, now)
			require.Equal(t, tt.ok, ok)
			require.True(t, tt.want.Equal(got), "got %s, want %s", got, tt.want)
		})
	}
}

// TestDefaultCategory holds each endpoint's rate-limit label to
// zoom-platform.md §5 and §10: the Dashboard endpoints are
// Resource-intensive, limited per minute.
func TestDefaultCategory(t *testing.T) {
	t.Parallel()
	want := map[string]string{
		EndpointUsers:                        "Medium",
		EndpointMeeting:                      "Light",
		EndpointPastMeeting:                  "Light",
		EndpointPastMeetingInstances:         "Medium",
		EndpointPastMeetingParticipants:      "Medium",
		EndpointWebinar:                      "Light",
		EndpointPastWebinarInstances:         "Medium",
		EndpointPastWebinarParticipants:      "Medium",
		EndpointReportMeeting:                "Heavy",
		EndpointReportMeetingParticipants:    "Heavy",
		EndpointReportWebinar:                "Heavy",
		EndpointReportWebinarParticipants:    "Heavy",
		EndpointReportUserMeetings:           "Heavy",
		EndpointReportUsers:                  "Heavy",
		EndpointDashboardMeetings:            "Resource-intensive",
		EndpointDashboardMeeting:             "Resource-intensive",
		EndpointDashboardMeetingParticipants: "Resource-intensive",
		EndpointDashboardWebinars:            "Resource-intensive",
		EndpointDashboardWebinar:             "Resource-intensive",
		EndpointDashboardWebinarParticipants: "Resource-intensive",
	}
	require.Len(t, endpoints(), len(want), "every endpoint has a label here")
	for _, ep := range endpoints() {
		require.Equal(t, want[ep], defaultCategory(ep), "label of %s", ep)
	}
}
