package meetings

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
	"github.com/carillon-dev/carillon/internal/token"
)

// gatedStore holds every transaction at its start until the test opens the
// gate, and counts the transactions.
type gatedStore struct {
	store.Store
	gate   chan struct{}
	writes atomic.Int32
}

func (g *gatedStore) Write(ctx context.Context, fn func(store.Writer) error) error {
	g.writes.Add(1)
	<-g.gate
	return g.Store.Write(ctx, fn)
}

// testService is a service on a fresh in-memory store, wrapped by wrap
// unless it is nil.
func testService(t *testing.T, wrap func(store.Store) store.Store) *Service {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	keys, err := token.Ephemeral()
	if err != nil {
		t.Fatal(err)
	}
	var wrapped store.Store = st
	if wrap != nil {
		wrapped = wrap(st)
	}
	return New(DefaultConfig(), Deps{Store: wrapped, Keys: keys})
}

// gatedMeeting is a service on a gated store (closed from now on) and a
// meeting of its caller.
func gatedMeeting(t *testing.T) (*Service, *gatedStore, Caller, *model.Meeting) {
	t.Helper()
	var g *gatedStore
	s := testService(t, func(st store.Store) store.Store {
		g = &gatedStore{Store: st, gate: make(chan struct{})}
		return g
	})
	close(g.gate)
	c, m := callerMeeting(t, s)
	g.gate = make(chan struct{})
	g.writes.Store(0)
	return s, g, c, m
}

// callerMeeting creates a meeting for a caller of s.
func callerMeeting(t *testing.T, s *Service) (Caller, *model.Meeting) {
	t.Helper()
	c := Caller{AccountID: "000000000000", Region: "us-east-1"}
	m, err := s.CreateMeeting(context.Background(), c, &model.CreateMeetingInput{ClientRequestToken: "token", MediaRegion: "us-east-1", ExternalMeetingId: "meeting"})
	if err != nil {
		t.Fatal(err)
	}
	return c, m
}

func (a *adder) queued() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.queue)
}

// Requests that arrive while a combined transaction waits to start join it:
// the ones queued behind a busy store all go in the next transaction.
func TestAttendeeAdditionsGatherWhileTheStoreIsBusy(t *testing.T) {
	s, g, c, m := gatedMeeting(t)

	const n = 40
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			a, err := s.CreateAttendee(context.Background(), c, &model.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: fmt.Sprintf("user-%d", i%30)})
			errs[i] = err
			if err == nil {
				ids[i] = a.AttendeeId
			}
		})
	}
	// One transaction is queued and held at the gate, having taken nothing
	// yet; all requests wait for it.
	waitFor(t, func() bool { return s.adder.queued() == n })
	close(g.gate)
	wg.Wait()
	if w := g.writes.Load(); w != 1 {
		t.Fatalf("%d transactions for %d requests queued together, want 1", w, n)
	}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if j := i + 30; j < n && ids[j] != ids[i] {
			t.Fatalf("user-%d got two attendees: %s and %s", i, ids[i], ids[j])
		}
	}
}

// A request whose caller gives up before its transaction starts is answered
// with the caller's error and adds nothing; the others go through.
func TestAttendeeAdditionOfAGoneCaller(t *testing.T) {
	s, g, c, m := gatedMeeting(t)

	ctx, cancel := context.WithCancel(context.Background())
	gone := make(chan error, 1)
	go func() {
		_, err := s.CreateAttendee(ctx, c, &model.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: "gone"})
		gone <- err
	}()
	waitFor(t, func() bool { return s.adder.queued() == 1 })
	stayed := make(chan error, 1)
	go func() {
		_, err := s.CreateAttendee(context.Background(), c, &model.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: "stayed"})
		stayed <- err
	}()
	waitFor(t, func() bool { return s.adder.queued() == 2 })
	cancel()
	close(g.gate)
	if err := <-gone; !errors.Is(err, context.Canceled) {
		t.Fatalf("gone caller: %v, want context.Canceled", err)
	}
	if err := <-stayed; err != nil {
		t.Fatal(err)
	}
	out, err := s.ListAttendees(context.Background(), c, &model.ListAttendeesInput{MeetingId: m.MeetingId})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Attendees) != 1 || out.Attendees[0].ExternalUserId != "stayed" {
		t.Fatalf("stored %+v, want only the one that stayed", out.Attendees)
	}
}

// When the store cannot run the transaction at all, every request queued
// for it gets the failure: none is left waiting.
func TestAttendeeAdditionsWhenTheStoreIsClosed(t *testing.T) {
	var st store.Store
	s := testService(t, func(inner store.Store) store.Store { st = inner; return inner })
	c := Caller{AccountID: "000000000000", Region: "us-east-1"}
	m, err := s.CreateMeeting(context.Background(), c, &model.CreateMeetingInput{ClientRequestToken: "token", MediaRegion: "us-east-1", ExternalMeetingId: "meeting"})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	done := make(chan error, 3)
	for i := range 3 {
		go func() {
			_, err := s.CreateAttendee(context.Background(), c, &model.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: fmt.Sprintf("u%d", i)})
			done <- err
		}()
	}
	for range 3 {
		select {
		case err := <-done:
			if err == nil {
				t.Fatal("an attendee was added to a closed store")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a request was left waiting")
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}

// emptyCountStore reports every locked meeting as having no attendees, as a
// count that drifted from the rows would.
type emptyCountStore struct{ store.Store }

type emptyCountWriter struct{ store.Writer }

func (s emptyCountStore) Write(ctx context.Context, fn func(store.Writer) error) error {
	return s.Store.Write(ctx, func(w store.Writer) error { return fn(emptyCountWriter{w}) })
}

func (w emptyCountWriter) LockMeetings(ids []string) ([]store.Meeting, error) {
	ms, err := w.Writer.LockMeetings(ids)
	for i := range ms {
		ms[i].AttendeeCount = 0
	}
	return ms, err
}

// A meeting whose count says it is empty skips the ExternalUserId lookup;
// when the insert then finds the ExternalUserId taken, the run again looks
// it up and returns the attendee, rather than a conflict.
func TestAnEmptyCountIsNotTrustedTwice(t *testing.T) {
	s := testService(t, func(st store.Store) store.Store { return emptyCountStore{st} })
	c, m := callerMeeting(t, s)
	ctx := context.Background()
	first, err := s.CreateAttendee(ctx, c, &model.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.CreateAttendee(ctx, c, &model.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: "alice"})
	if err != nil {
		t.Fatalf("a repeat in a meeting whose count says empty: %v", err)
	}
	if again.AttendeeId != first.AttendeeId || again.JoinToken != first.JoinToken {
		t.Fatal("a repeat returned another attendee")
	}
}

// additions adds attendees to a meeting of s in one BatchCreateAttendee and
// returns the attendees and the refused items' codes by ExternalUserId.
func additions(t *testing.T, s *Service, c Caller, meetingID string, items ...model.CreateAttendeeRequestItem) (map[string]model.Attendee, map[string]string) {
	t.Helper()
	out, err := s.BatchCreateAttendee(context.Background(), c, &model.BatchCreateAttendeeInput{MeetingId: meetingID, Attendees: items})
	if err != nil {
		t.Fatal(err)
	}
	added, refused := map[string]model.Attendee{}, map[string]string{}
	for _, a := range out.Attendees {
		added[a.ExternalUserId] = a
	}
	for _, e := range out.Errors {
		refused[e.ExternalUserId] = e.ErrorCode
	}
	return added, refused
}

func item(externalUserID string) model.CreateAttendeeRequestItem {
	return model.CreateAttendeeRequestItem{ExternalUserId: externalUserID}
}

// An addition that finds an ExternalUserId taken gets the attendee who has
// it, while the new ones beside it are added, each once, with one event
// each: whether the insert tried first found it taken, or a refusal in the
// plan made the run look the ExternalUserIds up first.
func TestAdditionsBesideTakenExternalUserIds(t *testing.T) {
	var st store.Store
	s := testService(t, func(inner store.Store) store.Store { st = inner; return inner })
	c := Caller{AccountID: "000000000000", Region: "us-east-1"}
	ctx := context.Background()
	m, err := s.CreateMeeting(ctx, c, &model.CreateMeetingInput{ClientRequestToken: "token", MediaRegion: "us-east-1",
		ExternalMeetingId: "meeting", MeetingFeatures: &model.MeetingFeaturesConfiguration{Attendee: &model.AttendeeFeatures{MaxCount: new(4)}}})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := additions(t, s, c, m.MeetingId, item("alice"))

	// The insert finds alice taken; bob and carol are new.
	added, refused := additions(t, s, c, m.MeetingId, item("bob"), item("alice"), item("carol"), item("bob"))
	if len(refused) != 0 || len(added) != 3 {
		t.Fatalf("added %v, refused %v", added, refused)
	}
	if added["alice"].AttendeeId != first["alice"].AttendeeId || added["alice"].JoinToken != first["alice"].JoinToken {
		t.Error("a taken ExternalUserId got another attendee")
	}

	second := added

	// The meeting has room for one more: dave is refused in the plan,
	// which makes the run look alice up and give her the one she has
	// rather than refuse her too; erin takes the last place.
	unable := &model.AttendeeCapabilities{Audio: "SendReceive", Video: "Send", Content: "Receive"} // content needs video reception
	added, refused = additions(t, s, c, m.MeetingId, model.CreateAttendeeRequestItem{ExternalUserId: "dave", Capabilities: unable},
		model.CreateAttendeeRequestItem{ExternalUserId: "alice", Capabilities: unable}, item("erin"), item("frank"))
	if len(added) != 2 || added["alice"].AttendeeId != first["alice"].AttendeeId || added["erin"].AttendeeId == "" {
		t.Errorf("added %v", added)
	}
	if refused["dave"] != "BadRequest" || refused["frank"] != "ResourceLimitExceeded" || len(refused) != 2 {
		t.Errorf("refused %v", refused)
	}

	// Full: a taken ExternalUserId still gets its attendee.
	again, err := s.CreateAttendee(ctx, c, &model.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: "carol"})
	if err != nil {
		t.Fatalf("a repeat in a full meeting: %v", err)
	}
	if again.AttendeeId != second["carol"].AttendeeId {
		t.Fatalf("a repeat in a full meeting: %+v", again)
	}

	list, err := s.ListAttendees(ctx, c, &model.ListAttendeesInput{MeetingId: m.MeetingId})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range list.Attendees {
		names = append(names, a.ExternalUserId)
	}
	if fmt.Sprint(names) != "[alice bob carol erin]" {
		t.Errorf("attendees %v, want alice, bob, carol and erin once each", names)
	}
	var joined []string
	err = st.View(ctx, func(r store.Reader) error {
		es, err := r.EventsAfter(0, 100)
		for _, e := range es {
			if e.Type == events.AttendeeAdded {
				joined = append(joined, e.Type)
			}
		}
		return err
	})
	if err != nil || len(joined) != 4 {
		t.Errorf("attendee events %v, %v; want one for each of the four", joined, err)
	}
}

// lookupCounter counts the ExternalUserId lookups of the transactions.
type lookupCounter struct {
	store.Store
	lookups atomic.Int32
}

func (l *lookupCounter) Write(ctx context.Context, fn func(store.Writer) error) error {
	return l.Store.Write(ctx, func(w store.Writer) error { return fn(countingWriter{w, l}) })
}

type countingWriter struct {
	store.Writer
	l *lookupCounter
}

func (w countingWriter) AttendeesByExternalIDs(keys []store.AttendeeKey) ([]store.Attendee, error) {
	w.l.lookups.Add(1)
	return w.Writer.AttendeesByExternalIDs(keys)
}

// New ExternalUserIds are added without a lookup, also in a meeting that
// has attendees; a taken one, or a refusal, makes the run look them up. A
// repeat asked with capabilities the meeting cannot give, in a meeting with
// room, gets the attendee it has.
func TestAdditionsLookUpOnlyWhenNeeded(t *testing.T) {
	var l *lookupCounter
	s := testService(t, func(st store.Store) store.Store { l = &lookupCounter{Store: st}; return l })
	c, m := callerMeeting(t, s)
	first, _ := additions(t, s, c, m.MeetingId, item("alice"), item("bob"))
	additions(t, s, c, m.MeetingId, item("carol"))
	if n := l.lookups.Load(); n != 0 {
		t.Errorf("%d lookups for new ExternalUserIds", n)
	}
	unable := &model.AttendeeCapabilities{Audio: "SendReceive", Video: "Send", Content: "Receive"}
	added, refused := additions(t, s, c, m.MeetingId, model.CreateAttendeeRequestItem{ExternalUserId: "alice", Capabilities: unable}, item("gina"))
	if len(refused) != 0 || added["alice"].AttendeeId != first["alice"].AttendeeId || added["gina"].AttendeeId == "" {
		t.Errorf("added %v, refused %v", added, refused)
	}
	if n := l.lookups.Load(); n != 1 {
		t.Errorf("%d lookups after a refusal in the plan, want 1", n)
	}
	additions(t, s, c, m.MeetingId, item("bob"), item("henry"))
	if n := l.lookups.Load(); n != 2 {
		t.Errorf("%d lookups after a taken ExternalUserId, want 2", n)
	}
}
