package meetings

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// RecordAttendeeEvent writes an event that the media plane raises about an
// attendee of an active meeting (joined, left, dropped, video started, ...),
// in the same outbox as every other event. attendeeID may carry the
// "#content" suffix of a content-share session.
func (s *Service) RecordAttendeeEvent(ctx context.Context, meetingID, attendeeID, eventType string) error {
	if !events.IsMediaType(eventType) {
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
		id := model.BaseAttendeeID(normalizeID(attendeeID))
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

// MarkActive records that attendees were connected to a meeting at a time,
// so that no replica's lifecycle ends it as idle. The media plane calls it
// while a meeting it hosts has someone connected: the presence source of
// another replica does not know about them.
func (s *Service) MarkActive(ctx context.Context, meetingID string, at time.Time) error {
	return s.touch(ctx, normalizeID(meetingID), at.UTC())
}
