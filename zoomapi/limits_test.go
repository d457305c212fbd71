package zoomapi_test

import (
	"context"
	"errors"
	"iter"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/zoomrecon/zoomrecon/zoomapi"
	"github.com/zoomrecon/zoomrecon/zoomapi/zoomtest"
)

// drain runs an iterator to its end and returns its error, if any.
func drain[T any](seq iter.Seq2[T, error]) error {
	for _, err := range seq {
		if err != nil {
			return err
		}
	}
	return nil
}

// TestPageSizes checks that every list call asks for the endpoint's page
// cap (§5, §10): 100 on Heavy report lists, 300 elsewhere.
func TestPageSizes(t *testing.T) {
	t.Parallel()
	day := time.Now().UTC()
	tests := []struct {
		name     string
		endpoint string // zoomapi's template
		fake     string // zoomtest's template
		want     int
		call     func(ctx context.Context, c *zoomapi.Client) error
	}{
		{"Users", zoomapi.EndpointUsers, "/users", 300,
			func(ctx context.Context, c *zoomapi.Client) error { return drain(c.Users(ctx, "")) }},
		{"PastMeetingParticipants", zoomapi.EndpointPastMeetingParticipants, "/past_meetings/{meetingId}/participants", 300,
			func(ctx context.Context, c *zoomapi.Client) error { return drain(c.PastMeetingParticipants(ctx, "m1")) }},
		{"PastWebinarParticipants", zoomapi.EndpointPastWebinarParticipants, "/past_webinars/{webinarId}/participants", 300,
			func(ctx context.Context, c *zoomapi.Client) error { return drain(c.PastWebinarParticipants(ctx, "w1")) }},
		{"ReportMeetingParticipants", zoomapi.EndpointReportMeetingParticipants, "/report/meetings/{meetingId}/participants", 100,
			func(ctx context.Context, c *zoomapi.Client) error {
				return drain(c.ReportMeetingParticipants(ctx, "m1"))
			}},
		{"ReportWebinarParticipants", zoomapi.EndpointReportWebinarParticipants, "/report/webinars/{webinarId}/participants", 100,
			func(ctx context.Context, c *zoomapi.Client) error {
				return drain(c.ReportWebinarParticipants(ctx, "w1"))
			}},
		{"ReportUserMeetings", zoomapi.EndpointReportUserMeetings, "/report/users/{userId}/meetings", 100,
			func(ctx context.Context, c *zoomapi.Client) error {
				return drain(c.ReportUserMeetings(ctx, "u1", day, day))
			}},
		{"ReportActiveUsers", zoomapi.EndpointReportUsers, "/report/users", 100,
			func(ctx context.Context, c *zoomapi.Client) error { return drain(c.ReportActiveUsers(ctx, day, day)) }},
		{"DashboardMeetings", zoomapi.EndpointDashboardMeetings, "/metrics/meetings", 300,
			func(ctx context.Context, c *zoomapi.Client) error {
				return drain(c.DashboardMeetings(ctx, zoomapi.DashboardPast, day, day))
			}},
		{"DashboardWebinars", zoomapi.EndpointDashboardWebinars, "/metrics/webinars", 300,
			func(ctx context.Context, c *zoomapi.Client) error {
				return drain(c.DashboardWebinars(ctx, zoomapi.DashboardPast, day, day))
			}},
		{"DashboardMeetingParticipants", zoomapi.EndpointDashboardMeetingParticipants, "/metrics/meetings/{meetingId}/participants", 300,
			func(ctx context.Context, c *zoomapi.Client) error {
				return drain(c.DashboardMeetingParticipants(ctx, "m1", zoomapi.DashboardPast))
			}},
		{"DashboardWebinarParticipants", zoomapi.EndpointDashboardWebinarParticipants, "/metrics/webinars/{webinarId}/participants", 300,
			func(ctx context.Context, c *zoomapi.Client) error {
				return drain(c.DashboardWebinarParticipants(ctx, "w1", zoomapi.DashboardPast))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, zoomapi.PageSizeOf(tt.endpoint), "the table's cap")
			b := setup(t, setupOpts{})
			_ = tt.call(t.Context(), b.client) // unknown IDs answer 404; the request is what counts
			var sent []string
			for _, r := range b.requests(t) {
				require.Equal(t, tt.fake, r.Endpoint)
				sent = append(sent, r.Query.Get("page_size"))
			}
			require.Equal(t, []string{strconv.Itoa(tt.want)}, sent)
		})
	}
}

// pacedSetup is a fake Zoom and a client sharing a manual clock, the client
// with its default Resource-intensive pace (10 a minute) and no per-second
// limit to speak of.
func pacedSetup(t *testing.T, cfg func(*zoomapi.Config)) *testBundle {
	t.Helper()
	return setup(t, setupOpts{clock: true, cfg: func(c *zoomapi.Config) {
		c.RequestsPerSecond = 1000
		if cfg != nil {
			cfg(c)
		}
	}})
}

// TestResourceIntensivePacing checks that the client spaces
// Resource-intensive calls at ResourceIntensivePerMinute (default 10, half
// of Business's 20, §6, §10) on its clock, so Zoom's per-minute limit never
// answers 429, and that it paces nothing else.
func TestResourceIntensivePacing(t *testing.T) {
	t.Parallel()
	const n = 25

	tests := []struct {
		name        string
		zoomPerMin  int // SetPerMinuteLimit: -1 the plan's (Business: 20)
		clientPace  int // Config.ResourceIntensivePerMinute
		wantElapsed time.Duration
		want429     bool
	}{
		{name: "DefaultPaceUnderBusinessLimit", zoomPerMin: -1, wantElapsed: (n - 1) * 6 * time.Second},
		{name: "DefaultPaceAtALimitOfTen", zoomPerMin: 10, wantElapsed: (n - 1) * 6 * time.Second},
		{name: "FasterPace", zoomPerMin: -1, clientPace: 20, wantElapsed: (n - 1) * 3 * time.Second},
		// The control: without pacing, Zoom refuses the 21st call of the
		// minute, and the client waits the minute out (60 s) once.
		{name: "WithoutPacingZoomRefuses", zoomPerMin: -1, clientPace: -1, wantElapsed: time.Minute, want429: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := pacedSetup(t, func(c *zoomapi.Config) {
				c.ResourceIntensivePerMinute = tt.clientPace
				c.MinuteLimitWait = 0 // the default minute
			})
			start := b.clock.Now()
			uuid := endedMeeting(b.zoom, zoomtest.MeetingSpec{Start: start.Add(-time.Hour)}, 2)
			b.zoom.SetPerMinuteLimit(tt.zoomPerMin)
			for i := range n {
				_, err := b.client.DashboardMeeting(t.Context(), uuid, zoomapi.DashboardPast)
				require.NoError(t, err, "call %d", i+1)
			}
			statuses := b.statuses(t, "/metrics/meetings/{meetingId}")
			require.Equal(t, tt.want429, slicesContain(statuses, 429), "statuses %v", statuses)
			require.Equal(t, tt.wantElapsed, b.clock.Now().Sub(start), "time on the shared clock")
			require.Equal(t, tt.wantElapsed, b.slept.total())
		})
	}

	t.Run("PacesOnlyResourceIntensiveCalls", func(t *testing.T) {
		t.Parallel()
		b := pacedSetup(t, nil)
		uuid := endedMeeting(b.zoom, zoomtest.MeetingSpec{Start: b.clock.Now().Add(-time.Hour)}, 2)
		for range 5 {
			_, err := b.client.GetMeeting(t.Context(), 81234567890) // Light
			requireOnly(t, err, zoomapi.ErrNotFound)
			_, err = b.client.PastMeetingInstances(t.Context(), 81234567890) // Medium
			requireOnly(t, err, zoomapi.ErrNotFound)
			_, err = b.client.ReportMeeting(t.Context(), uuid) // Heavy
			require.NoError(t, err)
		}
		require.Empty(t, b.slept.all())
		_, err := b.client.DashboardMeeting(t.Context(), uuid, zoomapi.DashboardPast)
		require.NoError(t, err)
		_, err = b.client.DashboardMeeting(t.Context(), uuid, zoomapi.DashboardPast)
		require.NoError(t, err)
		require.Equal(t, []time.Duration{6 * time.Second}, b.slept.all())
	})

	t.Run("NoPacingWhenRequestsPerSecondIsUnlimited", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{clock: true}) // RequestsPerSecond -1, ResourceIntensivePerMinute unset
		for range 3 {
			_, err := b.client.DashboardMeeting(t.Context(), "m1", zoomapi.DashboardPast)
			requireOnly(t, err, zoomapi.ErrNotFound)
		}
		require.Empty(t, b.slept.all())
	})

	t.Run("AWaitEndsWithItsContext", func(t *testing.T) {
		t.Parallel()
		// Real time: one call a minute, and a caller who will not wait that long.
		b := setup(t, setupOpts{cfg: func(c *zoomapi.Config) { c.RequestsPerSecond = 1000; c.ResourceIntensivePerMinute = 1 }})
		_, err := b.client.DashboardMeeting(t.Context(), "m1", zoomapi.DashboardPast)
		requireOnly(t, err, zoomapi.ErrNotFound)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		_, err = b.client.DashboardMeeting(ctx, "m1", zoomapi.DashboardPast)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		requireOnly(t, err, nil)
		require.Equal(t, 1, b.callCount(t, ""), "the waiting call was never sent")
	})
}

// receive waits for a value on ch, failing the test after five seconds.
func receive[T any](t *testing.T, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatal("nothing arrived within 5s")
		panic("unreachable")
	}
}

func slicesContain(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// qps429 is Zoom's per-minute refusal of a Resource-intensive call: a 429
// that says QPS (§10), here with a Retry-After if one is given.
func qps429(path string, times int, retryAfter string) zoomtest.Fault {
	f := zoomtest.QPSFault(path, times)
	f.RetryAfter = retryAfter
	return f
}

// TestPerMinute429 checks that a Resource-intensive endpoint's per-minute
// 429 is waited out, Retry-After or a minute, however short RetryWaitMax
// is, at most three times and never after the caller gives up; per-second
// 429s of other labels keep their short waits.
func TestPerMinute429(t *testing.T) {
	t.Parallel()
	const path = "/metrics/meetings"
	list := func(ctx context.Context, c *zoomapi.Client) error {
		day := time.Now().UTC()
		return drain(c.DashboardMeetings(ctx, zoomapi.DashboardLive, day, day))
	}
	tests := []struct {
		name      string
		fault     zoomtest.Fault
		wait      time.Duration // Config.MinuteLimitWait; 0 the default
		wantWaits []time.Duration
		statuses  []int
		wantErr   error
	}{
		{name: "WaitsTheDefaultMinute", fault: qps429(path, 1, ""),
			wantWaits: []time.Duration{time.Minute}, statuses: []int{429, 200}},
		{name: "WaitsMinuteLimitWait", fault: qps429(path, 1, ""), wait: 90 * time.Second,
			wantWaits: []time.Duration{90 * time.Second}, statuses: []int{429, 200}},
		{name: "HonoursRetryAfter", fault: qps429(path, 1, "7"),
			wantWaits: []time.Duration{7 * time.Second}, statuses: []int{429, 200}},
		{name: "TreatsABare429AsPerMinute", fault: zoomtest.Fault{Path: path, Times: 1, Status: http.StatusTooManyRequests},
			wantWaits: []time.Duration{time.Minute}, statuses: []int{429, 200}},
		{name: "GivesUpAfterThreeWaits", fault: qps429(path, 0, ""),
			wantWaits: []time.Duration{time.Minute, time.Minute, time.Minute}, statuses: []int{429, 429, 429, 429}, wantErr: zoomapi.ErrRateLimited},
		{name: "DoesNotWaitALongRetryAfter", fault: qps429(path, 0, "600"),
			statuses: []int{429}, wantErr: zoomapi.ErrRateLimited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// RetryWaitMax stays the tests' 40 ms: the minute is waited anyway.
			b := setup(t, setupOpts{clock: true, cfg: func(c *zoomapi.Config) { c.MinuteLimitWait = tt.wait }})
			b.zoom.Inject(tt.fault)
			err := list(t.Context(), b.client)
			if tt.wantErr == nil {
				require.NoError(t, err)
			} else {
				requireOnly(t, err, tt.wantErr)
			}
			require.Equal(t, tt.wantWaits, b.slept.all())
			reqs := b.requests(t)
			var statuses []int
			for i, r := range reqs {
				statuses = append(statuses, r.Status)
				if i > 0 {
					require.Equal(t, tt.wantWaits[i-1], r.Time.Sub(reqs[i-1].Time), "request %d came the wait after the 429", i+1)
				}
			}
			require.Equal(t, tt.statuses, statuses)
			require.EqualValues(t, len(tt.wantWaits), metricValue(t, b.reg, "zoomrecon_zoomapi_rate_limit_waits_total", map[string]string{"type": "minute"}))
			require.EqualValues(t, len(tt.wantWaits), metricValue(t, b.reg, "zoomrecon_zoomapi_retries_total", map[string]string{"endpoint": zoomapi.EndpointDashboardMeetings, "reason": "rate_limit"}))
		})
	}

	t.Run("HoldsTheOtherResourceIntensiveCalls", func(t *testing.T) {
		t.Parallel()
		waiting := make(chan time.Duration, 2)
		release := make(chan struct{})
		b := setup(t, setupOpts{clock: true, cfg: func(c *zoomapi.Config) {
			c.MinuteLimitWait = 0
			c.SleepFunc = func(ctx context.Context, d time.Duration) error {
				waiting <- d
				select {
				case <-release:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			}
		}})
		b.zoom.Inject(qps429(path, 1, ""))
		errs := make(chan error, 2)
		go func() { errs <- list(t.Context(), b.client) }()
		require.Equal(t, time.Minute, receive(t, waiting), "the refused call waits the minute")
		go func() {
			_, err := b.client.DashboardMeeting(t.Context(), "m1", zoomapi.DashboardPast)
			errs <- err
		}()
		require.Equal(t, time.Minute, receive(t, waiting), "another Resource-intensive call waits out the same minute")
		_, err := b.client.GetMeeting(t.Context(), 81234567890)
		requireOnly(t, err, zoomapi.ErrNotFound) // a Light call is not held
		require.Equal(t, []int{429, 404}, b.statuses(t, ""), "nothing Resource-intensive was sent during the hold")
		close(release)
		for range 2 {
			if err := receive(t, errs); err != nil {
				requireOnly(t, err, zoomapi.ErrNotFound)
			}
		}
		require.Len(t, b.requests(t), 4)
	})

	t.Run("StopsWhenTheContextEnds", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{cfg: func(c *zoomapi.Config) { c.MinuteLimitWait = time.Hour }}) // real time
		b.zoom.Inject(qps429(path, 0, ""))
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		err := list(ctx, b.client)
		returned := time.Now()
		deadline, _ := ctx.Deadline()
		// On a loaded machine the 429 itself may come back after the
		// deadline; then its error is as good an answer. Before the
		// deadline the client must wait, not give up.
		if !errors.Is(err, context.DeadlineExceeded) {
			require.Error(t, err)
			require.False(t, returned.Before(deadline), "returned %v before the deadline with %v", deadline.Sub(returned), err)
		} else {
			requireOnly(t, err, nil)
		}
		require.Equal(t, []int{429}, b.statuses(t, ""), "no retry after the caller gave up")
	})

	t.Run("PerSecond429sOfOtherLabelsWaitBriefly", func(t *testing.T) {
		t.Parallel()
		b := setup(t, setupOpts{clock: true, cfg: func(c *zoomapi.Config) { c.MinuteLimitWait = 0 }})
		b.zoom.Inject(zoomtest.QPSFault("/report/meetings/{meetingId}/participants", 1))
		_, err := collectErr(t, b.client.ReportMeetingParticipants(t.Context(), "m1"))
		requireOnly(t, err, zoomapi.ErrNotReady)
		require.Equal(t, []int{429, 404}, b.statuses(t, ""))
		require.Empty(t, b.slept.all(), "a Heavy per-second 429 waits RetryWaitMin, not a minute")
		require.EqualValues(t, 1, metricValue(t, b.reg, "zoomrecon_zoomapi_rate_limit_waits_total", map[string]string{"type": "qps"}))
	})
}

// budgetSetup is a fake Zoom (Business) and a client on a shared manual
// clock at at, with a daily budget, and an ended meeting to ask about.
func budgetSetup(t *testing.T, at time.Time, budget int) (*testBundle, string) {
	t.Helper()
	b := setup(t, setupOpts{clock: true, cfg: func(c *zoomapi.Config) { c.DailyBudget = budget }})
	b.clock.Set(at)
	uuid := endedMeeting(b.zoom, zoomtest.MeetingSpec{ID: 81234567890, Start: at.Add(-time.Hour)}, 2)
	return b, uuid
}

// TestDailyBudget checks the client's own daily budget of Heavy and
// Resource-intensive calls (§6): every attempt counts, the call beyond it
// fails at once without a request, Light and Medium calls never do, and the
// count restarts at 00:00 UTC by the client's clock.
func TestDailyBudget(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)
	reset := time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC)

	t.Run("RefusesHeavyAndResourceIntensiveCallsBeyondIt", func(t *testing.T) {
		t.Parallel()
		b, uuid := budgetSetup(t, at, 3)
		for range 2 {
			_, err := b.client.ReportMeeting(t.Context(), uuid)
			require.NoError(t, err)
		}
		_, err := b.client.DashboardMeeting(t.Context(), uuid, zoomapi.DashboardPast)
		require.NoError(t, err)
		sent := len(b.requests(t))

		_, err = b.client.ReportMeeting(t.Context(), uuid)
		requireOnly(t, err, zoomapi.ErrBudgetExhausted)
		var be *zoomapi.BudgetError
		require.ErrorAs(t, err, &be)
		require.Equal(t, zoomapi.BudgetError{Endpoint: zoomapi.EndpointReportMeeting, Label: zoomapi.LabelHeavy, Budget: 3, Until: reset}, *be)
		require.Equal(t, "zoom GET /report/meetings/{meetingUUID}: daily budget of 3 Heavy and Resource-intensive calls is spent; Heavy calls are not sent until 2024-03-06T00:00:00Z", err.Error())
		_, err = b.client.DashboardMeeting(t.Context(), uuid, zoomapi.DashboardPast)
		require.ErrorAs(t, err, &be)
		require.Equal(t, zoomapi.LabelResourceIntensive, be.Label)
		_, err = collectErr(t, b.client.ReportMeetingParticipants(t.Context(), uuid))
		requireOnly(t, err, zoomapi.ErrBudgetExhausted)
		require.Len(t, b.requests(t), sent, "refused calls are not sent")

		// Light and Medium calls go on.
		_, err = b.client.GetMeeting(t.Context(), 81234567890)
		require.NoError(t, err)
		collect(t, b.client.Users(t.Context(), ""))
		require.Equal(t, zoomapi.Usage{Day: at.Truncate(24 * time.Hour), Light: 1, Medium: 1, Heavy: 2, ResourceIntensive: 1}, b.client.Spent())

		for label, want := range map[string]float64{"Light": 1, "Medium": 1, "Heavy": 2, "Resource-intensive": 1} {
			require.EqualValues(t, want, metricValue(t, b.reg, "zoomrecon_zoomapi_calls_today", map[string]string{"label": label}), label)
		}
		require.EqualValues(t, 3, metricValue(t, b.reg, "zoomrecon_zoomapi_daily_budget", nil))
		require.EqualValues(t, 2, metricValue(t, b.reg, "zoomrecon_zoomapi_budget_refusals_total", map[string]string{"label": "Heavy"}))
		require.EqualValues(t, 1, metricValue(t, b.reg, "zoomrecon_zoomapi_budget_refusals_total", map[string]string{"label": "Resource-intensive"}))
		require.Equal(t, 1, strings.Count(b.logs.String(), "zoom daily budget spent"), "logged once a day")
	})

	t.Run("CountsEveryAttempt", func(t *testing.T) {
		t.Parallel()
		b, uuid := budgetSetup(t, at, 2)
		b.zoom.Inject(zoomtest.Fault{Path: "/report/meetings/{meetingId}", Times: 1, Status: http.StatusBadGateway})
		_, err := b.client.ReportMeeting(t.Context(), uuid)
		require.NoError(t, err)
		require.Equal(t, 2, b.client.Spent().Heavy, "the 502 and the retry")
		_, err = b.client.ReportMeeting(t.Context(), uuid)
		requireOnly(t, err, zoomapi.ErrBudgetExhausted)
		require.Equal(t, 2, b.client.Spent().Heavy, "a refusal is not an attempt")
	})

	t.Run("RestartsAtMidnightUTCByTheClientsClock", func(t *testing.T) {
		t.Parallel()
		b, uuid := budgetSetup(t, reset.Add(-time.Minute), 1)
		_, err := b.client.ReportMeeting(t.Context(), uuid)
		require.NoError(t, err)
		_, err = b.client.ReportMeeting(t.Context(), uuid)
		requireOnly(t, err, zoomapi.ErrBudgetExhausted)
		require.EqualValues(t, 1, metricValue(t, b.reg, "zoomrecon_zoomapi_calls_today", map[string]string{"label": "Heavy"}))

		b.clock.Set(reset.Add(-time.Nanosecond))
		_, err = b.client.ReportMeeting(t.Context(), uuid)
		requireOnly(t, err, zoomapi.ErrBudgetExhausted)
		b.clock.Set(reset)
		require.EqualValues(t, 0, metricValue(t, b.reg, "zoomrecon_zoomapi_calls_today", map[string]string{"label": "Heavy"}), "the gauge restarts without a call")
		require.Equal(t, zoomapi.Usage{Day: reset}, b.client.Spent())
		_, err = b.client.ReportMeeting(t.Context(), uuid)
		require.NoError(t, err)
		require.Equal(t, zoomapi.Usage{Day: reset, Heavy: 1}, b.client.Spent())
	})

	t.Run("SeedSpentContinuesTheDay", func(t *testing.T) {
		t.Parallel()
		b, uuid := budgetSetup(t, at, 3)
		earlier := zoomapi.Usage{Day: at.Truncate(24 * time.Hour), Medium: 40, Heavy: 1, ResourceIntensive: 1}
		require.True(t, b.client.SeedSpent(earlier))
		require.True(t, b.client.SeedSpent(earlier), "seeding again counts nothing twice")
		require.Equal(t, earlier, b.client.Spent())
		_, err := b.client.ReportMeeting(t.Context(), uuid)
		require.NoError(t, err)
		_, err = b.client.ReportMeeting(t.Context(), uuid)
		requireOnly(t, err, zoomapi.ErrBudgetExhausted)

		yesterday := zoomapi.Usage{Day: at.Add(-24 * time.Hour), Heavy: 500}
		require.False(t, b.client.SeedSpent(yesterday), "another day's count is ignored")
		require.Equal(t, 2, b.client.Spent().Heavy)
		sameDayElsewhere := zoomapi.Usage{Day: at.In(time.FixedZone("UTC+9", 9*3600)), Heavy: 3}
		require.True(t, b.client.SeedSpent(sameDayElsewhere), "the same UTC day in another zone")
		require.Equal(t, 3, b.client.Spent().Heavy)
	})

	t.Run("ChangesAtRunTime", func(t *testing.T) {
		t.Parallel()
		b, uuid := budgetSetup(t, at, 0)
		require.Zero(t, b.client.DailyBudget())
		for range 3 {
			_, err := b.client.ReportMeeting(t.Context(), uuid)
			require.NoError(t, err)
		}
		b.client.SetDailyBudget(3)
		require.Equal(t, 3, b.client.DailyBudget())
		require.EqualValues(t, 3, metricValue(t, b.reg, "zoomrecon_zoomapi_daily_budget", nil))
		_, err := b.client.ReportMeeting(t.Context(), uuid)
		requireOnly(t, err, zoomapi.ErrBudgetExhausted)
		b.client.SetDailyBudget(zoomapi.DailyQuota(zoomapi.PlanBusiness) / 2)
		_, err = b.client.ReportMeeting(t.Context(), uuid)
		require.NoError(t, err)
		b.client.SetDailyBudget(-1)
		require.Zero(t, b.client.DailyBudget(), "negative removes the budget")
	})

	t.Run("ConcurrentCallsNeverOvershoot", func(t *testing.T) {
		t.Parallel()
		b, uuid := budgetSetup(t, at, 10)
		var (
			wg              sync.WaitGroup
			mu              sync.Mutex
			ok, refusedCall int
		)
		for range 40 {
			wg.Go(func() {
				_, err := b.client.ReportMeeting(t.Context(), uuid)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case strings.Contains(err.Error(), "daily budget"):
					refusedCall++
				default:
					t.Errorf("unexpected error: %v", err)
				}
			})
		}
		wg.Wait()
		require.Equal(t, 10, ok)
		require.Equal(t, 30, refusedCall)
		require.Equal(t, 10, b.callCount(t, "/report/meetings/{meetingId}"))
	})
}

// TestZoomDailyQuota runs the client against the fake's daily quotas at
// Zoom's numbers (§6), other apps having spent all but the last call: the
// daily 429 stops Heavy and Resource-intensive calls together until 00:00
// UTC, and nothing else.
func TestZoomDailyQuota(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 3, 5, 10, 0, 0, 0, time.UTC)
	reset := time.Date(2024, 3, 6, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		plan   zoomtest.Plan
		others string // the label other apps spent
		quota  int
	}{
		{"Pro", zoomtest.PlanPro, "Heavy", 30_000},
		{"Business", zoomtest.PlanBusiness, "Resource-intensive", 60_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{clock: true, zoom: []zoomtest.Option{zoomtest.WithPlan(tt.plan)}})
			b.clock.Set(at)
			uuid := endedMeeting(b.zoom, zoomtest.MeetingSpec{ID: 81234567890, Start: at.Add(-time.Hour)}, 2)
			require.Equal(t, tt.quota, zoomapi.DailyQuota(zoomapi.Plan(tt.plan)))
			b.zoom.SpendByOtherApps(tt.others, tt.quota-1)

			_, err := b.client.ReportMeeting(t.Context(), uuid)
			require.NoError(t, err, "the quota's last call")
			_, err = b.client.ReportMeeting(t.Context(), uuid)
			requireOnly(t, err, zoomapi.ErrDailyQuota)
			var qe *zoomapi.QuotaError
			require.ErrorAs(t, err, &qe)
			require.Equal(t, "Heavy", qe.Category)
			require.Equal(t, reset, qe.Until)
			require.False(t, qe.FailedFast)
			sent := len(b.requests(t))

			_, err = b.client.DashboardMeeting(t.Context(), uuid, zoomapi.DashboardPast)
			require.ErrorAs(t, err, &qe, "the shared total stops Resource-intensive calls too")
			require.True(t, qe.FailedFast)
			require.Len(t, b.requests(t), sent)
			_, err = b.client.GetMeeting(t.Context(), 81234567890)
			require.NoError(t, err, "Light calls have no daily quota on paid plans")

			b.clock.Set(reset)
			_, err = b.client.ReportMeeting(t.Context(), uuid)
			require.NoError(t, err, "a new UTC day")
		})
	}
}
