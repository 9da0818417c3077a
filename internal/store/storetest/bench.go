package storetest

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

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
}
