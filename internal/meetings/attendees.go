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
	var res []added
	err := s.write(ctx, "CreateAttendee", func(w store.Writer) error {
		m, err := lockActiveMeeting(w, c.AccountID, normalizeID(in.MeetingId))
		if err != nil {
			return err
		}
		res, err = s.addAttendees(w, &m, []model.CreateAttendeeRequestItem{{ExternalUserId: in.ExternalUserId, Capabilities: in.Capabilities}})
		return err
	})
	if err != nil {
		return nil, err
	}
	if res[0].err != nil {
		return nil, res[0].err
	}
	v, err := s.attendeeView(&res[0].attendee)
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// BatchCreateAttendee adds up to 100 attendees; each one that cannot be added
// is reported in Errors while the others are added.
func (s *Service) BatchCreateAttendee(ctx context.Context, c Caller, in *model.BatchCreateAttendeeInput) (*model.BatchCreateAttendeeOutput, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var res []added
	err := s.write(ctx, "BatchCreateAttendee", func(w store.Writer) error {
		m, err := lockActiveMeeting(w, c.AccountID, normalizeID(in.MeetingId))
		if err != nil {
			return err
		}
		res, err = s.addAttendees(w, &m, in.Attendees)
		return err
	})
	if err != nil {
		return nil, err
	}
	attendees, errs, err := s.outcomes(res)
	if err != nil {
		return nil, err
	}
	return &model.BatchCreateAttendeeOutput{Attendees: attendees, Errors: errs}, nil
}

// added is what became of one requested attendee: the attendee, or the
// client error that kept it out.
type added struct {
	external string
	attendee store.Attendee
	err      *apierr.Error
}

// outcomes renders a batch's results: the attendees with their join tokens
// (derived here, outside the transaction), and the errors.
func (s *Service) outcomes(res []added) ([]model.Attendee, []model.CreateAttendeeError, error) {
	attendees := make([]model.Attendee, 0, len(res))
	errs := []model.CreateAttendeeError{}
	for i := range res {
		if e := res[i].err; e != nil {
			errs = append(errs, model.CreateAttendeeError{ExternalUserId: res[i].external, ErrorCode: e.Kind.Code(), ErrorMessage: e.Message})
			continue
		}
		v, err := s.attendeeView(&res[i].attendee)
		if err != nil {
			return nil, nil, err
		}
		attendees = append(attendees, v)
	}
	return attendees, errs, nil
}

// addAttendees adds the requested attendees to a meeting the transaction
// has locked, in a few statements whatever their number: one read finds
// the ExternalUserIds the meeting has, one insert adds the new attendees,
// one more their events. A repeated ExternalUserId (also within the list)
// gets the existing attendee; an attendee that breaks a capability rule or
// finds the meeting full gets its error; the others are added. m's count
// is kept current.
func (s *Service) addAttendees(w store.Writer, m *store.Meeting, items []model.CreateAttendeeRequestItem) ([]added, error) {
	names := make([]string, 0, len(items))
	seen := make(map[string]bool, len(items))
	for _, it := range items {
		if !seen[it.ExternalUserId] {
			seen[it.ExternalUserId] = true
			names = append(names, it.ExternalUserId)
		}
	}
	existing, err := w.AttendeesByExternalIDs(m.ID, names)
	if err != nil {
		return nil, err
	}
	known := make(map[string]*store.Attendee, len(items))
	for i := range existing {
		known[existing[i].ExternalUserID] = &existing[i]
	}
	out := make([]added, len(items))
	var fresh []*store.Attendee
	keyID, now := s.keys.ActiveID(), s.nowUTC()
	for i, it := range items {
		out[i].external = it.ExternalUserId
		if a := known[it.ExternalUserId]; a != nil {
			continue // filled in below, once new attendees have their Seq
		}
		caps, err := resolveCapabilities(it.Capabilities, m.Details.Features)
		if err != nil {
			out[i].err = apierr.As(err)
			continue
		}
		if m.AttendeeCount+len(fresh) >= m.MaxAttendees {
			out[i].err = apierr.New(apierr.LimitExceeded, "Meeting <%s> has reached its maximum of %d attendees", m.ID, m.MaxAttendees)
			continue
		}
		salt, err := token.NewSalt()
		if err != nil {
			return nil, err
		}
		a := &store.Attendee{ID: s.newID(), MeetingID: m.ID, AccountID: m.AccountID, ExternalUserID: it.ExternalUserId,
			Capabilities: caps, TokenKeyID: keyID, TokenSalt: salt, CreatedAt: now}
		fresh = append(fresh, a)
		known[it.ExternalUserId] = a
	}
	if len(fresh) > 0 {
		if err := w.InsertAttendees(fresh); err != nil {
			if errors.Is(err, store.ErrDuplicate) {
				return nil, errRetry // taken meanwhile; cannot happen under the meeting's lock
			}
			return nil, err
		}
		m.AttendeeCount += len(fresh)
		evs := make([]*store.Event, len(fresh))
		for i, a := range fresh {
			evs[i] = events.New(events.AttendeeAdded, m, attendeeRef(a), now)
		}
		if err := w.AppendEvents(evs, s.routes.For(m)); err != nil {
			return nil, err
		}
	}
	for i := range out {
		if out[i].err == nil {
			out[i].attendee = *known[out[i].external]
		}
	}
	return out, nil
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
		return s.emit(w, &m, s.event(events.AttendeeDeleted, &m, attendeeRef(&a)))
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
		if err := s.emit(w, &m, s.event(events.AttendeeCapabilitiesUpdated, &m, attendeeRef(&a))); err != nil {
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
		var evs []*store.Event
		for i := range all {
			if slices.Contains(excluded, all[i].ID) {
				continue
			}
			all[i].Capabilities = *in.Capabilities
			evs = append(evs, s.event(events.AttendeeCapabilitiesUpdated, &m, attendeeRef(&all[i])))
		}
		if len(evs) == 0 {
			return nil
		}
		return s.emit(w, &m, evs...)
	})
}
