package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlstore"
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
				es := []*store.Event{newEvent(meetings[(w+i)%3], "x")}
				if i%4 == 0 {
					es = append(es, newEvent(meetings[(w+i+1)%3], "x"))
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
	defer func() { <-done }() // no write outlives the store, should the test stop early

	type key struct {
		seq  int64
		dest string
	}
	delivered := map[key]int{}
	failed := map[key]bool{}
	// pass delivers the due deliveries, one write per group as the
	// dispatcher records a pass (DueDeliveries returns a group's together),
	// and says whether there were any.
	pass := func(now time.Time) bool {
		var due []store.Delivery
		read(t, s, func(r store.Reader) error {
			var err error
			due, err = r.DueDeliveries(now, 4, 5, 20)
			return err
		})
		found := len(due) > 0
		for len(due) > 0 {
			n := 1
			for n < len(due) && due[n].Destination == due[0].Destination && due[n].Event.MeetingID == due[0].Event.MeetingID {
				n++
			}
			group := due[:n]
			due = due[n:]
			var arrived []key // those of the callback's last run
			var fail *key
			write(t, s, func(w store.Writer) error {
				arrived, fail = arrived[:0], nil
				for _, d := range group {
					k := key{d.Event.Seq, d.Destination}
					if k.seq%7 == 0 && !failed[k] {
						// Every other such failure waits past the polls' time.
						next := epoch
						if k.seq%14 == 0 {
							next = epoch.Add(90 * time.Minute)
						}
						fail = &k
						return w.FailDelivery(k.seq, k.dest, 1, next, "503", false)
					}
					if err := w.CompleteDelivery(k.seq, k.dest); err != nil {
						return fmt.Errorf("completing %v: %w", k, err)
					}
					arrived = append(arrived, k)
				}
				return nil
			})
			for _, k := range arrived {
				delivered[k]++
			}
			if fail != nil {
				failed[*fail] = true
			}
		}
		return found
	}
	for {
		select {
		case <-done:
		default:
			pass(epoch.Add(time.Hour))
			continue
		}
		break
	}
	// The writers are done: what is left is due by the polls' time, or
	// after it. Each pass that finds deliveries delivers or fails one.
	for pass(epoch.Add(2 * time.Hour)) {
	}
	if len(writeErrs) > 0 {
		t.Fatal(writeErrs[0])
	}
	for _, seq := range appended {
		for _, dest := range []string{"hook", "sqs"} {
			if n := delivered[key{seq, dest}]; n != 1 {
				t.Errorf("event %d to %s delivered %d times", seq, dest, n)
			}
		}
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
	if got := fmt.Sprint(dueN(t, s, epoch, 1, 1, 1)); got != "[hook/y]" {
		t.Fatalf("one group due = %s, want the late meeting's", got)
	}
}

// WriteOlderOutbox brings db to the schema before the migration of version
// heads (that adds delivery_heads), with the migrations of fsys's
// "migrations" directory, writes OlderOutbox into it, and closes it.
func WriteOlderOutbox(t *testing.T, db *sql.DB, d *sqlstore.Dialect, fsys fs.FS, heads int) {
	t.Helper()
	ctx := context.Background()
	t.Cleanup(func() { db.Close() }) // should the test stop before it is closed
	migrations, err := sqlstore.LoadMigrations(fsys, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	older := slices.DeleteFunc(migrations, func(m sqlstore.Migration) bool { return m.Version >= heads })
	if err := sqlstore.Migrate(ctx, db, d, older); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, OlderOutbox); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
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
	if got := fmt.Sprint(dueN(t, s, epoch, 3, 10, 100)); got != "[hook/d hook/e sqs/e]" {
		t.Errorf("due = %s", got)
	}
	if got := fmt.Sprint(dueN(t, s, epoch.Add(time.Minute), 4, 10, 100)); got != "[hook/a hook/b hook/d hook/e sqs/e]" {
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
		release := HoldWrite(t, s, first, nil)
		errs := make(chan error, 1)
		go func() { errs <- s.Write(context.Background(), second) }()
		time.Sleep(100 * time.Millisecond) // the second waits for the first
		if err := release(); err != nil {
			t.Fatal(err)
		}
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	a := appendEvent(t, s, "m1", "a", epoch, "hook")
	b := appendEvent(t, s, "m1", "b", epoch, "hook")
	together(func(w store.Writer) error { return w.CompleteDelivery(a.Seq, "hook") },
		func(w store.Writer) error { return w.CompleteDelivery(b.Seq, "hook") })
	appendEvent(t, s, "m2", "c", epoch, "hook")
	if got := fmt.Sprint(dueN(t, s, epoch, 1, 1, 1)); got != "[hook/c]" {
		t.Fatalf("one group due after emptying m1 = %s, want m2's", got)
	}

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
