package events_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

// testOutbox opens an in-memory store, and gives a meeting for its events.
func testOutbox(t *testing.T) (store.Store, *store.Meeting) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, testMeeting()
}

// testMeeting is a meeting for events.
func testMeeting() *store.Meeting {
	return &store.Meeting{ID: "01a21db6-2c58-7b21-9f77-de46597f739f", AccountID: "111111111111", APIRegion: "us-east-1", MediaRegion: "us-east-1"}
}

// appendEvents writes n events about m, for the destinations given.
func appendEvents(t *testing.T, st store.Store, m *store.Meeting, n int, destinations ...string) []*store.Event {
	t.Helper()
	evs := make([]*store.Event, n)
	for i := range evs {
		evs[i] = events.New(events.AttendeeJoined, m, &events.Attendee{ID: fmt.Sprint(i), ExternalUserID: "x"}, time.Now())
	}
	if err := st.Write(context.Background(), func(w store.Writer) error { return w.AppendEvents(evs, destinations) }); err != nil {
		t.Fatal(err)
	}
	return evs
}

// sink records what it was given, and refuses the event failAt (1-based).
type sink struct {
	mu     sync.Mutex
	got    []int64
	failAt int
}

func (s *sink) Deliver(_ context.Context, _ string, e store.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.got)+1 == s.failAt {
		s.failAt = 0
		return errors.New("503 from receiver")
	}
	s.got = append(s.got, e.Seq)
	return nil
}

// testDispatcher delivers st's outbox to a sink for "test:" destinations
// that refuses the failAt-th delivery once, and counts st's writes.
func testDispatcher(st store.Store, cfg events.DispatchConfig, failAt int) (*events.Dispatcher, *storetest.WriteCounter, *sink) {
	counted := &storetest.WriteCounter{Store: st}
	sk := &sink{failAt: failAt}
	return events.NewDispatcher(counted, map[string]events.Sink{"test": sk}, cfg, nil, nil), counted, sk
}

// A pass over a group is recorded in one write, whatever its length, and a
// failure stops the group where it happened.
func TestDispatchRecordsAPassInOneWrite(t *testing.T) {
	ctx := context.Background()
	st, m := testOutbox(t)
	evs := appendEvents(t, st, m, 30, "test:x")
	d, counted, sk := testDispatcher(st, events.DefaultDispatchConfig(), 10)
	pending := func() int {
		t.Helper()
		var o store.OutboxStats
		if err := st.View(ctx, func(r store.Reader) (err error) { o, err = r.Outbox(); return err }); err != nil {
			t.Fatal(err)
		}
		return o.Pending
	}

	if _, err := d.DispatchOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if len(sk.got) != 9 || counted.Writes() != 1 || pending() != 21 {
		t.Fatalf("first pass: %d delivered, %d writes, %d pending; want 9, 1, 21", len(sk.got), counted.Writes(), pending())
	}
	// The failed one is due again after its back-off; then the rest go.
	for i := 0; pending() > 0; i++ {
		if i == 100 {
			t.Fatalf("%d deliveries still pending", pending())
		}
		time.Sleep(50 * time.Millisecond)
		if _, err := d.DispatchOnce(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, seq := range sk.got {
		if seq != evs[i].Seq {
			t.Fatalf("delivery %d was event %d, want %d: out of order", i, seq, evs[i].Seq)
		}
	}
	if len(sk.got) != 30 {
		t.Fatalf("%d delivered, want 30", len(sk.got))
	}
}

// A dead letter is recorded before the events after it go, in the same
// pass: were it retried after a crash, it would arrive after them.
func TestDispatchRecordsADeadLetterBeforeGoingOn(t *testing.T) {
	ctx := context.Background()
	st, m := testOutbox(t)
	evs := appendEvents(t, st, m, 5, "test:x")
	cfg := events.DefaultDispatchConfig()
	cfg.MaxAttempts = 1
	d, counted, sk := testDispatcher(st, cfg, 2)
	if _, err := d.DispatchOnce(ctx); err != nil {
		t.Fatal(err)
	}
	var dead []store.Delivery
	var o store.OutboxStats
	if err := st.View(ctx, func(r store.Reader) (err error) {
		if dead, err = r.DeadDeliveries(10); err != nil {
			return err
		}
		o, err = r.Outbox()
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(sk.got) != 4 || len(dead) != 1 || dead[0].Event.Seq != evs[1].Seq || o.Pending != 0 {
		t.Fatalf("%d delivered, dead letters %v, %d pending; want 4, the second event, 0", len(sk.got), dead, o.Pending)
	}
	if n := counted.Writes(); n != 2 {
		t.Fatalf("%d writes, want 2: the dead letter, then the rest", n)
	}
}
