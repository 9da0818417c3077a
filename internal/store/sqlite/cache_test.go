package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// TestCacheNeverServesAStaleRow writes an attendee and its meeting over and
// over while readers hammer the cache: once a write has returned, every
// read must see it.
func TestCacheNeverServesAStaleRow(t *testing.T) {
	s, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "c.db"), Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	m := &store.Meeting{ID: "01a21db6-2c58-7b21-9f77-de46597f739f", AccountID: "111111111111", APIRegion: "us-east-1",
		ClientRequestToken: "t", ParamsHash: "h", ExternalMeetingID: "e", MediaRegion: "us-east-1", MaxAttendees: 250,
		CreatedAt: now, LastActiveAt: now}
	a := &store.Attendee{ID: "01a21db6-3fb5-7532-aa42-4f6bce817338", MeetingID: m.ID, AccountID: m.AccountID, ExternalUserID: "alice",
		Capabilities: model.AttendeeCapabilities{Audio: "None", Video: "None", Content: "None"}, TokenSalt: []byte("salt"), CreatedAt: now}
	if err := s.Write(ctx, func(w store.Writer) error {
		if err := w.InsertMeeting(m); err != nil {
			return err
		}
		return w.InsertAttendees([]*store.Attendee{a})
	}); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				s.View(ctx, func(r store.Reader) error {
					r.MeetingByID(m.ID)
					r.Attendee(m.ID, a.ID)
					return nil
				})
			}
		})
	}
	values := []string{"SendReceive", "Send", "Receive", "None"}
	for i := 0; i < 300; i++ {
		want := model.AttendeeCapabilities{Audio: values[i%4], Video: values[(i+1)%4], Content: "None"}
		at := now.Add(time.Duration(i+1) * time.Second)
		if err := s.Write(ctx, func(w store.Writer) error {
			if err := w.UpdateCapabilities(m.ID, a.ID, want); err != nil {
				return err
			}
			return w.TouchMeeting(m.ID, at)
		}); err != nil {
			t.Fatal(err)
		}
		if err := s.View(ctx, func(r store.Reader) error {
			got, err := r.Attendee(m.ID, a.ID)
			if err != nil {
				return err
			}
			if got.Capabilities != want {
				return errors.New("stale attendee: " + got.Capabilities.Audio + " after writing " + want.Audio)
			}
			mt, err := r.MeetingByID(m.ID)
			if err != nil {
				return err
			}
			if !mt.LastActiveAt.Equal(at) {
				return errors.New("stale meeting")
			}
			return nil
		}); err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if err := s.Write(ctx, func(w store.Writer) error { return w.DeleteAttendee(m.ID, a.ID) }); err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(r store.Reader) error {
		_, err := r.Attendee(m.ID, a.ID)
		return err
	})
	close(stop)
	wg.Wait()
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted attendee is still served: %v", err)
	}
}
