package api

import (
	"net/url"
	"slices"
	"strings"
)

// route is one operation of the API: its method, its path (segments in
// braces are parameters), the value `?operation=` must have (if any), and
// the function that serves it.
type route struct {
	method    string
	path      []string
	operation string
	name      string
	serve     opFunc
}

func r(method, path, operation, name string, serve opFunc) route {
	return route{method: method, path: strings.Split(strings.Trim(path, "/"), "/"), operation: operation, name: name, serve: serve}
}

// apiRoutes is the API, one line per operation, as the model declares it.
// Several operations share a path and differ only by `?operation=`, which
// http.ServeMux patterns cannot express.
func apiRoutes() []route {
	return []route{
		r("POST", "/meetings", "create-attendees", "CreateMeetingWithAttendees", createMeetingWithAttendees),
		r("POST", "/meetings", "", "CreateMeeting", createMeeting),
		r("GET", "/meetings/{MeetingId}", "", "GetMeeting", getMeeting),
		r("DELETE", "/meetings/{MeetingId}", "", "DeleteMeeting", deleteMeeting),
		r("POST", "/meetings/{MeetingId}/attendees", "batch-create", "BatchCreateAttendee", batchCreateAttendee),
		r("POST", "/meetings/{MeetingId}/attendees", "", "CreateAttendee", createAttendee),
		r("GET", "/meetings/{MeetingId}/attendees", "", "ListAttendees", listAttendees),
		r("PUT", "/meetings/{MeetingId}/attendees/capabilities", "batch-update-except", "BatchUpdateAttendeeCapabilitiesExcept", batchUpdateAttendeeCapabilitiesExcept),
		r("GET", "/meetings/{MeetingId}/attendees/{AttendeeId}", "", "GetAttendee", getAttendee),
		r("DELETE", "/meetings/{MeetingId}/attendees/{AttendeeId}", "", "DeleteAttendee", deleteAttendee),
		r("PUT", "/meetings/{MeetingId}/attendees/{AttendeeId}/capabilities", "", "UpdateAttendeeCapabilities", updateAttendeeCapabilities),
		r("POST", "/meetings/{MeetingId}/transcription", "start", "StartMeetingTranscription", startMeetingTranscription),
		r("POST", "/meetings/{MeetingId}/transcription", "stop", "StopMeetingTranscription", stopMeetingTranscription),
		r("POST", "/tags", "tag-resource", "TagResource", tagResource),
		r("POST", "/tags", "untag-resource", "UntagResource", untagResource),
		r("GET", "/tags", "", "ListTagsForResource", listTagsForResource),
	}
}

// pathParams are the values of a route's path parameters.
type pathParams struct {
	meetingID, attendeeID string
}

// match binds the request path to the route's path, or reports false.
func (rt *route) match(segments []string) (pathParams, bool) {
	var p pathParams
	if len(segments) != len(rt.path) {
		return p, false
	}
	for i, want := range rt.path {
		switch want {
		case "{MeetingId}":
			p.meetingID = segments[i]
		case "{AttendeeId}":
			p.attendeeID = segments[i]
		default:
			if segments[i] != want {
				return p, false
			}
		}
	}
	return p, true
}

// resolve finds the route of a request. A route with an operation literal
// wins over one without; an unknown literal falls back to the route without
// one, as a Smithy router does. When no route matches but the path exists,
// allowed lists the methods it supports.
func resolve(routes []route, method string, u *url.URL) (rt *route, p pathParams, allowed []string) {
	segments, ok := splitPath(u)
	if !ok {
		return nil, p, nil
	}
	op := u.Query().Get("operation")
	var fallback *route
	var fallbackParams pathParams
	for i := range routes {
		candidate := &routes[i]
		params, ok := candidate.match(segments)
		if !ok {
			continue
		}
		if !slices.Contains(allowed, candidate.method) {
			allowed = append(allowed, candidate.method)
		}
		if candidate.method != method {
			continue
		}
		switch candidate.operation {
		case op:
			return candidate, params, nil
		case "":
			if fallback == nil {
				fallback, fallbackParams = candidate, params
			}
		}
	}
	if fallback != nil {
		return fallback, fallbackParams, nil
	}
	return nil, p, allowed
}

// splitPath returns the unescaped segments of the request path.
func splitPath(u *url.URL) ([]string, bool) {
	raw := strings.TrimPrefix(u.EscapedPath(), "/")
	if raw == "" {
		return []string{""}, true
	}
	segments := strings.Split(raw, "/")
	for i, s := range segments {
		v, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		segments[i] = v
	}
	return segments, true
}
