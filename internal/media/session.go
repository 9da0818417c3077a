package media

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"golang.org/x/time/rate"

	"github.com/carillon-dev/carillon/internal/media/signal"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/model"
)

// WebSocket close codes the client acts on. After it has connected, the
// client ignores a clean close, so a server that ends a session sends an
// AUDIO_STATUS first; 4500-4599 make it reconnect.
const (
	closeNormal       = websocket.StatusNormalClosure
	closeMeetingEnded = websocket.StatusCode(4410)
	closeRetry        = websocket.StatusCode(4503)
)

// Timeouts of a signaling connection. The client pings every 10 s from the
// moment the socket opens; one that may idle before joining (signaling
// only) gets longer.
const (
	idleBeforeJoin = 2 * time.Minute
	idleAfterJoin  = 45 * time.Second
	writeTimeout   = 10 * time.Second
	// leaveWait is how long a session told to stop waits for the client's
	// LEAVE before closing the socket itself.
	leaveWait = 3 * time.Second
	// dropWait bounds how long Hub.Close waits for the sessions it dropped
	// to end (each only has to notice its cancelled context).
	dropWait = 2 * time.Second
	// outQueue and outBytes bound what waits for a slow client; beyond
	// either the connection is dropped and the client reconnects.
	outQueue = 512
	outBytes = 4 << 20
	// maxPending bounds the connections of the process that have not
	// joined yet (each holds a socket and two goroutines).
	maxPending = 1024
)

// What a client may send: data messages (a steady rate, a burst, and at
// most so many in one frame), and SUBSCRIBEs, each a renegotiation that
// may publish a video and re-index the room.
const (
	dataRate         = 100
	dataBurst        = 200
	maxDataPerFrame  = 100
	subscribeRate    = 5
	subscribeBurst   = 20
	maxPauseStreamID = 64
)

// session is one signaling connection: one client of one attendee (or of
// its content share).
type session struct {
	h         *Hub
	meetingID string
	token     string
	conn      *websocket.Conn
	ctx       context.Context
	cancel    context.CancelCauseFunc
	out       chan outbound

	// Set by the signaling goroutine at JOIN, read-only afterwards.
	id             meetings.Identity
	audioSessionID uint64
	limiter        *rate.Limiter // data messages
	subscribes     *rate.Limiter

	rm     atomic.Pointer[room]
	pc     atomic.Pointer[peer]
	source atomic.Pointer[source] // the video it publishes

	// Guarded by the room's lock.
	streamID uint32
	caps     model.AttendeeCapabilities
	present  bool // in the roster
	gone     bool // no longer part of the room

	closing   atomic.Bool  // told to stop, or said LEAVE: frames are ignored
	closeCode atomic.Int32 // stored before closing is set
	closeOnce sync.Once
	queued    atomic.Int64 // bytes waiting in out
}

type outbound struct {
	msg   []byte
	close websocket.StatusCode
}

func serveSession(h *Hub, w http.ResponseWriter, r *http.Request, meetingID, token string) {
	// The HTTP server's read and write deadlines would otherwise cut the
	// WebSocket after their few seconds.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Time{})
	_ = rc.SetWriteDeadline(time.Time{})
	if h.pending.Add(1) > maxPending {
		h.pending.Add(-1)
		http.Error(w, "too many connections are waiting to join", http.StatusServiceUnavailable)
		return
	}
	pending := true
	unpend := func() {
		if pending {
			pending = false
			h.pending.Add(-1)
		}
	}
	defer unpend()
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(r.Context()))
	s := &session{h: h, meetingID: meetingID, token: token, ctx: ctx, cancel: cancel,
		out: make(chan outbound, outQueue), subscribes: rate.NewLimiter(subscribeRate, subscribeBurst)}
	if !h.admit(s) {
		cancel(errClosed)
		http.Error(w, "this server is shutting down; connect again", http.StatusServiceUnavailable)
		return
	}
	defer h.release(s)
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{subprotocol},
		// The join token is the credential, not the page's origin: apps
		// served from anywhere connect.
		InsecureSkipVerify: true,
	})
	if err != nil {
		cancel(err)
		return
	}
	conn.SetReadLimit(signal.MaxFrameSize)
	s.conn = conn
	// Whatever ends the session, a panic included, it leaves the room
	// (before release: Close waits for both).
	defer s.cleanup()
	go s.write()
	s.read(unpend)
}

func (s *session) room() *room { return s.rm.Load() }
func (s *session) peer() *peer { return s.pc.Load() }

// read handles the client's frames until the connection ends. A client
// that has not joined within idleBeforeJoin is closed even if it pings:
// a connection is only worth keeping for an attendee.
func (s *session) read(joined func()) {
	joinBy := time.Now().Add(idleBeforeJoin)
	for s.ctx.Err() == nil {
		if s.room() != nil {
			joined()
		}
		var ctx context.Context
		var cancel context.CancelFunc
		if s.room() != nil {
			ctx, cancel = context.WithTimeout(s.ctx, idleAfterJoin)
		} else {
			ctx, cancel = context.WithDeadline(s.ctx, joinBy)
		}
		typ, msg, err := s.conn.Read(ctx)
		cancel()
		if err != nil {
			return
		}
		if typ != websocket.MessageBinary {
			continue
		}
		f, err := signal.Decode(msg)
		if err != nil {
			s.h.log.Debug("media: undecodable frame", "meeting", s.meetingID, "err", err)
			continue
		}
		s.handle(f)
	}
}

func (s *session) handle(f *signal.Frame) {
	defer func() {
		if v := recover(); v != nil {
			s.h.log.Error("media: a frame made the session fail", "meeting", s.meetingID, "type", f.GetType().String(),
				"panic", v, "stack", string(debug.Stack()))
			s.fail(errors.New("internal error"))
		}
	}()
	if s.closing.Load() && f.GetType() != signal.Frame_LEAVE && f.GetType() != signal.Frame_PING_PONG {
		return // told to stop, or left: only LEAVE and pings are answered
	}
	switch f.GetType() {
	case signal.Frame_PING_PONG:
		if pp := f.GetPingPong(); pp.GetType() == signal.PingPongType_PING {
			pong := signal.New(signal.Frame_PING_PONG, s.h.now())
			pong.PingPong = &signal.PingPong{Type: signal.PingPongType_PONG.Enum(), PingId: new(pp.GetPingId())}
			s.send(pong)
		}
	case signal.Frame_JOIN:
		s.onJoin(f.GetJoin())
	case signal.Frame_SUBSCRIBE:
		s.onSubscribe(f.GetSub())
	case signal.Frame_AUDIO_CONTROL:
		if r := s.room(); r != nil && f.GetAudioControl() != nil {
			r.setMuted(s, f.GetAudioControl().GetMuted())
		}
	case signal.Frame_DATA_MESSAGE:
		if r := s.room(); r != nil {
			msgs := f.GetDataMessage().GetMessages()
			r.relay(s, msgs[:min(len(msgs), maxDataPerFrame)])
		}
	case signal.Frame_PAUSE, signal.Frame_RESUME:
		if p := s.peer(); p != nil {
			ids := f.GetPause().GetStreamIds()
			p.pause(ids[:min(len(ids), maxPauseStreamID)], f.GetType() == signal.Frame_PAUSE)
		}
	case signal.Frame_LEAVE:
		s.onLeave()
	}
}

func (s *session) onJoin(j *signal.Join) {
	if s.room() != nil || s.closing.Load() {
		return
	}
	s.audioSessionID = j.GetAudioSessionId()
	id, err := s.h.cp.VerifyJoinToken(s.ctx, s.token)
	if err != nil || id.MeetingID != s.meetingID {
		s.h.refusals.Add(1)
	}
	switch {
	case errors.Is(err, meetings.ErrMeetingEnded):
		s.terminate(statusEnded, closeMeetingEnded)
		return
	case errors.Is(err, meetings.ErrTokenRefused) || (err == nil && id.MeetingID != s.meetingID):
		s.terminate(statusRefused, websocket.StatusPolicyViolation)
		return
	case err != nil:
		s.h.log.Warn("media: verifying a join token", "meeting", s.meetingID, "err", err)
		s.terminate(statusUnavailble, closeRetry)
		return
	}
	s.id = id
	s.limiter = rate.NewLimiter(dataRate, dataBurst)
	for {
		r, err := s.h.room(s.meetingID)
		if errors.Is(err, errMeetingEnded) {
			s.terminate(statusEnded, closeMeetingEnded)
			return
		}
		if err != nil {
			s.terminate(statusUnavailble, closeRetry) // shutting down
			return
		}
		switch err := r.join(s); {
		case errors.Is(err, errRoomClosed):
			continue // it emptied just now; the next is new
		default:
			s.h.joins.Add(1)
		}
		return
	}
}

func (s *session) onSubscribe(sub *signal.Subscribe) {
	r := s.room()
	if r == nil || sub == nil {
		return
	}
	if !s.subscribes.Allow() {
		// No client renegotiates this often; one that does is broken.
		s.h.log.Info("media: too many SUBSCRIBEs", "meeting", s.meetingID, "attendee", s.id.AttendeeID)
		s.terminate(0, websocket.StatusPolicyViolation)
		return
	}
	offer := sub.GetSdpOffer()
	if offer == "" {
		// JOIN_ACK asked for plain SDP; a compressed offer cannot be read.
		s.subscribeFailed("the SUBSCRIBE carries no plain SDP offer")
		return
	}
	publishing, maxKbps := false, uint32(0)
	for _, st := range sub.GetSendStreams() {
		if st.GetMediaType() == signal.MediaType_VIDEO || st.GetTrackLabel() == videoTrackLabel {
			publishing, maxKbps = true, st.GetMaxBitrateKbps()
		}
	}
	denied := false
	if publishing {
		denied = !r.publish(s, maxKbps)
	} else {
		r.unpublish(s)
	}
	p := s.peer()
	if p == nil {
		var err error
		if p, err = newPeer(s); err != nil {
			s.h.log.Error("media: creating a peer connection", "err", err)
			s.terminate(statusUnavailble, closeRetry)
			return
		}
		s.pc.Store(p)
	}
	answer, tracks, err := p.negotiate(negotiation{
		offer:   offer,
		receive: sub.GetReceiveStreamIds(),
		bind:    func(o *videoOut, id uint32) bool { return r.bind(s, o, id) },
		maxOuts: s.h.cfg.MaxVideoSources,
	})
	if err != nil {
		s.h.log.Info("media: negotiation failed", "meeting", s.meetingID, "attendee", s.id.AttendeeID, "err", err)
		s.subscribeFailed(err.Error())
		return
	}
	s.h.log.Debug("media: subscribed", "meeting", s.meetingID, "attendee", s.id.AttendeeID,
		"publishing", publishing, "denied", denied, "receive", sub.GetReceiveStreamIds(), "tracks", len(tracks))
	ack := signal.New(signal.Frame_SUBSCRIBE_ACK, s.h.now())
	ack.Suback = &signal.SubscribeAck{Duplex: sub.Duplex, SdpAnswer: new(answer), Tracks: tracks}
	if src := s.source.Load(); src != nil {
		ack.Suback.Allocations = []*signal.StreamAllocation{{TrackLabel: new(videoTrackLabel), StreamId: new(src.streamID), GroupId: new(src.groupID)}}
	}
	s.send(ack)
	if denied {
		r.mu.Lock()
		f := r.indexLocked(s)
		r.mu.Unlock()
		f.Error = &signal.Error{Status: new(uint32(statusViewOnly)), Description: new("this attendee may not send video now")}
		s.send(f)
	}
	r.present(s, sub.GetAudioMuted())
}

// subscribeFailed answers a SUBSCRIBE that cannot be served; the client
// stops with a bad-request status.
func (s *session) subscribeFailed(why string) {
	f := signal.New(signal.Frame_SUBSCRIBE_ACK, s.h.now())
	f.Suback = &signal.SubscribeAck{}
	f.Error = &signal.Error{Status: new(uint32(statusBadRequest)), Description: new(why)}
	s.send(f)
}

func (s *session) onLeave() {
	s.send(signal.New(signal.Frame_LEAVE_ACK, s.h.now()))
	if r := s.room(); r != nil {
		r.leave(s)
	}
	s.end(closeNormal)
}

// end closes the socket after the frames already queued, with the close
// code already chosen for the session (terminate chooses one) or else
// with code.
func (s *session) end(code websocket.StatusCode) {
	s.closeCode.CompareAndSwap(0, int32(code))
	s.closing.Store(true)
	s.closeWith(websocket.StatusCode(s.closeCode.Load()))
}

// terminate tells the client its session is over (an AUDIO_STATUS, unless
// status is 0) and closes the socket once the client says LEAVE, or after
// a short wait.
func (s *session) terminate(status uint32, code websocket.StatusCode) {
	if !s.closeCode.CompareAndSwap(0, int32(code)) {
		return // already stopping
	}
	s.closing.Store(true)
	if status != 0 {
		f := signal.New(signal.Frame_AUDIO_STATUS, s.h.now())
		f.AudioStatus = &signal.AudioStatus{AudioStatus: new(status)}
		s.send(f)
		time.AfterFunc(leaveWait, func() { s.closeWith(code) })
		return
	}
	s.closeWith(code)
}

// closeWith closes the socket after the frames already queued.
func (s *session) closeWith(code websocket.StatusCode) {
	s.closeOnce.Do(func() {
		select {
		case s.out <- outbound{close: code}:
		default:
			s.fail(errors.New("send queue full"))
		}
	})
}

// send queues a frame; a client too slow to take its frames is dropped.
func (s *session) send(f *signal.Frame) {
	if b := encode(s.h, f); b != nil {
		s.sendBytes(b)
	}
}

// sendBytes queues an encoded frame (frames for many are encoded once).
func (s *session) sendBytes(b []byte) {
	if s.queued.Add(int64(len(b))) > outBytes {
		s.queued.Add(-int64(len(b)))
		s.fail(errors.New("send queue full"))
		return
	}
	select {
	case s.out <- outbound{msg: b}:
	default:
		s.queued.Add(-int64(len(b)))
		s.fail(errors.New("send queue full"))
	}
}

func encode(h *Hub, f *signal.Frame) []byte {
	b, err := signal.Encode(f)
	if err != nil {
		h.log.Error("media: encoding a frame", "type", f.GetType().String(), "err", err)
		return nil
	}
	return b
}

func (s *session) write() {
	defer s.conn.CloseNow()
	for {
		select {
		case <-s.ctx.Done():
			return
		case o := <-s.out:
			s.queued.Add(-int64(len(o.msg)))
			if o.close != 0 {
				_ = s.conn.Close(o.close, "")
				s.cancel(errors.New("closed"))
				return
			}
			ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
			err := s.conn.Write(ctx, websocket.MessageBinary, o.msg)
			cancel()
			if err != nil {
				s.fail(err)
				return
			}
		}
	}
}

// fail ends the connection at once; the client sees it drop. It only
// cancels (the reader and writer close the socket), so it is safe to call
// with the room locked.
func (s *session) fail(err error) {
	s.cancel(err)
}

// cleanup runs when the connection has ended, however it ended.
func (s *session) cleanup() {
	s.cancel(errors.New("connection ended"))
	_ = s.conn.CloseNow()
	if r := s.room(); r != nil {
		r.drop(s)
	}
	if p := s.peer(); p != nil {
		p.close()
	}
}
