package media

import (
	"errors"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/media/signal"
	"github.com/carillon-dev/carillon/internal/model"
)

var (
	errMeetingEnded = errors.New("the meeting has ended")
	errRoomClosed   = errors.New("the room closed")
	errClosed       = errors.New("the media plane is shutting down")
)

// room is the live state of one meeting on this process: who is connected,
// what video is published, the data messages kept for late joiners.
type room struct {
	h         *Hub
	meetingID string
	mix       *audio

	mu       sync.Mutex
	members  map[string]*member // by attendee ID, "#content" sessions apart
	sources  map[uint32]*source // published videos by stream ID
	retained []retainedMessage
	volumes  map[uint32]uint32 // last reported volume per audio stream
	closed   bool              // left the hub: a new room takes its place
}

// member is an attendee in the roster, from its first connection until it
// leaves, is removed, or drops and does not come back in time.
type member struct {
	attendeeID     string
	externalUserID string
	content        bool
	streamID       uint32 // audio stream ID of its current session
	muted          bool
	present        bool // announced to the others (its joined event is recorded then)
	sess           *session
	drop           *time.Timer // runs while it is disconnected
	// capsSeq is the outbox position of the capabilities applied last, so
	// that an older reading never undoes a newer change.
	capsSeq int64
}

type retainedMessage struct {
	msg     *signal.DataMessagePayload
	expires time.Time
}

// Data-message limits of the client's API: what is kept for late joiners.
const (
	maxRetained      = 1024
	maxRetainedFor   = 5 * time.Minute
	maxDataBytes     = 2048
	videoTrackLabel  = "AmazonChimeExpressVideo"
	statusMovedAway  = 301 // AudioJoinedFromAnotherDevice
	statusRefused    = 403 // AudioAuthenticationRejected
	statusEnded      = 410 // MeetingEnded
	statusRemoved    = 411 // AudioAttendeeRemoved
	statusViewOnly   = 206 // VideoCallSwitchToViewOnly
	statusBadRequest = 400
	statusUnavailble = 503 // AudioServiceUnavailable: the client retries
)

var topicPattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,36}$`)

func newRoom(h *Hub, meetingID string) *room {
	r := &room{h: h, meetingID: meetingID, members: map[string]*member{}, sources: map[uint32]*source{}, volumes: map[uint32]uint32{}}
	r.mix = newAudio(r)
	return r
}

func sends(c string) bool    { return c == model.Send || c == model.SendReceive }
func receives(c string) bool { return c == model.Receive || c == model.SendReceive }

// presence counts the connected members and says when the room was last
// in use (now, while anyone is in the roster).
func (r *room) presence() (int, time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.members {
		if m.sess != nil {
			n++
		}
	}
	if len(r.members) > 0 {
		return n, r.h.now()
	}
	return 0, time.Time{}
}

func (r *room) videoSources() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sources)
}

func (r *room) sessions() []*session {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*session, 0, len(r.members))
	for _, m := range r.members {
		if m.sess != nil {
			out = append(out, m.sess)
		}
	}
	return out
}

// join admits a session whose token was verified, replacing an earlier
// session of the same attendee, and sends JOIN_ACK and the first INDEX.
func (r *room) join(s *session) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		// Emptied, or ended: the hub says which when asked again.
		return errRoomClosed
	}
	m := r.members[s.id.AttendeeID]
	if m == nil {
		m = &member{attendeeID: s.id.AttendeeID, externalUserID: s.id.ExternalUserID, content: s.id.Content}
		r.members[m.attendeeID] = m
	}
	if old := m.sess; old != nil {
		// The same client reconnecting keeps its audio session ID; another
		// device of the same attendee takes over and the first is told so.
		r.retireLocked(old)
		if old.audioSessionID != s.audioSessionID {
			old.terminate(statusMovedAway, closeNormal)
		} else {
			old.terminate(0, closeNormal)
		}
	}
	if m.drop != nil {
		m.drop.Stop()
		m.drop = nil
	}
	m.sess = s
	s.rm.Store(r)
	s.streamID = r.h.nextID()
	s.caps = s.id.Capabilities
	ack := signal.New(signal.Frame_JOIN_ACK, r.h.now())
	ack.Joinack = &signal.JoinAck{WantsCompressedSdp: new(false)}
	s.send(ack)
	s.send(r.indexLocked(s))
	now := r.h.now()
	var kept []*signal.DataMessagePayload
	for _, rm := range r.retained {
		if rm.expires.After(now) {
			kept = append(kept, rm.msg)
		}
	}
	if len(kept) > 0 {
		f := signal.New(signal.Frame_DATA_MESSAGE, now)
		f.DataMessage = &signal.DataMessage{Messages: kept}
		s.send(f)
	}
	r.mix.start()
	return nil
}

// present announces a session once its media is negotiated: it gets the
// whole roster, the others get its entry.
func (r *room) present(s *session, muted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.gone || s.present {
		return
	}
	m := r.members[s.id.AttendeeID]
	if m == nil || m.sess != s {
		return
	}
	s.present = true
	wasPresent, oldStream := m.present, uint32(0)
	if wasPresent && m.streamID != s.streamID {
		oldStream = m.streamID // a reconnect: the old stream is gone
		delete(r.volumes, oldStream)
	}
	m.streamID, m.muted, m.present = s.streamID, muted, true
	roster := make([]*signal.AudioStream, 0, len(r.members))
	for _, o := range r.sortedMembers() {
		if o.present {
			roster = append(roster, entry(o))
		}
	}
	s.send(streamInfo(r.h.now(), roster...))
	r.broadcastPresent(streamInfo(r.h.now(), entry(m)), s)
	if oldStream != 0 {
		// After the new entry, so that clients do not take it for a leave.
		r.broadcastPresent(streamInfo(r.h.now(), &signal.AudioStream{AudioStreamId: new(oldStream)}), s)
	}
	if !wasPresent {
		r.h.record(r.meetingID, m.attendeeID, pick(m.content, events.AttendeeContentJoined, events.AttendeeJoined))
	}
}

func (r *room) sortedMembers() []*member {
	ms := make([]*member, 0, len(r.members))
	for _, m := range r.members {
		ms = append(ms, m)
	}
	slices.SortFunc(ms, func(a, b *member) int { return int(a.streamID) - int(b.streamID) })
	return ms
}

func entry(m *member) *signal.AudioStream {
	return &signal.AudioStream{AudioStreamId: new(m.streamID), AttendeeId: new(m.attendeeID),
		ExternalUserId: new(m.externalUserID), Muted: new(m.muted)}
}

func streamInfo(now time.Time, streams ...*signal.AudioStream) *signal.Frame {
	f := signal.New(signal.Frame_AUDIO_STREAM_ID_INFO, now)
	f.AudioStreamIdInfo = &signal.AudioStreamIdInfo{Streams: streams}
	return f
}

// gone tells the present sessions a member left (or dropped). The entry
// carries only the stream ID: a muted field would read as a mute.
func (r *room) goneLocked(m *member, dropped bool) {
	if !m.present {
		return
	}
	delete(r.volumes, m.streamID)
	e := &signal.AudioStream{AudioStreamId: new(m.streamID)}
	if dropped {
		e.Dropped = new(true)
	}
	r.broadcastPresent(streamInfo(r.h.now(), e), nil)
}

// broadcastPresent sends a frame, encoded once, to the present sessions.
func (r *room) broadcastPresent(f *signal.Frame, except *session) {
	b := encode(r.h, f)
	if b == nil {
		return
	}
	for _, m := range r.members {
		if s := m.sess; s != nil && s != except && s.present {
			s.sendBytes(b)
		}
	}
}

func (r *room) broadcastJoined(f func(*session) *signal.Frame, except *session) {
	for _, m := range r.members {
		if s := m.sess; s != nil && s != except { // members' sessions have all joined
			s.send(f(s))
		}
	}
}

// retireLocked takes a session out of the room's media: its video is no
// longer published, and no video goes to it.
func (r *room) retireLocked(s *session) {
	s.gone = true
	r.unpublishLocked(s)
	for _, src := range r.sources {
		for _, o := range src.subscribers() {
			if o.owner == s {
				o.unsetSource(src)
			}
		}
	}
}

// detachLocked retires a session and returns its member, if the session
// was the member's current one.
func (r *room) detachLocked(s *session) *member {
	if s.gone {
		return nil
	}
	r.retireLocked(s)
	if m := r.members[s.id.AttendeeID]; m != nil && m.sess == s {
		return m
	}
	return nil
}

// leave removes a session that said LEAVE.
func (r *room) leave(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.detachLocked(s); m != nil {
		r.departLocked(m, false)
	}
}

// drop handles a session whose connection ended without LEAVE: its member
// stays in the roster for the grace period, in case the client reconnects.
func (r *room) drop(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.detachLocked(s)
	if m == nil {
		return
	}
	m.sess = nil
	if !m.present {
		delete(r.members, m.attendeeID)
		r.closeIfEmptyLocked()
		return
	}
	m.drop = time.AfterFunc(r.h.cfg.DropGrace, func() { r.dropped(m) })
}

func (r *room) dropped(m *member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.members[m.attendeeID] != m || m.sess != nil {
		return // it came back, or was removed
	}
	r.departLocked(m, true)
}

// departLocked takes a member out of the roster because it left (or
// dropped): the others are told, and the event is recorded.
func (r *room) departLocked(m *member, dropped bool) {
	delete(r.members, m.attendeeID)
	r.goneLocked(m, dropped)
	if m.present {
		event := pick(m.content, events.AttendeeContentLeft, events.AttendeeLeft)
		if dropped {
			event = pick(m.content, events.AttendeeContentDropped, events.AttendeeDropped)
		}
		r.h.record(r.meetingID, m.attendeeID, event)
	}
	r.closeIfEmptyLocked()
}

// evictLocked takes a member out of the room and retires its session,
// which it returns (nil while the member was disconnected).
func (r *room) evictLocked(m *member) *session {
	delete(r.members, m.attendeeID)
	if m.drop != nil {
		m.drop.Stop()
	}
	if s := m.sess; s != nil {
		r.retireLocked(s)
		return s
	}
	return nil
}

// remove disconnects a deleted attendee, and its content share.
func (r *room) remove(attendeeID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, id := range []string{attendeeID, attendeeID + model.ContentSuffix} {
		if m := r.members[id]; m != nil {
			if s := r.evictLocked(m); s != nil {
				s.terminate(statusRemoved, closeNormal)
			}
			r.goneLocked(m, false)
		}
	}
	r.closeIfEmptyLocked()
}

// end disconnects everyone: the meeting ended.
func (r *room) end() {
	r.h.markEnded(r.meetingID)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		if s := r.evictLocked(m); s != nil {
			s.terminate(statusEnded, closeMeetingEnded)
		}
	}
	r.closeIfEmptyLocked()
}

// shutdown disconnects everyone so that they reconnect: the process stops.
func (r *room) shutdown() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		if s := r.evictLocked(m); s != nil {
			s.end(closeRetry)
		}
	}
	r.closeIfEmptyLocked()
}

func (r *room) closeIfEmptyLocked() {
	if len(r.members) > 0 || r.closed {
		return
	}
	r.closed = true
	r.mix.close()
	r.h.roomGone(r, r.h.now())
}

// setCapabilities applies an attendee's new capabilities to its sessions:
// video it may no longer send stops, what it may no longer receive stops
// arriving, and a new INDEX prompts its client to subscribe again.
func (r *room) setCapabilities(attendeeID string, caps model.AttendeeCapabilities, seq int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, id := range []string{attendeeID, attendeeID + model.ContentSuffix} {
		m := r.members[id]
		if m == nil || m.sess == nil || seq < m.capsSeq {
			continue
		}
		m.capsSeq = seq
		if m.sess.caps == caps {
			continue
		}
		s := m.sess
		s.caps = caps
		changed = true
		if src := s.source.Load(); src != nil && !sends(s.videoCap()) {
			r.unpublishLocked(s)
			f := r.indexLocked(s)
			f.Error = &signal.Error{Status: new(uint32(statusViewOnly)), Description: new("video is not among the attendee's capabilities")}
			s.send(f)
		}
	}
	if !changed {
		return
	}
	for _, src := range r.sources {
		for _, o := range src.subscribers() {
			if !r.mayReceive(o.owner, src) {
				o.unsetSource(src)
			}
		}
	}
	r.broadcastJoined(r.indexLocked, nil)
}

// videoCap is the capability that governs the video a session sends.
func (s *session) videoCap() string {
	if s.id.Content {
		return s.caps.Content
	}
	return s.caps.Video
}

// mayReceive says whether a session may receive a video.
func (r *room) mayReceive(s *session, src *source) bool {
	if s.id.Content || src.owner == s {
		return false
	}
	if src.content {
		return receives(s.caps.Content)
	}
	return receives(s.caps.Video)
}

// bind points a session's m-section at a video it may receive. It checks
// and attaches under the room's lock, so that no capability change or
// unpublication slips in between.
func (r *room) bind(s *session, out *videoOut, streamID uint32) bool {
	r.mu.Lock()
	src := r.sources[streamID]
	ok := src != nil && !s.gone && r.mayReceive(s, src)
	changed := ok && out.setSource(src)
	r.mu.Unlock()
	if changed {
		src.keyframe()
	}
	return ok
}

// indexLocked is the INDEX a session gets: the videos it may receive.
func (r *room) indexLocked(s *session) *signal.Frame {
	f := signal.New(signal.Frame_INDEX, r.h.now())
	people := 0
	for _, m := range r.members {
		if !m.content {
			people++
		}
	}
	idx := &signal.Index{AtCapacity: new(len(r.sources) >= r.h.cfg.MaxVideoSources), NumParticipants: new(uint32(people))}
	ids := make([]uint32, 0, len(r.sources))
	for id := range r.sources {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		src := r.sources[id]
		if !r.mayReceive(s, src) {
			continue
		}
		idx.Sources = append(idx.Sources, &signal.StreamDescriptor{
			StreamId: new(src.streamID), GroupId: new(src.groupID),
			AttendeeId: new(src.attendeeID), ExternalUserId: new(src.externalUserID),
			MediaType: signal.MediaType_VIDEO.Enum(), MaxBitrateKbps: new(src.maxBitrateKbps),
			TrackLabel: new(videoTrackLabel),
		})
	}
	f.Index = idx
	return f
}

// publish makes the session's video a source, unless its capabilities or
// the meeting's video capacity forbid it.
func (r *room) publish(s *session, maxBitrateKbps uint32) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.gone {
		return false
	}
	if s.source.Load() != nil {
		return true
	}
	if !sends(s.videoCap()) || len(r.sources) >= r.h.cfg.MaxVideoSources {
		return false
	}
	if maxBitrateKbps == 0 {
		maxBitrateKbps = 1500
	}
	src := &source{streamID: r.h.nextID(), groupID: r.h.nextID(), attendeeID: s.id.AttendeeID,
		externalUserID: s.id.ExternalUserID, content: s.id.Content, maxBitrateKbps: maxBitrateKbps, owner: s}
	r.sources[src.streamID] = src
	s.source.Store(src)
	r.broadcastJoined(r.indexLocked, s)
	r.h.record(r.meetingID, model.BaseAttendeeID(s.id.AttendeeID), pick(s.id.Content, events.AttendeeContentVideoStarted, events.AttendeeVideoStarted))
	return true
}

func (r *room) unpublish(s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.unpublishLocked(s)
}

func (r *room) unpublishLocked(s *session) {
	src := s.source.Swap(nil)
	if src == nil {
		return
	}
	delete(r.sources, src.streamID)
	src.detachAll()
	r.broadcastJoined(r.indexLocked, s)
	r.h.record(r.meetingID, model.BaseAttendeeID(s.id.AttendeeID), pick(s.id.Content, events.AttendeeContentVideoStopped, events.AttendeeVideoStopped))
}

// setMuted tells everyone, the sender too, that a session muted or unmuted.
func (r *room) setMuted(s *session, muted bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.members[s.id.AttendeeID]
	if m == nil || m.sess != s || !s.present {
		return
	}
	m.muted = muted
	r.broadcastPresent(streamInfo(r.h.now(), &signal.AudioStream{AudioStreamId: new(m.streamID), Muted: new(muted)}), nil)
}

// relay passes a session's data messages to everyone else, stamped with the
// sender and an ingest time, and keeps those with a lifetime for late
// joiners. Messages over the rate limit go back to the sender unstamped,
// which the client reports as throttled.
func (r *room) relay(s *session, msgs []*signal.DataMessagePayload) {
	now := r.h.now()
	var out, throttled []*signal.DataMessagePayload
	for _, in := range msgs {
		if !topicPattern.MatchString(in.GetTopic()) || len(in.GetData()) > maxDataBytes {
			continue
		}
		p := &signal.DataMessagePayload{
			Topic: in.Topic, Data: in.Data, LifetimeMs: in.LifetimeMs,
			SenderAttendeeId: new(s.id.AttendeeID), SenderExternalUserId: new(s.id.ExternalUserID),
		}
		if !s.limiter.Allow() {
			p.IngestTimeNs = new(int64(0))
			throttled = append(throttled, p)
			r.h.dataThrottled.Add(1)
			continue
		}
		r.h.dataMessages.Add(1)
		p.IngestTimeNs = new(r.h.nextIngest())
		out = append(out, p)
	}
	if len(throttled) > 0 {
		f := signal.New(signal.Frame_DATA_MESSAGE, now)
		f.DataMessage = &signal.DataMessage{Messages: throttled}
		s.send(f)
	}
	if len(out) == 0 {
		return
	}
	f := signal.New(signal.Frame_DATA_MESSAGE, now)
	f.DataMessage = &signal.DataMessage{Messages: out}
	b := encode(r.h, f)
	if b == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s.gone {
		return
	}
	for _, m := range r.members {
		if o := m.sess; o != nil && o != s {
			o.sendBytes(b)
		}
	}
	for _, p := range out {
		if life := time.Duration(p.GetLifetimeMs()) * time.Millisecond; life > 0 {
			r.retained = append(r.retained, retainedMessage{msg: p, expires: now.Add(min(life, maxRetainedFor))})
		}
	}
	r.retained = slices.DeleteFunc(r.retained, func(m retainedMessage) bool { return !m.expires.After(now) })
	if n := len(r.retained) - maxRetained; n > 0 {
		r.retained = slices.Delete(r.retained, 0, n)
	}
}

// audioParties lists who may be heard and who listens, now.
func (r *room) audioParties(speakers, listeners []*session) ([]*session, []*session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.members {
		s := m.sess
		if s == nil || !s.present {
			continue
		}
		if s.id.Content {
			// A content share's audio is governed by the content capability;
			// it listens to nothing (it gets silence, to stay healthy).
			if sends(s.caps.Content) {
				speakers = append(speakers, s)
			}
			listeners = append(listeners, s)
			continue
		}
		if sends(s.caps.Audio) {
			speakers = append(speakers, s)
		}
		if receives(s.caps.Audio) {
			listeners = append(listeners, s)
		}
	}
	return speakers, listeners
}

// reportVolumes sends the volume indicators: every present attendee's
// level (RFC 6464 attenuation, which is the scale the client reads).
func (r *room) reportVolumes() {
	levels := r.mix.levels(r.h.now())
	r.mu.Lock()
	defer r.mu.Unlock()
	var states []*signal.AudioAttendeeState
	changed := false
	for _, m := range r.sortedMembers() {
		if !m.present {
			continue
		}
		vol, strength := uint32(silentLevel), uint32(0)
		if m.sess != nil {
			if l, ok := levels[m.sess]; ok {
				vol = uint32(l.level)
				if l.live {
					strength = 2
				}
			}
		}
		if last, ok := r.volumes[m.streamID]; !ok || last != vol {
			changed = true
			r.volumes[m.streamID] = vol
		}
		states = append(states, &signal.AudioAttendeeState{AudioStreamId: new(m.streamID), Volume: new(vol), SignalStrength: new(strength)})
	}
	if !changed || len(states) == 0 {
		return
	}
	f := signal.New(signal.Frame_AUDIO_METADATA, r.h.now())
	f.AudioMetadata = &signal.AudioMetadata{AttendeeStates: states}
	r.broadcastPresent(f, nil)
}

func pick[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}
