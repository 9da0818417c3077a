package signal

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
)

// Type bytes that precede a frame on the WebSocket. The client sends
// FrameTypeSignal and accepts FrameTypeSignal and frameTypeLegacy.
const (
	FrameTypeSignal byte = 0x05
	frameTypeLegacy byte = 0x02
)

// MaxFrameSize bounds a frame a client may send: an SDP offer with every
// candidate is a few tens of kilobytes.
const MaxFrameSize = 256 << 10

// ErrNotSignal is returned for a message that is not a signaling frame.
var ErrNotSignal = errors.New("signal: not a signaling frame")

// Decode reads one WebSocket message.
func Decode(msg []byte) (*Frame, error) {
	if len(msg) < 1 || (msg[0] != FrameTypeSignal && msg[0] != frameTypeLegacy) {
		return nil, ErrNotSignal
	}
	if len(msg) > MaxFrameSize {
		return nil, fmt.Errorf("signal: frame of %d bytes is over the limit", len(msg))
	}
	f := &Frame{}
	if err := proto.Unmarshal(msg[1:], f); err != nil {
		return nil, fmt.Errorf("signal: %w", err)
	}
	return f, nil
}

// Encode writes one WebSocket message.
func Encode(f *Frame) ([]byte, error) {
	b, err := proto.Marshal(f)
	if err != nil {
		return nil, err
	}
	return append([]byte{FrameTypeSignal}, b...), nil
}

// New returns a frame of a type, stamped now.
func New(t Frame_Type, now time.Time) *Frame {
	return &Frame{TimestampMs: proto.Uint64(uint64(now.UnixMilli())), Type: t.Enum()}
}
