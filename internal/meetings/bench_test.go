package meetings

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
	"github.com/carillon-dev/carillon/internal/token"
)

func benchService(b *testing.B) *Service {
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(b.TempDir(), "b.db"), Synchronous: os.Getenv("SYNC")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	keys, _ := token.Ephemeral()
	return New(DefaultConfig(), Deps{Store: st, Keys: keys})
}

// BenchmarkCreateAttendee is the domain and store cost of CreateAttendee,
// with many requests at once, as a server has them: each caller fills a
// meeting of its own, as the load tool's workers do.
func BenchmarkCreateAttendee(b *testing.B) {
	s := benchService(b)
	c := Caller{AccountID: "000000000000", Region: "us-east-1"}
	var meetings []string
	for i := 0; i < 2000; i++ {
		m, err := s.CreateMeeting(context.Background(), c, &model.CreateMeetingInput{ClientRequestToken: fmt.Sprintf("tok-%d", i), MediaRegion: "us-east-1", ExternalMeetingId: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		meetings = append(meetings, m.MeetingId)
	}
	var next, n atomic.Int64
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		meeting, added := meetings[int(next.Add(1))%len(meetings)], 0
		for pb.Next() {
			if added == 200 {
				meeting, added = meetings[int(next.Add(1))%len(meetings)], 0
			}
			added++
			_, err := s.CreateAttendee(context.Background(), c, &model.CreateAttendeeInput{MeetingId: meeting, ExternalUserId: fmt.Sprintf("user-%d", n.Add(1))})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkBatchCreateAttendee100 is the domain and store cost of a batch of
// 100 new attendees, 8 batches at once.
func BenchmarkBatchCreateAttendee100(b *testing.B) {
	s := benchService(b)
	c := Caller{AccountID: "000000000000", Region: "us-east-1"}
	var n atomic.Int64
	b.SetParallelism(4)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			m, err := s.CreateMeeting(context.Background(), c, &model.CreateMeetingInput{ClientRequestToken: fmt.Sprintf("tok-%d", i), MediaRegion: "us-east-1", ExternalMeetingId: "bench"})
			if err != nil {
				b.Error(err)
				return
			}
			items := make([]model.CreateAttendeeRequestItem, 100)
			for j := range items {
				items[j].ExternalUserId = fmt.Sprintf("user-%d", j)
			}
			if _, err := s.BatchCreateAttendee(context.Background(), c, &model.BatchCreateAttendeeInput{MeetingId: m.MeetingId, Attendees: items}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
