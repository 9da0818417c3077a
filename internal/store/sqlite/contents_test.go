package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
)

// filledStore opens a store at path holding meetings of per attendees
// each: meeting i's ID ends in i, and attendee j of it in i*per+j (12
// digits each), so that a test can tell where a row was stored.
func filledStore(t *testing.T, path string, meetings, per int) *Store {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	now := time.Now().UTC()
	err = s.Write(ctx, func(w store.Writer) error {
		var as []*store.Attendee
		for i := range meetings {
			m := &store.Meeting{ID: fmt.Sprintf("00000000-0000-7000-8000-%012d", i), AccountID: "000000000000",
				APIRegion: "us-east-1", ClientRequestToken: fmt.Sprint("token-", i), MediaRegion: "us-east-1",
				MaxAttendees: 250, CreatedAt: now, LastActiveAt: now}
			if err := w.InsertMeeting(m); err != nil {
				return err
			}
			for j := range per {
				as = append(as, &store.Attendee{ID: fmt.Sprintf("00000000-0000-7000-9000-%012d", i*per+j), MeetingID: m.ID,
					AccountID: m.AccountID, ExternalUserID: fmt.Sprint("user-", j), TokenKeyID: 1, TokenSalt: make([]byte, 16), CreatedAt: now})
			}
		}
		return w.InsertAttendees(as)
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rowNumber is the number an ID of filledStore ends in.
func rowNumber(id string) int {
	var n int
	fmt.Sscanf(id[len(id)-12:], "%d", &n)
	return n
}

func TestCount(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "carillon.db")
	filledStore(t, path, 2, 3)
	// Counted beside the running store, as bench growth may be.
	c, err := Count(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Meetings != 2 || c.Attendees != 6 || c.Bytes < 4096 {
		t.Errorf("counted %+v, want 2 meetings, 6 attendees and some bytes", c)
	}
	if _, err := Count(ctx, filepath.Join(t.TempDir(), "none.db")); err == nil {
		t.Error("counted a database that does not exist")
	}

	if sample, err := SampleAttendees(ctx, path, 4); err != nil || len(sample) != 4 {
		t.Fatalf("sampled %v, %v; want 4 attendees", sample, err)
	}
	// More than it holds: each one once.
	sample, err := SampleAttendees(ctx, path, 50)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[[2]string]bool{}
	for _, a := range sample {
		if !strings.HasPrefix(a[0], "00000000-0000-7000-8000-") || !strings.HasPrefix(a[1], "00000000-0000-7000-9000-") {
			t.Fatalf("sampled %v, not a meeting and an attendee of it", a)
		}
		if rowNumber(a[1])/3 != rowNumber(a[0]) {
			t.Fatalf("sampled %v: the attendee is not of that meeting", a)
		}
		seen[a] = true
	}
	if len(seen) != 6 || len(sample) != 6 {
		t.Errorf("sampled %d attendees, %d of them distinct; want the 6 once each", len(sample), len(seen))
	}
}

// A sample is spread over the whole store, whichever way it is drawn: by
// random lookups (a few of many) or by shuffling them all (most of them).
func TestSampleAttendeesSpreads(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "carillon.db")
	const meetings, per = 30, 100
	filledStore(t, path, meetings, per)
	for _, n := range []int{100, 2000} { // looked up at random; all shuffled
		sample, err := SampleAttendees(ctx, path, n)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		lowest, highest, rising := meetings*per, -1, true
		for k, a := range sample {
			i := rowNumber(a[1])
			seen[i] = true
			if k > 0 && k < 20 && i < highest {
				rising = false
			}
			lowest, highest = min(lowest, i), max(highest, i)
		}
		if len(sample) != n || len(seen) != n {
			t.Fatalf("n=%d: %d drawn, %d distinct", n, len(sample), len(seen))
		}
		if lowest > meetings*per/3 || highest < 2*meetings*per/3 || rising {
			t.Errorf("n=%d: drawn from %d to %d of %d, in rising order %v: not spread over the store", n, lowest, highest, meetings*per, rising)
		}
	}
}
