package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

// TestCacheNeverServesAStaleRow writes an attendee and its meeting over and
// over while readers hammer the cache: once a write has returned, every
// read must see it.
func TestCacheNeverServesAStaleRow(t *testing.T) {
	s, m := cacheTestStore(t)
	ctx := context.Background()
	now := m.CreatedAt
	a := cacheTestAttendee(m, 1)
	if err := s.Write(ctx, func(w store.Writer) error { return w.InsertAttendees([]*store.Attendee{a}) }); err != nil {
		t.Fatal(err)
	}
	stop := readUntilStopped(4, func() {
		s.View(ctx, func(r store.Reader) error {
			r.MeetingByID(m.ID)
			r.Attendee(m.ID, a.ID)
			return nil
		})
	})
	defer stop()
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
			t.Fatalf("write %d: %v", i, err)
		}
	}
	if err := s.Write(ctx, func(w store.Writer) error { return w.DeleteAttendee(m.ID, a.ID) }); err != nil {
		t.Fatal(err)
	}
	err := s.View(ctx, func(r store.Reader) error {
		_, err := r.Attendee(m.ID, a.ID)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a deleted attendee is still served: %v", err)
	}
}

// lockedCount returns a meeting's attendee count as the writer sees it
// (through the cache when it can) and as the database holds it.
func lockedCount(t *testing.T, s *Store, m *store.Meeting) (seen, stored int) {
	t.Helper()
	err := s.Write(context.Background(), func(w store.Writer) error {
		got, err := w.LockMeeting(m.AccountID, m.ID)
		if err != nil {
			return err
		}
		db, err := w.(*cachedWriter).Tx.LockMeetings([]string{m.ID})
		if err != nil || len(db) != 1 {
			return fmt.Errorf("meeting read from the database: %v %v", db, err)
		}
		seen, stored = got.AttendeeCount, db[0].AttendeeCount
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return seen, stored
}

func cacheTestStore(t *testing.T) (*Store, *store.Meeting) {
	t.Helper()
	s, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "c.db"), Synchronous: "NORMAL"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Now().UTC().Truncate(time.Millisecond)
	m := &store.Meeting{ID: "01a21db6-2c58-7b21-9f77-de46597f739f", AccountID: "111111111111", APIRegion: "us-east-1",
		ClientRequestToken: "t", ParamsHash: "h", ExternalMeetingID: "e", MediaRegion: "us-east-1", MaxAttendees: 250,
		CreatedAt: now, LastActiveAt: now}
	if err := s.Write(context.Background(), func(w store.Writer) error { return w.InsertMeeting(m) }); err != nil {
		t.Fatal(err)
	}
	return s, m
}

func cacheTestAttendee(m *store.Meeting, i int) *store.Attendee {
	return &store.Attendee{ID: fmt.Sprintf("01a21db6-3fb5-7532-aa42-%012x", i), MeetingID: m.ID, AccountID: m.AccountID,
		ExternalUserID: fmt.Sprintf("user-%d", i), Capabilities: model.AttendeeCapabilities{Audio: "None", Video: "None", Content: "None"},
		TokenSalt: []byte("salt"), CreatedAt: m.CreatedAt}
}

// TestWriterCacheKeepsCountsExact adds and removes attendees through
// writes that lock their meeting from the cache, and checks that the count
// they see is the stored one after every commit.
func TestWriterCacheKeepsCountsExact(t *testing.T) {
	s, m := cacheTestStore(t)
	ctx := context.Background()
	next := 0
	for round := 0; round < 20; round++ {
		err := s.Write(ctx, func(w store.Writer) error {
			if _, err := w.LockMeetings([]string{m.ID}); err != nil {
				return err
			}
			var as []*store.Attendee
			for range 1 + round%3 {
				next++
				as = append(as, cacheTestAttendee(m, next))
			}
			return w.InsertAttendees(as)
		})
		if err != nil {
			t.Fatal(err)
		}
		if round%4 == 3 {
			if err := s.Write(ctx, func(w store.Writer) error {
				if _, err := w.LockMeeting(m.AccountID, m.ID); err != nil {
					return err
				}
				return w.DeleteAttendee(m.ID, cacheTestAttendee(m, next).ID)
			}); err != nil {
				t.Fatal(err)
			}
		}
		if seen, stored := lockedCount(t, s, m); seen != stored {
			t.Fatalf("round %d: the writer saw %d attendees, the database holds %d", round, seen, stored)
		}
	}
	if _, ok := s.cache.meeting(m.ID); !ok {
		t.Fatal("a meeting whose count changed left the cache: the writer reads it from SQLite every time")
	}
}

// TestWriterCacheSeesTheBatchsOwnChanges locks a meeting again after
// changing its count in the same transaction: the second lock must see the
// change, which only the database has until the commit.
func TestWriterCacheSeesTheBatchsOwnChanges(t *testing.T) {
	s, m := cacheTestStore(t)
	lockedCount(t, s, m) // cached now
	err := s.Write(context.Background(), func(w store.Writer) error {
		if err := w.InsertAttendees([]*store.Attendee{cacheTestAttendee(m, 1), cacheTestAttendee(m, 2)}); err != nil {
			return err
		}
		got, err := w.LockMeeting(m.AccountID, m.ID)
		if err != nil {
			return err
		}
		if got.AttendeeCount != 2 {
			return fmt.Errorf("locked again in the same transaction: %d attendees, want 2", got.AttendeeCount)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen, stored := lockedCount(t, s, m); seen != 2 || stored != 2 {
		t.Fatalf("after the commit: seen %d, stored %d, want 2", seen, stored)
	}
}

// TestWriterCacheForgetsRolledBackChanges fails writes after they changed
// something, so that the batch is rolled back: neither their count moves
// nor a meeting they inserted may reach the cache.
func TestWriterCacheForgetsRolledBackChanges(t *testing.T) {
	s, m := cacheTestStore(t)
	ctx := context.Background()
	lockedCount(t, s, m) // cached now
	boom := errors.New("boom")
	err := s.Write(ctx, func(w store.Writer) error {
		if _, err := w.LockMeeting(m.AccountID, m.ID); err != nil {
			return err
		}
		if err := w.InsertAttendees([]*store.Attendee{cacheTestAttendee(m, 1)}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the callback's error", err)
	}
	if seen, stored := lockedCount(t, s, m); seen != 0 || stored != 0 {
		t.Fatalf("after a rolled-back addition: seen %d, stored %d, want 0", seen, stored)
	}

	ghost := *m
	ghost.ID, ghost.ClientRequestToken = "01a21db6-2c58-7b21-9f77-de46597f7400", "t2"
	err = s.Write(ctx, func(w store.Writer) error {
		if err := w.InsertMeeting(&ghost); err != nil {
			return err
		}
		if ms, err := w.LockMeetings([]string{ghost.ID}); err != nil || len(ms) != 1 {
			return fmt.Errorf("the new meeting in its own transaction: %v %v", ms, err)
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the callback's error", err)
	}
	err = s.Write(ctx, func(w store.Writer) error {
		_, err := w.LockMeeting(ghost.AccountID, ghost.ID)
		return err
	})
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a meeting whose insert was rolled back: %v, want ErrNotFound", err)
	}
}

// TestWriterCacheAttendees reads attendees in writes: one deleted earlier
// in the transaction is gone, and one read before its transaction was
// rolled back never reaches the cache.
func TestWriterCacheAttendees(t *testing.T) {
	s, m := cacheTestStore(t)
	ctx := context.Background()
	kept := cacheTestAttendee(m, 1)
	if err := s.Write(ctx, func(w store.Writer) error { return w.InsertAttendees([]*store.Attendee{kept}) }); err != nil {
		t.Fatal(err)
	}
	err := s.Write(ctx, func(w store.Writer) error {
		if _, err := w.Attendee(m.ID, kept.ID); err != nil { // cached now
			return err
		}
		if err := w.DeleteAttendee(m.ID, kept.ID); err != nil {
			return err
		}
		if _, err := w.Attendee(m.ID, kept.ID); !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("an attendee deleted earlier in the transaction: %v, want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	ghost := cacheTestAttendee(m, 2)
	boom := errors.New("boom")
	err = s.Write(ctx, func(w store.Writer) error {
		if err := w.InsertAttendees([]*store.Attendee{ghost}); err != nil {
			return err
		}
		if _, err := w.Attendee(m.ID, ghost.ID); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the callback's error", err)
	}
	for _, a := range []*store.Attendee{kept, ghost} {
		err = s.Write(ctx, func(w store.Writer) error {
			_, err := w.Attendee(m.ID, a.ID)
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("writer: attendee %s: %v, want ErrNotFound", a.ExternalUserID, err)
		}
		err = s.View(ctx, func(r store.Reader) error {
			_, err := r.Attendee(m.ID, a.ID)
			return err
		})
		if !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reader: attendee %s: %v, want ErrNotFound", a.ExternalUserID, err)
		}
	}
}

// TestAddedAttendeesAreCachedAsStored: a new attendee is cached at its
// commit exactly as the database holds it, unless its batch changed it
// after adding it.
func TestAddedAttendeesAreCachedAsStored(t *testing.T) {
	s, m := cacheTestStore(t)
	ctx := context.Background()
	one, two, gone, ended := cacheTestAttendee(m, 1), cacheTestAttendee(m, 2), cacheTestAttendee(m, 3), cacheTestAttendee(m, 4)
	one.CreatedAt = one.CreatedAt.Add(123456 * time.Nanosecond) // the database keeps milliseconds
	if err := s.Write(ctx, func(w store.Writer) error { return w.InsertAttendees([]*store.Attendee{one}) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, func(w store.Writer) error {
		if err := w.InsertAttendees([]*store.Attendee{two, gone}); err != nil {
			return err
		}
		return w.DeleteAttendee(m.ID, gone.ID)
	}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*store.Attendee{one, two} {
		cached, ok := s.cache.attendee(m.ID, a.ID)
		if !ok {
			t.Fatalf("attendee %s is not cached", a.ExternalUserID)
		}
		var stored store.Attendee
		if err := s.Write(ctx, func(w store.Writer) (err error) {
			stored, err = w.(*cachedWriter).Tx.Attendee(m.ID, a.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(cached, stored) {
			t.Errorf("cached %+v\nstored %+v", cached, stored)
		}
	}
	if _, ok := s.cache.attendee(m.ID, gone.ID); ok {
		t.Error("an attendee deleted in the batch that added it is cached")
	}

	if err := s.Write(ctx, func(w store.Writer) error {
		if err := w.InsertAttendees([]*store.Attendee{ended}); err != nil {
			return err
		}
		_, err := w.EndMeeting(m.ID, time.Now(), store.EndDeleted)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*store.Attendee{one, two, ended} {
		if _, ok := s.cache.attendee(m.ID, a.ID); ok {
			t.Errorf("attendee %s of an ended meeting is cached", a.ExternalUserID)
		}
	}
}

// LockMeetings answers as the database's lock does, whichever meetings the
// cache has: those found, in ID order, once each.
func TestWriterCacheLocksInIDOrder(t *testing.T) {
	s, m := cacheTestStore(t)
	other := *m
	other.ID, other.ClientRequestToken = "01a21db6-2c58-7b21-9f77-de46597f7000", "t0"
	if err := s.Write(context.Background(), func(w store.Writer) error { return w.InsertMeeting(&other) }); err != nil {
		t.Fatal(err)
	}
	lockedCount(t, s, m) // m is cached, other is not
	var got []string
	err := s.Write(context.Background(), func(w store.Writer) error {
		ms, err := w.LockMeetings([]string{m.ID, "01a21db6-2c58-7b21-9f77-de46597f7fff", other.ID, m.ID})
		for _, x := range ms {
			got = append(got, x.ID)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{other.ID, m.ID}; !slices.Equal(got, want) {
		t.Fatalf("locked %v, want %v", got, want)
	}
}

// TestCacheIsNeverOlderThanTheDatabase has readers observe each commit
// through the database (the attendee list is never cached) and then read
// the meeting the same commit touched: a reader that has seen a commit
// must never be answered from a cached row it made stale, even before the
// writer has finished with the cache.
func TestCacheIsNeverOlderThanTheDatabase(t *testing.T) {
	s, m := cacheTestStore(t)
	ctx := context.Background()
	const writes = 300
	errs := make(chan error, 1)
	stop := readUntilStopped(3, func() {
		var n int
		s.View(ctx, func(r store.Reader) error {
			as, err := r.Attendees(m.ID, 0, writes+1)
			n = len(as)
			return err
		})
		if n == 0 {
			return
		}
		// The commit that stored attendee n moved LastActiveAt to n s.
		want := m.CreatedAt.Add(time.Duration(n) * time.Second)
		s.View(ctx, func(r store.Reader) error {
			got, err := r.MeetingByID(m.ID)
			if err == nil && got.LastActiveAt.Before(want) {
				select {
				case errs <- fmt.Errorf("%d attendees stored, but the meeting read after them is older: active at %v, want %v", n, got.LastActiveAt.Sub(m.CreatedAt), want.Sub(m.CreatedAt)):
				default:
				}
			}
			return nil
		})
	})
	defer stop()
	for i := 1; i <= writes; i++ {
		a := cacheTestAttendee(m, i)
		if err := s.Write(ctx, func(w store.Writer) error {
			if err := w.InsertAttendees([]*store.Attendee{a}); err != nil {
				return err
			}
			return w.TouchMeeting(m.ID, m.CreatedAt.Add(time.Duration(i)*time.Second))
		}); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-errs:
			t.Fatalf("write %d: %v", i, err)
		default:
		}
	}
	stop()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// readUntilStopped runs read over and over in n goroutines; the function
// it returns stops them and waits for them.
func readUntilStopped(n int, read func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				read()
			}
		})
	}
	return sync.OnceFunc(func() {
		close(done)
		wg.Wait()
	})
}

// Readers fill the cache while a batch runs, with the rows last committed,
// and the batch's commit takes out those it changed: a writer busy all the
// time must not keep every read off the cache.
func TestReadersFillWhileABatchRuns(t *testing.T) {
	s, m := cacheTestStore(t)
	ctx := context.Background()
	s.cache.mu.Lock()
	s.cache.clearLocked()
	s.cache.mu.Unlock()
	later := m.LastActiveAt.Add(time.Minute)
	release := storetest.HoldWrite(t, s, func(w store.Writer) error { return w.TouchMeeting(m.ID, later) }, nil)
	read := func() store.Meeting {
		t.Helper()
		var got store.Meeting
		if err := s.View(ctx, func(r store.Reader) (err error) { got, err = r.MeetingByID(m.ID); return err }); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := read(); !got.LastActiveAt.Equal(m.LastActiveAt) {
		t.Fatalf("during the batch: last active %v, want the committed %v", got.LastActiveAt, m.LastActiveAt)
	}
	if _, ok := s.cache.meeting(m.ID); !ok {
		t.Fatal("the meeting read during the batch was not cached")
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	if got := read(); !got.LastActiveAt.Equal(later) {
		t.Fatalf("after the commit: last active %v, want %v", got.LastActiveAt, later)
	}
	if _, ok := s.cache.meeting(m.ID); !ok {
		t.Fatal("the meeting read after the commit was not cached")
	}
}
