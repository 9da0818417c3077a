// Package media is Carillon's media plane: the endpoint at a meeting's
// SignalingUrl that the Amazon Chime SDK clients join with their JoinToken.
// It speaks the clients' signaling protocol over a WebSocket, terminates
// their WebRTC connections, forwards video between attendees, gives each
// attendee one audio stream made from the others', and tells everyone who
// is present, muted and talking.
//
// A Hub holds the rooms (one per meeting with someone connected) of one
// process. It learns of deleted attendees, ended meetings and changed
// capabilities from the event outbox, so it sees changes made on any
// replica, and it is the presence source the meeting lifecycle asks.
package media

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// ControlPlane is what the media plane needs of the meetings service.
type ControlPlane interface {
	VerifyJoinToken(ctx context.Context, token string) (meetings.Identity, error)
	RecordAttendeeEvent(ctx context.Context, meetingID, attendeeID, eventType string) error
	MarkActive(ctx context.Context, meetingID string, at time.Time) error
}

// Config is the media plane's network and behaviour settings.
type Config struct {
	// UDPPortMin and UDPPortMax bound the UDP ports of WebRTC connections;
	// zero lets the system choose. When they are equal, every connection
	// shares that one port.
	UDPPortMin, UDPPortMax uint16
	// AdvertiseIPs are the addresses offered to clients instead of the
	// host's own (1:1 NAT: the public address of a server behind it).
	AdvertiseIPs []string
	// Loopback offers the loopback address too, for clients on this host.
	Loopback bool
	// DropGrace is how long an attendee whose connection broke without a
	// LEAVE stays in the roster, waiting for the client to reconnect,
	// before the others are told it dropped.
	DropGrace time.Duration
	// Heartbeat is how often a meeting with someone connected is marked
	// active in the store, so no replica ends it as idle.
	Heartbeat time.Duration
	// Reconcile is how often every connected attendee's token is checked
	// again (a safety net behind the event outbox).
	Reconcile time.Duration
	// MaxVideoSources is how many videos a meeting carries at once.
	MaxVideoSources int
	// CloseGrace is how long Close waits for clients to answer the close
	// of their connection before it drops those that have not.
	CloseGrace time.Duration
}

// DefaultConfig returns the settings used when none are given.
func DefaultConfig() Config {
	return Config{
		Loopback:        true,
		DropGrace:       10 * time.Second,
		Heartbeat:       30 * time.Second,
		Reconcile:       10 * time.Second,
		MaxVideoSources: 25,
		CloseGrace:      3 * time.Second,
	}
}

// Hub is the media plane of one process.
type Hub struct {
	cfg    Config
	cp     ControlPlane
	events store.Store
	log    *slog.Logger
	rtc    *webrtc.API
	udp    io.Closer // the shared UDP port, if one is configured
	now    func() time.Time

	// ids issues stream and group IDs. They must grow across reconnects
	// (the client keeps the highest per attendee), so they start from the
	// clock and only go up.
	ids atomic.Uint32
	// ingest is the last data-message ingest time handed out, in ns.
	ingest atomic.Int64
	// pending counts the connections that have not joined yet.
	pending atomic.Int64
	// outboxAt is the position up to which the outbox follower has
	// applied every event (an event that commits late on PostgreSQL may
	// still come below its latest one).
	outboxAt atomic.Int64
	// counters of what has happened, for the metrics.
	joins, refusals, videoPackets, audioFrames, dataMessages, dataThrottled atomic.Uint64

	mu       sync.Mutex
	rooms    map[string]*room
	lastSeen map[string]time.Time // meetings whose room closed: when
	ended    map[string]time.Time // meetings seen to end: when
	closed   bool
	// sessions holds the live signaling connections, joined or not, so
	// that Close can end them all and wait for them to finish before it
	// closes the shared UDP port their peers use. drained is closed when
	// the last one ends after Close began; closeDone when Close is done.
	sessions  map[*session]struct{}
	drained   chan struct{}
	closeDone chan struct{}

	wake     chan struct{} // a buffered slot: the outbox has news
	recorder chan mediaEvent
	wg       sync.WaitGroup
}

type mediaEvent struct {
	meetingID, attendeeID, eventType string
}

// New builds a hub. Run must be called for it to follow the event outbox.
func New(cfg Config, cp ControlPlane, outbox store.Store, log *slog.Logger) (*Hub, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	def := DefaultConfig()
	if cfg.DropGrace <= 0 {
		cfg.DropGrace = def.DropGrace
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = def.Heartbeat
	}
	if cfg.Reconcile <= 0 {
		cfg.Reconcile = def.Reconcile
	}
	if cfg.MaxVideoSources <= 0 {
		cfg.MaxVideoSources = def.MaxVideoSources
	}
	if cfg.CloseGrace <= 0 {
		cfg.CloseGrace = def.CloseGrace
	}
	api, udp, err := newWebRTC(cfg)
	if err != nil {
		return nil, err
	}
	h := &Hub{
		cfg: cfg, cp: cp, events: outbox, log: log, rtc: api, udp: udp, now: time.Now,
		rooms:    map[string]*room{},
		sessions: map[*session]struct{}{},
		lastSeen: map[string]time.Time{},
		ended:    map[string]time.Time{},
		wake:     make(chan struct{}, 1),
		recorder: make(chan mediaEvent, 4096),

		closeDone: make(chan struct{}),
	}
	// Sixteen IDs per second of wall time since 2025 leaves a restarted
	// process above the IDs its predecessor issued, for over eight years.
	h.ids.Store(uint32(max(0, time.Since(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)).Seconds())) << 4)
	return h, nil
}

func (h *Hub) nextID() uint32 { return h.ids.Add(1) }

// nextIngest returns a non-zero ingest time that grows with every call:
// the client reads zero as "throttled".
func (h *Hub) nextIngest() int64 {
	now := h.now().UnixNano()
	for {
		last := h.ingest.Load()
		next := max(now, last+1)
		if h.ingest.CompareAndSwap(last, next) {
			return next
		}
	}
}

// Notify tells the hub that events were written (it wakes the outbox
// follower, which, hosting nothing, reads at most once a second).
func (h *Hub) Notify() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Status reports who is connected to a meeting on this process: the
// presence source of the lifecycle.
func (h *Hub) Status(_ context.Context, meetingID string) (meetings.PresenceStatus, error) {
	meetingID = strings.ToLower(meetingID)
	h.mu.Lock()
	r := h.rooms[meetingID]
	last := h.lastSeen[meetingID]
	h.mu.Unlock()
	if r == nil {
		return meetings.PresenceStatus{LastSeen: last}, nil
	}
	n, seen := r.presence()
	if seen.IsZero() {
		seen = last
	}
	return meetings.PresenceStatus{Connected: n, LastSeen: seen}, nil
}

// Stats is a snapshot of the media plane for the metrics.
type Stats struct {
	Rooms, Sessions, VideoSources int
	// Connections counts the signaling connections, joined or not.
	Connections int
	// Totals since the start.
	Joins, Refusals, VideoPackets, AudioFrames, DataMessages, DataThrottled uint64
}

// Stats reads the media plane's state and counters.
func (h *Hub) Stats() Stats {
	st := Stats{
		Joins: h.joins.Load(), Refusals: h.refusals.Load(), VideoPackets: h.videoPackets.Load(),
		AudioFrames: h.audioFrames.Load(), DataMessages: h.dataMessages.Load(), DataThrottled: h.dataThrottled.Load(),
	}
	h.mu.Lock()
	st.Connections = len(h.sessions)
	h.mu.Unlock()
	for _, r := range h.snapshot() {
		connected, _ := r.presence()
		st.Rooms++
		st.Sessions += connected
		st.VideoSources += r.videoSources()
	}
	return st
}

// room returns the room of a meeting, creating it: errMeetingEnded for a
// meeting seen to end, errClosed once the hub closed.
func (h *Hub) room(meetingID string) (*room, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errClosed
	}
	if _, ok := h.ended[meetingID]; ok {
		return nil, errMeetingEnded
	}
	r := h.rooms[meetingID]
	if r == nil {
		r = newRoom(h, meetingID)
		h.rooms[meetingID] = r
	}
	return r, nil
}

// roomGone forgets a room that has emptied, remembering when it was last in
// use for the idle timer.
func (h *Hub) roomGone(r *room, lastSeen time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rooms[r.meetingID] == r {
		delete(h.rooms, r.meetingID)
	}
	if !lastSeen.IsZero() {
		h.lastSeen[r.meetingID] = lastSeen
	}
}

func (h *Hub) markEnded(meetingID string) {
	h.mu.Lock()
	h.ended[meetingID] = h.now()
	h.mu.Unlock()
}

func (h *Hub) hosted(meetingID string) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.rooms[meetingID]
}

func (h *Hub) snapshot() []*room {
	h.mu.Lock()
	defer h.mu.Unlock()
	rs := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rs = append(rs, r)
	}
	return rs
}

// record queues an attendee event for the outbox; the queue keeps the
// signaling path off the store.
func (h *Hub) record(meetingID, attendeeID, eventType string) {
	select {
	case h.recorder <- mediaEvent{meetingID, attendeeID, eventType}:
	default:
		h.log.Error("media: event queue full, event lost", "meeting", meetingID, "attendee", attendeeID, "type", eventType)
	}
}

// Run follows the event outbox, records attendee events, keeps hosted
// meetings marked active and re-checks connected attendees, until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	h.wg.Go(func() { h.recordEvents(ctx) })
	h.wg.Go(func() { h.followOutbox(ctx) })
	h.wg.Go(func() { h.maintain(ctx) })
	<-ctx.Done()
	h.wg.Wait()
}

// Close disconnects every client with a close code that makes it reconnect
// (to another replica, or to this one after a restart) and refuses new
// ones; it does not end any meeting. Clients get CloseGrace to answer the
// close; those that have not are dropped. The shared UDP port their peers
// use is closed last. Close may be called more than once; every call
// returns once it is done.
func (h *Hub) Close() {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		<-h.closeDone
		return
	}
	h.closed = true
	rooms := make([]*room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	drained := make(chan struct{})
	if len(h.sessions) == 0 {
		close(drained)
	} else {
		h.drained = drained
	}
	h.mu.Unlock()
	defer close(h.closeDone)
	for _, r := range rooms {
		r.shutdown()
	}
	for _, s := range h.liveSessions() {
		s.end(closeRetry) // those that had not joined a room
	}
	select {
	case <-drained:
	case <-time.After(h.cfg.CloseGrace):
		for _, s := range h.liveSessions() {
			s.fail(errClosed)
		}
		select {
		case <-drained:
		case <-time.After(dropWait):
			h.log.Warn("media: sessions still ending at shutdown", "sessions", len(h.liveSessions()))
		}
	}
	if h.udp != nil {
		if err := h.udp.Close(); err != nil {
			h.log.Warn("media: closing the shared UDP port", "error", err)
		}
	}
}

func (h *Hub) liveSessions() []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Collect(maps.Keys(h.sessions))
}

// admit records a new session; false once the hub is closing.
func (h *Hub) admit(s *session) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.sessions[s] = struct{}{}
	return true
}

// release forgets a session that has ended.
func (h *Hub) release(s *session) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.sessions, s)
	if len(h.sessions) == 0 && h.drained != nil {
		close(h.drained)
		h.drained = nil
	}
}

func (h *Hub) recordEvents(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-h.recorder:
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			err := h.cp.RecordAttendeeEvent(rctx, e.meetingID, e.attendeeID, e.eventType)
			cancel()
			if err != nil {
				// An attendee deleted, or a meeting ended, a moment ago
				// has no more events: nothing is lost.
				h.log.Debug("media: attendee event not recorded", "meeting", e.meetingID, "attendee", e.attendeeID, "type", e.eventType, "err", err)
			}
		}
	}
}

// followOutbox reads the events every replica writes and applies those
// about hosted meetings: ended meetings, deleted attendees, changed
// capabilities.
func (h *Hub) followOutbox(ctx context.Context) {
	f := &outboxFollower{}
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	for {
		if err := h.readOutbox(ctx, f); err != nil && ctx.Err() == nil {
			h.log.Warn("media: reading the event outbox", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-h.wake:
		case <-poll.C:
		}
		// Coalesce bursts of writes into one read.
		select {
		case <-ctx.Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// outboxFollower is followOutbox's position in the outbox.
type outboxFollower struct {
	c         *events.Cursor // nil until the end of the log is known
	skippedAt time.Time      // when it last moved to the end
}

// idleSkip is how often the follower, hosting nothing, moves to the end
// of the log: reading the end costs a look at the events since the last
// time, which every write would otherwise ask for.
const idleSkip = time.Second

// idle reports that no room is hosted and no connection is on its way to
// one: a connection checks its token against the store before its room
// exists, and needs the events from then on.
func (h *Hub) idle() bool { return len(h.snapshot()) == 0 && h.pending.Load() == 0 }

func (h *Hub) readOutbox(ctx context.Context, f *outboxFollower) error {
	if f.c == nil || h.idle() {
		// Nothing hosted: only keep up with the end of the log.
		if f.c != nil && time.Since(f.skippedAt) < idleSkip {
			return nil
		}
		var after int64
		if f.c != nil {
			after = f.c.After()
		}
		end, err := events.ReadEnd(ctx, h.events, after)
		if err != nil {
			return err
		}
		if f.c == nil {
			f.c = events.NewCursor(0, "")
			f.c.SkipTo(end)
		} else if h.idle() {
			f.c.SkipTo(end) // unless a room opened meanwhile: it needs what came since
		}
		f.skippedAt = time.Now()
		h.outboxAt.Store(f.c.Settled())
		return nil
	}
	err := f.c.Next(ctx, h.events, func(e *store.Event) error {
		h.apply(e)
		return nil
	})
	h.outboxAt.Store(f.c.Settled())
	return err
}

func (h *Hub) apply(e *store.Event) {
	switch e.Type {
	case events.MeetingEnded:
		// Remembered even when not hosted: a client whose token was
		// checked a moment before the end must not open a room.
		h.markEnded(e.MeetingID)
		if r := h.hosted(e.MeetingID); r != nil {
			r.end()
		}
		return
	case events.AttendeeDeleted, events.AttendeeCapabilitiesUpdated:
	default:
		return
	}
	r := h.hosted(e.MeetingID)
	if r == nil {
		return
	}
	d, err := events.DetailOf(e)
	if err != nil || d.AttendeeID == "" {
		h.log.Warn("media: unreadable event", "type", e.Type, "seq", e.Seq, "err", err)
		return
	}
	id := strings.ToLower(d.AttendeeID)
	switch e.Type {
	case events.AttendeeDeleted:
		// A meeting that ends deletes its attendees first: its attendees
		// are told the meeting ended, not that they were removed.
		if h.meetingEnded(e.MeetingID) {
			r.end()
			return
		}
		r.remove(id)
	case events.AttendeeCapabilitiesUpdated:
		if c := d.AttendeeCapabilities; c != nil {
			r.setCapabilities(id, model.AttendeeCapabilities{Audio: c.Audio, Video: c.Video, Content: c.Content}, e.Seq)
		}
	}
}

// meetingEnded reads whether a meeting has ended (or is gone).
func (h *Hub) meetingEnded(meetingID string) bool {
	ended := false
	err := h.events.View(context.Background(), func(r store.Reader) error {
		m, err := r.MeetingByID(meetingID)
		if errors.Is(err, store.ErrNotFound) {
			ended = true
			return nil
		}
		ended = err == nil && !m.Active()
		return err
	})
	if err != nil {
		h.log.Warn("media: reading a meeting", "meeting", meetingID, "err", err)
	}
	return ended
}

// maintain marks hosted meetings active and re-checks tokens.
func (h *Hub) maintain(ctx context.Context) {
	beat := time.NewTicker(h.cfg.Heartbeat)
	defer beat.Stop()
	check := time.NewTicker(h.cfg.Reconcile)
	defer check.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-beat.C:
			now := h.now()
			for _, r := range h.snapshot() {
				if n, _ := r.presence(); n > 0 {
					if err := h.cp.MarkActive(ctx, r.meetingID, now); err != nil && ctx.Err() == nil {
						h.log.Warn("media: marking a meeting active", "meeting", r.meetingID, "err", err)
					}
				}
			}
			h.forgetOld(now)
		case <-check.C:
			for _, r := range h.snapshot() {
				h.reconcile(ctx, r)
			}
		}
	}
}

// reconcile checks again every connected session's token: it catches a
// change whose event the outbox follower missed.
func (h *Hub) reconcile(ctx context.Context, r *room) {
	for _, s := range r.sessions() {
		// What the token says is at least as new as the outbox position
		// read before it; a capability event applied later wins.
		seq := h.outboxAt.Load()
		id, err := h.cp.VerifyJoinToken(ctx, s.token)
		switch {
		case errors.Is(err, meetings.ErrMeetingEnded):
			r.end()
			return
		case errors.Is(err, meetings.ErrTokenRefused):
			r.remove(model.BaseAttendeeID(s.id.AttendeeID))
		case err != nil:
			return // the store is unavailable: try again next time
		default:
			r.setCapabilities(model.BaseAttendeeID(id.AttendeeID), id.Capabilities, seq)
		}
	}
}

// forgetOld drops last-seen times older than a day: the idle timer has
// long decided by then.
func (h *Hub) forgetOld(now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for id, t := range h.lastSeen {
		if now.Sub(t) > 24*time.Hour {
			delete(h.lastSeen, id)
		}
	}
	// The ends matter for the moment between a token check and a join.
	for id, t := range h.ended {
		if now.Sub(t) > 10*time.Minute {
			delete(h.ended, id)
		}
	}
}

// ServeHTTP accepts a client's signaling connection at /control/<MeetingId>.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	meetingID := strings.ToLower(strings.TrimPrefix(r.URL.Path, "/control/"))
	if !model.IsGUID(meetingID) {
		http.Error(w, "not a meeting's signaling URL", http.StatusNotFound)
		return
	}
	token, ok := joinToken(r)
	if !ok {
		http.Error(w, "a signaling connection is a WebSocket with subprotocols "+subprotocol+" and the join token", http.StatusBadRequest)
		return
	}
	serveSession(h, w, r, meetingID, token)
}

const subprotocol = "_aws_wt_session"

// joinToken finds the token among the requested subprotocols, after
// _aws_wt_session.
func joinToken(r *http.Request) (string, bool) {
	var protos []string
	for _, v := range r.Header.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				protos = append(protos, p)
			}
		}
	}
	for i, p := range protos {
		if p == subprotocol && i+1 < len(protos) {
			return protos[i+1], true
		}
	}
	return "", false
}
