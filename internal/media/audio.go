package media

import (
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v4/pkg/media"
)

// The client plays exactly one audio stream, so the server makes one per
// listener out of everyone else's. Every 20 ms (one Opus frame) the room's
// audio loop takes the next frame of each speaker and asks its mixer what
// each listener hears. The mixer here forwards the frame of the loudest
// other speaker as it is; a mixer that decodes, sums and re-encodes fits
// the same seam.

const frameDuration = 20 * time.Millisecond

// silence is an Opus frame of 20 ms of silence. Listeners get it when no one
// speaks, so that a lone attendee still receives the steady 50 packets a
// second the client's connection monitor expects.
var silence = []byte{0xf8, 0xff, 0xfe}

// frame is one speaker's audio for one tick.
type frame struct {
	from    *session
	payload []byte
	level   uint8 // RFC 6464: 0 is loudest, 127 silent
}

// mixer decides what each listener hears in one tick. frames holds only
// speakers allowed to be heard; it is shared by all listeners. keep is
// called once a tick with the listeners of the room, so that the mixer
// forgets the state it holds for those gone.
type mixer interface {
	mix(listener *session, frames []frame) []byte
	keep(listeners []*session)
}

// loudest forwards the loudest speaker other than the listener, sticking to
// the current one until another is clearly louder so that a listener does
// not hear two voices cut into 20 ms slices.
type loudest struct {
	current map[*session]*session
}

func (l *loudest) mix(listener *session, frames []frame) []byte {
	cur := l.current[listener]
	var best, current *frame
	for i := range frames {
		f := &frames[i]
		if f.from == listener || f.level >= silentLevel {
			continue
		}
		if f.from == cur {
			current = f
		}
		if best == nil || f.level < best.level {
			best = f
		}
	}
	// Keep the current speaker while it speaks, unless another is louder
	// by more than 6 dB.
	if current != nil && current.level < speakingLevel && best.level+6 > current.level {
		best = current
	}
	if best == nil {
		delete(l.current, listener)
		return silence
	}
	l.current[listener] = best.from
	return best.payload
}

func (l *loudest) keep(listeners []*session) {
	if len(l.current) <= len(listeners) {
		return // nobody has left since the last tick
	}
	for s := range l.current {
		if !slices.Contains(listeners, s) {
			delete(l.current, s)
		}
	}
}

// Audio levels (RFC 6464, -dBov): frames at silentLevel carry nothing;
// below speakingLevel someone is talking.
const (
	silentLevel   = 127
	speakingLevel = 70
	// unknownLevel stands for a speaker whose client sends no levels.
	unknownLevel = 60
)

// input buffers what one speaker sends between ticks.
type input struct {
	mu    sync.Mutex
	queue []frame
	// level is the loudest level heard since the last volume report.
	level    uint8
	lastSent time.Time
}

// maxQueued bounds the frames kept per speaker: beyond 60 ms of backlog the
// oldest go, keeping the delay low.
const maxQueued = 3

func (in *input) push(payload []byte, level uint8) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.queue) == maxQueued {
		in.queue = slices.Delete(in.queue, 0, 1)
	}
	in.queue = append(in.queue, frame{payload: slices.Clone(payload), level: level})
	in.level = min(in.level, level)
	in.lastSent = time.Now()
}

func (in *input) pop() (frame, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if len(in.queue) == 0 {
		return frame{}, false
	}
	f := in.queue[0]
	in.queue = in.queue[1:]
	return f, true
}

// takeLevel returns the loudest level since the last call and whether the
// speaker sent anything in the last second.
func (in *input) takeLevel(now time.Time) (uint8, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	l := in.level
	in.level = silentLevel
	return l, now.Sub(in.lastSent) < time.Second
}

// audio is a room's audio loop.
type audio struct {
	r     *room
	mixer mixer

	mu     sync.Mutex
	inputs map[*session]*input
	stop   chan struct{}
}

func newAudio(r *room) *audio {
	return &audio{r: r, mixer: &loudest{current: map[*session]*session{}}, inputs: map[*session]*input{}}
}

func (a *audio) input(s *session) *input {
	a.mu.Lock()
	defer a.mu.Unlock()
	in := a.inputs[s]
	if in == nil {
		in = &input{level: silentLevel}
		a.inputs[s] = in
	}
	return in
}

func (a *audio) dropInput(s *session) {
	a.mu.Lock()
	delete(a.inputs, s)
	a.mu.Unlock()
}

func (a *audio) start() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stop != nil {
		return
	}
	a.stop = make(chan struct{})
	go a.run(a.stop)
}

func (a *audio) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stop != nil {
		close(a.stop)
		a.stop = nil
	}
}

func (a *audio) run(stop chan struct{}) {
	defer func() {
		if v := recover(); v != nil {
			// Better a silent room than a dead process: the room's
			// sessions keep their video and signaling.
			a.r.h.log.Error("media: the audio loop failed", "meeting", a.r.meetingID, "panic", v, "stack", string(debug.Stack()))
		}
	}()
	tick := time.NewTicker(frameDuration)
	defer tick.Stop()
	report := time.NewTicker(200 * time.Millisecond)
	defer report.Stop()
	var t tickState
	for {
		select {
		case <-stop:
			return
		case <-report.C:
			a.r.reportVolumes()
		case <-tick.C:
			a.tick(&t)
		}
	}
}

// tickState is reused from tick to tick, to spare the collector.
type tickState struct {
	frames              []frame
	speakers, listeners []*session
}

// tick sends every listener its next 20 ms.
func (a *audio) tick(t *tickState) {
	t.speakers, t.listeners = a.r.audioParties(t.speakers[:0], t.listeners[:0])
	t.frames = t.frames[:0]
	a.mu.Lock()
	for s, in := range a.inputs {
		if f, ok := in.pop(); ok && slices.Contains(t.speakers, s) {
			f.from = s
			t.frames = append(t.frames, f)
		}
	}
	a.mu.Unlock()
	for _, l := range t.listeners {
		p := l.peer()
		if p == nil {
			continue
		}
		payload := silence
		if !l.id.Content {
			payload = a.mixer.mix(l, t.frames)
		}
		if p.audioOut.WriteSample(media.Sample{Data: payload, Duration: frameDuration}) == nil {
			a.r.h.audioFrames.Add(1)
		}
	}
	a.mixer.keep(t.listeners)
}

// levels reports, per speaker, the loudest level since the last call and
// whether it sent audio lately.
func (a *audio) levels(now time.Time) map[*session]speakerLevel {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[*session]speakerLevel, len(a.inputs))
	for s, in := range a.inputs {
		l, live := in.takeLevel(now)
		out[s] = speakerLevel{level: l, live: live}
	}
	return out
}

type speakerLevel struct {
	level uint8
	live  bool
}
