package events

import (
	"context"
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
	st, err := sqlite.Open(ctx, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now()
	m := meeting()
	appendAt := func(n int, at time.Time, destinations ...string) {
		es := make([]*store.Event, n)
		for i := range es {
			es[i] = New(AttendeeJoined, m, &Attendee{ID: "a", ExternalUserID: "x"}, at)
		}
		if err := st.Write(ctx, func(w store.Writer) error { return w.AppendEvents(es, destinations) }); err != nil {
			t.Fatal(err)
		}
	}
	old := 2*purgeBatch + purgeBatch/2
	appendAt(old/2, now.Add(-49*time.Hour))
	appendAt(5, now.Add(-48*time.Hour), "hook") // never delivered: kept
	appendAt(old-old/2, now.Add(-25*time.Hour))
	appendAt(10, now.Add(-time.Hour))

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
