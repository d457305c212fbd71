package zoomapi

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Endpoint templates: the values of Error.Endpoint and of the "endpoint"
// metric label. Concrete IDs never appear in either.
const (
	EndpointUsers                        = "/users"
	EndpointMeeting                      = "/meetings/{meetingId}"
	EndpointPastMeeting                  = "/past_meetings/{meetingUUID}"
	EndpointPastMeetingInstances         = "/past_meetings/{meetingId}/instances"
	EndpointPastMeetingParticipants      = "/past_meetings/{meetingUUID}/participants"
	EndpointPastWebinarParticipants      = "/past_webinars/{webinarUUID}/participants"
	EndpointReportMeeting                = "/report/meetings/{meetingUUID}"
	EndpointReportMeetingParticipants    = "/report/meetings/{meetingUUID}/participants"
	EndpointReportWebinarParticipants    = "/report/webinars/{webinarUUID}/participants"
	EndpointReportUserMeetings           = "/report/users/{userId}/meetings"
	EndpointDashboardMeetings            = "/metrics/meetings"
	EndpointDashboardMeetingParticipants = "/metrics/meetings/{meetingUUID}/participants"
	EndpointDashboardWebinars            = "/metrics/webinars"
)

// endpoints lists every template, for pre-creating metric series.
func endpoints() []string {
	return []string{
		EndpointUsers, EndpointMeeting, EndpointPastMeeting, EndpointPastMeetingInstances,
		EndpointPastMeetingParticipants, EndpointPastWebinarParticipants, EndpointReportMeeting,
		EndpointReportMeetingParticipants, EndpointReportWebinarParticipants,
		EndpointReportUserMeetings, EndpointDashboardMeetings,
		EndpointDashboardMeetingParticipants, EndpointDashboardWebinars,
	}
}

// defaultCategory is each endpoint's rate-limit label from
// zoom-platform.md §5, used to fail fast on a daily quota before Zoom has told
// us the category in an X-RateLimit-Category header.
func defaultCategory(endpoint string) string {
	switch endpoint {
	case EndpointMeeting, EndpointPastMeeting:
		return "Light"
	case EndpointUsers, EndpointPastMeetingInstances, EndpointPastMeetingParticipants, EndpointPastWebinarParticipants:
		return "Medium"
	default:
		return "Heavy"
	}
}

var errEmptyUUID = errors.New("zoomapi: empty meeting UUID")

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
		return "", errEmptyUUID
	}
	return prefix + escapeUUID(uuid) + suffix, nil
}

// idPath builds prefix + meeting number + suffix.
func idPath(prefix string, id int64, suffix string) (string, error) {
	if id <= 0 {
		return "", fmt.Errorf("zoomapi: meeting ID %d is not positive", id)
	}
	return prefix + strconv.FormatInt(id, 10) + suffix, nil
}
