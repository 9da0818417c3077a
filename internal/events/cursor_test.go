package events_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
)

func TestCursorReturnsEachEventOnceInOrder(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m := &store.Meeting{ID: "01a21db6-2c58-7b21-9f77-de46597f739f", AccountID: "111111111111", APIRegion: "us-east-1", MediaRegion: "us-east-1"}
	other := *m
	other.ID = "01a21db6-2c58-7b21-9f77-de46597f7400"
	appendEvents := func(m *store.Meeting, n int) {
		t.Helper()
		evs := make([]*store.Event, n)
		for i := range evs {
			evs[i] = events.New(events.AttendeeJoined, m, &events.Attendee{ID: fmt.Sprint(i), ExternalUserID: "x"}, time.Now())
		}
		if err := st.Write(ctx, func(w store.Writer) error { return w.AppendEvents(evs, nil) }); err != nil {
			t.Fatal(err)
		}
	}
	read := func(c *events.Cursor) []int64 {
		t.Helper()
		var seqs []int64
		if err := c.Next(ctx, st, func(e *store.Event) error { seqs = append(seqs, e.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		return seqs
	}

	appendEvents(m, 2)
	all, mine := events.NewCursor(0, ""), events.NewCursor(0, m.ID)
	if got := read(all); len(got) != 2 || got[0] >= got[1] {
		t.Fatalf("first read: %v", got)
	}
	appendEvents(&other, 700) // more than one query's worth
	appendEvents(m, 1)
	if got := read(all); len(got) != 701 {
		t.Fatalf("second read: %d events, want 701", len(got))
	}
	if got := read(all); len(got) != 0 {
		t.Fatalf("a read with nothing new returned %v", got)
	}
	if got := read(mine); len(got) != 3 {
		t.Fatalf("one meeting's cursor read %d events, want 3", len(got))
	}

	// Skip leaves out what came before.
	appendEvents(m, 1)
	skipped := events.NewCursor(0, "")
	skipped.Skip(all.After() + 1)
	appendEvents(m, 1)
	if got := read(skipped); len(got) != 1 || got[0] != all.After()+2 {
		t.Fatalf("after Skip: %v", got)
	}
}
