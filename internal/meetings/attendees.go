package meetings

import (
	"context"
	"encoding/binary"
	"errors"
	"slices"
	"sync"
	"time"

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
	job, err := s.newJob(ctx, c, normalizeID(in.MeetingId),
		[]model.CreateAttendeeRequestItem{{ExternalUserId: in.ExternalUserId, Capabilities: in.Capabilities}})
	if err != nil {
		return nil, err
	}
	if err := s.adder.submit(job); err != nil {
		return nil, err
	}
	if res := job.res[0]; res.err != nil {
		return nil, res.err
	}
	v, err := s.attendeeView(&job.res[0].attendee)
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
	job, err := s.newJob(ctx, c, normalizeID(in.MeetingId), in.Attendees)
	if err != nil {
		return nil, err
	}
	if err := s.adder.submit(job); err != nil {
		return nil, err
	}
	attendees, errs, err := s.outcomes(job)
	if err != nil {
		return nil, err
	}
	return &model.BatchCreateAttendeeOutput{Attendees: attendees, Errors: errs}, nil
}

// added is what became of one requested attendee (res[i] of items[i]):
// the attendee, or the client error that kept it out.
type added struct {
	attendee store.Attendee
	err      *apierr.Error
}

// outcomes renders a batch's results: the attendees with their join tokens
// (derived here, outside the transaction), and the errors.
func (s *Service) outcomes(j *attendeeJob) ([]model.Attendee, []model.CreateAttendeeError, error) {
	res := j.res
	attendees := make([]model.Attendee, 0, len(res))
	errs := []model.CreateAttendeeError{}
	for i := range res {
		if e := res[i].err; e != nil {
			errs = append(errs, model.CreateAttendeeError{ExternalUserId: j.items[i].ExternalUserId, ErrorCode: e.Kind.Code(), ErrorMessage: e.Message})
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

// attendeeJob is one request's attendees for one meeting, on its way
// through the adder.
type attendeeJob struct {
	ctx       context.Context
	caller    Caller
	meetingID string
	items     []model.CreateAttendeeRequestItem
	// ids and salts are what items[i] gets if it is a new attendee.
	ids   []string
	salts [][]byte
	// lookAlways makes a run again look its ExternalUserIds up even in a
	// meeting whose count says it is empty: the last run found one taken.
	lookAlways bool

	res  []added // one per item, when err is nil
	err  error   // the request's own failure (its meeting is gone, ...)
	done chan struct{}
}

// key names item i's attendee in its meeting.
func (j *attendeeJob) key(i int) store.AttendeeKey {
	return store.AttendeeKey{MeetingID: j.meetingID, ExternalUserID: j.items[i].ExternalUserId}
}

// newJob prepares a request's attendees. The ID and join-token salt each
// one gets if it is new are drawn here, on the caller's goroutine, rather
// than in the transaction, which on SQLite is the single writer's time.
func (s *Service) newJob(ctx context.Context, c Caller, meetingID string, items []model.CreateAttendeeRequestItem) (*attendeeJob, error) {
	j := &attendeeJob{ctx: ctx, caller: c, meetingID: meetingID, items: items,
		ids: make([]string, len(items)), salts: make([][]byte, len(items))}
	for i := range items {
		salt, err := token.NewSalt()
		if err != nil {
			return nil, err
		}
		j.ids[i], j.salts[i] = s.newID(), salt
	}
	return j, nil
}

// addAttendees adds the attendees of several requests, for one meeting or
// several, in a transaction: the meetings are locked, so that ceilings and
// ExternalUserIds hold under any concurrency; one insert adds the new
// attendees; one statement counts them; their events follow. A repeated
// ExternalUserId (also within one request) gets the existing attendee; an
// attendee that breaks a capability rule or finds its meeting full gets its
// error; the others are added. meetings holds the locked meetings by ID
// (their counts are kept current); a job whose meeting is missing, ended,
// another account's or another region's gets NotFound.
//
// Nearly every ExternalUserId is new, so the additions are first planned
// as though all were, and where the store can (SQLite) inserted by a
// statement that changes nothing if one is taken after all: no lookup.
// Only when that insert finds one taken or was not tried, or the plan
// refused an attendee (who, had its ExternalUserId been taken, would have
// been given the existing attendee instead), is the plan made again from
// one read of the ExternalUserIds the meetings have.
func (s *Service) addAttendees(w store.Writer, jobs []*attendeeJob, meetings map[string]*store.Meeting) error {
	look := false
	for _, j := range jobs {
		j.err, j.res = nil, nil
		if m := meetings[j.meetingID]; m == nil || !j.caller.sees(m) {
			j.err = meetingNotFound(j.meetingID)
		}
		look = look || j.lookAlways
	}
	keyID, now := s.keys.ActiveID(), s.nowUTC()
	known := map[store.AttendeeKey]*store.Attendee{}
	fresh, newPer, refused := planAttendees(jobs, meetings, known, keyID, now)
	if !look && !refused && len(fresh) > 0 {
		free, err := w.InsertAttendeesIfFree(fresh)
		if err != nil {
			return err
		}
		look = !free
	}
	if look || refused {
		var err error
		if known, err = lookUpAttendees(w, jobs, meetings); err != nil {
			return err
		}
		fresh, newPer, _ = planAttendees(jobs, meetings, known, keyID, now)
		if len(fresh) > 0 {
			if err := w.InsertAttendees(fresh); err != nil {
				if errors.Is(err, store.ErrDuplicate) {
					// Taken after all, which the meetings' locks leave only to
					// a count that disagrees with the rows: the run again
					// looks every ExternalUserId up.
					for _, j := range jobs {
						j.lookAlways = true
					}
					return errRetry
				}
				return err
			}
		}
	}
	if len(fresh) > 0 {
		byMeeting := map[string][]*store.Event{}
		var order []string
		for _, a := range fresh {
			m := meetings[a.MeetingID]
			if byMeeting[m.ID] == nil {
				order = append(order, m.ID)
			}
			byMeeting[m.ID] = append(byMeeting[m.ID], events.New(events.AttendeeAdded, m, attendeeRef(a), now))
		}
		for _, id := range order {
			m := meetings[id]
			m.AttendeeCount += newPer[id]
			if err := s.emit(w, m, byMeeting[id]...); err != nil {
				return err
			}
		}
	}
	for _, j := range jobs {
		for i := range j.res {
			if j.res[i].err == nil {
				j.res[i].attendee = *known[j.key(i)]
			}
		}
	}
	return nil
}

// lookUpAttendees reads the attendees that the jobs' ExternalUserIds name
// in their meetings, but for meetings that are locked and empty (unless a
// job must look always).
func lookUpAttendees(w store.Writer, jobs []*attendeeJob, meetings map[string]*store.Meeting) (map[store.AttendeeKey]*store.Attendee, error) {
	var keys []store.AttendeeKey
	seen := map[store.AttendeeKey]bool{}
	for _, j := range jobs {
		if j.err != nil || meetings[j.meetingID].AttendeeCount == 0 && !j.lookAlways {
			continue
		}
		for i := range j.items {
			k := j.key(i)
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	known := make(map[store.AttendeeKey]*store.Attendee, len(keys))
	if len(keys) == 0 {
		return known, nil
	}
	existing, err := w.AttendeesByExternalIDs(keys)
	if err != nil {
		return nil, err
	}
	for i := range existing {
		known[store.AttendeeKey{MeetingID: existing[i].MeetingID, ExternalUserID: existing[i].ExternalUserID}] = &existing[i]
	}
	return known, nil
}

// planAttendees decides each item of the jobs given the attendees known
// to exist: an existing one's is left for the caller to fill in, the rest
// are new (and become known, so that a repeat within the jobs gets the
// same one) or refused with their error. It returns the new attendees,
// how many each meeting gains, and whether any item was refused.
func planAttendees(jobs []*attendeeJob, meetings map[string]*store.Meeting, known map[store.AttendeeKey]*store.Attendee,
	keyID uint32, now time.Time) (fresh []*store.Attendee, newPer map[string]int, refused bool) {
	newPer = map[string]int{}
	for _, j := range jobs {
		if j.err != nil {
			continue
		}
		m := meetings[j.meetingID]
		j.res = make([]added, len(j.items))
		for i, it := range j.items {
			k := j.key(i)
			if known[k] != nil {
				continue // filled in once new attendees have their Seq
			}
			caps, err := resolveCapabilities(it.Capabilities, m.Details.Features)
			if err != nil {
				j.res[i].err, refused = apierr.As(err), true
				continue
			}
			if m.AttendeeCount+newPer[m.ID] >= m.MaxAttendees {
				j.res[i].err = apierr.New(apierr.LimitExceeded, "Meeting <%s> has reached its maximum of %d attendees", m.ID, m.MaxAttendees)
				refused = true
				continue
			}
			a := &store.Attendee{ID: j.ids[i], MeetingID: m.ID, AccountID: m.AccountID, ExternalUserID: it.ExternalUserId,
				Capabilities: caps, TokenKeyID: keyID, TokenSalt: j.salts[i], CreatedAt: now}
			fresh = append(fresh, a)
			newPer[m.ID]++
			known[k] = a
		}
	}
	return fresh, newPer, refused
}

// adder combines the attendee additions of concurrent requests into one
// transaction: on SQLite every transaction goes through one writer, whose
// cost is per statement, so ten requests in one transaction cost little
// more than one. A request that finds no combined transaction waiting to
// start queues one; the transaction takes the requests queued by the time
// it starts, so that they gather while the store is busy with earlier
// ones, and the store is never idle while some wait. On PostgreSQL, where
// transactions start at once, requests gather less and run side by side.
type adder struct {
	s *Service

	mu      sync.Mutex
	queue   []*attendeeJob
	waiting bool // a combined transaction is queued and has not started
}

// maxJobItems bounds the attendees of one combined transaction.
const maxJobItems = 2000

// submit queues a job and waits for its outcome. Once queued, a job is
// awaited even if its context ends: it may commit, and its caller must not
// be told otherwise.
func (a *adder) submit(j *attendeeJob) error {
	j.done = make(chan struct{})
	a.mu.Lock()
	a.queue = append(a.queue, j)
	a.startLocked()
	a.mu.Unlock()
	<-j.done
	return j.err
}

// startLocked queues a combined transaction for the waiting jobs unless one
// is queued already.
func (a *adder) startLocked() {
	if a.waiting || len(a.queue) == 0 {
		return
	}
	a.waiting = true
	// Values (not cancellation) of the first caller's context reach the
	// store; the jobs are taken only when the transaction starts.
	op := "CreateAttendee"
	if len(a.queue) > 1 || len(a.queue[0].items) > 1 {
		op = "BatchCreateAttendee"
	}
	go a.run(context.WithoutCancel(a.queue[0].ctx), op)
}

// take removes the jobs a starting transaction carries: those queued now,
// up to maxJobItems attendees. Jobs whose callers gave up are answered
// here. A new transaction is queued for any that remain.
func (a *adder) take() []*attendeeJob {
	a.mu.Lock()
	defer a.mu.Unlock()
	n, items := 0, 0
	for n < len(a.queue) && (n == 0 || items+len(a.queue[n].items) <= maxJobItems) {
		items += len(a.queue[n].items)
		n++
	}
	jobs := a.queue[:n:n]
	a.queue = a.queue[n:]
	a.waiting = false
	a.startLocked()
	live := jobs[:0]
	for _, j := range jobs {
		if err := j.ctx.Err(); err != nil {
			j.err = err
			close(j.done)
			continue
		}
		live = append(live, j)
	}
	return live
}

func (a *adder) run(ctx context.Context, op string) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var (
		jobs  []*attendeeJob
		taken bool // a transaction that runs again keeps its jobs
	)
	err := a.s.write(ctx, op, func(w store.Writer) error {
		if !taken {
			jobs, taken = a.take(), true
		}
		if len(jobs) == 0 {
			return nil
		}
		ids := make([]string, 0, len(jobs))
		seen := make(map[string]bool, len(jobs))
		for _, j := range jobs {
			if !seen[j.meetingID] {
				seen[j.meetingID] = true
				ids = append(ids, j.meetingID)
			}
		}
		found, err := w.LockMeetings(ids)
		if err != nil {
			return err
		}
		byID := make(map[string]*store.Meeting, len(found))
		for i := range found {
			byID[found[i].ID] = &found[i]
		}
		return a.s.addAttendees(w, jobs, byID)
	})
	if !taken {
		// The transaction never started (the store is closing, say): the
		// jobs it was queued for share its failure.
		jobs = a.take()
	}
	for _, j := range jobs {
		if err != nil {
			j.err = err
		}
		close(j.done)
	}
}

// GetAttendee returns an attendee of an active meeting.
func (s *Service) GetAttendee(ctx context.Context, c Caller, in *model.GetAttendeeInput) (*model.Attendee, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	var out model.Attendee
	err := s.view(ctx, "GetAttendee", func(r store.Reader) error {
		m, err := activeMeeting(r, c, normalizeID(in.MeetingId))
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
		m, err := activeMeeting(r, c, meetingID)
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
		m, err := lockActiveMeeting(w, c, normalizeID(in.MeetingId))
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
		m, err := lockActiveMeeting(w, c, normalizeID(in.MeetingId))
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
		m, err := lockActiveMeeting(w, c, normalizeID(in.MeetingId))
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
