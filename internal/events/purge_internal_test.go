package events

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

// A purge deletes every event past the retention, in batches of its own
// transaction, but those still to be delivered and the recent ones.
func TestPurgeCatchesUp(t *testing.T) {
	ctx := context.Background()
	st, appendAt := purgeOutbox(t)
	now := time.Now()
	old := 2*purgeBatch + purgeBatch/2
	appendAt(old/2, now.Add(-49*time.Hour), 0)
	appendAt(5, now.Add(-48*time.Hour), 0, "hook") // never delivered: kept
	appendAt(old-old/2, now.Add(-25*time.Hour), 0)
	appendAt(10, now.Add(-time.Hour), 0)

	counted := &storetest.WriteCounter{Store: st}
	cfg := DefaultDispatchConfig()
	d := NewDispatcher(counted, nil, cfg, nil, nil)
	d.now = func() time.Time { return now }
	n, err := d.purge(ctx)
	if err != nil || n != old {
		t.Fatalf("purged %d events (%v), want %d", n, err, old)
	}
	if counted.Writes() != 3 {
		t.Fatalf("%d transactions, want 3: two full batches and the rest", counted.Writes())
	}
	var left []store.Event
	if err := st.View(ctx, func(r store.Reader) error {
		left, err = r.EventsAfter(0, 10*purgeBatch)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(left) != 15 {
		t.Fatalf("%d events left, want the 5 undelivered and the 10 recent", len(left))
	}
	if n, err := d.purge(ctx); n != 0 || err != nil {
		t.Fatalf("a second purge deleted %d (%v)", n, err)
	}
}

// rerunStore runs each write's callback twice: first in a transaction it
// rolls back, as the SQLite writer does when another request of the batch
// fails after writing, then for good.
type rerunStore struct{ store.Store }

func (r rerunStore) Write(ctx context.Context, fn func(store.Writer) error) error {
	errAgain := errors.New("rolled back to run again")
	if err := r.Store.Write(ctx, func(w store.Writer) error {
		if err := fn(w); err != nil {
			return err
		}
		return errAgain
	}); !errors.Is(err, errAgain) {
		return err
	}
	return r.Store.Write(ctx, fn)
}

// A batch whose transaction runs again starts where it started the first
// time: nothing it deleted in the rolled-back run is left behind.
func TestPurgeSurvivesARerun(t *testing.T) {
	st, appendAt := purgeOutbox(t)
	now := time.Now()
	old := 2*purgeBatch + purgeBatch/2
	appendAt(old, now.Add(-48*time.Hour), time.Millisecond)
	d := NewDispatcher(rerunStore{st}, nil, DefaultDispatchConfig(), nil, nil)
	d.now = func() time.Time { return now }
	if n, err := d.purge(context.Background()); err != nil || n != old {
		t.Fatalf("purged %d (%v), want %d", n, err, old)
	}
}

// purgeOutbox opens an in-memory store, with a function that appends n
// events about one meeting, created from at on, step apart.
func purgeOutbox(t *testing.T) (store.Store, func(n int, at time.Time, step time.Duration, destinations ...string)) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := meeting()
	return st, func(n int, at time.Time, step time.Duration, destinations ...string) {
		t.Helper()
		es := make([]*store.Event, n)
		for i := range es {
			es[i] = New(AttendeeJoined, m, &Attendee{ID: "a", ExternalUserID: "x"}, at.Add(time.Duration(i)*step))
		}
		if err := st.Write(context.Background(), func(w store.Writer) error { return w.AppendEvents(es, destinations) }); err != nil {
			t.Fatal(err)
		}
	}
}
