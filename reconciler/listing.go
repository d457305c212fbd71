package reconciler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/zoomrecon/zoomrecon/store"
	"github.com/zoomrecon/zoomrecon/zoomapi"
)

// zoomMeeting is a meeting or webinar instance as Zoom's listing shows it.
type zoomMeeting struct {
	UUID    string
	ID      int64
	Topic   string
	HostID  string
	Webinar bool
	Start   time.Time
	End     time.Time // zero while live
	// Over says Zoom shows the instance is over without saying when: its
	// meeting number has moved on to a later instance.
	Over bool
}

// meetingType is how the store names what z is.
func (z zoomMeeting) meetingType() store.MeetingType {
	if z.Webinar {
		return store.TypeWebinar
	}
	return store.TypeMeeting
}

// list asks Zoom which meetings ran in the window: the dashboard's live and
// past lists where the plan has them, else every active user's past meetings
// from the report API (which cannot see live meetings). A listing that fails
// part-way is still used: it only ever adds evidence.
func (p *pass) list(ctx context.Context) map[string]zoomMeeting {
	out := map[string]zoomMeeting{}
	w := p.opts.Window
	if p.path == PathDashboard {
		err := p.listDashboard(ctx, w, out)
		if errors.Is(err, zoomapi.ErrPlanRequired) {
			p.path = PathReport
			p.logger.Warn("Zoom's dashboard API is not available on this account's plan; listing meetings per user from the report API, which cannot see live meetings",
				slog.Any("error", err))
		} else {
			if err != nil {
				p.listError(err)
			}
			return out
		}
	}
	if err := p.listReports(ctx, w, out); err != nil {
		p.listError(err)
	}
	return out
}

func (p *pass) listError(err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	p.res.Errors = append(p.res.Errors, fmt.Sprintf("listing meetings: %v", err))
	p.logger.Warn("could not list Zoom's meetings; the pass goes on with what it got", slog.Any("error", err))
}

// dashboardListings are what a Business account's dashboard lists: live,
// past and one-person meetings, and live and past webinars (a webinar has no
// one-person list, zoom-platform.md §5).
var dashboardListings = []struct {
	typ     zoomapi.DashboardType
	webinar bool
}{
	{zoomapi.DashboardLive, false}, {zoomapi.DashboardLive, true},
	{zoomapi.DashboardPast, false}, {zoomapi.DashboardPastOne, false}, {zoomapi.DashboardPast, true},
}

func (p *pass) listDashboard(ctx context.Context, w Window, out map[string]zoomMeeting) error {
	for _, l := range dashboardListings {
		rows, what := p.zoom.DashboardMeetings, "meetings"
		if l.webinar {
			rows, what = p.zoom.DashboardWebinars, "webinars"
		}
		for m, err := range rows(ctx, l.typ, w.Since, w.Until) {
			if err != nil {
				return fmt.Errorf("dashboard %s %s: %w", l.typ, what, err)
			}
			z := zoomMeeting{UUID: m.UUID, ID: m.ID, Topic: m.Topic, Webinar: l.webinar, Start: m.StartTime}
			if l.typ != zoomapi.DashboardLive {
				z.End = m.EndTime
			}
			if z.UUID == "" || !p.inWindow(z) {
				continue
			}
			out[z.UUID] = z
		}
	}
	return nil
}

func (p *pass) listReports(ctx context.Context, w Window, out map[string]zoomMeeting) error {
	var errs []error
	for u, err := range p.zoom.Users(ctx, "active") {
		if err != nil {
			return errors.Join(append(errs, fmt.Errorf("list users: %w", err))...)
		}
		for m, err := range p.zoom.ReportUserMeetings(ctx, u.ID, w.Since, w.Until) {
			if err != nil {
				if errors.Is(err, zoomapi.ErrDailyQuota) || ctx.Err() != nil {
					return errors.Join(append(errs, err)...)
				}
				errs = append(errs, fmt.Errorf("meetings of user %s: %w", u.ID, err))
				break
			}
			// Zoom lists the host's ended webinars here too (§10).
			z := zoomMeeting{UUID: m.UUID, ID: m.ID, Topic: m.Topic, HostID: u.ID, Webinar: m.Webinar(),
				Start: m.StartTime, End: m.EndTime}
			if z.UUID == "" || !p.inWindow(z) {
				continue
			}
			out[z.UUID] = z
		}
	}
	return errors.Join(errs...)
}

// inWindow keeps what ran during the window; Zoom's listings work in whole
// days (zoom-platform.md §5).
func (p *pass) inWindow(z zoomMeeting) bool {
	w := p.opts.Window
	if z.Start.After(w.Until) {
		return false
	}
	return z.End.IsZero() || !z.End.Before(w.Since)
}
