package meetings

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// CreateMeeting creates a meeting, or returns the meeting an earlier request
// with the same ClientRequestToken created while that meeting is active. A
// repeat with other parameters gets ConflictException.
func (s *Service) CreateMeeting(ctx context.Context, c Caller, in *model.CreateMeetingInput) (*model.Meeting, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var m store.Meeting
	err := s.write(ctx, "CreateMeeting", func(w store.Writer) error {
		var err error
		m, err = s.createMeeting(w, c, in)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.meetingView(&m), nil
}

// CreateMeetingWithAttendees creates a meeting and its first attendees in one
// transaction; attendees that cannot be created are reported in Errors.
func (s *Service) CreateMeetingWithAttendees(ctx context.Context, c Caller, in *model.CreateMeetingWithAttendeesInput) (*model.CreateMeetingWithAttendeesOutput, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var m store.Meeting
	job, err := s.newJob(ctx, c, "", in.Attendees)
	if err != nil {
		return nil, err
	}
	err = s.write(ctx, "CreateMeetingWithAttendees", func(w store.Writer) error {
		var err error
		if m, err = s.createMeeting(w, c, &in.CreateMeetingInput); err != nil {
			return err
		}
		job.meetingID = m.ID
		return s.addAttendees(w, []*attendeeJob{job}, map[string]*store.Meeting{m.ID: &m})
	})
	if err == nil {
		err = job.err
	}
	if err != nil {
		return nil, err
	}
	attendees, errs, err := s.outcomes(job)
	if err != nil {
		return nil, err
	}
	return &model.CreateMeetingWithAttendeesOutput{Meeting: s.meetingView(&m), Attendees: attendees, Errors: errs}, nil
}

// paramsHash digests the creation parameters other than the token, so that a
// repeat can be told apart from a different request with the same token.
func paramsHash(in *model.CreateMeetingInput) string {
	p := *in
	p.ClientRequestToken = ""
	b, _ := json.Marshal(&p) // plain data: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (s *Service) createMeeting(w store.Writer, c Caller, in *model.CreateMeetingInput) (store.Meeting, error) {
	hash := paramsHash(in)
	if s.cfg.MaxActiveMeetings > 0 {
		// Before the token is looked up: a repeat racing its original must
		// find the meeting the original made, not count it against the limit.
		if err := w.LockAccountMeetings(c.AccountID); err != nil {
			return store.Meeting{}, err
		}
	}
	existing, err := w.MeetingByToken(c.AccountID, c.Region, in.ClientRequestToken)
	switch {
	case err == nil && existing.ParamsHash == hash:
		return existing, nil
	case err == nil:
		return store.Meeting{}, apierr.New(apierr.Conflict,
			"ClientRequestToken was already used to create meeting %s with different parameters; use a new token for a new meeting", existing.ID)
	case !errors.Is(err, store.ErrNotFound):
		return store.Meeting{}, err
	}

	primaryID := normalizeID(in.PrimaryMeetingId)
	if primaryID != "" {
		if err := s.checkPrimary(w, c, primaryID); err != nil {
			return store.Meeting{}, err
		}
	}
	if s.cfg.MaxActiveMeetings > 0 {
		active, err := w.CountActiveMeetings(c.AccountID, c.Region, s.cfg.MaxActiveMeetings)
		if err != nil {
			return store.Meeting{}, err
		}
		if active >= s.cfg.MaxActiveMeetings {
			return store.Meeting{}, apierr.New(apierr.LimitExceeded,
				"The account has reached its limit of %d active meetings", s.cfg.MaxActiveMeetings)
		}
	}

	now := s.nowUTC()
	m := store.Meeting{
		ID:                 s.newID(),
		AccountID:          c.AccountID,
		APIRegion:          c.Region,
		ClientRequestToken: in.ClientRequestToken,
		ParamsHash:         hash,
		ExternalMeetingID:  in.ExternalMeetingId,
		MeetingHostID:      in.MeetingHostId,
		MediaRegion:        in.MediaRegion,
		PrimaryMeetingID:   primaryID,
		MaxAttendees:       s.maxAttendees(in.MeetingFeatures),
		Details: store.MeetingDetails{
			TenantIDs:     in.TenantIds,
			Features:      in.MeetingFeatures,
			Notifications: in.NotificationsConfiguration,
			NetworkType:   in.MediaPlacementNetworkType,
		},
		CreatedAt:    now,
		LastActiveAt: now,
	}
	if err := w.InsertMeeting(&m); err != nil {
		if errors.Is(err, store.ErrDuplicate) {
			// Another transaction took the token between our read and insert
			// (possible on PostgreSQL): run again and find its meeting.
			return store.Meeting{}, errRetry
		}
		return store.Meeting{}, err
	}
	if len(in.Tags) > 0 {
		if err := w.PutTags(m.ID, in.Tags); err != nil {
			return store.Meeting{}, err
		}
	}
	if err := s.emit(w, &m, s.event(events.MeetingStarted, &m, nil)); err != nil {
		return store.Meeting{}, err
	}
	return m, nil
}

func (s *Service) checkPrimary(w store.Writer, c Caller, primaryID string) error {
	p, err := w.LockMeeting(c.AccountID, primaryID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !c.sees(&p)) {
		return apierr.BadRequestf("Primary meeting <%s> not found", primaryID)
	}
	if err != nil {
		return err
	}
	if p.PrimaryMeetingID != "" {
		return apierr.BadRequestf("Meeting <%s> is a replica meeting and cannot be a primary meeting", primaryID)
	}
	replicas, err := w.ActiveReplicas(primaryID)
	if err != nil {
		return err
	}
	if len(replicas) >= s.cfg.MaxReplicas {
		return apierr.New(apierr.LimitExceeded, "Primary meeting <%s> already has the maximum of %d replica meetings", primaryID, s.cfg.MaxReplicas)
	}
	return nil
}

// maxAttendees is the ceiling of a new meeting: the configured quota, lowered
// by MeetingFeatures.Attendee.MaxCount (validation has already held FHD and
// UHD meetings to their lower ceiling).
func (s *Service) maxAttendees(f *model.MeetingFeaturesConfiguration) int {
	n := s.cfg.MaxAttendees
	if f != nil && f.Attendee != nil && f.Attendee.MaxCount != nil {
		n = min(n, *f.Attendee.MaxCount)
	}
	return n
}

// GetMeeting returns an active meeting of the caller's account.
func (s *Service) GetMeeting(ctx context.Context, c Caller, in *model.GetMeetingInput) (*model.Meeting, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out *model.Meeting
	err := s.view(ctx, "GetMeeting", func(r store.Reader) error {
		m, err := activeMeeting(r, c, normalizeID(in.MeetingId))
		if err != nil {
			return err
		}
		out = s.meetingView(&m)
		return nil
	})
	return out, err
}

// DeleteMeeting ends a meeting, removes its attendees (voiding their join
// tokens) and ends its replicas.
func (s *Service) DeleteMeeting(ctx context.Context, c Caller, in *model.DeleteMeetingInput) error {
	if err := in.Validate(); err != nil {
		return err
	}
	return s.write(ctx, "DeleteMeeting", func(w store.Writer) error {
		m, err := lockActiveMeeting(w, c, normalizeID(in.MeetingId))
		if err != nil {
			return err
		}
		return s.endMeeting(w, &m, store.EndDeleted)
	})
}

// endMeeting ends a meeting and, if it is a primary, its replicas: each
// removed attendee is reported deleted, then the meeting ended.
func (s *Service) endMeeting(w store.Writer, m *store.Meeting, reason store.EndReason) error {
	if err := s.endOne(w, m, reason); err != nil {
		return err
	}
	if m.PrimaryMeetingID != "" {
		return nil
	}
	replicas, err := w.ActiveReplicas(m.ID)
	if err != nil {
		return err
	}
	for _, id := range replicas {
		r, err := w.LockMeeting(m.AccountID, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if err := s.endOne(w, &r, store.EndPrimaryEnded); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) endOne(w store.Writer, m *store.Meeting, reason store.EndReason) error {
	now := s.nowUTC()
	removed, err := w.EndMeeting(m.ID, now, reason)
	if err != nil {
		return err
	}
	evs := make([]*store.Event, 0, len(removed)+1)
	for i := range removed {
		evs = append(evs, events.New(events.AttendeeDeleted, m, attendeeRef(&removed[i]), now))
	}
	return s.emit(w, m, append(evs, events.New(events.MeetingEnded, m, nil, now))...)
}

// errRetry asks write to run a transaction again.
var errRetry = errors.New("meetings: retry transaction")

// write runs fn in a store transaction, retrying once when fn asks to, and
// wakes the event consumers after a commit.
func (s *Service) write(ctx context.Context, op string, fn func(store.Writer) error) error {
	err := s.store.Write(ctx, fn)
	if errors.Is(err, errRetry) {
		err = s.store.Write(ctx, fn)
	}
	if err == nil {
		s.notify()
	}
	if errors.Is(err, errRetry) {
		err = apierr.New(apierr.Conflict, "A concurrent request changed the same resource; retry the request")
	}
	return s.storeErr(ctx, op, err)
}

func (s *Service) view(ctx context.Context, op string, fn func(store.Reader) error) error {
	return s.storeErr(ctx, op, s.store.View(ctx, fn))
}
