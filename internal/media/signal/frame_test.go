package signal

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
)

func TestEncodeDecodeRoundTrip(t *testing.T) {
	f := New(Frame_AUDIO_STREAM_ID_INFO, time.UnixMilli(1_700_000_000_123))
	f.AudioStreamIdInfo = &AudioStreamIdInfo{Streams: []*AudioStream{
		{AudioStreamId: proto.Uint32(7), AttendeeId: proto.String("a"), ExternalUserId: proto.String("x"), Muted: proto.Bool(false)},
		{AudioStreamId: proto.Uint32(8), Dropped: proto.Bool(true)},
	}}
	b, err := Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != FrameTypeSignal {
		t.Fatalf("type byte %#x, want %#x", b[0], FrameTypeSignal)
	}
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, f) {
		t.Errorf("round trip: got %v, want %v", got, f)
	}
	// Presence of optional fields survives: the client reads "muted
	// present" as a mute update and "muted absent" as a leave.
	if s := got.GetAudioStreamIdInfo().GetStreams()[1]; s.Muted != nil || s.AttendeeId != nil {
		t.Errorf("absent fields came back present: %v", s)
	}
	if got.GetTimestampMs() != 1_700_000_000_123 {
		t.Errorf("timestamp %d", got.GetTimestampMs())
	}
}

// The client's encoder writes field numbers of its own schema; this is a
// JOIN as the browser client sends it, written out by hand from that
// schema: type byte 5, then timestamp_ms (1), type (2) = JOIN, join (4)
// with protocol_version (1) = 2, flags (3) = 2, audio_session_id (6) and
// wants_compressed_sdp (7) = true.
func TestDecodesTheClientsJoin(t *testing.T) {
	join := []byte{0x08, 0x02, 0x18, 0x02, 0x30, 0x96, 0x01, 0x38, 0x01}
	frame := append([]byte{0x08, 0xe8, 0x07, 0x10, 0x01, 0x22, byte(len(join))}, join...)
	f, err := Decode(append([]byte{0x05}, frame...))
	if err != nil {
		t.Fatal(err)
	}
	j := f.GetJoin()
	if f.GetType() != Frame_JOIN || f.GetTimestampMs() != 1000 || j.GetProtocolVersion() != 2 || j.GetFlags() != 2 ||
		j.GetAudioSessionId() != 150 || !j.GetWantsCompressedSdp() {
		t.Errorf("decoded %v", f)
	}
	// The legacy type byte is accepted too.
	if _, err := Decode(append([]byte{0x02}, frame...)); err != nil {
		t.Errorf("legacy type byte: %v", err)
	}
}

func TestDecodeRefusesWhatIsNotAFrame(t *testing.T) {
	for name, msg := range map[string][]byte{
		"empty":            {},
		"wrong type byte":  {0x01, 0x08, 0x01},
		"truncated":        {0x05, 0x08},
		"missing required": {0x05, 0x08, 0x01}, // timestamp without type
		"too large":        append([]byte{0x05}, bytes.Repeat([]byte{0}, MaxFrameSize)...),
	} {
		if _, err := Decode(msg); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	if _, err := Decode([]byte("hello")); !errors.Is(err, ErrNotSignal) {
		t.Errorf("text: %v, want ErrNotSignal", err)
	}
}

func FuzzDecode(f *testing.F) {
	ok, _ := Encode(New(Frame_PING_PONG, time.Now()))
	f.Add(ok)
	f.Add([]byte{0x05, 0x08, 0xe8, 0x07, 0x10, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := Decode(b)
		if err != nil {
			return
		}
		if _, err := Encode(fr); err != nil {
			t.Errorf("a decoded frame does not encode: %v", err)
		}
	})
}
