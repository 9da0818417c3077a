package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
)

// Bench runs the store's benchmarks against the stores open returns.
func Bench(b *testing.B, open func(b *testing.B) store.Store) {
	b.Run("InsertAttendee", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		var meetings []*store.Meeting
		var n atomic.Int64
		for i := 0; i < 4096; i++ {
			m := newMeeting("111111111111", fmt.Sprintf("tok-%d", i))
			m.MaxAttendees = 250
			if err := s.Write(context.Background(), func(w store.Writer) error { return w.InsertMeeting(m) }); err != nil {
				b.Fatal(err)
			}
			meetings = append(meetings, m)
		}
		b.ReportAllocs()
		b.SetParallelism(16) // many requests at once, as a server has them
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				m := meetings[int(i/200)%len(meetings)]
				err := s.Write(context.Background(), func(w store.Writer) error {
					if _, err := w.LockMeeting(m.AccountID, m.ID); err != nil {
						return err
					}
					return w.InsertAttendees([]*store.Attendee{newAttendee(m, fmt.Sprintf("user-%d", i))})
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("GetAttendee", func(b *testing.B) {
		s := open(b)
		defer s.Close()
		m := newMeeting("111111111111", "tok")
		var ids []string
		if err := s.Write(context.Background(), func(w store.Writer) error {
			if err := w.InsertMeeting(m); err != nil {
				return err
			}
			for i := 0; i < 100; i++ {
				a := newAttendee(m, fmt.Sprintf("user-%d", i))
				if err := w.InsertAttendees([]*store.Attendee{a}); err != nil {
					return err
				}
				ids = append(ids, a.ID)
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
		var n atomic.Int64
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := ids[int(n.Add(1))%len(ids)]
				err := s.View(context.Background(), func(r store.Reader) error {
					if _, err := r.Meeting(m.AccountID, m.ID); err != nil {
						return err
					}
					_, err := r.Attendee(m.ID, id)
					return err
				})
				if err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
	b.Run("DueDeliveriesReceiverDown", benchDueDeliveriesReceiverDown(open))
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
