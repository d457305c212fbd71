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

// TestEndpointTable holds each endpoint's rate-limit label and page-size
// cap to zoom-platform.md §5 and §10: the Dashboard endpoints are
// Resource-intensive, limited per minute; Heavy lists serve 100 rows a page,
// the others 300; endpoints that do not page have no cap.
func TestEndpointTable(t *testing.T) {
	t.Parallel()
	want := map[string]struct {
		label    Label
		pageSize int
	}{
		EndpointUsers:                        {LabelMedium, 300},
		EndpointMeeting:                      {LabelLight, 0},
		EndpointPastMeeting:                  {LabelLight, 0},
		EndpointPastMeetingInstances:         {LabelMedium, 0},
		EndpointPastMeetingParticipants:      {LabelMedium, 300},
		EndpointWebinar:                      {LabelLight, 0},
		EndpointPastWebinarInstances:         {LabelMedium, 0},
		EndpointPastWebinarParticipants:      {LabelMedium, 300},
		EndpointReportMeeting:                {LabelHeavy, 0},
		EndpointReportMeetingParticipants:    {LabelHeavy, 100},
		EndpointReportWebinar:                {LabelHeavy, 0},
		EndpointReportWebinarParticipants:    {LabelHeavy, 100},
		EndpointReportUserMeetings:           {LabelHeavy, 100},
		EndpointReportUsers:                  {LabelHeavy, 100},
		EndpointDashboardMeetings:            {LabelResourceIntensive, 300},
		EndpointDashboardMeeting:             {LabelResourceIntensive, 0},
		EndpointDashboardMeetingParticipants: {LabelResourceIntensive, 300},
		EndpointDashboardWebinars:            {LabelResourceIntensive, 300},
		EndpointDashboardWebinar:             {LabelResourceIntensive, 0},
		EndpointDashboardWebinarParticipants: {LabelResourceIntensive, 300},
	}
	require.Len(t, endpoints(), len(want), "every endpoint is in this table")
	for _, ep := range endpoints() {
		require.Equal(t, want[ep].label, LabelOf(ep), "label of %s", ep)
		require.Equal(t, want[ep].pageSize, PageSizeOf(ep), "page size of %s", ep)
	}
	require.Equal(t, LabelHeavy, LabelOf("/unknown"), "an unlabelled endpoint is budgeted")
	require.Zero(t, PageSizeOf("/unknown"))
}

func TestParseLabel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Label
		ok   bool
	}{
		{"Light", LabelLight, true},
		{" medium ", LabelMedium, true},
		{"HEAVY", LabelHeavy, true},
		{"Resource-Intensive", LabelResourceIntensive, true},
		{"", "", false},
		{"Extreme", "", false},
	}
	for _, tt := range tests {
		got, ok := parseLabel(tt.in)
		require.Equal(t, tt.ok, ok, "%q", tt.in)
		require.Equal(t, tt.want, got, "%q", tt.in)
	}
}

// TestPacer checks the spacing and the hold of the Resource-intensive pacer.
func TestPacer(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)

	t.Run("SpacesCallsAnIntervalApart", func(t *testing.T) {
		t.Parallel()
		p := &pacer{interval: 6 * time.Second}
		var starts []time.Duration
		for range 3 {
			s, held := p.reserve(t0)
			require.False(t, held)
			starts = append(starts, s.Sub(t0))
		}
		require.Equal(t, []time.Duration{0, 6 * time.Second, 12 * time.Second}, starts)
		s, _ := p.reserve(t0.Add(time.Minute))
		require.Equal(t, t0.Add(time.Minute), s, "an idle pacer lets the next call go at once")
	})

	t.Run("CancelGivesTheStartBack", func(t *testing.T) {
		t.Parallel()
		p := &pacer{interval: 6 * time.Second}
		p.reserve(t0)
		s, _ := p.reserve(t0)
		p.cancel(s)
		again, _ := p.reserve(t0)
		require.Equal(t, s, again)
	})

	t.Run("HoldsEveryCallUntilTheHoldEnds", func(t *testing.T) {
		t.Parallel()
		p := &pacer{} // no spacing: only the hold
		p.holdUntil(t0.Add(time.Minute))
		p.holdUntil(t0.Add(time.Second)) // an earlier hold does not shorten it
		s, held := p.reserve(t0)
		require.True(t, held)
		require.Equal(t, t0.Add(time.Minute), s)
		s, held = p.reserve(t0.Add(2 * time.Minute))
		require.False(t, held)
		require.Equal(t, t0.Add(2*time.Minute), s)
	})

	t.Run("SpacesCallsAfterAHold", func(t *testing.T) {
		t.Parallel()
		p := &pacer{interval: 6 * time.Second}
		p.holdUntil(t0.Add(time.Minute))
		a, _ := p.reserve(t0)
		b, _ := p.reserve(t0)
		require.Equal(t, t0.Add(time.Minute), a)
		require.Equal(t, t0.Add(time.Minute+6*time.Second), b, "held calls do not leave the hold together")
	})
}
