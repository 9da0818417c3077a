package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
)

func TestCount(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "carillon.db")
	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC()
	err = s.Write(ctx, func(w store.Writer) error {
		var as []*store.Attendee
		for i := range 2 {
			m := &store.Meeting{ID: fmt.Sprintf("00000000-0000-7000-8000-00000000000%d", i), AccountID: "000000000000",
				APIRegion: "us-east-1", ClientRequestToken: fmt.Sprint("token-", i), MediaRegion: "us-east-1",
				MaxAttendees: 250, CreatedAt: now, LastActiveAt: now}
			if err := w.InsertMeeting(m); err != nil {
				return err
			}
			for j := range 3 {
				as = append(as, &store.Attendee{ID: fmt.Sprintf("00000000-0000-7000-9000-0000000000%d%d", i, j),
					MeetingID: m.ID, AccountID: m.AccountID, ExternalUserID: fmt.Sprint("user-", j), TokenKeyID: 1,
					TokenSalt: make([]byte, 16), CreatedAt: now})
			}
		}
		return w.InsertAttendees(as)
	})
	if err != nil {
		t.Fatal(err)
	}
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
		if a[0][:len(a[0])-1] != "00000000-0000-7000-8000-00000000000" || a[1][:len(a[1])-2] != "00000000-0000-7000-9000-0000000000" {
			t.Fatalf("sampled %v, not a meeting and an attendee of it", a)
		}
		if a[1][len(a[1])-2] != a[0][len(a[0])-1] {
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
	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now().UTC()
	const meetings, per = 30, 100
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
	for _, n := range []int{100, 2000} { // looked up at random; all shuffled
		sample, err := SampleAttendees(ctx, path, n)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		lowest, highest, rising := meetings*per, -1, true
		for k, a := range sample {
			var i int
			fmt.Sscanf(a[1][len(a[1])-12:], "%d", &i)
			seen[i] = true
			lowest, highest = min(lowest, i), max(highest, i)
			if k > 0 && k < 20 && i < highestOf(sample[:k]) {
				rising = false
			}
		}
		if len(sample) != n || len(seen) != n {
			t.Fatalf("n=%d: %d drawn, %d distinct", n, len(sample), len(seen))
		}
		if lowest > meetings*per/3 || highest < 2*meetings*per/3 || rising {
			t.Errorf("n=%d: drawn from %d to %d of %d, in rising order %v: not spread over the store", n, lowest, highest, meetings*per, rising)
		}
	}
}

func highestOf(as [][2]string) int {
	highest := -1
	for _, a := range as {
		var i int
		fmt.Sscanf(a[1][len(a[1])-12:], "%d", &i)
		highest = max(highest, i)
	}
	return highest
}
