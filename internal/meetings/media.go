package meetings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/store"
)

// RecordAttendeeEvent writes an event that the media plane raises about an
// attendee of an active meeting (joined, left, dropped, video started, ...),
// in the same outbox as every other event. attendeeID may carry the
// "#content" suffix of a content-share session.
func (s *Service) RecordAttendeeEvent(ctx context.Context, meetingID, attendeeID, eventType string) error {
	if !slices.Contains(events.MediaTypes(), eventType) {
		return fmt.Errorf("meetings: %q is not a media-plane event", eventType)
	}
	return s.write(ctx, "RecordAttendeeEvent", func(w store.Writer) error {
		m, err := w.MeetingByID(normalizeID(meetingID))
		if errors.Is(err, store.ErrNotFound) || (err == nil && !m.Active()) {
			return meetingNotFound(meetingID)
		}
		if err != nil {
			return err
		}
		id, _ := strings.CutSuffix(normalizeID(attendeeID), "#content")
		a, err := w.Attendee(m.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return attendeeNotFound(attendeeID)
		}
		if err != nil {
			return err
		}
		return s.emit(w, &m, s.event(eventType, &m, attendeeRef(&a)))
	})
}
