package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"sort"
	"sync"

	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/carillon-dev/carillon/internal/model"
)

// Workload is an operation mix. Setup prepares what every worker shares
// (untimed); Step makes the next request(s) of one worker.
type Workload interface {
	Setup(ctx context.Context, c *Client, cfg Config) (any, error)
	Step(ctx context.Context, w *Worker, shared any, cfg Config) error
}

// Workloads are the mixes `carillon bench --workload` knows.
func Workloads() map[string]Workload {
	return map[string]Workload{
		"create-meeting":        createMeetings{},
		"create-attendee":       createAttendees{},
		"batch-create-attendee": batchCreateAttendees{},
		"get-attendee":          getAttendees{},
		"get-meeting":           getMeetings{},
		"list-attendees":        listAttendees{},
		"delete-attendee":       deleteAttendees{},
		"meeting-day":           meetingDay{},
	}
}

// WorkloadNames lists the workloads, sorted.
func WorkloadNames() []string {
	var names []string
	for n := range Workloads() {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain data is marshalled here
	}
	return b
}

// maxAttendees is the ceiling of the meetings the workloads create.
const maxAttendees = 250

func meetingBody() []byte {
	return mustJSON(model.CreateMeetingInput{ClientRequestToken: uuid.NewString(), MediaRegion: "us-east-1", ExternalMeetingId: "bench-" + uuid.NewString()[:8]})
}

func (w *Worker) createMeeting(ctx context.Context) (string, error) {
	var out model.CreateMeetingOutput
	if err := w.call(ctx, "CreateMeeting", "POST", "/meetings", meetingBody(), 0, &out); err != nil {
		return "", err
	}
	return out.Meeting.MeetingId, nil
}

// fill creates a meeting with n attendees (untimed setup) and returns the
// meeting and attendee IDs.
func fill(ctx context.Context, c *Client, n int) (string, []string, error) {
	var m model.CreateMeetingOutput
	if err := c.Do(ctx, "POST", "/meetings", meetingBody(), &m); err != nil {
		return "", nil, err
	}
	var ids []string
	for len(ids) < n {
		items := make([]model.CreateAttendeeRequestItem, 0, 100)
		for i := len(ids); i < n && len(items) < 100; i++ {
			items = append(items, model.CreateAttendeeRequestItem{ExternalUserId: fmt.Sprintf("user-%04d", i)})
		}
		var out model.BatchCreateAttendeeOutput
		if err := c.Do(ctx, "POST", "/meetings/"+m.Meeting.MeetingId+"/attendees?operation=batch-create", mustJSON(model.BatchCreateAttendeeInput{Attendees: items}), &out); err != nil {
			return "", nil, err
		}
		if len(out.Attendees) == 0 {
			return "", nil, fmt.Errorf("no attendee created: %v", out.Errors)
		}
		for _, a := range out.Attendees {
			ids = append(ids, a.AttendeeId)
		}
	}
	return m.Meeting.MeetingId, ids, nil
}

type noShared struct{}

// noSetup is embedded by the workloads that share nothing between workers.
type noSetup struct{}

func (noSetup) Setup(context.Context, *Client, Config) (any, error) { return noShared{}, nil }

type createMeetings struct{ noSetup }

func (createMeetings) Step(ctx context.Context, w *Worker, _ any, _ Config) error {
	_, err := w.createMeeting(ctx)
	return err
}

// createAttendees adds attendees with new ExternalUserIds, starting a new
// meeting whenever the current one is full.
type createAttendees struct{ noSetup }

// meetingWithRoom returns the worker's meeting, or a new one when it has
// no room for k more attendees, and the number of attendees it added so
// far (the first free index for their ExternalUserIds); it counts the k.
func (w *Worker) meetingWithRoom(ctx context.Context, k int) (string, int, error) {
	if w.meeting == "" || w.count+k > maxAttendees {
		mid, err := w.createMeeting(ctx)
		if err != nil {
			return "", 0, err
		}
		w.meeting, w.count = mid, 0
	}
	n := w.count
	w.count += k
	return w.meeting, n, nil
}

func (createAttendees) Step(ctx context.Context, w *Worker, _ any, _ Config) error {
	mid, n, err := w.meetingWithRoom(ctx, 1)
	if err != nil {
		return err
	}
	body := mustJSON(model.CreateAttendeeInput{ExternalUserId: fmt.Sprintf("w%d-%d", w.id, n)})
	return w.call(ctx, "CreateAttendee", "POST", "/meetings/"+mid+"/attendees", body, 1, nil)
}

// batchCreateAttendees adds BatchSize new attendees per request.
type batchCreateAttendees struct{ noSetup }

func (batchCreateAttendees) Step(ctx context.Context, w *Worker, _ any, cfg Config) error {
	mid, n, err := w.meetingWithRoom(ctx, cfg.BatchSize)
	if err != nil {
		return err
	}
	items := make([]model.CreateAttendeeRequestItem, cfg.BatchSize)
	for i := range items {
		items[i].ExternalUserId = fmt.Sprintf("w%d-%d", w.id, n+i)
	}
	var out struct{ Errors []model.CreateAttendeeError } // the attendees are only checked to be JSON
	err = w.call(ctx, "BatchCreateAttendee", "POST", "/meetings/"+mid+"/attendees?operation=batch-create",
		mustJSON(model.BatchCreateAttendeeInput{Attendees: items}), cfg.BatchSize, &out)
	if err == nil && len(out.Errors) > 0 {
		return fmt.Errorf("%d attendees refused: %s", len(out.Errors), out.Errors[0].ErrorMessage)
	}
	return err
}

// pool is what the read workloads share: meetings and their attendees.
type pool struct {
	meetings  []string
	attendees [][2]string // meeting ID, attendee ID
}

func makePool(ctx context.Context, c *Client, meetings, perMeeting int) (*pool, error) {
	p := &pool{}
	for i := 0; i < meetings; i++ {
		mid, ids, err := fill(ctx, c, perMeeting)
		if err != nil {
			return nil, err
		}
		p.meetings = append(p.meetings, mid)
		for _, id := range ids {
			p.attendees = append(p.attendees, [2]string{mid, id})
		}
	}
	return p, nil
}

// sampledPool is the pool of a sample of attendees (cfg.Attendees), with
// their meetings.
func sampledPool(attendees [][2]string) *pool {
	p := &pool{attendees: attendees}
	seen := make(map[string]bool, len(attendees))
	for _, a := range attendees {
		if !seen[a[0]] {
			seen[a[0]] = true
			p.meetings = append(p.meetings, a[0])
		}
	}
	return p
}

type getAttendees struct{}

func (getAttendees) Setup(ctx context.Context, c *Client, cfg Config) (any, error) {
	if len(cfg.Attendees) > 0 {
		return sampledPool(cfg.Attendees), nil
	}
	return makePool(ctx, c, 20, 100)
}

func (getAttendees) Step(ctx context.Context, w *Worker, shared any, _ Config) error {
	p := shared.(*pool)
	a := p.attendees[rand.IntN(len(p.attendees))]
	return w.call(ctx, "GetAttendee", "GET", "/meetings/"+a[0]+"/attendees/"+a[1], nil, 0, nil)
}

type getMeetings struct{}

func (getMeetings) Setup(ctx context.Context, c *Client, cfg Config) (any, error) {
	if len(cfg.Attendees) > 0 {
		return sampledPool(cfg.Attendees), nil
	}
	return makePool(ctx, c, 100, 1)
}

func (getMeetings) Step(ctx context.Context, w *Worker, shared any, _ Config) error {
	p := shared.(*pool)
	return w.call(ctx, "GetMeeting", "GET", "/meetings/"+p.meetings[rand.IntN(len(p.meetings))], nil, 0, nil)
}

type listAttendees struct{}

func (listAttendees) Setup(ctx context.Context, c *Client, _ Config) (any, error) {
	return makePool(ctx, c, 20, 100)
}

func (listAttendees) Step(ctx context.Context, w *Worker, shared any, _ Config) error {
	p := shared.(*pool)
	q := url.Values{"max-results": {"10"}}
	return w.call(ctx, "ListAttendees", "GET", "/meetings/"+p.meetings[rand.IntN(len(p.meetings))]+"/attendees?"+q.Encode(), nil, 0, nil)
}

// deleteAttendees deletes attendees one by one. Setup seeds a stock of them
// beforehand, untimed, so that the run measures deletions alone; a worker
// that finds the stock empty seeds a meeting of its own with a timed batch.
type deleteAttendees struct{}

// stock is the attendees seeded for a run, taken by its workers.
type stock struct {
	mu        sync.Mutex
	attendees [][2]string // meeting ID, attendee ID
}

func (s *stock) take() ([2]string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(s.attendees)
	if n == 0 {
		return [2]string{}, false
	}
	a := s.attendees[n-1]
	s.attendees = s.attendees[:n-1]
	return a, true
}

// stockSize is how many attendees a run may delete: at its rate, or, in a
// closed loop, at 10,000 a second; a tenth more for good measure.
func stockSize(cfg Config) int {
	perSecond := 10_000.0
	if cfg.Rate > 0 {
		perSecond = cfg.Rate
	}
	return int(perSecond*cfg.Duration.Seconds()*1.1) + 1
}

func (deleteAttendees) Setup(ctx context.Context, c *Client, cfg Config) (any, error) {
	st := &stock{}
	n := stockSize(cfg)
	var g errgroup.Group
	g.SetLimit(4)
	for seeded := 0; seeded < n; seeded += maxAttendees {
		size := min(maxAttendees, n-seeded)
		g.Go(func() error {
			mid, ids, err := fill(ctx, c, size)
			if err != nil {
				return err
			}
			st.mu.Lock()
			defer st.mu.Unlock()
			for _, id := range ids {
				st.attendees = append(st.attendees, [2]string{mid, id})
			}
			return nil
		})
	}
	return st, g.Wait()
}

func (deleteAttendees) Step(ctx context.Context, w *Worker, shared any, _ Config) error {
	if a, ok := shared.(*stock).take(); ok {
		return w.call(ctx, "DeleteAttendee", "DELETE", "/meetings/"+a[0]+"/attendees/"+a[1], nil, 0, nil)
	}
	if len(w.attendees) == 0 {
		mid, err := w.createMeeting(ctx)
		if err != nil {
			return err
		}
		items := make([]model.CreateAttendeeRequestItem, 100)
		for i := range items {
			items[i].ExternalUserId = fmt.Sprintf("del-%d", i)
		}
		var out model.BatchCreateAttendeeOutput
		if err := w.call(ctx, "BatchCreateAttendee", "POST", "/meetings/"+mid+"/attendees?operation=batch-create",
			mustJSON(model.BatchCreateAttendeeInput{Attendees: items}), 100, &out); err != nil {
			return err
		}
		for _, a := range out.Attendees {
			w.attendees = append(w.attendees, a.AttendeeId)
		}
		w.meeting = mid
	}
	id := w.attendees[len(w.attendees)-1]
	w.attendees = w.attendees[:len(w.attendees)-1]
	return w.call(ctx, "DeleteAttendee", "DELETE", "/meetings/"+w.meeting+"/attendees/"+id, nil, 0, nil)
}

// meetingDay is the life of a small meeting, as an application drives it:
// created with its first attendees, looked up as people join, late
// joiners added, the roster listed, a capability changed, people removed,
// and the meeting deleted: 20 requests per meeting.
type meetingDay struct{ noSetup }

func (meetingDay) Step(ctx context.Context, w *Worker, _ any, _ Config) error {
	step, mid, ids := w.step, w.meeting, w.attendees
	w.step = (step + 1) % 20
	pick := func() string { return ids[rand.IntN(len(ids))] }
	switch {
	case step == 0:
		in := model.CreateMeetingWithAttendeesInput{
			CreateMeetingInput: model.CreateMeetingInput{ClientRequestToken: uuid.NewString(), MediaRegion: "us-east-1", ExternalMeetingId: "day-" + uuid.NewString()[:8]},
		}
		for i := 0; i < 5; i++ {
			in.Attendees = append(in.Attendees, model.CreateAttendeeRequestItem{ExternalUserId: fmt.Sprintf("first-%d", i)})
		}
		var out model.CreateMeetingWithAttendeesOutput
		if err := w.call(ctx, "CreateMeetingWithAttendees", "POST", "/meetings?operation=create-attendees", mustJSON(in), 5, &out); err != nil {
			w.step = 0
			return err
		}
		ids = ids[:0]
		for _, a := range out.Attendees {
			ids = append(ids, a.AttendeeId)
		}
		w.meeting, w.attendees = out.Meeting.MeetingId, ids
		return nil
	case step <= 5:
		return w.call(ctx, "GetMeeting", "GET", "/meetings/"+mid, nil, 0, nil)
	case step <= 10:
		return w.call(ctx, "GetAttendee", "GET", "/meetings/"+mid+"/attendees/"+pick(), nil, 0, nil)
	case step <= 13:
		var out model.CreateAttendeeOutput
		err := w.call(ctx, "CreateAttendee", "POST", "/meetings/"+mid+"/attendees", mustJSON(model.CreateAttendeeInput{ExternalUserId: fmt.Sprintf("late-%d", step)}), 1, &out)
		if err == nil {
			w.attendees = append(ids, out.Attendee.AttendeeId)
		}
		return err
	case step <= 15:
		return w.call(ctx, "ListAttendees", "GET", "/meetings/"+mid+"/attendees", nil, 0, nil)
	case step == 16:
		caps := &model.AttendeeCapabilities{Audio: model.SendReceive, Video: model.Receive, Content: model.None}
		return w.call(ctx, "UpdateAttendeeCapabilities", "PUT", "/meetings/"+mid+"/attendees/"+pick()+"/capabilities",
			mustJSON(model.UpdateAttendeeCapabilitiesInput{Capabilities: caps}), 0, &model.UpdateAttendeeCapabilitiesOutput{})
	case step <= 18:
		id := ids[len(ids)-1]
		w.attendees = ids[:len(ids)-1]
		return w.call(ctx, "DeleteAttendee", "DELETE", "/meetings/"+mid+"/attendees/"+id, nil, 0, nil)
	default:
		return w.call(ctx, "DeleteMeeting", "DELETE", "/meetings/"+mid, nil, 0, nil)
	}
}
