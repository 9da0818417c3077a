package media

import (
	"errors"
	"fmt"
	"io"
	"net"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/carillon-dev/carillon/internal/media/signal"
)

// The codecs of every meeting. One video codec for everyone lets video be
// forwarded without transcoding; VP8 is the one every browser sends.
var (
	opusCodec = webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine:  "minptime=10;useinbandfec=1",
		RTCPFeedback: []webrtc.RTCPFeedback{{Type: "transport-cc"}},
	}
	vp8Codec = webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeVP8, ClockRate: 90000,
		RTCPFeedback: []webrtc.RTCPFeedback{
			{Type: "goog-remb"}, {Type: "transport-cc"}, {Type: "ccm", Parameter: "fir"},
			{Type: "nack"}, {Type: "nack", Parameter: "pli"},
		},
	}
)

const audioLevelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

// newWebRTC builds the WebRTC stack shared by every connection: an ICE-lite
// endpoint (clients always reach the server, never the reverse) offering
// host candidates only, as the client drops server-reflexive ones. The
// closer, when not nil, releases the shared UDP port.
func newWebRTC(cfg Config) (*webrtc.API, io.Closer, error) {
	var shared io.Closer
	m := &webrtc.MediaEngine{}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: opusCodec, PayloadType: 111}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, err
	}
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: vp8Codec, PayloadType: 96}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, nil, err
	}
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: audioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, nil, err
	}
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, reg); err != nil {
		return nil, nil, err
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return nil, nil, err
	}
	if err := webrtc.ConfigureTWCCSender(m, reg); err != nil {
		return nil, nil, err
	}

	se := webrtc.SettingEngine{}
	se.SetLite(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	se.SetIncludeLoopbackCandidate(cfg.Loopback)
	se.SetICETimeouts(10*time.Second, 30*time.Second, 2*time.Second)
	if len(cfg.AdvertiseIPs) > 0 {
		// Only the families of the advertised addresses are offered: a
		// host's other addresses are what the mapping hides.
		var families []webrtc.NetworkType
		for _, ip := range cfg.AdvertiseIPs {
			parsed := net.ParseIP(ip)
			switch {
			case parsed == nil:
				return nil, nil, fmt.Errorf("media: advertised address %q is not an IP address", ip)
			case parsed.To4() != nil && !slices.Contains(families, webrtc.NetworkTypeUDP4):
				families = append(families, webrtc.NetworkTypeUDP4)
			case parsed.To4() == nil && !slices.Contains(families, webrtc.NetworkTypeUDP6):
				families = append(families, webrtc.NetworkTypeUDP6)
			}
		}
		se.SetNetworkTypes(families)
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External:        cfg.AdvertiseIPs,
			AsCandidateType: webrtc.ICECandidateTypeHost,
			Mode:            webrtc.ICEAddressRewriteReplace,
		}); err != nil {
			return nil, nil, err
		}
	}
	switch {
	case cfg.UDPPortMin != 0 && cfg.UDPPortMin == cfg.UDPPortMax:
		mux, err := ice.NewMultiUDPMuxFromPort(int(cfg.UDPPortMin), ice.UDPMuxFromPortWithLoopback())
		if err != nil {
			return nil, nil, fmt.Errorf("media: UDP port %d: %w", cfg.UDPPortMin, err)
		}
		se.SetICEUDPMux(mux)
		shared = mux
	case cfg.UDPPortMin != 0 || cfg.UDPPortMax != 0:
		if err := se.SetEphemeralUDPPortRange(cfg.UDPPortMin, cfg.UDPPortMax); err != nil {
			return nil, nil, fmt.Errorf("media: UDP ports %d-%d: %w", cfg.UDPPortMin, cfg.UDPPortMax, err)
		}
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)), shared, nil
}

// peer is the WebRTC connection of one session. Its methods run on the
// session's signaling goroutine, but for the track readers it starts.
type peer struct {
	s        *session
	pc       *webrtc.PeerConnection
	audioOut *webrtc.TrackLocalStaticSample
	outs     map[string]*videoOut // by mid
	camMid   string
	// camDecl is how the client last declared its camera's stream (its
	// ssrc, ssrc-group and msid lines), kept for the offers that turn the
	// camera off and drop it.
	camDecl []sdp.Attribute

	camMu   sync.Mutex
	camSSRC uint32 // of the camera track being received
	lastPLI time.Time
	// audioIn is set once the attendee's audio track arrives; a client
	// has one, and others are ignored.
	audioIn atomic.Bool
}

func newPeer(s *session) (*peer, error) {
	pc, err := s.h.rtc.NewPeerConnection(webrtc.Configuration{
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	})
	if err != nil {
		return nil, err
	}
	audio, err := webrtc.NewTrackLocalStaticSample(opusCodec, "audio", "carillon-audio")
	if err != nil {
		pc.Close()
		return nil, err
	}
	p := &peer{s: s, pc: pc, audioOut: audio, outs: map[string]*videoOut{}}
	pc.OnTrack(p.onTrack)
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		s.h.log.Debug("media: connection state", "meeting", s.meetingID, "attendee", s.id.AttendeeID, "state", st.String())
		if st == webrtc.PeerConnectionStateFailed {
			// The client notices the dead media itself and reconnects.
			s.fail(errors.New("media connection failed"))
		}
	})
	return p, nil
}

func (p *peer) close() {
	p.stopOuts()
	p.pc.Close()
}

// negotiation is what a SUBSCRIBE asks of the peer.
type negotiation struct {
	offer string
	// receive maps the i-th video m-section of the offer to the stream
	// the client wants on it (0: none).
	receive []uint32
	// bind points an m-section at a video the session may receive and
	// says whether it did (the video may be gone, or not allowed).
	bind func(out *videoOut, streamID uint32) bool
	// maxOuts bounds the m-sections that carry video.
	maxOuts int
}

// negotiate applies an offer and returns the answer and the track mapping
// of the videos the answer sends.
func (p *peer) negotiate(n negotiation) (answer string, tracks []*signal.TrackMapping, err error) {
	var parsed sdp.SessionDescription
	if err := parsed.UnmarshalString(n.offer); err != nil {
		return "", nil, fmt.Errorf("the SDP offer does not parse: %w", err)
	}
	if p.camMid == "" {
		// The camera's transceiver is created before any receiving one,
		// so its m-section is the first video one.
		for _, md := range parsed.MediaDescriptions {
			if md.MediaName.Media == "video" {
				p.camMid, _ = md.Attribute(sdp.AttrKeyMID)
				break
			}
		}
	}
	// The client turns its camera off by making that m-section inactive
	// and on again by making it sendrecv. Pion stops a transceiver that
	// turns inactive for good, so it is shown "sendonly" instead: the
	// transceiver stays ready to receive, and the answer says "inactive".
	camOff := setDirection(&parsed, p.camMid, "inactive", "sendonly")
	p.keepCameraDeclared(&parsed, camOff)
	offer := n.offer
	if camOff {
		b, err := parsed.Marshal()
		if err != nil {
			return "", nil, fmt.Errorf("the SDP offer: %w", err)
		}
		offer = string(b)
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", nil, fmt.Errorf("the SDP offer was refused: %w", err)
	}
	if p.audioSender() == nil {
		// Binds the audio m-section: the one track carrying the others.
		if _, err := p.pc.AddTrack(p.audioOut); err != nil {
			return "", nil, fmt.Errorf("audio: %w", err)
		}
	}

	byMid := map[string]*webrtc.RTPTransceiver{}
	for _, t := range p.pc.GetTransceivers() {
		byMid[t.Mid()] = t
	}
	wanted := map[string]bool{}
	bound := map[uint32]bool{} // each video goes on one m-section
	i := 0
	for _, md := range parsed.MediaDescriptions {
		if md.MediaName.Media != "video" {
			continue
		}
		mid, _ := md.Attribute(sdp.AttrKeyMID)
		var want uint32
		if i < len(n.receive) {
			want = n.receive[i]
		}
		i++
		if mid == p.camMid || want == 0 || md.MediaName.Port.Value == 0 || bound[want] {
			continue
		}
		out := p.outs[mid]
		if out == nil {
			t := byMid[mid]
			if t == nil || t.Kind() != webrtc.RTPCodecTypeVideo || len(p.outs) >= n.maxOuts {
				continue
			}
			if out, err = p.bindVideo(t, mid); err != nil {
				return "", nil, err
			}
		}
		if n.bind(out, want) {
			wanted[mid], bound[want] = true, true
		}
	}
	for mid, out := range p.outs {
		if !wanted[mid] {
			out.setSource(nil)
			if t := byMid[mid]; t == nil || t.Direction() == webrtc.RTPTransceiverDirectionInactive {
				delete(p.outs, mid) // stopped by the client
			}
		}
	}

	ans, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return "", nil, fmt.Errorf("answer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(ans); err != nil {
		return "", nil, fmt.Errorf("answer: %w", err)
	}
	// The client does not trickle: the answer carries every candidate.
	select {
	case <-gathered:
	case <-time.After(5 * time.Second):
		return "", nil, errors.New("gathering candidates timed out")
	}
	for mid, out := range p.outs {
		src := out.source()
		if src == nil {
			continue
		}
		tm := &signal.TrackMapping{TrackLabel: new(videoLabel(mid)), StreamId: new(src.streamID)}
		if enc := out.sender.GetParameters().Encodings; len(enc) > 0 {
			tm.Ssrc = new(uint32(enc[0].SSRC))
		}
		tracks = append(tracks, tm)
	}
	answer = p.pc.LocalDescription().SDP
	if camOff {
		var a sdp.SessionDescription
		if err := a.UnmarshalString(answer); err != nil {
			return "", nil, fmt.Errorf("the SDP answer: %w", err)
		}
		setDirection(&a, p.camMid, "recvonly", "inactive")
		b, err := a.Marshal()
		if err != nil {
			return "", nil, fmt.Errorf("the SDP answer: %w", err)
		}
		answer = string(b)
	}
	return answer, tracks, nil
}

// keepCameraDeclared remembers how the client declares its camera's
// stream and declares it again in an offer that turns the camera off. The
// client drops the declaration then, and Pion would stop the camera's
// receiver: a packet still on its way would reach Pion as an undeclared
// stream, which it gives a transceiver of its own making, and the same
// stream, declared again when the camera comes back, would then never
// reach the camera's m-section. Declared, it stays with its receiver.
func (p *peer) keepCameraDeclared(offer *sdp.SessionDescription, camOff bool) {
	md := section(offer, p.camMid)
	if md == nil {
		return
	}
	var decl []sdp.Attribute
	for _, a := range md.Attributes {
		switch a.Key {
		case sdp.AttrKeySSRC, sdp.AttrKeySSRCGroup, sdp.AttrKeyMsid:
			decl = append(decl, a)
		}
	}
	switch {
	case len(decl) > 0:
		p.camDecl = decl
	case camOff:
		md.Attributes = append(md.Attributes, p.camDecl...)
	}
}

// setDirection replaces the direction attribute from with to in the
// m-section of a mid, and says whether it did.
func setDirection(d *sdp.SessionDescription, mid, from, to string) bool {
	md := section(d, mid)
	if md == nil {
		return false
	}
	for i := range md.Attributes {
		if md.Attributes[i].Key == from {
			md.Attributes[i].Key = to
			return true
		}
	}
	return false
}

// section is the m-section of a mid that is in use (not rejected), or nil.
func section(d *sdp.SessionDescription, mid string) *sdp.MediaDescription {
	for _, md := range d.MediaDescriptions {
		if m, _ := md.Attribute(sdp.AttrKeyMID); m == mid && md.MediaName.Port.Value != 0 {
			return md
		}
	}
	return nil
}

// pause stops (or resumes) forwarding the videos the client named.
func (p *peer) pause(streamIDs []uint32, paused bool) {
	for _, o := range p.outs {
		if src := o.source(); src != nil && slices.Contains(streamIDs, src.streamID) {
			o.setPaused(paused)
		}
	}
}

// stopOuts stops every video going to this peer (its session is over).
func (p *peer) stopOuts() {
	for _, o := range p.outs {
		o.setSource(nil)
	}
}

func (p *peer) audioSender() *webrtc.RTPSender {
	for _, t := range p.pc.GetTransceivers() {
		if t.Kind() == webrtc.RTPCodecTypeAudio && t.Sender() != nil {
			return t.Sender()
		}
	}
	return nil
}

// videoLabel is the msid stream of the video sent on an m-section: the
// client finds the stream ID of a received track by this label.
func videoLabel(mid string) string { return "v_" + mid }

// bindVideo gives a receiving m-section of the client a track to carry a
// forwarded video.
func (p *peer) bindVideo(t *webrtc.RTPTransceiver, mid string) (*videoOut, error) {
	track, err := webrtc.NewTrackLocalStaticRTP(vp8Codec, "t_"+mid, videoLabel(mid))
	if err != nil {
		return nil, err
	}
	sender, err := p.s.h.rtc.NewRTPSender(track, p.pc.SCTP().Transport())
	if err != nil {
		return nil, err
	}
	if err := t.SetSender(sender, track); err != nil {
		return nil, fmt.Errorf("video m-section %s: %w", mid, err)
	}
	out := &videoOut{owner: p.s, track: track, sender: sender}
	p.outs[mid] = out
	go p.guard("reading feedback", out.readRTCP)
	return out, nil
}

// onTrack starts reading what the client sends: its audio, and the video
// of its camera's m-section. Anything else a client offers is not read.
func (p *peer) onTrack(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	mid := ""
	for _, t := range p.pc.GetTransceivers() {
		if t.Receiver() == recv {
			mid = t.Mid()
		}
	}
	p.s.h.log.Debug("media: receiving a track", "meeting", p.s.meetingID, "attendee", p.s.id.AttendeeID,
		"kind", track.Kind().String(), "mid", mid, "ssrc", uint32(track.SSRC()))
	switch {
	case track.Kind() == webrtc.RTPCodecTypeAudio && p.audioIn.CompareAndSwap(false, true):
		go p.guard("reading audio", func() { p.readAudio(track, recv) })
	case track.Kind() == webrtc.RTPCodecTypeVideo && mid == p.camMid:
		p.camMu.Lock()
		p.camSSRC = uint32(track.SSRC())
		p.camMu.Unlock()
		go p.guard("reading video", func() { p.readVideo(track) })
		p.requestKeyframe()
	}
}

// guard runs f, turning a panic into the end of this session rather than
// of the process.
func (p *peer) guard(what string, f func()) {
	defer func() {
		if v := recover(); v != nil {
			p.s.h.log.Error("media: "+what+" failed", "meeting", p.s.meetingID, "panic", v, "stack", string(debug.Stack()))
			p.s.fail(errors.New(what + " failed"))
		}
	}()
	f()
}

// readAudio hands each frame the attendee sends, with its loudness, to the
// room's mixer.
func (p *peer) readAudio(track *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	var levelID uint8
	for _, ext := range recv.GetParameters().HeaderExtensions {
		if ext.URI == audioLevelURI {
			levelID = uint8(ext.ID)
		}
	}
	in := p.s.room().mix.input(p.s)
	defer p.s.room().mix.dropInput(p.s)
	readRTP(track, func(pkt *rtp.Packet) {
		level := uint8(unknownLevel)
		if levelID != 0 {
			if b := pkt.GetExtension(levelID); len(b) > 0 {
				var ext rtp.AudioLevelExtension
				if ext.Unmarshal(b) == nil {
					level = ext.Level
				}
			}
		}
		in.push(pkt.Payload, level) // copies the payload
	})
}

// readVideo forwards the camera (or shared screen) to the session's
// current video source, if it has one.
func (p *peer) readVideo(track *webrtc.TrackRemote) {
	var buf []*videoOut
	readRTP(track, func(pkt *rtp.Packet) {
		if src := p.s.source.Load(); src != nil {
			buf = src.forward(pkt, buf) // writes copies, synchronously
		}
	})
}

// readRTP hands each packet of a track to handle, which must not keep the
// packet or its payload: one buffer and one packet serve them all, where
// Pion's ReadRTP allocates both for every packet. It stops, as ReadRTP
// does, at the first error.
func readRTP(track *webrtc.TrackRemote, handle func(*rtp.Packet)) {
	buf := make([]byte, 1500) // at least Pion's receive MTU (1460)
	var pkt rtp.Packet
	for {
		n, _, err := track.Read(buf)
		if err != nil || pkt.Unmarshal(buf[:n]) != nil {
			return
		}
		handle(&pkt)
	}
}

// requestKeyframe asks the client for a key frame of its video, at most
// twice a second.
func (p *peer) requestKeyframe() {
	p.camMu.Lock()
	ssrc := p.camSSRC
	if ssrc == 0 || time.Since(p.lastPLI) < 500*time.Millisecond {
		p.camMu.Unlock()
		return
	}
	p.lastPLI = time.Now()
	p.camMu.Unlock()
	_ = p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}
