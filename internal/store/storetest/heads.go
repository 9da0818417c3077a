package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/carillon-dev/carillon/internal/store"
)

// testOutboxHeadsUnderConcurrency appends events to a few groups from
// several writers while a dispatcher delivers what is due, failing some
// attempts once: every delivery must arrive exactly once, and none may be
// stranded (a group with live deliveries that no poll finds).
func testOutboxHeadsUnderConcurrency(t *testing.T, s store.Store) {
	const writers, perWriter = 4, 40
	meetings := []string{"m1", "m2", "m3"}
	var (
		wg       sync.WaitGroup
		appended sync.Map // event seq -> destination count
		errs     = make(chan error, writers)
		done     = make(chan struct{})
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWriter {
				// Some writes add to two groups at once, in either order.
				ms := []string{meetings[(w+i)%3]}
				if i%4 == 0 {
					ms = append(ms, meetings[(w+i+1)%3])
				}
				var es []*store.Event
				for _, m := range ms {
					es = append(es, &store.Event{ID: uuid.NewString(), MeetingID: m, AccountID: "1", Type: "x",
						Payload: []byte("{}"), CreatedAt: epoch})
				}
				if err := s.Write(context.Background(), func(wr store.Writer) error {
					return wr.AppendEvents(es, []string{"hook", "sqs"})
				}); err != nil {
					errs <- err
					return
				}
				for _, e := range es {
					appended.Store(e.Seq, 2)
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	delivered := map[string]int{}
	failed := map[string]bool{}
	finished := false
	for idle := 0; idle < 3; {
		select {
		case err := <-errs:
			t.Fatal(err)
		case <-done:
			finished = true
		default:
		}
		var due []store.Delivery
		read(t, s, func(r store.Reader) error {
			var err error
			due, err = r.DueDeliveries(epoch.Add(time.Hour), 4, 5, 20)
			return err
		})
		if len(due) == 0 {
			if finished {
				idle++
			}
			time.Sleep(time.Millisecond)
			continue
		}
		idle = 0
		// One write per group, as the dispatcher records a pass: each
		// delivery arrives but for a first attempt of every seventh, which
		// fails (due again at once) and ends the group's pass.
		byGroup := map[string][]store.Delivery{}
		var groups []string
		for _, d := range due {
			g := d.Destination + "/" + d.Event.MeetingID
			if byGroup[g] == nil {
				groups = append(groups, g)
			}
			byGroup[g] = append(byGroup[g], d)
		}
		for _, g := range groups {
			write(t, s, func(w store.Writer) error {
				for _, d := range byGroup[g] {
					key := fmt.Sprintf("%d/%s", d.Event.Seq, d.Destination)
					if d.Event.Seq%7 == 0 && !failed[key] {
						failed[key] = true
						return w.FailDelivery(d.Event.Seq, d.Destination, 1, epoch, "503", false)
					}
					if err := w.CompleteDelivery(d.Event.Seq, d.Destination); err != nil {
						return fmt.Errorf("completing %s: %w", key, err)
					}
					delivered[key]++
				}
				return nil
			})
		}
	}
	want := 0
	appended.Range(func(k, v any) bool {
		seq := k.(int64)
		for _, dest := range []string{"hook", "sqs"} {
			if n := delivered[fmt.Sprintf("%d/%s", seq, dest)]; n != 1 {
				t.Errorf("event %d to %s delivered %d times", seq, dest, n)
			}
		}
		want += v.(int)
		return true
	})
	if len(delivered) != want {
		t.Errorf("%d deliveries arrived, want %d", len(delivered), want)
	}
	read(t, s, func(r store.Reader) error {
		st, err := r.Outbox()
		if err != nil || st.Pending != 0 {
			return fmt.Errorf("outbox after delivering everything = %+v, %v", st, err)
		}
		return nil
	})
}

// OlderOutbox is what a database of the previous schema held: deliveries
// written before the heads of their groups were kept. Stores test with it
// that their migration fills the heads in (CheckOlderOutbox).
const OlderOutbox = `
INSERT INTO events (id, meeting_id, account_id, type, payload, created_at) VALUES
    ('e1', 'm1', '1', 'a', '{}', 0), ('e2', 'm1', '1', 'b', '{}', 0), ('e3', 'm2', '1', 'c', '{}', 0),
    ('e4', 'm2', '1', 'd', '{}', 0), ('e5', 'm3', '1', 'e', '{}', 0);
INSERT INTO deliveries (event_seq, destination, meeting_id, attempts, next_attempt_at, last_error, dead) VALUES
    ((SELECT seq FROM events WHERE id = 'e1'), 'hook', 'm1', 1, 1767323105000, '503', 0),
    ((SELECT seq FROM events WHERE id = 'e2'), 'hook', 'm1', 0, 0, '', 0),
    ((SELECT seq FROM events WHERE id = 'e3'), 'hook', 'm2', 5, 0, 'gave up', 1),
    ((SELECT seq FROM events WHERE id = 'e4'), 'hook', 'm2', 0, 0, '', 0),
    ((SELECT seq FROM events WHERE id = 'e5'), 'hook', 'm3', 0, 0, '', 0),
    ((SELECT seq FROM events WHERE id = 'e5'), 'sqs', 'm3', 0, 0, '', 0);
`

// CheckOlderOutbox checks a store opened on OlderOutbox: m1's head waits
// out a back-off until a minute after epoch (1767323105000 ms), m2's is
// dead.
func CheckOlderOutbox(t *testing.T, s store.Store) {
	t.Helper()
	if got := fmt.Sprint(due(t, s, epoch, 10, 100)); got != "[hook/d hook/e sqs/e]" {
		t.Errorf("due = %s", got)
	}
	if got := fmt.Sprint(due(t, s, epoch.Add(time.Minute), 10, 100)); got != "[hook/a hook/b hook/d hook/e sqs/e]" {
		t.Errorf("due a minute later = %s", got)
	}
}
