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
// first attempts (due again at once, or after the polls' time, which holds
// the group back): every delivery must arrive exactly once, and none may be
// stranded (a group with live deliveries that no poll finds).
func testOutboxHeadsUnderConcurrency(t *testing.T, s store.Store) {
	const writers, perWriter = 4, 40
	meetings := []string{"m1", "m2", "m3"}
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		appended  []int64
		writeErrs []error
		done      = make(chan struct{})
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
				err := s.Write(context.Background(), func(wr store.Writer) error {
					return wr.AppendEvents(es, []string{"hook", "sqs"})
				})
				mu.Lock()
				if err != nil {
					writeErrs = append(writeErrs, err)
				}
				for _, e := range es {
					appended = append(appended, e.Seq)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	go func() { wg.Wait(); close(done) }()

	delivered := map[string]int{}
	failed := map[string]bool{}
	// pass delivers the due deliveries, one write per group as the
	// dispatcher records a pass, and says whether there were any.
	pass := func(now time.Time) bool {
		var due []store.Delivery
		read(t, s, func(r store.Reader) error {
			var err error
			due, err = r.DueDeliveries(now, 4, 5, 20)
			return err
		})
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
			var arrived []string // set by the last run of the callback
			var fail string
			write(t, s, func(w store.Writer) error {
				arrived, fail = arrived[:0], ""
				for _, d := range byGroup[g] {
					key := fmt.Sprintf("%d/%s", d.Event.Seq, d.Destination)
					if d.Event.Seq%7 == 0 && !failed[key] {
						// Every other such failure waits past the polls' time.
						next := epoch
						if d.Event.Seq%14 == 0 {
							next = epoch.Add(90 * time.Minute)
						}
						fail = key
						return w.FailDelivery(d.Event.Seq, d.Destination, 1, next, "503", false)
					}
					if err := w.CompleteDelivery(d.Event.Seq, d.Destination); err != nil {
						return fmt.Errorf("completing %s: %w", key, err)
					}
					arrived = append(arrived, key)
				}
				return nil
			})
			for _, key := range arrived {
				delivered[key]++
			}
			if fail != "" {
				failed[fail] = true
			}
		}
		return len(due) > 0
	}
	finished := false
	for idle := 0; idle < 3; {
		select {
		case <-done:
			finished = true
		default:
		}
		if pass(epoch.Add(time.Hour)) {
			idle = 0
		} else if finished {
			idle++
		}
	}
	for pass(epoch.Add(2 * time.Hour)) {
	}
	if len(writeErrs) > 0 {
		t.Fatal(writeErrs[0])
	}
	for _, seq := range appended {
		for _, dest := range []string{"hook", "sqs"} {
			if n := delivered[fmt.Sprintf("%d/%s", seq, dest)]; n != 1 {
				t.Errorf("event %d to %s delivered %d times", seq, dest, n)
			}
		}
	}
	if len(delivered) != 2*len(appended) {
		t.Errorf("%d deliveries arrived, want %d", len(delivered), 2*len(appended))
	}
	read(t, s, func(r store.Reader) error {
		st, err := r.Outbox()
		if err != nil || st.Pending != 0 {
			return fmt.Errorf("outbox after delivering everything = %+v, %v", st, err)
		}
		return nil
	})
}

// testOutboxEmptyGroupsTakeNoPlace empties more groups than a poll takes,
// by delivery and by dead letter: a group with live deliveries that comes
// after them in event order is still found.
func testOutboxEmptyGroupsTakeNoPlace(t *testing.T, s store.Store) {
	var es []*store.Event
	for i := range 40 {
		es = append(es, appendEvent(t, s, fmt.Sprintf("m%d", i), "x", epoch, "hook"))
	}
	write(t, s, func(w store.Writer) error {
		for i, e := range es {
			var err error
			if i%2 == 0 {
				err = w.CompleteDelivery(e.Seq, "hook")
			} else {
				err = w.FailDelivery(e.Seq, "hook", 5, epoch, "gave up", true)
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	appendEvent(t, s, "late", "y", epoch, "hook")
	read(t, s, func(r store.Reader) error {
		ds, err := r.DueDeliveries(epoch, 1, 1, 1)
		if err != nil || len(ds) != 1 || ds[0].Event.MeetingID != "late" {
			return fmt.Errorf("due = %+v, %v; want the late meeting's delivery", ds, err)
		}
		return nil
	})
}

// OlderOutbox is what a database of the previous schema held: deliveries
// written before the heads of their groups were kept. Stores test with it
// that their migration fills the heads in (CheckOlderOutbox). The oldest
// group has dead deliveries only, and m2's dead one would be due later than
// the live one after it: neither may head a group.
const OlderOutbox = `
INSERT INTO events (id, meeting_id, account_id, type, payload, created_at) VALUES
    ('e0', 'm0', '1', 'z', '{}', 0), ('e1', 'm1', '1', 'a', '{}', 0), ('e2', 'm1', '1', 'b', '{}', 0),
    ('e3', 'm2', '1', 'c', '{}', 0), ('e4', 'm2', '1', 'd', '{}', 0), ('e5', 'm3', '1', 'e', '{}', 0);
INSERT INTO deliveries (event_seq, destination, meeting_id, attempts, next_attempt_at, last_error, dead) VALUES
    ((SELECT seq FROM events WHERE id = 'e0'), 'hook', 'm0', 5, 0, 'gave up', 1),
    ((SELECT seq FROM events WHERE id = 'e1'), 'hook', 'm1', 1, 1767323105000, '503', 0),
    ((SELECT seq FROM events WHERE id = 'e2'), 'hook', 'm1', 0, 0, '', 0),
    ((SELECT seq FROM events WHERE id = 'e3'), 'hook', 'm2', 5, 1767326645000, 'gave up', 1),
    ((SELECT seq FROM events WHERE id = 'e4'), 'hook', 'm2', 0, 0, '', 0),
    ((SELECT seq FROM events WHERE id = 'e5'), 'hook', 'm3', 0, 0, '', 0),
    ((SELECT seq FROM events WHERE id = 'e5'), 'sqs', 'm3', 0, 0, '', 0);
`

// CheckOlderOutbox checks a store opened on OlderOutbox: m1's head waits
// out a back-off until a minute after epoch (1767323105000 ms); three
// groups are due, and a group without live deliveries takes no place.
func CheckOlderOutbox(t *testing.T, s store.Store) {
	t.Helper()
	dueGroups := func(now time.Time, groups int) string {
		t.Helper()
		var out []string
		read(t, s, func(r store.Reader) error {
			ds, err := r.DueDeliveries(now, groups, 10, 100)
			for _, d := range ds {
				out = append(out, d.Destination+"/"+d.Event.Type)
			}
			return err
		})
		return fmt.Sprint(out)
	}
	if got := dueGroups(epoch, 3); got != "[hook/d hook/e sqs/e]" {
		t.Errorf("due = %s", got)
	}
	if got := dueGroups(epoch.Add(time.Minute), 4); got != "[hook/a hook/b hook/d hook/e sqs/e]" {
		t.Errorf("due a minute later = %s", got)
	}
}

// testOutboxConcurrentMoves moves one group's head from two transactions
// at once, the first holding its changes while the second runs: the last
// two deliveries completed (the group must not keep a head, which would
// take a poll's place), and a revive beside a failed attempt (the head
// must keep its back-off).
func testOutboxConcurrentMoves(t *testing.T, s store.Store) {
	together := func(first, second func(w store.Writer) error) {
		t.Helper()
		held, release := make(chan struct{}), make(chan struct{})
		errs := make(chan error, 2)
		go func() {
			errs <- s.Write(context.Background(), func(w store.Writer) error {
				if err := first(w); err != nil {
					return err
				}
				select {
				case <-held: // a run again after a retry
				default:
					close(held)
				}
				<-release
				return nil
			})
		}()
		<-held
		go func() { errs <- s.Write(context.Background(), second) }()
		time.Sleep(100 * time.Millisecond) // the second waits for the first
		close(release)
		for range 2 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	a := appendEvent(t, s, "m1", "a", epoch, "hook")
	b := appendEvent(t, s, "m1", "b", epoch, "hook")
	together(func(w store.Writer) error { return w.CompleteDelivery(a.Seq, "hook") },
		func(w store.Writer) error { return w.CompleteDelivery(b.Seq, "hook") })
	appendEvent(t, s, "m2", "c", epoch, "hook")
	if got := fmt.Sprint(due(t, s, epoch, 10, 100)); got != "[hook/c]" {
		t.Fatalf("due after emptying m1 = %s", got)
	}
	read(t, s, func(r store.Reader) error {
		ds, err := r.DueDeliveries(epoch, 1, 1, 1)
		if err != nil || len(ds) != 1 || ds[0].Event.MeetingID != "m2" {
			return fmt.Errorf("one group due = %+v, %v; want m2's", ds, err)
		}
		return nil
	})

	live := appendEvent(t, s, "m3", "d", epoch, "hook")
	dead := appendEvent(t, s, "m3", "e", epoch, "hook")
	write(t, s, func(w store.Writer) error { return w.FailDelivery(dead.Seq, "hook", 5, epoch, "gave up", true) })
	together(func(w store.Writer) error { _, err := w.ReviveDeliveries([]int64{dead.Seq}, epoch); return err },
		func(w store.Writer) error {
			return w.FailDelivery(live.Seq, "hook", 1, epoch.Add(time.Hour), "503", false)
		})
	if got := fmt.Sprint(due(t, s, epoch, 10, 100)); got != "[hook/c]" {
		t.Fatalf("due while m3's head waits out its back-off = %s", got)
	}
	if got := fmt.Sprint(due(t, s, epoch.Add(time.Hour), 10, 100)); got != "[hook/c hook/d hook/e]" {
		t.Fatalf("due after the back-off = %s", got)
	}
}
