package events

import (
	"context"

	"github.com/carillon-dev/carillon/internal/store"
)

// Cursor reads the event outbox in sequence order, for the live stream and
// the media plane. Sequence numbers are drawn before commit, so on
// PostgreSQL an event can commit after one with a higher number: each read
// goes back a window behind the position and skips what it returned
// already, to catch such late events.
type Cursor struct {
	meetingID string // "" for every meeting
	after     int64  // the highest sequence number returned
	floor     int64  // nothing at or below is returned
	seen      map[int64]struct{}
}

// cursorLookback is how far behind its position a cursor reads again.
const cursorLookback = 64

// cursorBatch is how many events one query reads.
const cursorBatch = 500

// NewCursor returns a cursor at a position: it returns the events after it,
// of one meeting, or of every meeting when meetingID is "".
func NewCursor(after int64, meetingID string) *Cursor {
	return &Cursor{meetingID: meetingID, after: after, floor: after, seen: map[int64]struct{}{}}
}

// After is the highest sequence number the cursor has returned (or was
// placed at).
func (c *Cursor) After() int64 { return c.after }

// Skip moves the cursor forward to seq, leaving out what came before.
func (c *Cursor) Skip(seq int64) {
	c.after = max(c.after, seq)
	c.floor = c.after
	clear(c.seen)
}

// Next calls fn with each event written since the last call, in order.
func (c *Cursor) Next(ctx context.Context, st store.Store, fn func(*store.Event) error) error {
	from := max(c.floor, c.after-cursorLookback)
	for {
		var batch []store.Event
		if err := st.View(ctx, func(r store.Reader) error {
			var err error
			batch, err = r.EventsAfter(from, c.meetingID, cursorBatch)
			return err
		}); err != nil {
			return err
		}
		for i := range batch {
			e := &batch[i]
			from = e.Seq
			if _, done := c.seen[e.Seq]; done {
				continue
			}
			c.seen[e.Seq] = struct{}{}
			c.after = max(c.after, e.Seq)
			if err := fn(e); err != nil {
				return err
			}
		}
		if len(batch) < cursorBatch {
			break
		}
	}
	for seq := range c.seen {
		if seq <= c.after-cursorLookback {
			delete(c.seen, seq)
		}
	}
	return nil
}
