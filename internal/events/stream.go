package events

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// Stream serves events as server-sent events, for people watching a
// meeting while they test: `curl -N 'http://127.0.0.1:9464/v1/events?meeting-id=ID'`.
// It reads the outbox, so it sees the events of every replica; each
// message's id is the event's sequence number, so a client that reconnects
// with Last-Event-ID resumes where it stopped (within the event retention).
// An event that committed late, on PostgreSQL, comes after higher ids and
// without one of its own, so that a client resuming does not get those
// again; one still missing when the client reconnects is not sent.
type Stream struct {
	store     store.Store
	poll      time.Duration
	keepalive time.Duration

	mu          sync.Mutex
	wake        chan struct{} // closed (and replaced) when events are written
	subscribers int

	done      chan struct{} // closed by Close
	closeOnce sync.Once
}

// NewStream returns a stream that checks for events every poll interval
// and whenever Notify is called.
func NewStream(st store.Store, poll time.Duration) *Stream {
	return &Stream{store: st, poll: poll, keepalive: 15 * time.Second, wake: make(chan struct{}), done: make(chan struct{})}
}

// Close ends every stream being served (at shutdown: a stream never ends by
// itself, and a graceful shutdown waits for handlers).
func (s *Stream) Close() { s.closeOnce.Do(func() { close(s.done) }) }

// Notify wakes every subscriber; with none it costs a lock.
func (s *Stream) Notify() {
	s.mu.Lock()
	if s.subscribers > 0 {
		close(s.wake)
		s.wake = make(chan struct{})
	}
	s.mu.Unlock()
}

func (s *Stream) subscribe(delta int) {
	s.mu.Lock()
	s.subscribers += delta
	s.mu.Unlock()
}

func (s *Stream) waiter() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.wake
}

// ServeHTTP streams events, of one meeting when the query names meeting-id.
func (s *Stream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	meetingID := strings.ToLower(r.URL.Query().Get("meeting-id"))
	if meetingID != "" && !model.IsGUID(meetingID) {
		http.Error(w, "meeting-id must be a meeting ID", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	var (
		cur *Cursor
		err error
	)
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		after, perr := strconv.ParseInt(v, 10, 64)
		if perr != nil || after < 0 {
			http.Error(w, "Last-Event-ID must be the id of an event this stream sent", http.StatusBadRequest)
			return
		}
		cur, err = Resume(ctx, s.store, after, meetingID)
	} else {
		cur, err = AtEnd(ctx, s.store, meetingID)
	}
	if err != nil {
		http.Error(w, "the store is unavailable", http.StatusServiceUnavailable)
		return
	}
	s.subscribe(1)
	defer s.subscribe(-1)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if meetingID != "" {
		fmt.Fprintf(w, ": carillon events of meeting %s\n\n", meetingID)
	} else {
		fmt.Fprint(w, ": carillon events\n\n")
	}
	rc.Flush() //nolint:errcheck // a failed flush shows at the next one
	lastWrite := time.Now()
	sent := cur.After()
	for {
		wake := s.waiter()
		rc.SetWriteDeadline(time.Now().Add(30 * time.Second)) //nolint:errcheck // best effort on writers that support it
		written := 0
		err := cur.Next(ctx, s.store, func(e *store.Event) error {
			payload, err := Payload(e)
			if err != nil {
				return err
			}
			if e.Seq > sent {
				fmt.Fprintf(w, "id: %d\n", e.Seq)
				sent = e.Seq
			} // else it committed late: the id to resume from stays the highest sent
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Type, payload)
			if written++; written%100 == 0 {
				return rc.Flush() // a long backlog goes out as it is read
			}
			return nil
		})
		if err != nil {
			return
		}
		if written == 0 && time.Since(lastWrite) >= s.keepalive {
			fmt.Fprint(w, ": keepalive\n\n")
		}
		if written > 0 || time.Since(lastWrite) >= s.keepalive {
			if rc.Flush() != nil {
				return
			}
			lastWrite = time.Now()
		}
		t := time.NewTimer(s.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-s.done:
			t.Stop()
			return
		case <-wake:
		case <-t.C:
		}
		t.Stop()
	}
}
