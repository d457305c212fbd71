package zoomapi

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Endpoint templates: the values of Error.Endpoint and of the "endpoint"
// metric label. Concrete IDs never appear in either. Each one's rate-limit
// label and page-size cap are in limits.go's table.
const (
	EndpointUsers                        = "/users"
	EndpointMeeting                      = "/meetings/{meetingId}"
	EndpointPastMeeting                  = "/past_meetings/{meetingUUID}"
	EndpointPastMeetingInstances         = "/past_meetings/{meetingId}/instances"
	EndpointPastMeetingParticipants      = "/past_meetings/{meetingUUID}/participants"
	EndpointWebinar                      = "/webinars/{webinarId}"
	EndpointPastWebinarInstances         = "/past_webinars/{webinarId}/instances"
	EndpointPastWebinarParticipants      = "/past_webinars/{webinarUUID}/participants"
	EndpointReportMeeting                = "/report/meetings/{meetingUUID}"
	EndpointReportMeetingParticipants    = "/report/meetings/{meetingUUID}/participants"
	EndpointReportWebinar                = "/report/webinars/{webinarUUID}"
	EndpointReportWebinarParticipants    = "/report/webinars/{webinarUUID}/participants"
	EndpointReportUserMeetings           = "/report/users/{userId}/meetings"
	EndpointReportUsers                  = "/report/users"
	EndpointDashboardMeetings            = "/metrics/meetings"
	EndpointDashboardMeeting             = "/metrics/meetings/{meetingUUID}"
	EndpointDashboardMeetingParticipants = "/metrics/meetings/{meetingUUID}/participants"
	EndpointDashboardWebinars            = "/metrics/webinars"
	EndpointDashboardWebinar             = "/metrics/webinars/{webinarUUID}"
	EndpointDashboardWebinarParticipants = "/metrics/webinars/{webinarUUID}/participants"
)

var (
	errEmptyUUID        = errors.New("zoomapi: empty meeting UUID")
	errEmptyWebinarUUID = errors.New("zoomapi: empty webinar UUID")
)

// kindOf names what a path prefix addresses, for argument errors.
func kindOf(prefix string) string {
	if strings.Contains(prefix, "webinar") {
		return "webinar"
	}
	return "meeting"
}

// escapeUUID encodes a meeting or webinar UUID for a path segment
// (zoom-platform.md §5 "UUIDs in paths"): every byte outside A-Z a-z 0-9 - . _ ~
// is percent-encoded, so "+" "=" "/" become %2B %3D %2F (url.PathEscape
// would leave "+" and "=" alone). A UUID that begins with "/" or contains
// "//" is encoded twice, which Zoom requires for those.
func escapeUUID(uuid string) string {
	s := escapeSegment(uuid)
	if strings.HasPrefix(uuid, "/") || strings.Contains(uuid, "//") {
		s = escapeSegment(s)
	}
	return s
}

func escapeSegment(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// uuidPath builds prefix + escaped UUID + suffix.
func uuidPath(prefix, uuid, suffix string) (string, error) {
	if uuid == "" {
		if kindOf(prefix) == "webinar" {
			return "", errEmptyWebinarUUID
		}
		return "", errEmptyUUID
	}
	return prefix + escapeUUID(uuid) + suffix, nil
}

// idPath builds prefix + meeting (or webinar) number + suffix.
func idPath(prefix string, id int64, suffix string) (string, error) {
	if id <= 0 {
		return "", fmt.Errorf("zoomapi: %s ID %d is not positive", kindOf(prefix), id)
	}
	return prefix + strconv.FormatInt(id, 10) + suffix, nil
}
