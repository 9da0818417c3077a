package media

import (
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// source is one published video: an attendee's camera or a content share.
// Its stream and group IDs never change while it lives; a new publication
// gets new ones.
type source struct {
	streamID, groupID uint32
	attendeeID        string
	externalUserID    string
	content           bool
	maxBitrateKbps    uint32
	owner             *session

	mu   sync.Mutex
	outs map[*videoOut]struct{}
}

// forward sends one packet of the publisher's video to every subscriber.
// buf is the caller's scratch space, returned for reuse.
func (s *source) forward(pkt *rtp.Packet, buf []*videoOut) []*videoOut {
	s.mu.Lock()
	buf = buf[:0]
	for o := range s.outs {
		buf = append(buf, o)
	}
	s.mu.Unlock()
	for _, o := range buf {
		o.write(s, pkt)
	}
	return buf
}

// subscribers lists the outs the video goes to.
func (s *source) subscribers() []*videoOut {
	s.mu.Lock()
	defer s.mu.Unlock()
	outs := make([]*videoOut, 0, len(s.outs))
	for o := range s.outs {
		outs = append(outs, o)
	}
	return outs
}

func (s *source) attach(o *videoOut) {
	s.mu.Lock()
	if s.outs == nil {
		s.outs = map[*videoOut]struct{}{}
	}
	s.outs[o] = struct{}{}
	s.mu.Unlock()
}

func (s *source) detach(o *videoOut) {
	s.mu.Lock()
	delete(s.outs, o)
	s.mu.Unlock()
}

// detachAll stops the video going anywhere (it is no longer published).
func (s *source) detachAll() {
	for _, o := range s.subscribers() {
		o.unsetSource(s)
	}
}

func (s *source) keyframe() {
	if p := s.owner.peer(); p != nil {
		p.requestKeyframe()
	}
}

// videoOut is one video m-section of a subscriber: the track the answer
// binds to it, and which source feeds it now. Sequence numbers and
// timestamps are rewritten so that the stream stays continuous when the
// source changes.
type videoOut struct {
	owner  *session
	track  *webrtc.TrackLocalStaticRTP
	sender *webrtc.RTPSender

	mu       sync.Mutex
	src      *source
	paused   bool
	started  bool   // a packet was sent
	fresh    bool   // the next packet is the first of a new source
	seqDelta uint16 // added to the source's sequence numbers
	tsDelta  uint32 // added to the source's timestamps
	lastSeq  uint16
	lastTS   uint32
}

func (o *videoOut) source() *source {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.src
}

// setSource switches the out to another source (nil: none) and says
// whether it changed; the caller asks the new source for a key frame, as
// a new viewer can only start decoding at one.
func (o *videoOut) setSource(src *source) bool {
	o.mu.Lock()
	old := o.src
	if old == src {
		o.mu.Unlock()
		return false
	}
	o.src, o.fresh, o.paused = src, true, false
	o.mu.Unlock()
	if old != nil {
		old.detach(o)
	}
	if src != nil {
		src.attach(o)
	}
	return true
}

// unsetSource clears the source if it is still src.
func (o *videoOut) unsetSource(src *source) {
	o.mu.Lock()
	if o.src != src {
		o.mu.Unlock()
		return
	}
	o.src = nil
	o.mu.Unlock()
	src.detach(o)
}

func (o *videoOut) setPaused(paused bool) {
	o.mu.Lock()
	if o.paused && !paused {
		// Continue from the last packet sent, not with a gap as long as
		// the pause (which the receiver could take for old packets).
		o.fresh = true
	}
	o.paused = paused
	src := o.src
	o.mu.Unlock()
	if !paused && src != nil {
		src.keyframe()
	}
}

func (o *videoOut) write(from *source, pkt *rtp.Packet) {
	o.mu.Lock()
	if o.src != from || o.paused {
		o.mu.Unlock()
		return
	}
	if o.fresh {
		o.fresh = false
		if o.started {
			// Continue where the previous source stopped: one packet and
			// one frame (at 90 kHz, ~33 ms) later.
			o.seqDelta = o.lastSeq + 1 - pkt.SequenceNumber
			o.tsDelta = o.lastTS + 3000 - pkt.Timestamp
		} else {
			o.seqDelta, o.tsDelta = 0, 0
		}
	}
	out := *pkt
	out.SequenceNumber += o.seqDelta
	out.Timestamp += o.tsDelta
	// The publisher's header extensions use IDs negotiated with it, which
	// mean nothing (or something else) to this subscriber.
	out.Extension, out.Extensions, out.ExtensionProfile = false, nil, 0
	if !o.started || int16(out.SequenceNumber-o.lastSeq) > 0 {
		o.lastSeq, o.lastTS = out.SequenceNumber, out.Timestamp
	}
	o.started = true
	o.mu.Unlock()
	if o.track.WriteRTP(&out) == nil {
		o.owner.h.videoPackets.Add(1)
	}
}

// readRTCP reads the subscriber's feedback (the NACK interceptor needs it
// read) and passes requests for a key frame to the publisher.
func (o *videoOut) readRTCP() {
	for {
		pkts, _, err := o.sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if src := o.source(); src != nil {
					src.keyframe()
				}
			}
		}
	}
}
