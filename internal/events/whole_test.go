package events

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
)

// Through Whole the outbox holds each event as it is delivered.
func TestWholeKeepsRenderedEvents(t *testing.T) {
	st, err := sqlite.Open(context.Background(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := New(AttendeeAdded, meeting(), &Attendee{ID: "a1", ExternalUserID: "alice"}, time.Now())
	want := rendered(t, e)
	for range 2 { // as a transaction that runs again would
		if err := Whole(st).Write(context.Background(), func(w store.Writer) error {
			return w.AppendEvents([]*store.Event{e}, nil)
		}); err != nil {
			t.Fatal(err)
		}
	}
	var got []store.Event
	if err := st.View(context.Background(), func(r store.Reader) (err error) {
		got, err = r.EventsAfter(0, 10)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !bytes.Equal(got[0].Payload, want) || !bytes.Equal(got[1].Payload, want) {
		t.Fatalf("stored %+v, want %s twice", got, want)
	}
}
