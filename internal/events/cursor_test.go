package events_test

import (
	"context"
	"testing"

	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/store"
)

func TestCursorReturnsEachEventOnceInOrder(t *testing.T) {
	ctx := context.Background()
	st, m := testOutbox(t)
	other := *m
	other.ID = "01a21db6-2c58-7b21-9f77-de46597f7400"
	read := func(c *events.Cursor) []int64 {
		t.Helper()
		var seqs []int64
		if err := c.Next(ctx, st, func(e *store.Event) error { seqs = append(seqs, e.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		return seqs
	}

	appendEvents(t, st, m, 2)
	all, mine := events.NewCursor(0, ""), events.NewCursor(0, m.ID)
	if got := read(all); len(got) != 2 || got[0] >= got[1] {
		t.Fatalf("first read: %v", got)
	}
	appendEvents(t, st, &other, 700) // more than one query's worth
	appendEvents(t, st, m, 1)
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
	appendEvents(t, st, m, 1)
	skipped := events.NewCursor(0, "")
	skipped.Skip(all.After() + 1)
	appendEvents(t, st, m, 1)
	if got := read(skipped); len(got) != 1 || got[0] != all.After()+2 {
		t.Fatalf("after Skip: %v", got)
	}
}
