package events

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/carillon-dev/carillon/internal/store"
)

// Cursor reads the event outbox in sequence order, for the live stream and
// the media plane: every meeting's events, or one meeting's, which it picks
// out of them (so that a meeting without events costs a cursor nothing
// when the others have many). Sequence numbers are drawn before commit, so
// on PostgreSQL an event can commit after one with a higher number: a
// cursor remembers the numbers it passed over (holes) and asks for them
// again at each read until they commit or a write transaction could no
// longer be open.
type Cursor struct {
	meetingID string              // "" for every meeting
	after     int64               // the highest sequence number read
	holes     map[int64]time.Time // passed-over numbers, since when
	now       func() time.Time
}

const (
	// cursorBatch is how many events one query reads.
	cursorBatch = 500
	// holeWait is how long a passed-over number is asked for: longer than
	// a write transaction lives (PostgreSQL ends a session idle in one
	// after a minute). Numbers that never commit (a transaction rolled
	// back) are given up after it.
	holeWait = 2 * time.Minute
	// maxHoles bounds the numbers a cursor asks for; a gap wider than
	// that (numbers drawn by many rolled-back transactions) is not waited
	// for beyond it.
	maxHoles = 4096
)

// NewCursor returns a cursor at a position: it returns the events after it,
// of one meeting, or of every meeting when meetingID is "".
func NewCursor(after int64, meetingID string) *Cursor {
	return &Cursor{meetingID: meetingID, after: after, holes: map[int64]time.Time{}, now: time.Now}
}

// After is the highest sequence number the cursor has read (or was placed
// at).
func (c *Cursor) After() int64 { return c.after }

// Skip moves the cursor forward to seq, leaving out what came before.
func (c *Cursor) Skip(seq int64) {
	c.after = max(c.after, seq)
	clear(c.holes)
}

// Next calls fn with each event written since the last call: in order,
// but for an event that committed after later ones, which comes when it
// is found.
func (c *Cursor) Next(ctx context.Context, st store.Store, fn func(*store.Event) error) error {
	now := c.now()
	if len(c.holes) > 0 {
		late, err := c.read(ctx, st, func(r store.Reader) ([]store.Event, error) {
			return r.EventsBySeq(slices.Sorted(maps.Keys(c.holes)))
		})
		if err != nil {
			return err
		}
		for i := range late {
			delete(c.holes, late[i].Seq)
			if err := c.give(&late[i], fn); err != nil {
				return err
			}
		}
		maps.DeleteFunc(c.holes, func(_ int64, since time.Time) bool { return now.Sub(since) > holeWait })
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
			for seq := c.after + 1; seq < e.Seq && len(c.holes) < maxHoles; seq++ {
				c.holes[seq] = now
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
