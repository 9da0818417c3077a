package events

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
)

// holesFixture is a store whose events are written at the times given, in
// order, those older than an hour and without destinations then purged:
// the numbers they took are what a rolled-back transaction leaves.
func holesFixture(t *testing.T, now time.Time, at []time.Time, destinations []int) store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := meeting()
	var es []*store.Event
	for _, when := range at {
		es = append(es, New(AttendeeJoined, m, &Attendee{ID: "a", ExternalUserID: "x"}, when))
	}
	if err := st.Write(ctx, func(w store.Writer) error {
		for i, e := range es {
			var dest []string
			if slices.Contains(destinations, i) {
				dest = []string{"hook"}
			}
			if err := w.AppendEvents([]*store.Event{e}, dest); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Write(ctx, func(w store.Writer) error {
		_, _, err := w.PurgeEvents(time.Time{}, now.Add(-time.Hour), len(es))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return st
}

func readCursor(t *testing.T, c *Cursor, st store.Store) int {
	t.Helper()
	n := 0
	if err := c.Next(context.Background(), st, func(*store.Event) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// Numbers passed over that never commit (here, 3,000 numbers of purged
// events) make one range, asked for until a transaction could no longer
// hold them and then given up; meanwhile the cursor is settled below them.
func TestCursorGivesUpAHoleAfterAWhile(t *testing.T) {
	now := time.Now()
	at := []time.Time{now}
	for range 3000 {
		at = append(at, now.Add(-48*time.Hour))
	}
	at = append(at, now)
	st := holesFixture(t, now, at, nil)
	cur := NewCursor(0, "")
	clock := now
	cur.now = func() time.Time { return clock }
	if n := readCursor(t, cur, st); n != 2 || len(cur.holes) != 1 || cur.Settled() != 1 || cur.After() != 3002 {
		t.Fatalf("first read: %d events, holes %v, settled %d, after %d", n, cur.holes, cur.Settled(), cur.After())
	}
	clock = now.Add(holeWait / 2)
	if n := readCursor(t, cur, st); n != 0 || len(cur.holes) != 1 {
		t.Fatalf("within the wait: %d events, holes %v", n, cur.holes)
	}
	clock = now.Add(holeWait + time.Second)
	if n := readCursor(t, cur, st); n != 0 || len(cur.holes) != 0 || cur.Settled() != 3002 {
		t.Fatalf("after the wait: %d events, holes %v, settled %d", n, cur.holes, cur.Settled())
	}
}

// A gap below an event older than the wait cannot be an event still to
// commit (a client resuming from an old Last-Event-ID across purged events,
// say): it is not waited for.
func TestCursorDoesNotWaitBelowAnOldEvent(t *testing.T) {
	now := time.Now()
	old := now.Add(-48 * time.Hour)
	// The third event is old but kept (it has a delivery): the gap below
	// it (the second, purged) is old too.
	st := holesFixture(t, now, []time.Time{now, old, old, now}, []int{2})
	cur := NewCursor(0, "")
	if n := readCursor(t, cur, st); n != 3 || len(cur.holes) != 0 {
		t.Fatalf("read %d events, holes %v", n, cur.holes)
	}
}

// fill splits a range around a number found in it.
func TestCursorFillSplitsARange(t *testing.T) {
	since := time.Now()
	c := &Cursor{holes: []hole{{1, 1, since}, {10, 20, since}}}
	for _, seq := range []int64{15, 10, 20, 1, 99} {
		c.fill(seq)
	}
	if len(c.holes) != 2 || c.holes[0] != (hole{11, 14, since}) || c.holes[1] != (hole{16, 19, since}) {
		t.Fatalf("holes = %v", c.holes)
	}
}
