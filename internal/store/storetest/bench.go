package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
)

// Bench runs the store's benchmarks against the stores open returns: the
// store's share of each API operation (the writes with the events each one
// emits, but for InsertAttendee, kept as earlier figures measured it),
// the lifecycle's (benchOtherOperations), then the outbox's poll with a
// receiver down.
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	b.Run("CreateMeeting", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		parallel(b, 16, func(i int) {
			m := newMeeting("111111111111", fmt.Sprintf("tok-%d", i))
			// As with no limit on active meetings (the default): the
			// token is looked up, no meeting counted.
			benchWrite(b, s, func(w store.Writer) error {
				if _, err := w.MeetingByToken(m.AccountID, m.APIRegion, m.ClientRequestToken); !errors.Is(err, store.ErrNotFound) {
					return fmt.Errorf("token lookup: %v", err)
				}
				if err := w.InsertMeeting(m); err != nil {
					return err
				}
				return w.AppendEvents([]*store.Event{newEvent(m.ID, "chime:MeetingStarted")}, nil)
			})
		})
	})
	b.Run("InsertAttendee", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		meetings := benchMeetings(b, s, 4096, 250)
		parallel(b, 16, func(i int) {
			m := meetings[i/200%len(meetings)]
			benchWrite(b, s, func(w store.Writer) error {
				if _, err := w.LockMeeting(m.AccountID, m.ID); err != nil {
					return err
				}
				return w.InsertAttendees([]*store.Attendee{newAttendee(m, fmt.Sprintf("user-%d", i))})
			})
		})
	})
	b.Run("InsertAttendees100", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		meetings := benchMeetings(b, s, b.N, 100)
		parallel(b, 4, func(i int) {
			m := meetings[i]
			as := make([]*store.Attendee, 100)
			keys := make([]store.AttendeeKey, 100)
			for j := range as {
				as[j] = newAttendee(m, fmt.Sprintf("user-%d", j))
				keys[j] = store.AttendeeKey{MeetingID: m.ID, ExternalUserID: as[j].ExternalUserID}
			}
			benchWrite(b, s, func(w store.Writer) error {
				if _, err := w.LockMeetings([]string{m.ID}); err != nil {
					return err
				}
				if _, err := w.AttendeesByExternalIDs(keys); err != nil {
					return err
				}
				if err := w.InsertAttendees(as); err != nil {
					return err
				}
				es := make([]*store.Event, len(as))
				for j := range es {
					es[j] = newEvent(m.ID, "chime:AttendeeAdded")
				}
				return w.AppendEvents(es, nil)
			})
		})
	})
	b.Run("GetMeeting", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		meetings := benchMeetings(b, s, 1000, 10)
		parallel(b, 1, func(i int) {
			m := meetings[i%len(meetings)]
			benchView(b, s, func(r store.Reader) error {
				_, err := r.Meeting(m.AccountID, m.ID)
				return err
			})
		})
	})
	b.Run("GetAttendee", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		m := benchMeetings(b, s, 1, 100)[0]
		as := benchAttendees(b, s, m, 100)
		parallel(b, 1, func(i int) {
			a := as[i%len(as)]
			benchView(b, s, func(r store.Reader) error {
				if _, err := r.Meeting(m.AccountID, m.ID); err != nil {
					return err
				}
				_, err := r.Attendee(m.ID, a.ID)
				return err
			})
		})
	})
	b.Run("ListAttendees", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		m := benchMeetings(b, s, 1, 100)[0]
		as := benchAttendees(b, s, m, 100)
		parallel(b, 1, func(i int) {
			var after int64 // pages of 10, each after the last of the one before
			if page := i % 10; page > 0 {
				after = as[10*page-1].Seq
			}
			benchView(b, s, func(r store.Reader) error {
				if _, err := r.Meeting(m.AccountID, m.ID); err != nil {
					return err
				}
				page, err := r.Attendees(m.ID, after, 10)
				if err == nil && len(page) != 10 {
					err = fmt.Errorf("a page of %d attendees, want 10", len(page))
				}
				return err
			})
		})
	})
	b.Run("DeleteAttendee", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		meetings := benchMeetings(b, s, b.N/100+1, 100)
		var victims []*store.Attendee
		for _, m := range meetings {
			victims = append(victims, benchAttendees(b, s, m, 100)...)
		}
		parallel(b, 16, func(i int) {
			a := victims[i]
			benchWrite(b, s, func(w store.Writer) error {
				if _, err := w.LockMeeting(a.AccountID, a.MeetingID); err != nil {
					return err
				}
				if err := w.DeleteAttendee(a.MeetingID, a.ID); err != nil {
					return err
				}
				return w.AppendEvents([]*store.Event{newEvent(a.MeetingID, "chime:AttendeeDeleted")}, nil)
			})
		})
	})
	b.Run("DeleteMeeting", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		meetings := benchMeetings(b, s, b.N, 10)
		for _, m := range meetings {
			benchAttendees(b, s, m, 10)
		}
		parallel(b, 16, func(i int) {
			m := meetings[i]
			benchWrite(b, s, func(w store.Writer) error {
				if _, err := w.LockMeeting(m.AccountID, m.ID); err != nil {
					return err
				}
				gone, err := w.EndMeeting(m.ID, epoch, store.EndDeleted)
				if err != nil {
					return err
				}
				es := []*store.Event{newEvent(m.ID, "chime:MeetingEnded")}
				for range gone {
					es = append(es, newEvent(m.ID, "chime:AttendeeDeleted"))
				}
				return w.AppendEvents(es, nil)
			})
		})
	})
	benchOtherOperations(b, open)
	b.Run("DueDeliveriesReceiverDown", benchDueDeliveriesReceiverDown(open))
}

// parallel runs op b.N times, each with its number from 0, from perCore
// goroutines per core (writes: many at once, as a server has them).
func parallel(b *testing.B, perCore int, op func(i int)) {
	var n atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(perCore)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			op(int(n.Add(1) - 1))
		}
	})
}

// serial runs fn b.N times, one write after the other (work that one
// replica does at a time).
func serial(b *testing.B, s store.Store, fn func(store.Writer) error) {
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		benchWrite(b, s, fn)
	}
}

// benchMeetings stores n meetings with room for room attendees each, in
// transactions of up to a thousand.
func benchMeetings(b *testing.B, s store.Store, n, room int) []*store.Meeting {
	b.Helper()
	meetings := make([]*store.Meeting, n)
	for start := 0; start < n; start += 1000 {
		batch := meetings[start:min(start+1000, n)]
		if err := s.Write(context.Background(), func(w store.Writer) error {
			for i := range batch {
				batch[i] = newMeeting("111111111111", fmt.Sprintf("tok-%d", start+i))
				batch[i].MaxAttendees = room
				if err := w.InsertMeeting(batch[i]); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	return meetings
}

// benchAttendees adds n attendees to m, in one transaction.
func benchAttendees(b *testing.B, s store.Store, m *store.Meeting, n int) []*store.Attendee {
	b.Helper()
	as := make([]*store.Attendee, n)
	for i := range as {
		as[i] = newAttendee(m, fmt.Sprintf("user-%d", i))
	}
	if err := s.Write(context.Background(), func(w store.Writer) error { return w.InsertAttendees(as) }); err != nil {
		b.Fatal(err)
	}
	return as
}

// benchWrite and benchView run a benchmark's transaction, failing the
// benchmark (from any goroutine) when it fails.
func benchWrite(b *testing.B, s store.Store, fn func(store.Writer) error) {
	if err := s.Write(context.Background(), fn); err != nil {
		b.Error(err)
	}
}

func benchView(b *testing.B, s store.Store, fn func(store.Reader) error) {
	if err := s.View(context.Background(), fn); err != nil {
		b.Error(err)
	}
}

// benchDueDeliveriesReceiverDown polls for due deliveries while a receiver
// that is down holds 100,000 deliveries (its heads waiting out a back-off)
// ahead of 32 due groups of another destination.
func benchDueDeliveriesReceiverDown(open func(b *testing.B) store.Store) func(b *testing.B) {
	return func(b *testing.B) {
		s := open(b)
		defer s.Close()
		const stuck, meetings = 100_000, 100
		var heads []int64
		for start := 0; start < stuck; start += 500 {
			var es []*store.Event
			for i := start; i < start+500; i++ {
				es = append(es, newEvent(fmt.Sprintf("m%d", i%meetings), "x"))
			}
			if err := s.Write(context.Background(), func(w store.Writer) error { return w.AppendEvents(es, []string{"down"}) }); err != nil {
				b.Fatal(err)
			}
			if start == 0 {
				for _, e := range es[:meetings] {
					heads = append(heads, e.Seq)
				}
			}
		}
		if err := s.Write(context.Background(), func(w store.Writer) error {
			for _, seq := range heads {
				if err := w.FailDelivery(seq, "down", 1, epoch.Add(time.Hour), "connection refused", false); err != nil {
					return err
				}
			}
			var es []*store.Event
			for i := range 32 {
				es = append(es, newEvent(fmt.Sprintf("m%d", i), "x"))
			}
			return w.AppendEvents(es, []string{"up"})
		}); err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			err := s.View(context.Background(), func(r store.Reader) error {
				ds, err := r.DueDeliveries(epoch, 32, 50, 1600)
				if err == nil && len(ds) != 32 {
					err = fmt.Errorf("%d due deliveries, want 32", len(ds))
				}
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	}
}
