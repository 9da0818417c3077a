package events

import (
	"context"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
)

// A passed-over number that never commits (its transaction rolled back;
// here, an event purged before the cursor read it) is asked for until a
// transaction could no longer hold it, and then given up.
func TestCursorGivesUpAHoleAfterAWhile(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := &store.Meeting{ID: "01a21db6-2c58-7b21-9f77-de46597f739f", AccountID: "111111111111", APIRegion: "us-east-1", MediaRegion: "us-east-1"}
	now := time.Now()
	for _, at := range []time.Time{now, now.Add(-48 * time.Hour), now} {
		e := New(AttendeeJoined, m, &Attendee{ID: "a", ExternalUserID: "x"}, at)
		if err := st.Write(ctx, func(w store.Writer) error { return w.AppendEvents([]*store.Event{e}, nil) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Write(ctx, func(w store.Writer) error {
		_, err := w.PurgeEvents(now.Add(-time.Hour), 10)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cur := NewCursor(0, "")
	clock := now
	cur.now = func() time.Time { return clock }
	read := func() int {
		t.Helper()
		n := 0
		if err := cur.Next(ctx, st, func(*store.Event) error { n++; return nil }); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := read(); n != 2 || len(cur.holes) != 1 {
		t.Fatalf("first read: %d events, holes %v", n, cur.holes)
	}
	clock = now.Add(holeWait / 2)
	if n := read(); n != 0 || len(cur.holes) != 1 {
		t.Fatalf("within the wait: %d events, holes %v", n, cur.holes)
	}
	clock = now.Add(holeWait + time.Second)
	if n := read(); n != 0 || len(cur.holes) != 0 {
		t.Fatalf("after the wait: %d events, holes %v", n, cur.holes)
	}
}
