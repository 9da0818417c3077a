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
