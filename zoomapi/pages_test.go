package zoomapi_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// TestPages lists page by page, as the reconciler does when it spreads a
// long listing over several passes, and gets what the iterators get.
func TestPages(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{})
	s := b.zoom
	s.AddUser(zoomtest.User{ID: "HostUser0000000000001", Email: "host@example.org"})
	start := time.Now().UTC().Add(-6 * time.Hour).Truncate(time.Second)
	var solo []string
	for i := range 350 { // more than a page of 300 and, on Heavy lists, of 100
		at := start.Add(time.Duration(i) * time.Second)
		uuid := s.StartMeeting(zoomtest.MeetingSpec{HostID: "HostUser0000000000001", Start: at})
		s.Join(uuid, zoomtest.Person{Name: "A"}, at)
		if i%10 == 0 {
			solo = append(solo, uuid)
		} else {
			s.Join(uuid, zoomtest.Person{Name: "B"}, at)
		}
		s.EndMeeting(uuid, at.Add(time.Minute))
	}
	from, to := start, start.Add(time.Hour)

	t.Run("DashboardPagesEqualTheIterator", func(t *testing.T) {
		var paged []string
		token, pages := "", 0
		for {
			rows, next, err := b.client.DashboardMeetingsPage(t.Context(), zoomapi.DashboardPast, from, to, token)
			require.NoError(t, err)
			pages++
			for _, r := range rows {
				paged = append(paged, r.UUID)
			}
			if next == "" {
				break
			}
			token = next
		}
		var all []string
		for _, m := range collect(t, b.client.DashboardMeetings(t.Context(), zoomapi.DashboardPast, from, to)) {
			all = append(all, m.UUID)
		}
		require.Equal(t, all, paged)
		require.Len(t, paged, 350-len(solo))
		require.Equal(t, 2, pages, "300 rows a page")
	})

	t.Run("ReportPastOneListsOnePersonMeetings", func(t *testing.T) {
		var got []string
		token, pages := "", 0
		for {
			rows, next, err := b.client.ReportUserMeetingsPage(t.Context(), "HostUser0000000000001", zoomapi.ReportPastOne, from, to, token)
			require.NoError(t, err)
			pages++
			for _, r := range rows {
				got = append(got, r.UUID)
			}
			if next == "" {
				break
			}
			token = next
		}
		require.ElementsMatch(t, solo, got)
		rows, next, err := b.client.ReportUserMeetingsPage(t.Context(), "HostUser0000000000001", zoomapi.ReportPast, from, to, "")
		require.NoError(t, err)
		require.Len(t, rows, 100, "Heavy report lists page by 100")
		require.NotEmpty(t, next)
	})

	t.Run("ActiveHostsPage", func(t *testing.T) {
		rows, next, err := b.client.ReportActiveUsersPage(t.Context(), from, to, "")
		require.NoError(t, err)
		require.Empty(t, next)
		require.Len(t, rows, 1)
		require.Equal(t, "HostUser0000000000001", rows[0].ID)
	})

	t.Run("APageRangeFitsAMonth", func(t *testing.T) {
		_, _, err := b.client.DashboardMeetingsPage(t.Context(), zoomapi.DashboardPast, from.AddDate(0, -2, 0), to, "")
		require.ErrorContains(t, err, "longer than a month; split it with MonthWindows")
		ws, err := zoomapi.MonthWindows(time.Date(2026, 1, 31, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 5, 9, 0, 0, 0, time.UTC))
		require.NoError(t, err)
		require.Equal(t, [][2]time.Time{
			{time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), time.Date(2026, 2, 27, 0, 0, 0, 0, time.UTC)},
			{time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)},
		}, ws)
	})
}
