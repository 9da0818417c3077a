package events

import (
	"context"
	"slices"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
)

// Cursor reads the event outbox in sequence order, for the live stream and
// the media plane: every meeting's events, or one meeting's, which it picks
// out of them (so that a meeting without events costs a cursor nothing
// when the others have many). Sequence numbers are drawn before commit, so
// on PostgreSQL an event can commit after one with a higher number: a
// cursor remembers the ranges of numbers it passed over (holes) and asks
// for them again at each read until they commit or a write transaction
// could no longer be open.
type Cursor struct {
	meetingID string // "" for every meeting
	after     int64  // the highest sequence number read
	holes     []hole // passed-over ranges, oldest first
	now       func() time.Time
}

// hole is a range of numbers passed over, first and last included.
type hole struct {
	first, last int64
	since       time.Time
}

const (
	// cursorBatch is how many events one query reads.
	cursorBatch = 500
	// holeWait is how long a passed-over number is asked for: longer than
	// a write transaction lives (PostgreSQL ends a session idle in one
	// after a minute). Numbers that never commit (a transaction rolled
	// back) are given up after it, and a gap below an event older than it
	// is not waited for at all.
	holeWait = 2 * time.Minute
	// maxHoles bounds the ranges a cursor asks for (a range per
	// transaction that rolled back or has not committed yet); beyond it the
	// oldest are given up first.
	maxHoles = 1024
)

// NewCursor returns a cursor at a position: it returns the events after it,
// of one meeting, or of every meeting when meetingID is "".
func NewCursor(after int64, meetingID string) *Cursor {
	return &Cursor{meetingID: meetingID, after: after, now: time.Now}
}

// After is the highest sequence number the cursor has read (or was placed
// at).
func (c *Cursor) After() int64 { return c.after }

// Settled is the highest sequence number up to which the cursor has read
// every event that committed: below its oldest hole, or After.
func (c *Cursor) Settled() int64 {
	settled := c.after
	for _, h := range c.holes {
		settled = min(settled, h.first-1)
	}
	return settled
}

// lookBack is how far below the end of the log ReadEnd looks for numbers
// drawn by transactions that have not committed yet. An event whose
// transaction stays open while more numbers than this are drawn above it
// (by other commits and rollbacks) is missed by a cursor placed at the end
// then; one reading along finds it at any distance.
const lookBack = 2000

// End is the end of the event log at a moment: its highest number, and
// the recent numbers below it that had not committed then.
type End struct {
	last  int64
	holes []hole
}

// ReadEnd reads the end of the log, for a cursor that has read up to
// after (0 for a new one). Reading the highest number alone would leave
// out, on PostgreSQL, an event that commits after it with a lower number:
// the numbers missing among the last lookBack (above after), when the
// event above them is recent, are kept as holes to ask for.
func ReadEnd(ctx context.Context, st store.Store, after int64) (End, error) {
	var end End
	err := st.View(ctx, func(r store.Reader) error {
		var err error
		if end.last, err = r.LastEventSeq(); err != nil {
			return err
		}
		end.holes, err = holesBelow(r, after, end.last)
		return err
	})
	return end, err
}

// holesBelow returns the numbers missing among the last lookBack up to
// last (above after), below a recent event: the numbers of transactions
// that may still commit.
func holesBelow(r store.Reader, after, last int64) ([]hole, error) {
	first := max(after, last-lookBack) + 1
	if first > last {
		return nil, nil // nothing new
	}
	recent, err := r.EventTimes(first, last)
	if err != nil {
		return nil, err
	}
	var holes []hole
	now := time.Now()
	for _, e := range recent {
		if e.Seq > first && now.Sub(e.CreatedAt) < holeWait {
			holes = append(holes, hole{first: first, last: e.Seq - 1}) // since: set by SkipTo
		}
		first = e.Seq + 1
	}
	return holes, nil
}

// SkipTo moves the cursor to an end of the log ReadEnd read for it,
// leaving out what had committed by then: it returns what commits after,
// including numbers below that end that had not committed yet.
func (c *Cursor) SkipTo(end End) {
	now := c.now()
	c.holes = slices.DeleteFunc(c.holes, func(h hole) bool { return now.Sub(h.since) > holeWait })
	if end.last <= c.after {
		return
	}
	c.after = end.last
	for _, h := range end.holes {
		h.since = now
		c.holes = append(c.holes, h)
	}
	if len(c.holes) > maxHoles {
		c.holes = slices.Delete(c.holes, 0, len(c.holes)-maxHoles)
	}
}

// AtEnd returns a cursor at the end of the log (see ReadEnd), of one
// meeting's events, or of every meeting's when meetingID is "".
func AtEnd(ctx context.Context, st store.Store, meetingID string) (*Cursor, error) {
	end, err := ReadEnd(ctx, st, 0)
	if err != nil {
		return nil, err
	}
	c := NewCursor(0, meetingID)
	c.SkipTo(end)
	return c, nil
}

// Resume returns a cursor placed after the event numbered after, the last
// a client received (Last-Event-ID), of one meeting's events or of every
// meeting's: like a cursor at the end, it asks again for the recent
// numbers below that had not committed when it was placed. A number past
// the end of the log (from a database since replaced) resumes at the end.
func Resume(ctx context.Context, st store.Store, after int64, meetingID string) (*Cursor, error) {
	var end End
	err := st.View(ctx, func(r store.Reader) error {
		last, err := r.LastEventSeq()
		if err != nil {
			return err
		}
		end.last = min(after, last)
		end.holes, err = holesBelow(r, 0, end.last)
		return err
	})
	if err != nil {
		return nil, err
	}
	c := NewCursor(0, meetingID)
	c.SkipTo(end)
	return c, nil
}

// Next calls fn with each event written since the last call: in order,
// but for an event that committed after later ones, which comes when it
// is found.
func (c *Cursor) Next(ctx context.Context, st store.Store, fn func(*store.Event) error) error {
	now := c.now()
	if len(c.holes) > 0 {
		ranges := make([][2]int64, len(c.holes))
		for i, h := range c.holes {
			ranges[i] = [2]int64{h.first, h.last}
		}
		late, err := c.read(ctx, st, func(r store.Reader) ([]store.Event, error) {
			return r.EventsBetween(ranges)
		})
		if err != nil {
			return err
		}
		for i := range late {
			c.fill(late[i].Seq)
			if err := c.give(&late[i], fn); err != nil {
				return err
			}
		}
		c.holes = slices.DeleteFunc(c.holes, func(h hole) bool { return now.Sub(h.since) > holeWait })
	}
	for {
		batch, err := c.read(ctx, st, func(r store.Reader) ([]store.Event, error) {
			return r.EventsAfter(c.after, cursorBatch)
		})
		if err != nil {
			return err
		}
		for i := range batch {
			e := &batch[i]
			if e.Seq > c.after+1 && now.Sub(e.CreatedAt) < holeWait {
				c.holes = append(c.holes, hole{c.after + 1, e.Seq - 1, now})
				if len(c.holes) > maxHoles {
					c.holes = slices.Delete(c.holes, 0, len(c.holes)-maxHoles)
				}
			}
			c.after = e.Seq
			if err := c.give(e, fn); err != nil {
				return err
			}
		}
		if len(batch) < cursorBatch {
			return nil
		}
	}
}

// fill takes a number that was found out of the holes.
func (c *Cursor) fill(seq int64) {
	for i, h := range c.holes {
		if seq < h.first || seq > h.last {
			continue
		}
		var keep []hole
		if seq > h.first {
			keep = append(keep, hole{h.first, seq - 1, h.since})
		}
		if seq < h.last {
			keep = append(keep, hole{seq + 1, h.last, h.since})
		}
		c.holes = slices.Replace(c.holes, i, i+1, keep...)
		return
	}
}

// give passes fn an event of the cursor's meeting.
func (c *Cursor) give(e *store.Event, fn func(*store.Event) error) error {
	if c.meetingID != "" && e.MeetingID != c.meetingID {
		return nil
	}
	return fn(e)
}

func (c *Cursor) read(ctx context.Context, st store.Store, query func(store.Reader) ([]store.Event, error)) ([]store.Event, error) {
	var out []store.Event
	err := st.View(ctx, func(r store.Reader) error {
		var err error
		out, err = query(r)
		return err
	})
	return out, err
}
