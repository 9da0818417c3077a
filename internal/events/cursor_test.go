package events_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/postgres"
	"github.com/carillon-dev/carillon/internal/store/postgres/pgtest"
	"github.com/carillon-dev/carillon/internal/store/storetest"
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

	// A cursor at the end of the log leaves out what came before.
	appendEvents(t, st, m, 1)
	atEnd, err := events.AtEnd(ctx, st, "")
	if err != nil {
		t.Fatal(err)
	}
	appendEvents(t, st, m, 1)
	if got := read(atEnd); len(got) != 1 || got[0] != all.After()+2 {
		t.Fatalf("at the end: %v", got)
	}
	// So does one moved there.
	end, err := events.ReadEnd(ctx, st, all.After())
	if err != nil {
		t.Fatal(err)
	}
	all.SkipTo(end)
	appendEvents(t, st, m, 1)
	if got := read(all); len(got) != 1 || got[0] != atEnd.After()+1 {
		t.Fatalf("moved to the end: %v", got)
	}
}

// pgOutbox opens a PostgreSQL store in a schema of its own (or skips).
func pgOutbox(t *testing.T) store.Store {
	t.Helper()
	url, schema := pgtest.Schema(t)
	st, err := postgres.Open(context.Background(), postgres.Options{URL: url, Schema: schema, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// lateEvent writes three events of a meeting on PostgreSQL, then holds a
// transaction open with the late event's number while two more (after)
// commit above it; release commits it.
func lateEvent(t *testing.T) (st store.Store, m *store.Meeting, late *store.Event, after []*store.Event, release func() error) {
	t.Helper()
	st = pgOutbox(t)
	m = testMeeting()
	appendEvents(t, st, m, 3)
	late = events.New(events.AttendeeDeleted, m, &events.Attendee{ID: "late", ExternalUserID: "x"}, time.Now())
	release = storetest.HoldWrite(t, st, func(w store.Writer) error {
		return w.AppendEvents([]*store.Event{late}, nil)
	}, nil)
	return st, m, late, appendEvents(t, st, m, 2), release
}

// On PostgreSQL, a cursor placed at the end of the log while a
// transaction holds a lower number returns its event once it commits.
func TestCursorAtEndReturnsAnEventCommittedLate(t *testing.T) {
	ctx := context.Background()
	st, m, late, after, release := lateEvent(t)
	fresh, err := events.AtEnd(ctx, st, "")
	if err != nil {
		t.Fatal(err)
	}
	moved := events.NewCursor(0, m.ID)
	end, err := events.ReadEnd(ctx, st, 0)
	if err != nil {
		t.Fatal(err)
	}
	moved.SkipTo(end)
	if fresh.After() != after[1].Seq || late.Seq >= fresh.After() {
		t.Fatalf("at %d, with the late event's number %d", fresh.After(), late.Seq)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*events.Cursor{"new": fresh, "moved": moved} {
		var got []int64
		if err := c.Next(ctx, st, func(e *store.Event) error { got = append(got, e.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != late.Seq {
			t.Fatalf("%s cursor after the late commit: %v, want [%d]", name, got, late.Seq)
		}
	}
}

// On PostgreSQL, a client resuming after the last event it received
// (Last-Event-ID) while a transaction holds a lower number gets that
// event once it commits: the stream it left had passed over it.
func TestCursorResumedReturnsAnEventCommittedLate(t *testing.T) {
	ctx := context.Background()
	st, m, late, received, release := lateEvent(t)
	c, err := events.Resume(ctx, st, received[0].Seq, m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	var got []int64
	if err := c.Next(ctx, st, func(e *store.Event) error { got = append(got, e.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if want := []int64{late.Seq, received[1].Seq}; !slices.Equal(got, want) {
		t.Fatalf("resumed after %d: %v, want %v", received[0].Seq, got, want)
	}
}

// On PostgreSQL an event can commit after events with higher sequence
// numbers: a cursor returns it once it commits, however many came in
// between, and however many numbers rolled-back transactions left before.
func TestCursorReturnsAnEventCommittedLate(t *testing.T) {
	ctx := context.Background()
	st := pgOutbox(t)
	m := testMeeting()
	all, mine := events.NewCursor(0, ""), events.NewCursor(0, m.ID)
	read := func() []int64 {
		t.Helper()
		var seqs, ofMeeting []int64
		if err := all.Next(ctx, st, func(e *store.Event) error { seqs = append(seqs, e.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		if err := mine.Next(ctx, st, func(e *store.Event) error { ofMeeting = append(ofMeeting, e.Seq); return nil }); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs, ofMeeting) {
			t.Fatalf("the meeting's cursor read %v, the one of every meeting %v", ofMeeting, seqs)
		}
		return seqs
	}
	// A rolled-back transaction leaves 5,000 numbers that never commit.
	err := st.Write(ctx, func(w store.Writer) error {
		rolledBack := make([]*store.Event, 5000)
		for i := range rolledBack {
			rolledBack[i] = events.New(events.AttendeeJoined, m, &events.Attendee{ID: "gone", ExternalUserID: "x"}, time.Now())
		}
		if err := w.AppendEvents(rolledBack, nil); err != nil {
			return err
		}
		return errors.New("roll back")
	})
	if err == nil {
		t.Fatal("the write that was to roll back committed")
	}
	late := events.New(events.AttendeeDeleted, m, &events.Attendee{ID: "late", ExternalUserID: "x"}, time.Now())
	release := storetest.HoldWrite(t, st, func(w store.Writer) error {
		return w.AppendEvents([]*store.Event{late}, nil)
	}, nil)
	appendEvents(t, st, m, 100) // more than the window a meeting's cursor reads again
	if got := read(); len(got) != 100 || got[0] <= late.Seq {
		t.Fatalf("before the late commit: %d events from %v", len(got), got[:min(len(got), 1)])
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if got := read(); len(got) != 1 || got[0] != late.Seq {
		t.Fatalf("after the late commit: %v, want [%d]", got, late.Seq)
	}
	if got := read(); len(got) != 0 {
		t.Fatalf("a read with nothing new returned %v", got)
	}
}
