package meetings

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

// A purge deletes every meeting past the retention, a batch per
// transaction, and keeps those that ended since and the active ones.
func TestPurgeEndedCatchesUp(t *testing.T) {
	ctx := context.Background()
	var counted *storetest.WriteCounter
	s := testService(t, func(st store.Store) store.Store {
		counted = &storetest.WriteCounter{Store: st}
		return counted
	})
	now := s.nowUTC()
	meeting := func(i int, ended time.Time) *store.Meeting {
		return &store.Meeting{ID: uuid.NewString(), AccountID: "000000000000", APIRegion: "us-east-1",
			ClientRequestToken: fmt.Sprintf("t-%d", i), MediaRegion: "us-east-1", MaxAttendees: 10,
			CreatedAt: ended.Add(-time.Hour), LastActiveAt: ended.Add(-time.Hour)}
	}
	var gone, kept []*store.Meeting
	old := 2*purgeBatch + purgeBatch/2
	if err := counted.Store.Write(ctx, func(w store.Writer) error {
		for i := range old + 5 {
			ended := now.Add(-s.cfg.EndedRetention - time.Hour)
			if i >= old {
				ended = now.Add(-time.Hour) // within the retention
			}
			m := meeting(i, ended)
			if err := w.InsertMeeting(m); err != nil {
				return err
			}
			if _, err := w.EndMeeting(m.ID, ended, store.EndDeleted); err != nil {
				return err
			}
			if i < old {
				gone = append(gone, m)
			} else {
				kept = append(kept, m)
			}
		}
		active := meeting(old+5, now)
		kept = append(kept, active)
		return w.InsertMeeting(active)
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.PurgeEnded(ctx); err != nil {
		t.Fatal(err)
	}
	if n := counted.Writes(); n != 3 {
		t.Fatalf("%d transactions, want 3: two full batches and the rest", n)
	}
	if err := counted.View(ctx, func(r store.Reader) error {
		for _, m := range []*store.Meeting{gone[0], gone[purgeBatch], gone[old-1]} {
			if _, err := r.MeetingByID(m.ID); !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("meeting past the retention kept: %v", err)
			}
		}
		for _, m := range kept {
			if _, err := r.MeetingByID(m.ID); err != nil {
				return fmt.Errorf("meeting purged too early: %v", err)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
