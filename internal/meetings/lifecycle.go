package meetings

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/carillon-dev/carillon/internal/periodic"
	"github.com/carillon-dev/carillon/internal/store"
)

// Presence tells the lifecycle who is connected to a meeting. The media plane
// implements it; the lifecycle asks it before ending an idle meeting.
type Presence interface {
	Status(ctx context.Context, meetingID string) (PresenceStatus, error)
}

// PresenceStatus is what the media plane knows of a meeting.
type PresenceStatus struct {
	// Connected counts the attendees connected now.
	Connected int
	// LastSeen is when an attendee was last connected; zero if never.
	LastSeen time.Time
}

// PresenceFunc adapts a function to the Presence interface.
type PresenceFunc func(ctx context.Context, meetingID string) (PresenceStatus, error)

// Status calls f.
func (f PresenceFunc) Status(ctx context.Context, meetingID string) (PresenceStatus, error) {
	return f(ctx, meetingID)
}

// NoPresence is the presence source of a server without a media plane: no
// one is ever connected, so every meeting ends after the idle timeout, as a
// real meeting that nobody joins does.
type NoPresence struct{}

// Status reports that no one is connected.
func (NoPresence) Status(context.Context, string) (PresenceStatus, error) {
	return PresenceStatus{}, nil
}

// dueBatch bounds how many meetings one pass of the lifecycle reads at once.
const dueBatch = 100

// RunLifecycle ends due meetings every interval, and purges old ended
// ones every minute, until ctx ends. Its deadlines are derived from stored
// times, so they survive restarts, and it is safe to run on several
// replicas at once: each meeting is ended in a transaction that locks and
// re-checks it.
func (s *Service) RunLifecycle(ctx context.Context, interval time.Duration) {
	// Retention is counted in days: purging once a minute is plenty. The
	// purge runs beside the endings, which a long one (a backlog after a
	// pause) must not hold up.
	var purging sync.WaitGroup
	defer purging.Wait()
	purging.Go(func() {
		periodic.Every(ctx, time.Minute, func(ctx context.Context) {
			if err := s.PurgeEnded(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "lifecycle: purging ended meetings", "err", err)
			}
		})
	})
	periodic.Every(ctx, interval, func(ctx context.Context) {
		if _, err := s.EndDueMeetings(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "lifecycle: ending due meetings", "err", err)
		}
	})
}

// deadlines returns the creation and activity times at or before which a
// meeting is due now; a zero time means that rule is off.
func (s *Service) deadlines(now time.Time) (createdBefore, idleBefore time.Time) {
	if s.cfg.MaxDuration > 0 {
		createdBefore = now.Add(-s.cfg.MaxDuration)
	}
	if s.cfg.IdleTimeout > 0 {
		idleBefore = now.Add(-s.cfg.IdleTimeout)
	}
	return createdBefore, idleBefore
}

// EndDueMeetings ends every meeting that has run its maximum duration or has
// had no one connected for the idle timeout, and says how many it ended.
func (s *Service) EndDueMeetings(ctx context.Context) (int, error) {
	now := s.nowUTC()
	createdBefore, idleBefore := s.deadlines(now)
	if createdBefore.IsZero() && idleBefore.IsZero() {
		return 0, nil
	}
	ended := 0
	// Each pass either ends a due meeting or moves its activity time past
	// the deadline, so the passes make progress; the bound is a safeguard.
	for pass := 0; pass < 1000; pass++ {
		var due []store.Meeting
		if err := s.store.View(ctx, func(r store.Reader) error {
			var err error
			due, err = r.DueMeetings(createdBefore, idleBefore, dueBatch)
			return err
		}); err != nil {
			return ended, err
		}
		for i := range due {
			ok, err := s.endIfDue(ctx, &due[i], now, createdBefore, idleBefore)
			if err != nil {
				return ended, err
			}
			if ok {
				ended++
			}
		}
		if len(due) < dueBatch {
			return ended, nil
		}
	}
	return ended, nil
}

// endIfDue ends one candidate meeting unless the presence source says it is
// in use, in which case it records the activity instead.
func (s *Service) endIfDue(ctx context.Context, m *store.Meeting, now, createdBefore, idleBefore time.Time) (bool, error) {
	reason := store.EndMaxDuration
	if createdBefore.IsZero() || m.CreatedAt.After(createdBefore) {
		reason = store.EndIdle
		st, err := s.presence.Status(ctx, m.ID)
		if err != nil {
			return false, err
		}
		switch {
		case st.Connected > 0:
			return false, s.touch(ctx, m.ID, now)
		case st.LastSeen.After(idleBefore):
			return false, s.touch(ctx, m.ID, st.LastSeen)
		}
	}
	ended := false
	err := s.write(ctx, "EndMeeting", func(w store.Writer) error {
		ended = false
		cur, err := w.LockMeeting(m.AccountID, m.ID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		// Re-check under the lock: another replica may have ended it, or
		// activity may have been recorded since it was read.
		if !cur.Active() || (reason == store.EndIdle && cur.LastActiveAt.After(idleBefore)) {
			return nil
		}
		ended = true
		return s.endMeeting(w, &cur, reason)
	})
	if err == nil && ended {
		s.log.InfoContext(ctx, "meeting ended", "meeting", m.ID, "account", m.AccountID, "reason", string(reason))
	}
	return ended, err
}

func (s *Service) touch(ctx context.Context, meetingID string, at time.Time) error {
	return s.store.Write(ctx, func(w store.Writer) error { return w.TouchMeeting(meetingID, at) })
}

// purgeBatch bounds the meetings one purge transaction deletes.
const purgeBatch = 1000

// PurgeEnded deletes meetings that ended longer ago than the retention,
// batch after batch until one comes short: a single batch a minute would
// fall ever further behind more than a batch of meetings ending a minute.
func (s *Service) PurgeEnded(ctx context.Context) error {
	if s.cfg.EndedRetention <= 0 {
		return nil
	}
	before := s.nowUTC().Add(-s.cfg.EndedRetention)
	_, err := store.Drain(ctx, s.store, purgeBatch, func(w store.Writer, limit int, _ struct{}) (int, struct{}, error) {
		n, err := w.PurgeEnded(before, limit)
		return n, struct{}{}, err
	})
	return err
}
