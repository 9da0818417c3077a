package sqlite

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlstore"
)

// readCache keeps meetings and attendees that readers looked up, and those
// the writer locked or added, so that the hottest reads (GetAttendee,
// GetMeeting, join-token checks) and the writer's own lookups skip SQLite.
// It is correct because this process is the database's only writer: the
// writer reports every row it changes, and drops it from the cache just
// before the commit (an attendee count is brought up to date after it).
//
// A reader may fill the cache only with what it read in a snapshot that
// no commit has overtaken. The writer makes epoch odd as it drops the rows
// a batch changed, just before the commit, and even again once the batch
// has committed (or failed) and the cache holds what it should keep; a
// reader notes the epoch before its snapshot and fills only if the epoch
// is still that (even) number, checked under the same lock the writer
// drops rows under. While a batch runs, before its drop, readers fill with
// the last committed rows, and the drop takes out those the batch changed:
// a writer busy all the time would otherwise leave readers no moment to
// fill in.
// A reader may be answered from the cache at any time: until the commit is
// visible the rows it changes are still the latest, and by then they are
// gone from the cache.
type readCache struct {
	epoch atomic.Uint64

	mu        sync.Mutex
	max       int
	meetings  map[string]store.Meeting
	attendees map[string]map[string]store.Attendee // meeting ID -> attendee ID -> attendee
	size      int                                  // attendees held
}

func newReadCache(max int) *readCache {
	return &readCache{max: max, meetings: map[string]store.Meeting{}, attendees: map[string]map[string]store.Attendee{}}
}

// changed is a batch's record of the rows it changed (a sqlstore.Changes).
type changed struct {
	meetings  map[string]bool
	counts    map[string]int // attendee-count moves, for meetings not in meetings
	attendees map[[2]string]bool
	added     []store.Attendee
	all       bool
	// undone is set when part of the batch was rolled back, or its commit
	// failed.
	undone bool
	// retired is set once the changed rows are out of the cache, just
	// before the commit.
	retired bool
}

func (c *changed) Changed(meetingID, attendeeID string) {
	switch {
	case meetingID == sqlstore.All:
		c.all = true
	case attendeeID == "":
		if c.meetings == nil {
			c.meetings = map[string]bool{}
		}
		c.meetings[meetingID] = true
	default:
		if c.attendees == nil {
			c.attendees = map[[2]string]bool{}
		}
		c.attendees[[2]string{meetingID, attendeeID}] = true
	}
}

func (c *changed) Counted(meetingID string, delta int) {
	if c.counts == nil {
		c.counts = map[string]int{}
	}
	c.counts[meetingID] += delta
}

func (c *changed) Added(a store.Attendee) { c.added = append(c.added, a) }

// attendeeTouched reports whether the batch has changed an attendee so far.
func (c *changed) attendeeTouched(meetingID, id string) bool {
	return c.all || c.attendees[[2]string{meetingID, id}] || c.attendees[[2]string{meetingID, sqlstore.All}]
}

// touched reports whether the batch has changed a meeting's row so far.
func (c *changed) touched(id string) bool {
	if c.all || c.meetings[id] {
		return true
	}
	_, ok := c.counts[id]
	return ok
}

// retire drops what the batch changed just before it commits: once the
// commit is visible, a reader that has seen it (an event, a listed
// attendee) must not then be answered from a row it made stale. A meeting
// whose only change is its attendee count stays, and its count is brought
// up to date after the commit: the count is the writer's alone (no read
// decides anything on it), and the writer finds the meetings it fills in
// the cache, as readers of a busy meeting do during the commit.
func (c *readCache) retire(ch *changed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch.Load()%2 == 0 {
		c.epoch.Add(1) // no reader may fill from now until endCommit
	}
	ch.retired = true
	if ch.all || ch.undone {
		c.clearLocked()
		return
	}
	for id := range ch.meetings {
		delete(c.meetings, id)
	}
	for k := range ch.attendees {
		if k[1] == sqlstore.All {
			c.size -= len(c.attendees[k[0]])
			delete(c.attendees, k[0])
		} else if m := c.attendees[k[0]]; m != nil {
			if _, ok := m[k[1]]; ok {
				delete(m, k[1])
				c.size--
			}
		}
	}
}

// endCommit lets readers fill again, after putting back what the batch
// committed and the cache should keep. A batch that failed to commit, or
// rolled back any part of itself, empties the cache instead: it may hold
// what the writer read of rows never committed, and counts that moved for
// nothing. Rollbacks are rare.
func (c *readCache) endCommit(ch *changed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case ch.all || ch.undone:
		c.clearLocked()
	case ch.retired:
		for id, delta := range ch.counts {
			if m, ok := c.meetings[id]; ok {
				m.AttendeeCount += delta
				c.meetings[id] = m
			}
		}
		// New attendees are cached as written: the next request about one
		// (its client joining, a GetAttendee, its deletion) is likely soon.
		// Those the batch also changed (deleted, or their meeting ended)
		// are not.
		for _, a := range ch.added {
			if !ch.attendeeTouched(a.MeetingID, a.ID) {
				c.keepAttendeeLocked(a)
			}
		}
	}
	// Even again, and past every number noted before: a batch that never
	// dropped anything committed nothing, but it may have emptied the cache.
	c.epoch.Add(2 - c.epoch.Load()%2)
}

func (c *readCache) clearLocked() {
	c.meetings, c.attendees, c.size = map[string]store.Meeting{}, map[string]map[string]store.Attendee{}, 0
}

func (c *readCache) meeting(id string) (store.Meeting, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.meetings[id]
	return m, ok
}

func (c *readCache) attendee(meetingID, id string) (store.Attendee, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.attendees[meetingID][id]
	return a, ok
}

func (c *readCache) putMeeting(m store.Meeting, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch%2 != 0 || c.epoch.Load() != epoch {
		return
	}
	c.keepMeetingLocked(m)
}

func (c *readCache) keepMeetingLocked(m store.Meeting) {
	if len(c.meetings) >= c.max {
		sqlstore.EvictHalf(c.meetings)
	}
	c.meetings[m.ID] = m
}

// lockedMeetings looks up meetings for the writer: those cached that the
// batch has not changed, and the IDs of the others.
func (c *readCache) lockedMeetings(ids []string, ch *changed) (found []store.Meeting, missing []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if m, ok := c.meetings[id]; ok && !ch.touched(id) {
			found = append(found, m)
		} else {
			missing = append(missing, id)
		}
	}
	return found, missing
}

// lockedAttendee looks up an attendee for the writer, unless the batch has
// changed it.
func (c *readCache) lockedAttendee(meetingID, id string, ch *changed) (store.Attendee, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, ok := c.attendees[meetingID][id]
	return a, ok && !ch.attendeeTouched(meetingID, id)
}

// keepLocked fills the cache with meetings the writer read in its
// transaction, but for those the batch has changed: the others are as
// last committed, whatever the epoch (only the writer commits).
func (c *readCache) keepLocked(ms []store.Meeting, ch *changed) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range ms {
		if !ch.touched(m.ID) {
			c.keepMeetingLocked(m)
		}
	}
}

func (c *readCache) putAttendee(a store.Attendee, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if epoch%2 != 0 || c.epoch.Load() != epoch {
		return
	}
	c.keepAttendeeLocked(a)
}

func (c *readCache) keepAttendeeLocked(a store.Attendee) {
	if c.size >= c.max {
		for id, m := range c.attendees { // drop whole meetings, at random, until half is left
			c.size -= len(m)
			delete(c.attendees, id)
			if c.size < c.max/2 {
				break
			}
		}
	}
	m := c.attendees[a.MeetingID]
	if m == nil {
		m = map[string]store.Attendee{}
		c.attendees[a.MeetingID] = m
	}
	if _, ok := m[a.ID]; !ok {
		c.size++
	}
	m[a.ID] = a
}

// cachedReader answers the cached lookups from the cache, and fills it
// from the snapshot of its transaction.
type cachedReader struct {
	store.Reader
	cache *readCache
	epoch uint64 // noted before the snapshot began
}

func (r *cachedReader) MeetingByID(id string) (store.Meeting, error) {
	if m, ok := r.cache.meeting(id); ok {
		return m, nil
	}
	m, err := r.Reader.MeetingByID(id)
	if err == nil {
		r.cache.putMeeting(m, r.epoch)
	}
	return m, err
}

func (r *cachedReader) Meeting(accountID, id string) (store.Meeting, error) {
	m, err := r.MeetingByID(id)
	if err == nil && m.AccountID != accountID {
		return store.Meeting{}, store.ErrNotFound
	}
	return m, err
}

func (r *cachedReader) Attendee(meetingID, attendeeID string) (store.Attendee, error) {
	if a, ok := r.cache.attendee(meetingID, attendeeID); ok {
		return a, nil
	}
	a, err := r.Reader.Attendee(meetingID, attendeeID)
	if err == nil {
		r.cache.putAttendee(a, r.epoch)
	}
	return a, err
}

// cachedWriter serves the meetings a write locks, and the attendees it
// reads, from the cache: on SQLite the single writer is the lock, and a row
// the batch has not changed yet is the one last committed. The meetings it
// reads from the database fill the cache, so that the batches after it
// find them: CreateAttendee locks its meeting in every batch, and the
// count it changes stays cached.
type cachedWriter struct {
	*sqlstore.Tx
	cache *readCache
	ch    *changed
}

func (w *cachedWriter) LockMeeting(accountID, id string) (store.Meeting, error) {
	ms, err := w.LockMeetings([]string{id})
	if err != nil {
		return store.Meeting{}, err
	}
	if len(ms) == 0 || ms[0].AccountID != accountID {
		return store.Meeting{}, store.ErrNotFound
	}
	return ms[0], nil
}

// LockMeetings returns the meetings found, in ID order and once each, as
// the database's lock does.
func (w *cachedWriter) LockMeetings(ids []string) ([]store.Meeting, error) {
	found, missing := w.cache.lockedMeetings(ids, w.ch)
	if len(missing) > 0 {
		read, err := w.Tx.LockMeetings(missing)
		if err != nil {
			return nil, err
		}
		w.cache.keepLocked(read, w.ch)
		found = append(found, read...)
	}
	slices.SortFunc(found, func(a, b store.Meeting) int { return strings.Compare(a.ID, b.ID) })
	return slices.CompactFunc(found, func(a, b store.Meeting) bool { return a.ID == b.ID }), nil
}

func (w *cachedWriter) Attendee(meetingID, attendeeID string) (store.Attendee, error) {
	if a, ok := w.cache.lockedAttendee(meetingID, attendeeID, w.ch); ok {
		return a, nil
	}
	return w.Tx.Attendee(meetingID, attendeeID)
}
