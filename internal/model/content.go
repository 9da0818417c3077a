package model

import "strings"

// ContentSuffix ends the attendee ID of an attendee's content-share session
// ("<AttendeeId>#content"), and the join token it joins with.
const ContentSuffix = "#content"

// BaseAttendeeID is the attendee a session's attendee ID belongs to: the ID
// without the content-share suffix.
func BaseAttendeeID(id string) string {
	base, _ := strings.CutSuffix(id, ContentSuffix)
	return base
}
