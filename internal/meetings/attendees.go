package meetings

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/token"
)

// CreateAttendee adds an attendee to an active meeting. ExternalUserId is an
// idempotency key within the meeting: a repeat returns the existing attendee
// with the same AttendeeId and JoinToken, whatever capabilities it asks for.
func (s *Service) CreateAttendee(ctx context.Context, c Caller, in *model.CreateAttendeeInput) (*model.Attendee, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out model.Attendee
	err := s.write(ctx, "CreateAttendee", func(w store.Writer) error {
		m, err := lockActiveMeeting(w, c.AccountID, normalizeID(in.MeetingId))
		if err != nil {
			return err
		}
		a, err := s.addAttendee(w, &m, in.ExternalUserId, in.Capabilities)
		if err != nil {
			return err
		}
		out, err = s.attendeeView(&a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// BatchCreateAttendee adds up to 100 attendees; each one that cannot be added
// is reported in Errors while the others are added.
func (s *Service) BatchCreateAttendee(ctx context.Context, c Caller, in *model.BatchCreateAttendeeInput) (*model.BatchCreateAttendeeOutput, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out model.BatchCreateAttendeeOutput
	err := s.write(ctx, "BatchCreateAttendee", func(w store.Writer) error {
		m, err := lockActiveMeeting(w, c.AccountID, normalizeID(in.MeetingId))
		if err != nil {
			return err
		}
		out.Attendees, out.Errors, err = s.createAttendees(w, &m, in.Attendees)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// createAttendees adds a list of attendees to a locked meeting. A client
// error for one attendee goes into the returned list; any other error fails
// the whole transaction.
func (s *Service) createAttendees(w store.Writer, m *store.Meeting, items []model.CreateAttendeeRequestItem) ([]model.Attendee, []model.CreateAttendeeError, error) {
	attendees := make([]model.Attendee, 0, len(items))
	errs := []model.CreateAttendeeError{}
	for _, item := range items {
		a, err := s.addAttendee(w, m, item.ExternalUserId, item.Capabilities)
		var ae *apierr.Error
		if errors.As(err, &ae) {
			errs = append(errs, model.CreateAttendeeError{
				ExternalUserId: item.ExternalUserId,
				ErrorCode:      ae.Kind.Code(),
				ErrorMessage:   ae.Message,
			})
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		v, err := s.attendeeView(&a)
		if err != nil {
			return nil, nil, err
		}
		attendees = append(attendees, v)
	}
	return attendees, errs, nil
}

// addAttendee returns the meeting's attendee with externalUserID, creating it
// if there is none. m must be locked by the transaction; its AttendeeCount
// is kept current so that a batch counts its own additions.
func (s *Service) addAttendee(w store.Writer, m *store.Meeting, externalUserID string, caps *model.AttendeeCapabilities) (store.Attendee, error) {
	existing, err := w.AttendeeByExternalID(m.ID, externalUserID)
	if err == nil {
		return existing, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return store.Attendee{}, err
	}
	resolved, err := resolveCapabilities(caps, m.Details.Features)
	if err != nil {
		return store.Attendee{}, err
	}
	if m.AttendeeCount >= m.MaxAttendees {
		return store.Attendee{}, apierr.New(apierr.LimitExceeded,
			"Meeting <%s> has reached its maximum of %d attendees", m.ID, m.MaxAttendees)
	}
	salt, err := token.NewSalt()
	if err != nil {
		return store.Attendee{}, err
	}
	a := store.Attendee{
		ID:             s.newID(),
		MeetingID:      m.ID,
		AccountID:      m.AccountID,
		ExternalUserID: externalUserID,
		Capabilities:   resolved,
		TokenKeyID:     s.keys.ActiveID(),
		TokenSalt:      salt,
		CreatedAt:      s.nowUTC(),
	}
	if err := w.InsertAttendee(&a); err != nil {
		return store.Attendee{}, err
	}
	m.AttendeeCount++
	if err := s.emit(w, events.AttendeeAdded, m, attendeeRef(&a)); err != nil {
		return store.Attendee{}, err
	}
	return a, nil
}

// GetAttendee returns an attendee of an active meeting.
func (s *Service) GetAttendee(ctx context.Context, c Caller, in *model.GetAttendeeInput) (*model.Attendee, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out model.Attendee
	err := s.view(ctx, "GetAttendee", func(r store.Reader) error {
		m, err := activeMeeting(r, c.AccountID, normalizeID(in.MeetingId))
		if err != nil {
			return err
		}
		a, err := r.Attendee(m.ID, normalizeID(in.AttendeeId))
		if errors.Is(err, store.ErrNotFound) {
			return attendeeNotFound(in.AttendeeId)
		}
		if err != nil {
			return err
		}
		out, err = s.attendeeView(&a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// defaultPageSize is the page size of ListAttendees without MaxResults.
const defaultPageSize = 100

// ListAttendees pages through a meeting's attendees in the order they were
// added. The NextToken is sealed (it cannot be forged or used for another
// meeting or account) and holds the position after the last attendee
// returned: attendees added or removed meanwhile never shift a page, and
// every attendee present throughout the listing appears exactly once.
func (s *Service) ListAttendees(ctx context.Context, c Caller, in *model.ListAttendeesInput) (*model.ListAttendeesOutput, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	meetingID := normalizeID(in.MeetingId)
	scope := "ListAttendees\x00" + c.AccountID + "\x00" + meetingID
	var after int64
	if in.NextToken != "" {
		payload, err := s.keys.OpenCursor(scope, in.NextToken)
		if err != nil || len(payload) != 8 {
			return nil, apierr.BadRequestf("Invalid NextToken: it was not issued for this listing")
		}
		after = int64(binary.BigEndian.Uint64(payload))
	}
	limit := defaultPageSize
	if in.MaxResults != nil {
		limit = *in.MaxResults
	}
	out := &model.ListAttendeesOutput{Attendees: []model.Attendee{}}
	err := s.view(ctx, "ListAttendees", func(r store.Reader) error {
		m, err := activeMeeting(r, c.AccountID, meetingID)
		if err != nil {
			return err
		}
		page, err := r.Attendees(m.ID, after, limit+1)
		if err != nil {
			return err
		}
		more := len(page) > limit
		if more {
			page = page[:limit]
		}
		for i := range page {
			v, err := s.attendeeView(&page[i])
			if err != nil {
				return err
			}
			out.Attendees = append(out.Attendees, v)
		}
		if more {
			out.NextToken = s.keys.SealCursor(scope, binary.BigEndian.AppendUint64(nil, uint64(page[len(page)-1].Seq)))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteAttendee removes an attendee; its join token stops working at once.
func (s *Service) DeleteAttendee(ctx context.Context, c Caller, in *model.DeleteAttendeeInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	return s.write(ctx, "DeleteAttendee", func(w store.Writer) error {
		m, err := lockActiveMeeting(w, c.AccountID, normalizeID(in.MeetingId))
		if err != nil {
			return err
		}
		a, err := w.Attendee(m.ID, normalizeID(in.AttendeeId))
		if errors.Is(err, store.ErrNotFound) {
			return attendeeNotFound(in.AttendeeId)
		}
		if err != nil {
			return err
		}
		if err := w.DeleteAttendee(m.ID, a.ID); err != nil {
			return err
		}
		return s.emit(w, events.AttendeeDeleted, &m, attendeeRef(&a))
	})
}

// UpdateAttendeeCapabilities sets one attendee's capabilities.
func (s *Service) UpdateAttendeeCapabilities(ctx context.Context, c Caller, in *model.UpdateAttendeeCapabilitiesInput) (*model.Attendee, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out model.Attendee
	err := s.write(ctx, "UpdateAttendeeCapabilities", func(w store.Writer) error {
		m, err := lockActiveMeeting(w, c.AccountID, normalizeID(in.MeetingId))
		if err != nil {
			return err
		}
		a, err := w.Attendee(m.ID, normalizeID(in.AttendeeId))
		if errors.Is(err, store.ErrNotFound) {
			return attendeeNotFound(in.AttendeeId)
		}
		if err != nil {
			return err
		}
		if err := checkCapabilities(*in.Capabilities, m.Details.Features); err != nil {
			return err
		}
		if err := w.UpdateCapabilities(m.ID, a.ID, *in.Capabilities); err != nil {
			return err
		}
		a.Capabilities = *in.Capabilities
		if err := s.emit(w, events.AttendeeCapabilitiesUpdated, &m, attendeeRef(&a)); err != nil {
			return err
		}
		out, err = s.attendeeView(&a)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// BatchUpdateAttendeeCapabilitiesExcept sets the capabilities of every
// attendee of the meeting but the excluded ones. Excluded IDs that name no
// attendee are ignored.
func (s *Service) BatchUpdateAttendeeCapabilitiesExcept(ctx context.Context, c Caller, in *model.BatchUpdateAttendeeCapabilitiesExceptInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	excluded := make([]string, 0, len(in.ExcludedAttendeeIds))
	for _, item := range in.ExcludedAttendeeIds {
		excluded = append(excluded, normalizeID(item.AttendeeId))
	}
	return s.write(ctx, "BatchUpdateAttendeeCapabilitiesExcept", func(w store.Writer) error {
		m, err := lockActiveMeeting(w, c.AccountID, normalizeID(in.MeetingId))
		if err != nil {
			return err
		}
		if err := checkCapabilities(*in.Capabilities, m.Details.Features); err != nil {
			return err
		}
		// The ceiling bounds a meeting's attendees, so one read finds them all.
		all, err := w.Attendees(m.ID, 0, m.MaxAttendees+1)
		if err != nil {
			return err
		}
		if err := w.UpdateCapabilitiesExcept(m.ID, excluded, *in.Capabilities); err != nil {
			return err
		}
		for i := range all {
			if slices.Contains(excluded, all[i].ID) {
				continue
			}
			all[i].Capabilities = *in.Capabilities
			if err := s.emit(w, events.AttendeeCapabilitiesUpdated, &m, attendeeRef(&all[i])); err != nil {
				return err
			}
		}
		return nil
	})
}
