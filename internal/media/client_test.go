package media_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"

	"github.com/carillon-dev/carillon/internal/media/signal"
)

// client plays the part of the browser client: it speaks the signaling
// protocol the way amazon-chime-sdk-js does and runs a Pion peer
// connection laid out like the browser's (audio first, then the camera,
// then one receiving video section per subscribed stream).
type client struct {
	t     *testing.T
	name  string
	conn  *websocket.Conn
	attID string

	api    *webrtc.API
	pc     *webrtc.PeerConnection
	mic    *webrtc.TrackLocalStaticSample
	cam    *webrtc.TrackLocalStaticSample
	recv   []*webrtc.RTPTransceiver // receiving video transceivers, in order
	recvID map[*webrtc.RTPTransceiver]uint32
	// voice is the payload this client's microphone sends, to recognise it
	// at the other end.
	voice []byte
	camOn bool

	mu        sync.Mutex
	frames    []*signal.Frame
	changed   chan struct{}
	closed    bool
	closeCode websocket.StatusCode
	index     *signal.Index
	roster    map[uint32]*signal.AudioStream
	present   map[string]bool // attendee ID -> present, as the client computes it
	dropped   map[string]bool
	muted     map[string]bool
	audioIn   map[string]int // payload (hex) -> packets received
	videoIn   map[string]int // msid stream -> packets received
	data      []*signal.DataMessagePayload
	statuses  []uint32
	errors    []uint32
	pings     uint32
	stop      chan struct{}
}

func dial(t *testing.T, srv *httptest.Server, meetingID, token, name string) *client {
	t.Helper()
	return dialWith(t, srv, meetingID, []string{"_aws_wt_session", token}, name)
}

func dialWith(t *testing.T, srv *httptest.Server, meetingID string, protocols []string, name string) *client {
	t.Helper()
	u := "ws" + strings.TrimPrefix(srv.URL, "http") + "/control/" + meetingID + "?X-Chime-Control-Protocol-Version=3&X-Amzn-Chime-Send-Close-On-Error=1"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(ctx, u, &websocket.DialOptions{Subprotocols: protocols})
	if err != nil {
		t.Fatalf("%s: dial: %v", name, err)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "_aws_wt_session" {
		t.Fatalf("%s: server chose subprotocol %q, want _aws_wt_session", name, got)
	}
	c := &client{t: t, name: name, conn: conn, changed: make(chan struct{}),
		roster: map[uint32]*signal.AudioStream{}, present: map[string]bool{}, dropped: map[string]bool{},
		muted: map[string]bool{}, audioIn: map[string]int{}, videoIn: map[string]int{}, recvID: map[*webrtc.RTPTransceiver]uint32{},
		stop: make(chan struct{}), voice: []byte{0xfc, byte(len(name)), name[0], name[len(name)-1]}}
	go c.readLoop()
	t.Cleanup(c.close)
	return c
}

func (c *client) close() {
	c.mu.Lock()
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	c.mu.Unlock()
	c.conn.CloseNow()
	if c.pc != nil {
		c.pc.Close()
	}
}

func (c *client) notify() {
	close(c.changed)
	c.changed = make(chan struct{})
}

func (c *client) readLoop() {
	for {
		_, msg, err := c.conn.Read(context.Background())
		if err != nil {
			c.mu.Lock()
			c.closed = true
			c.closeCode = websocket.CloseStatus(err)
			c.notify()
			c.mu.Unlock()
			return
		}
		if len(msg) == 0 || msg[0] != signal.FrameTypeSignal {
			c.t.Errorf("%s: frame starts with %#x, want 0x05", c.name, msg[0])
			continue
		}
		f, err := signal.Decode(msg)
		if err != nil {
			c.t.Errorf("%s: undecodable frame: %v", c.name, err)
			continue
		}
		if f.TimestampMs == nil || f.Type == nil {
			c.t.Errorf("%s: frame without its required fields: %v", c.name, f)
		}
		c.mu.Lock()
		c.apply(f)
		c.frames = append(c.frames, f)
		c.notify()
		c.mu.Unlock()
	}
}

// apply interprets a frame as the browser client does.
func (c *client) apply(f *signal.Frame) {
	if e := f.GetError(); e.GetStatus() != 0 {
		c.errors = append(c.errors, e.GetStatus())
	}
	switch f.GetType() {
	case signal.Frame_INDEX:
		if f.Index == nil {
			c.t.Errorf("%s: INDEX without its index", c.name)
		}
		c.index = f.GetIndex()
	case signal.Frame_AUDIO_STREAM_ID_INFO:
		for _, s := range f.GetAudioStreamIdInfo().GetStreams() {
			id := s.GetAudioStreamId()
			switch {
			case s.AttendeeId != nil:
				if old := c.roster[id]; old == nil {
					c.roster[id] = s
				}
				c.present[s.GetAttendeeId()] = true
				delete(c.dropped, s.GetAttendeeId())
				if s.Muted != nil {
					c.muted[s.GetAttendeeId()] = s.GetMuted()
				}
			case s.Muted != nil:
				if e := c.roster[id]; e != nil {
					c.muted[e.GetAttendeeId()] = s.GetMuted()
				}
			default:
				if e := c.roster[id]; e != nil {
					if c.newerStream(e.GetAttendeeId(), id) {
						continue // it reconnected: not a leave
					}
					c.present[e.GetAttendeeId()] = false
					c.dropped[e.GetAttendeeId()] = s.GetDropped()
				}
			}
		}
	case signal.Frame_AUDIO_STATUS:
		c.statuses = append(c.statuses, f.GetAudioStatus().GetAudioStatus())
	case signal.Frame_DATA_MESSAGE:
		c.data = append(c.data, f.GetDataMessage().GetMessages()...)
	case signal.Frame_PING_PONG:
		if f.GetPingPong().GetType() == signal.PingPongType_PONG {
			c.pings = f.GetPingPong().GetPingId()
		}
	}
}

func (c *client) newerStream(attendeeID string, than uint32) bool {
	for id, e := range c.roster {
		if e.GetAttendeeId() == attendeeID && id > than {
			return true
		}
	}
	return false
}

// waitFor waits until cond (called with the lock held) holds.
func (c *client) waitFor(what string, cond func() bool) {
	c.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		ok, ch := cond(), c.changed
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-time.After(100 * time.Millisecond): // media counters change without frames
		case <-deadline:
			c.t.Fatalf("%s: timed out waiting for %s", c.name, what)
		}
	}
}

// frame waits for the next frame of a type after the n-th frame.
func (c *client) frameAfter(n int, typ signal.Frame_Type) *signal.Frame {
	c.t.Helper()
	var got *signal.Frame
	c.waitFor(typ.String(), func() bool {
		for _, f := range c.frames[min(n, len(c.frames)):] {
			if f.GetType() == typ {
				got = f
				return true
			}
		}
		return false
	})
	return got
}

func (c *client) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.frames)
}

func (c *client) send(f *signal.Frame) {
	c.t.Helper()
	b, err := signal.Encode(f)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.conn.Write(context.Background(), websocket.MessageBinary, b); err != nil {
		c.t.Fatalf("%s: write: %v", c.name, err)
	}
}

func (c *client) ping(id uint32) {
	f := signal.New(signal.Frame_PING_PONG, time.Now())
	f.PingPong = &signal.PingPong{Type: signal.PingPongType_PING.Enum(), PingId: &id}
	c.send(f)
}

// join sends JOIN the way the client does and waits for JOIN_ACK and INDEX.
func (c *client) join(audioSessionID uint64) {
	c.t.Helper()
	n := c.count()
	c.ping(1)
	f := signal.New(signal.Frame_JOIN, time.Now())
	f.Join = &signal.Join{ProtocolVersion: new(uint32(2)), Flags: new(uint32(signal.JoinFlag_HAS_STREAM_UPDATE)),
		AudioSessionId: &audioSessionID, WantsCompressedSdp: new(true),
		ClientDetails: &signal.ClientDetails{AppName: new("carillon-test")}}
	c.send(f)
	ack := c.frameAfter(n, signal.Frame_JOIN_ACK)
	if ack.Joinack == nil || ack.GetJoinack().GetWantsCompressedSdp() {
		c.t.Fatalf("%s: JOIN_ACK %v: want a join ack that asks for plain SDP", c.name, ack)
	}
	c.frameAfter(n, signal.Frame_INDEX)
}

// joinRefused sends JOIN and returns the AUDIO_STATUS the server answers
// with and the close code that follows.
func (c *client) joinRefused() (uint32, websocket.StatusCode) {
	c.t.Helper()
	f := signal.New(signal.Frame_JOIN, time.Now())
	f.Join = &signal.Join{ProtocolVersion: new(uint32(2)), AudioSessionId: new(uint64(1))}
	c.send(f)
	c.waitFor("AUDIO_STATUS", func() bool { return len(c.statuses) > 0 })
	c.send(signal.New(signal.Frame_LEAVE, time.Now()))
	c.waitFor("close", func() bool { return c.closed })
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.statuses[0], c.closeCode
}

func (c *client) setupPeer() {
	c.t.Helper()
	if c.pc != nil {
		return
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		c.t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	c.api = webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithSettingEngine(se))
	pc, err := c.api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		c.t.Fatal(err)
	}
	c.pc = pc
	c.mic, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", "local")
	c.cam, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", "local")
	if _, err := pc.AddTransceiverFromTrack(c.mic, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
		c.t.Fatal(err)
	}
	// The camera's transceiver comes second and always exists; frames
	// flow on it only while the camera is on.
	if _, err = pc.AddTransceiverFromTrack(c.cam, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv}); err != nil {
		c.t.Fatal(err)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		go func() {
			for {
				pkt, _, err := tr.ReadRTP()
				if err != nil {
					return
				}
				c.mu.Lock()
				if tr.Kind() == webrtc.RTPCodecTypeAudio {
					c.audioIn[fmt.Sprintf("%x", pkt.Payload)]++
				} else {
					c.videoIn[tr.StreamID()]++
				}
				c.mu.Unlock()
			}
		}()
	})
	go c.sendMedia()
}

// sendMedia sends 20 ms audio frames and 30 video frames a second, as a
// browser with a microphone and (once started) a camera does.
func (c *client) sendMedia() {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	n := 0
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
		}
		_ = c.mic.WriteSample(media.Sample{Data: c.voice, Duration: 20 * time.Millisecond})
		c.mu.Lock()
		on := c.camOn
		c.mu.Unlock()
		if n++; on && n%2 == 0 {
			c.sendVideoFrames(1)
		}
	}
}

// sendVideoFrames sends n frames on the camera's track, on or off.
func (c *client) sendVideoFrames(n int) {
	for range n {
		_ = c.cam.WriteSample(media.Sample{Data: bytes.Repeat([]byte{0x10, 0x02, 0x00, 0x9d}, 100), Duration: 40 * time.Millisecond})
	}
}

// subscribe negotiates like the client: a full offer, receive_stream_ids
// with one entry per video m-section, and the send streams.
func (c *client) subscribe(camera bool, want ...uint32) *signal.SubscribeAck {
	c.t.Helper()
	c.setupPeer()
	c.mu.Lock()
	c.camOn = camera
	c.mu.Unlock()
	// One receiving transceiver per wanted stream not yet received.
	for _, id := range want {
		found := false
		for _, tr := range c.recv {
			if c.recvID[tr] == id {
				found = true
			}
		}
		if !found {
			tr, err := c.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
			if err != nil {
				c.t.Fatal(err)
			}
			c.recv = append(c.recv, tr)
			c.recvID[tr] = id
		}
	}
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		c.t.Fatal(err)
	}
	<-gathered
	ids := []uint32{0}
	for _, tr := range c.recv {
		ids = append(ids, c.recvID[tr])
	}
	streams := []*signal.StreamDescriptor{{StreamId: new(uint32(1)), GroupId: new(uint32(1)), TrackLabel: new("AmazonChimeExpressAudio"),
		AttendeeId: new(c.attID), MediaType: signal.MediaType_AUDIO.Enum()}}
	duplex := signal.StreamServiceType_RX
	if camera {
		duplex = signal.StreamServiceType_DUPLEX
		streams = append(streams, &signal.StreamDescriptor{StreamId: new(uint32(2)), GroupId: new(uint32(2)),
			TrackLabel: new("AmazonChimeExpressVideo"), MaxBitrateKbps: new(uint32(1400)), MediaType: signal.MediaType_VIDEO.Enum()})
	}
	offerSDP := c.pc.LocalDescription().SDP
	if !camera {
		// The browser makes the camera's m-section inactive while the
		// camera is off.
		offerSDP = cameraInactive(c.t, offerSDP)
	}
	n := c.count()
	f := signal.New(signal.Frame_SUBSCRIBE, time.Now())
	f.Sub = &signal.Subscribe{Duplex: duplex.Enum(), SendStreams: streams, ReceiveStreamIds: ids,
		SdpOffer: new(offerSDP), AudioHost: new("127.0.0.1:3478"), AudioMuted: new(false)}
	c.send(f)
	ack := c.frameAfter(n, signal.Frame_SUBSCRIBE_ACK)
	if ack.GetError().GetStatus() != 0 {
		c.t.Fatalf("%s: SUBSCRIBE_ACK error %v", c.name, ack.GetError())
	}
	answer := ack.GetSuback().GetSdpAnswer()
	if !strings.Contains(answer, "a=candidate:") {
		c.t.Fatalf("%s: the answer has no candidates (the client does not trickle):\n%s", c.name, answer)
	}
	if !camera {
		answer = strings.Replace(answer, "a=inactive", "a=recvonly", 1) // what this Pion client offered
	}
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		c.t.Fatalf("%s: answer refused: %v\n%s", c.name, err, answer)
	}
	return ack.GetSuback()
}

// cameraInactive marks the first video m-section inactive and drops its
// track, as the browser's offer reads with the camera off.
func cameraInactive(t *testing.T, offer string) string {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(offer); err != nil {
		t.Fatal(err)
	}
	for _, md := range d.MediaDescriptions {
		if md.MediaName.Media != "video" {
			continue
		}
		attrs := md.Attributes[:0]
		for _, a := range md.Attributes {
			switch a.Key {
			case "sendrecv":
				a.Key = "inactive"
			case "ssrc", "ssrc-group", "msid":
				continue
			}
			attrs = append(attrs, a)
		}
		md.Attributes = attrs
		break
	}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (c *client) leave() {
	c.t.Helper()
	n := c.count()
	c.send(signal.New(signal.Frame_LEAVE, time.Now()))
	c.frameAfter(n, signal.Frame_LEAVE_ACK)
	c.waitFor("the server to close", func() bool { return c.closed })
}

func (c *client) sendData(topic string, data []byte, lifetimeMs uint32) {
	f := signal.New(signal.Frame_DATA_MESSAGE, time.Now())
	f.DataMessage = &signal.DataMessage{Messages: []*signal.DataMessagePayload{{Topic: &topic, Data: data, LifetimeMs: &lifetimeMs}}}
	c.send(f)
}

func (c *client) setMuted(muted bool) {
	f := signal.New(signal.Frame_AUDIO_CONTROL, time.Now())
	f.AudioControl = &signal.AudioControl{Muted: &muted}
	c.send(f)
}

// heard says whether c received from's voice; the caller holds c.mu.
func (c *client) heard(from *client) bool {
	return c.audioIn[fmt.Sprintf("%x", from.voice)] > 0
}

// sourceOf finds an attendee's video in the last INDEX; the caller holds
// c.mu.
func (c *client) sourceOf(attendeeID string) (uint32, bool) {
	for _, s := range c.index.GetSources() {
		if s.GetAttendeeId() == attendeeID {
			if s.GetMediaType() != signal.MediaType_VIDEO {
				c.t.Errorf("%s: INDEX source %d has media type %v, want VIDEO", c.name, s.GetStreamId(), s.GetMediaType())
			}
			return s.GetStreamId(), true
		}
	}
	return 0, false
}

func (c *client) hasStatus(s uint32) bool { return slices.Contains(c.statuses, s) }
