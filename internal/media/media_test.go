package media_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/carillon-dev/carillon/internal/media"
	"github.com/carillon-dev/carillon/internal/media/signal"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
	"github.com/carillon-dev/carillon/internal/token"
)

// fixture is a meetings service and a media hub on one in-memory store,
// the hub served over HTTP as Carillon serves it.
type fixture struct {
	t      *testing.T
	st     store.Store
	svc    *meetings.Service
	hub    *media.Hub
	srv    *httptest.Server
	caller meetings.Caller
}

func newFixture(t *testing.T, mutate ...func(*media.Config)) *fixture {
	t.Helper()
	return newFixtureWith(t, func(*meetings.Config) {}, mutate...)
}

func newFixtureWith(t *testing.T, meetingsCfg func(*meetings.Config), mutate ...func(*media.Config)) *fixture {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := sqlite.Open(ctx, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.Ephemeral()
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, caller: meetings.Caller{AccountID: "111122223333", Region: "us-east-1"}}
	mcfg := meetings.DefaultConfig()
	mcfg.PublicURL = &url.URL{Scheme: "http", Host: "127.0.0.1:1"}
	meetingsCfg(&mcfg)
	f.svc = meetings.New(mcfg, meetings.Deps{
		Store: st, Keys: keys,
		Presence: meetings.PresenceFunc(func(ctx context.Context, id string) (meetings.PresenceStatus, error) {
			return f.hub.Status(ctx, id)
		}),
		Notify: func() { f.hub.Notify() },
	})
	cfg := media.DefaultConfig()
	cfg.DropGrace = 300 * time.Millisecond
	cfg.Reconcile = time.Hour // the outbox follower must do the work
	for _, m := range mutate {
		m(&cfg)
	}
	if f.hub, err = media.New(cfg, f.svc, st, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { f.hub.Run(ctx); close(done) }()
	f.srv = httptest.NewServer(f.hub)
	t.Cleanup(func() {
		f.hub.Close()
		f.srv.CloseClientConnections()
		f.srv.Close()
		cancel()
		<-done
		st.Close()
	})
	return f
}

func (f *fixture) meeting() *model.Meeting {
	f.t.Helper()
	m, err := f.svc.CreateMeeting(context.Background(), f.caller, &model.CreateMeetingInput{
		ClientRequestToken: fmt.Sprintf("req-%d", time.Now().UnixNano()), MediaRegion: "us-east-1", ExternalMeetingId: "media-test",
		MeetingFeatures: &model.MeetingFeaturesConfiguration{Video: &model.VideoFeatures{MaxResolution: "HD"}, Content: &model.ContentFeatures{MaxResolution: "FHD"}},
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

func (f *fixture) attendee(m *model.Meeting, external string, caps *model.AttendeeCapabilities) *model.Attendee {
	f.t.Helper()
	a, err := f.svc.CreateAttendee(context.Background(), f.caller, &model.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: external, Capabilities: caps})
	if err != nil {
		f.t.Fatal(err)
	}
	return a
}

// join connects a client for an attendee and takes it through JOIN and the
// first SUBSCRIBE.
func (f *fixture) join(m *model.Meeting, a *model.Attendee, camera bool) *client {
	f.t.Helper()
	c := dial(f.t, f.srv, m.MeetingId, a.JoinToken, a.ExternalUserId)
	c.attID = a.AttendeeId
	c.join(uint64(len(a.ExternalUserId)) + 1000)
	c.subscribe(camera)
	c.waitFor("itself in the roster", func() bool { return c.present[a.AttendeeId] })
	return c
}

// events lists the types of the events about an attendee in the outbox.
// joinSeenBy adds an attendee and joins it, and waits until first sees it.
func (f *fixture) joinSeenBy(first *client, m *model.Meeting, external string) (*client, *model.Attendee) {
	a := f.attendee(m, external, nil)
	c := f.join(m, a, false)
	first.waitFor(external+" present", func() bool { return first.present[a.AttendeeId] })
	return c, a
}

func (f *fixture) events(meetingID, attendeeID string) []string {
	f.t.Helper()
	var out []string
	err := f.st.View(context.Background(), func(r store.Reader) error {
		evs, err := r.EventsAfter(0, 10000)
		for _, e := range evs {
			if e.MeetingID != meetingID {
				continue
			}
			var env struct {
				Detail struct {
					AttendeeID string `json:"attendeeId"`
				} `json:"detail"`
			}
			if json.Unmarshal(e.Payload, &env) == nil && env.Detail.AttendeeID == attendeeID {
				out = append(out, e.Type)
			}
		}
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return out
}

func (f *fixture) waitEvent(meetingID, attendeeID, typ string) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := f.events(meetingID, attendeeID)
		for _, e := range evs {
			if e == typ {
				return
			}
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no %s event for attendee %s; events: %v", typ, attendeeID, evs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTwoAttendeesSeeHearAndMessageEachOther(t *testing.T) {
	f := newFixture(t)
	m := f.meeting()
	alice := f.join(m, f.attendee(m, "alice", nil), true)

	// Presence: each sees the other, with the external user ID.
	bob, bobAtt := f.joinSeenBy(alice, m, "bob")
	bob.waitFor("alice present", func() bool { return bob.present[alice.attID] })
	bob.mu.Lock()
	for _, e := range bob.roster {
		if e.GetAttendeeId() == alice.attID && e.GetExternalUserId() != "alice" {
			t.Errorf("alice's roster entry carries external user ID %q", e.GetExternalUserId())
		}
	}
	bob.mu.Unlock()

	// Video: bob's INDEX lists alice's camera; he subscribes to it and
	// receives it on a track whose msid is v_<mid>, mapped by the ack.
	var stream uint32
	bob.waitFor("alice's video in the index", func() bool {
		var ok bool
		stream, ok = bob.sourceOf(alice.attID)
		return ok
	})
	ack := bob.subscribe(false, stream)
	if len(ack.GetTracks()) != 1 || ack.GetTracks()[0].GetStreamId() != stream || !strings.HasPrefix(ack.GetTracks()[0].GetTrackLabel(), "v_") {
		t.Fatalf("SUBSCRIBE_ACK tracks = %v, want one v_<mid> track for stream %d", ack.GetTracks(), stream)
	}
	label := ack.GetTracks()[0].GetTrackLabel()
	if !strings.Contains(ack.GetSdpAnswer(), "a=msid:"+label+" ") {
		t.Errorf("the answer does not send %s with msid %s", label, label)
	}
	bob.waitFor("alice's video frames", func() bool { return bob.videoIn[label] > 10 })

	// Audio: each hears the other's microphone on its one audio track.
	bob.waitFor("alice's voice", func() bool { return bob.heard(alice) })
	alice.waitFor("bob's voice", func() bool { return alice.heard(bob) })
	alice.mu.Lock()
	if alice.heard(alice) {
		t.Error("alice hears herself")
	}
	alice.mu.Unlock()

	// Data messages reach the others, stamped; never the sender.
	alice.sendData("chat", []byte("hello bob"), 0)
	bob.waitFor("the data message", func() bool { return len(bob.data) > 0 })
	bob.mu.Lock()
	msg := bob.data[0]
	bob.mu.Unlock()
	if msg.GetTopic() != "chat" || string(msg.GetData()) != "hello bob" || msg.GetSenderAttendeeId() != alice.attID ||
		msg.GetSenderExternalUserId() != "alice" || msg.GetIngestTimeNs() <= 0 {
		t.Errorf("relayed message = %v", msg)
	}
	// An invalid topic is not relayed.
	alice.sendData("no spaces allowed", []byte("x"), 0)
	alice.ping(7)
	alice.waitFor("pong 7", func() bool { return alice.pings == 7 })
	alice.mu.Lock()
	if len(alice.data) != 0 {
		t.Errorf("the sender got its own message back: %v", alice.data)
	}
	alice.mu.Unlock()

	// Mute: seen by the other.
	alice.setMuted(true)
	bob.waitFor("alice muted", func() bool { return bob.muted[alice.attID] })
	alice.setMuted(false)
	bob.waitFor("alice unmuted", func() bool { return !bob.muted[alice.attID] })

	// Volume indicators name the streams in the roster.
	bob.waitFor("volume indicators", func() bool {
		for _, fr := range bob.frames {
			if len(fr.GetAudioMetadata().GetAttendeeStates()) == 2 {
				return true
			}
		}
		return false
	})

	// The control plane sees who is connected, and the joins.
	st, err := f.hub.Status(context.Background(), m.MeetingId)
	if err != nil || st.Connected != 2 {
		t.Errorf("Status = %+v, %v; want 2 connected", st, err)
	}
	f.waitEvent(m.MeetingId, alice.attID, "chime:AttendeeJoined")
	f.waitEvent(m.MeetingId, bobAtt.AttendeeId, "chime:AttendeeJoined")
	f.waitEvent(m.MeetingId, alice.attID, "chime:AttendeeVideoStarted")

	// Bob leaves: alice sees him gone (not dropped); the event says left.
	bob.leave()
	alice.waitFor("bob gone", func() bool { return !alice.present[bobAtt.AttendeeId] })
	alice.mu.Lock()
	if alice.dropped[bobAtt.AttendeeId] {
		t.Error("a clean leave was reported as a drop")
	}
	alice.mu.Unlock()
	f.waitEvent(m.MeetingId, bobAtt.AttendeeId, "chime:AttendeeLeft")
}

func TestLateJoinerGetsRetainedMessages(t *testing.T) {
	f := newFixture(t)
	m := f.meeting()
	alice := f.join(m, f.attendee(m, "alice", nil), false)
	alice.sendData("state", []byte("kept"), 60_000)
	alice.sendData("state", []byte("not kept"), 0)
	alice.ping(2)
	alice.waitFor("pong", func() bool { return alice.pings == 2 })
	bob := f.join(m, f.attendee(m, "bob", nil), false)
	bob.waitFor("the retained message", func() bool { return len(bob.data) == 1 })
	bob.mu.Lock()
	if got := string(bob.data[0].GetData()); got != "kept" {
		t.Errorf("late joiner got %q", got)
	}
	bob.mu.Unlock()
}

func TestDropIsReportedAfterTheGrace(t *testing.T) {
	f := newFixture(t)
	m := f.meeting()
	alice := f.join(m, f.attendee(m, "alice", nil), false)
	carol, carolAtt := f.joinSeenBy(alice, m, "carol")
	carol.close() // the network goes away: no LEAVE
	alice.waitFor("carol dropped", func() bool { return alice.dropped[carolAtt.AttendeeId] && !alice.present[carolAtt.AttendeeId] })
	f.waitEvent(m.MeetingId, carolAtt.AttendeeId, "chime:AttendeeDropped")
}

func TestReconnectWithinTheGraceIsSeamless(t *testing.T) {
	f := newFixture(t, func(c *media.Config) { c.DropGrace = 5 * time.Second })
	m := f.meeting()
	alice := f.join(m, f.attendee(m, "alice", nil), false)
	bob, bobAtt := f.joinSeenBy(alice, m, "bob")
	bob.close()
	bob2 := f.join(m, bobAtt, false) // same audio session ID: the same client
	alice.waitFor("bob's new stream", func() bool {
		n := 0
		for _, e := range alice.roster {
			if e.GetAttendeeId() == bobAtt.AttendeeId {
				n++
			}
		}
		return n == 2
	})
	alice.mu.Lock()
	if !alice.present[bobAtt.AttendeeId] || alice.dropped[bobAtt.AttendeeId] {
		t.Error("a reconnect within the grace was seen as a drop")
	}
	alice.mu.Unlock()
	_ = bob2
	for _, e := range f.events(m.MeetingId, bobAtt.AttendeeId) {
		if e == "chime:AttendeeDropped" || e == "chime:AttendeeLeft" {
			t.Errorf("event %s for a reconnect", e)
		}
	}
}

func TestAnotherDeviceTakesOver(t *testing.T) {
	f := newFixture(t)
	m := f.meeting()
	a := f.attendee(m, "alice", nil)
	first := f.join(m, a, false)
	second := dial(t, f.srv, m.MeetingId, a.JoinToken, "alice-phone")
	second.attID = a.AttendeeId
	second.join(42) // another audio session ID
	first.waitFor("joined from another device", func() bool { return first.hasStatus(301) })
}

func TestDeleteAttendeeAndDeleteMeetingEndSessions(t *testing.T) {
	f := newFixture(t)
	m := f.meeting()
	alice := f.join(m, f.attendee(m, "alice", nil), true)
	bob, bobAtt := f.joinSeenBy(alice, m, "bob")

	if err := f.svc.DeleteAttendee(context.Background(), f.caller, &model.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: bobAtt.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	bob.waitFor("AUDIO_STATUS 411", func() bool { return bob.hasStatus(411) })
	bob.leave() // the client answers a terminal status with LEAVE
	alice.waitFor("bob gone", func() bool { return !alice.present[bobAtt.AttendeeId] })

	if err := f.svc.DeleteMeeting(context.Background(), f.caller, &model.DeleteMeetingInput{MeetingId: m.MeetingId}); err != nil {
		t.Fatal(err)
	}
	alice.waitFor("AUDIO_STATUS 410", func() bool { return alice.hasStatus(410) })
	alice.send(signal.New(signal.Frame_LEAVE, time.Now()))
	alice.waitFor("close 4410", func() bool { return alice.closed })
	alice.mu.Lock()
	if alice.closeCode != 4410 {
		t.Errorf("close code %d, want 4410", alice.closeCode)
	}
	alice.mu.Unlock()
	st, _ := f.hub.Status(context.Background(), m.MeetingId)
	if st.Connected != 0 {
		t.Errorf("%d still connected to an ended meeting", st.Connected)
	}
}

func TestRefusedTokens(t *testing.T) {
	f := newFixture(t)
	m := f.meeting()
	other := f.meeting()
	a := f.attendee(m, "alice", nil)
	gone := f.attendee(m, "gone", nil)
	if err := f.svc.DeleteAttendee(context.Background(), f.caller, &model.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: gone.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	forged := a.JoinToken[:len(a.JoinToken)-4] + "AAAA"
	if forged == a.JoinToken {
		forged = a.JoinToken[:len(a.JoinToken)-4] + "BBBB"
	}
	for name, tc := range map[string]struct {
		meeting, token string
		status         uint32
	}{
		"forged":             {m.MeetingId, forged, 403},
		"deleted attendee":   {m.MeetingId, gone.JoinToken, 403},
		"another meeting":    {other.MeetingId, a.JoinToken, 403},
		"not a token at all": {m.MeetingId, "hello", 403},
	} {
		t.Run(name, func(t *testing.T) {
			c := dial(t, f.srv, tc.meeting, tc.token, name)
			status, _ := c.joinRefused()
			if status != tc.status {
				t.Errorf("AUDIO_STATUS %d, want %d", status, tc.status)
			}
		})
	}
	t.Run("ended meeting", func(t *testing.T) {
		if err := f.svc.DeleteMeeting(context.Background(), f.caller, &model.DeleteMeetingInput{MeetingId: other.MeetingId}); err != nil {
			t.Fatal(err)
		}
		b := f.attendee(m, "bob", nil)
		_ = b
		ended := f.meeting()
		c3 := f.attendee(ended, "carol", nil)
		if err := f.svc.DeleteMeeting(context.Background(), f.caller, &model.DeleteMeetingInput{MeetingId: ended.MeetingId}); err != nil {
			t.Fatal(err)
		}
		c := dial(t, f.srv, ended.MeetingId, c3.JoinToken, "carol")
		status, code := c.joinRefused()
		if status != 410 || code != 4410 {
			t.Errorf("AUDIO_STATUS %d and close %d, want 410 and 4410", status, code)
		}
	})
}

func TestCapabilitiesAreEnforced(t *testing.T) {
	f := newFixture(t)
	m := f.meeting()
	viewer := &model.AttendeeCapabilities{Audio: "Receive", Video: "Receive", Content: "Receive"}
	alice := f.join(m, f.attendee(m, "alice", nil), true)
	vAtt := f.attendee(m, "viewer", viewer)
	v := f.join(m, vAtt, true) // tries to send video without the capability
	v.waitFor("error 206", func() bool { return len(v.errors) > 0 && v.errors[0] == 206 })
	alice.waitFor("the viewer present", func() bool { return alice.present[vAtt.AttendeeId] })
	alice.mu.Lock()
	if _, ok := alice.sourceOf(vAtt.AttendeeId); ok {
		t.Error("a video the attendee may not send is in the index")
	}
	alice.mu.Unlock()
	// The viewer's voice is not forwarded; it hears alice.
	v.waitFor("alice's voice", func() bool { return v.heard(alice) })
	time.Sleep(300 * time.Millisecond)
	alice.mu.Lock()
	if alice.heard(v) {
		t.Error("a receive-only attendee's audio was forwarded")
	}
	alice.mu.Unlock()

	// Taking alice's video away removes it from the viewer's index.
	v.waitFor("alice's video", func() bool { _, ok := v.sourceOf(alice.attID); return ok })
	_, err := f.svc.UpdateAttendeeCapabilities(context.Background(), f.caller, &model.UpdateAttendeeCapabilitiesInput{
		MeetingId: m.MeetingId, AttendeeId: alice.attID, Capabilities: &model.AttendeeCapabilities{Audio: "SendReceive", Video: "None", Content: "None"}})
	if err != nil {
		t.Fatal(err)
	}
	v.waitFor("alice's video gone", func() bool { _, ok := v.sourceOf(alice.attID); return !ok })
	alice.waitFor("error 206 for alice", func() bool { return len(alice.errors) > 0 && alice.errors[0] == 206 })
}

func TestRefusesWhatIsNotASignalingConnection(t *testing.T) {
	f := newFixture(t)
	m := f.meeting()
	for path, want := range map[string]int{
		"/control/" + m.MeetingId: http.StatusBadRequest, // not a WebSocket
		"/control/not-a-meeting":  http.StatusNotFound,
	} {
		resp, err := http.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
	// Garbage frames are ignored; the session still works.
	a := f.attendee(m, "alice", nil)
	c := dial(t, f.srv, m.MeetingId, a.JoinToken, "alice")
	for _, junk := range [][]byte{{}, {0x05}, {0x05, 0xff, 0xff, 0xff}, {0x01, 0x02}, []byte("hello")} {
		if err := c.conn.Write(context.Background(), websocket.MessageBinary, junk); err != nil {
			t.Fatal(err)
		}
	}
	c.conn.Write(context.Background(), websocket.MessageText, []byte("text"))
	c.join(1)
}

func TestContentShareIsASessionOfItsOwn(t *testing.T) {
	f := newFixture(t)
	m := f.meeting()
	alice := f.attendee(m, "alice", nil)
	bob := f.join(m, f.attendee(m, "bob", nil), false)
	share := dial(t, f.srv, m.MeetingId, alice.JoinToken+"#content", "alice-content")
	share.attID = alice.AttendeeId + "#content"
	share.join(77)
	share.subscribe(true)
	bob.waitFor("the shared screen in the index", func() bool { _, ok := bob.sourceOf(alice.AttendeeId + "#content"); return ok })
	bob.waitFor("the content session present", func() bool { return bob.present[alice.AttendeeId+"#content"] })
	f.waitEvent(m.MeetingId, alice.AttendeeId, "chime:AttendeeContentJoined")
	f.waitEvent(m.MeetingId, alice.AttendeeId, "chime:AttendeeContentVideoStarted")

	// Deleting the attendee ends its content share too.
	if err := f.svc.DeleteAttendee(context.Background(), f.caller, &model.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: alice.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	share.waitFor("AUDIO_STATUS 411", func() bool { return share.hasStatus(411) })
	bob.waitFor("the shared screen gone", func() bool { _, ok := bob.sourceOf(alice.AttendeeId + "#content"); return !ok })
}

// The browser turns its camera off by making the camera's m-section
// inactive, and on again on the same m-section: the video must flow again,
// even when frames sent before the camera went off arrive after the offer
// that turned it off.
func TestCameraOffAndOnAgain(t *testing.T) {
	f := newFixture(t)
	m := f.meeting()
	alice := f.join(m, f.attendee(m, "alice", nil), false)
	alice.subscribe(false) // a second offer with the camera off
	bob := f.join(m, f.attendee(m, "bob", nil), false)
	alice.subscribe(true)
	var stream uint32
	bob.waitFor("alice's video in the index", func() bool {
		var ok bool
		stream, ok = bob.sourceOf(alice.attID)
		return ok
	})
	label := bob.subscribe(false, stream).GetTracks()[0].GetTrackLabel()
	bob.waitFor("alice's video frames", func() bool { return bob.videoIn[label] > 10 })

	alice.subscribe(false)
	alice.sendVideoFrames(3) // late ones
	bob.waitFor("alice's video gone from the index", func() bool { _, ok := bob.sourceOf(alice.attID); return !ok })
	f.waitEvent(m.MeetingId, alice.attID, "chime:AttendeeVideoStopped")
	alice.subscribe(true)
	bob.waitFor("alice's video back in the index", func() bool {
		var ok bool
		stream, ok = bob.sourceOf(alice.attID)
		return ok
	})
	label = bob.subscribe(false, stream).GetTracks()[0].GetTrackLabel()
	bob.mu.Lock()
	before := bob.videoIn[label]
	bob.mu.Unlock()
	bob.waitFor("alice's video frames again", func() bool { return bob.videoIn[label] > before+10 })
}

// The lifecycle asks the media plane who is connected: a meeting with an
// attendee connected is not idle; once everyone has left, it is.
func TestIdleTimerCountsConnectedAttendees(t *testing.T) {
	f := newFixtureWith(t, func(c *meetings.Config) { c.IdleTimeout = 300 * time.Millisecond })
	m := f.meeting()
	alice := f.join(m, f.attendee(m, "alice", nil), false)
	time.Sleep(500 * time.Millisecond)
	if n, err := f.svc.EndDueMeetings(context.Background()); err != nil || n != 0 {
		t.Fatalf("EndDueMeetings with an attendee connected: %d, %v", n, err)
	}
	alice.leave()
	time.Sleep(500 * time.Millisecond)
	if n, err := f.svc.EndDueMeetings(context.Background()); err != nil || n != 1 {
		t.Fatalf("EndDueMeetings after everyone left: %d, %v", n, err)
	}
}

// An automatic end (here the maximum duration) disconnects everyone.
func TestAutomaticEndDisconnectsEveryone(t *testing.T) {
	f := newFixtureWith(t, func(c *meetings.Config) { c.MaxDuration = 300 * time.Millisecond })
	m := f.meeting()
	alice := f.join(m, f.attendee(m, "alice", nil), false)
	time.Sleep(400 * time.Millisecond)
	if n, err := f.svc.EndDueMeetings(context.Background()); err != nil || n != 1 {
		t.Fatalf("EndDueMeetings: %d, %v", n, err)
	}
	alice.waitFor("AUDIO_STATUS 410", func() bool { return alice.hasStatus(410) })
}

// Beyond the rate limit, messages go back to their sender unstamped (the
// client reports them as throttled) and reach no one; a frame carries at
// most so many.
func TestDataMessagesAreBounded(t *testing.T) {
	f := newFixture(t)
	m := f.meeting()
	alice := f.join(m, f.attendee(m, "alice", nil), false)
	bob := f.join(m, f.attendee(m, "bob", nil), false)
	topic := "burst"
	for range 4 {
		msgs := make([]*signal.DataMessagePayload, 150)
		for i := range msgs {
			msgs[i] = &signal.DataMessagePayload{Topic: &topic, Data: []byte{byte(i)}}
		}
		fr := signal.New(signal.Frame_DATA_MESSAGE, time.Now())
		fr.DataMessage = &signal.DataMessage{Messages: msgs}
		alice.send(fr)
	}
	alice.ping(9)
	alice.waitFor("pong", func() bool { return alice.pings == 9 })
	alice.waitFor("throttled messages back", func() bool { return len(alice.data) > 0 })
	time.Sleep(200 * time.Millisecond)
	bob.mu.Lock()
	alice.mu.Lock()
	relayed, throttled := len(bob.data), len(alice.data)
	for _, d := range alice.data {
		if d.GetIngestTimeNs() != 0 {
			t.Errorf("a message came back to its sender stamped: %v", d)
		}
	}
	alice.mu.Unlock()
	bob.mu.Unlock()
	// 4 frames of 150 are cut to 4 x 100; a burst of 200 passes.
	if relayed+throttled != 400 || relayed < 200 || relayed > 210 {
		t.Errorf("relayed %d and throttled %d of 400 accepted", relayed, throttled)
	}
}

// A client asking for one video on two m-sections gets it on one.
func TestOneVideoGoesOnOneMSection(t *testing.T) {
	f := newFixture(t)
	m := f.meeting()
	alice := f.join(m, f.attendee(m, "alice", nil), true)
	bob := f.join(m, f.attendee(m, "bob", nil), false)
	var stream uint32
	bob.waitFor("alice's video", func() bool {
		var ok bool
		stream, ok = bob.sourceOf(alice.attID)
		return ok
	})
	bob.recv = nil
	for range 2 {
		tr, err := bob.pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if err != nil {
			t.Fatal(err)
		}
		bob.recv = append(bob.recv, tr)
		bob.recvID[tr] = stream
	}
	if ack := bob.subscribe(false); len(ack.GetTracks()) != 1 {
		t.Errorf("tracks %v, want one", ack.GetTracks())
	}
}

// candidates lists the addresses (ip:port) of an SDP's candidates.
func candidates(t *testing.T, s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\r\n") {
		if rest, ok := strings.CutPrefix(line, "a=candidate:"); ok {
			f := strings.Fields(rest)
			if len(f) < 6 {
				t.Fatalf("candidate line %q", line)
			}
			out = append(out, f[4]+":"+f[5])
		}
	}
	return out
}

func TestNetworkSettingsShapeTheCandidates(t *testing.T) {
	t.Run("a port range", func(t *testing.T) {
		f := newFixture(t, func(c *media.Config) { c.UDPPortMin, c.UDPPortMax = 41000, 41099 })
		m := f.meeting()
		a := f.attendee(m, "alice", nil)
		c := dial(t, f.srv, m.MeetingId, a.JoinToken, "alice")
		c.attID = a.AttendeeId
		c.join(1)
		for _, addr := range candidates(t, c.subscribe(false).GetSdpAnswer()) {
			_, port, _ := strings.Cut(addr[strings.LastIndex(addr, ":"):], ":")
			if p, _ := strconv.Atoi(port); p < 41000 || p > 41099 {
				t.Errorf("candidate %s outside 41000-41099", addr)
			}
		}
	})
	t.Run("one shared port, media flowing", func(t *testing.T) {
		port := freeUDPPort(t)
		f := newFixture(t, func(c *media.Config) { c.UDPPortMin, c.UDPPortMax = port, port })
		m := f.meeting()
		alice := f.join(m, f.attendee(m, "alice", nil), false)
		bob := f.join(m, f.attendee(m, "bob", nil), false)
		for _, c := range []*client{alice, bob} {
			for _, addr := range candidates(t, c.pc.RemoteDescription().SDP) {
				if !strings.HasSuffix(addr, fmt.Sprintf(":%d", port)) {
					t.Errorf("candidate %s not on the shared port", addr)
				}
			}
		}
		bob.waitFor("alice's voice", func() bool { return bob.heard(alice) })
	})
	t.Run("an advertised address", func(t *testing.T) {
		f := newFixture(t, func(c *media.Config) { c.AdvertiseIPs = []string{"203.0.113.9"} })
		m := f.meeting()
		a := f.attendee(m, "alice", nil)
		c := dial(t, f.srv, m.MeetingId, a.JoinToken, "alice")
		c.attID = a.AttendeeId
		c.join(1)
		got := candidates(t, c.subscribe(false).GetSdpAnswer())
		if len(got) == 0 {
			t.Fatal("no candidates")
		}
		for _, addr := range got {
			if !strings.HasPrefix(addr, "203.0.113.9:") {
				t.Errorf("candidate %s, want only the advertised address", addr)
			}
		}
	})
}

// Close ends every signaling connection, joined or not, and returns only
// once they have ended: their peers use the shared UDP port it closes last.
// A client that does not answer the close is dropped after the grace; one
// whose meeting just ended keeps the close code that says so.
func TestCloseEndsEverySessionBeforeItReturns(t *testing.T) {
	port := freeUDPPort(t)
	f := newFixture(t, func(c *media.Config) {
		c.UDPPortMin, c.UDPPortMax = port, port
		c.CloseGrace = 200 * time.Millisecond
	})
	m, ending := f.meeting(), f.meeting()
	alice := f.join(m, f.attendee(m, "alice", nil), false)
	bob := dial(t, f.srv, m.MeetingId, f.attendee(m, "bob", nil).JoinToken, "bob") // not joined
	carol := f.join(ending, f.attendee(ending, "carol", nil), false)
	// Dan's client never reads, so it never answers the close.
	u := "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/control/" + m.MeetingId
	dan, _, err := websocket.Dial(context.Background(), u, &websocket.DialOptions{Subprotocols: []string{"_aws_wt_session", f.attendee(m, "dan", nil).JoinToken}})
	if err != nil {
		t.Fatal(err)
	}
	defer dan.CloseNow()
	waitForStats(t, f.hub, func(st media.Stats) bool { return st.Connections == 4 && st.Sessions == 2 })
	// Carol is told her meeting ended, and has a few seconds to say LEAVE.
	if err := f.svc.DeleteMeeting(context.Background(), f.caller, &model.DeleteMeetingInput{MeetingId: ending.MeetingId}); err != nil {
		t.Fatal(err)
	}
	carol.waitFor("AUDIO_STATUS 410", func() bool { return carol.hasStatus(410) })

	f.hub.Close()
	if st := f.hub.Stats(); st.Connections != 0 || st.Sessions != 0 {
		t.Errorf("after Close: %d connections, %d sessions, want none", st.Connections, st.Sessions)
	}
	for c, want := range map[*client]websocket.StatusCode{alice: 4503, bob: 4503, carol: 4410} {
		c.waitFor("the close", func() bool { return c.closed })
		c.mu.Lock()
		got := c.closeCode
		c.mu.Unlock()
		if got != want {
			t.Errorf("%s: close code %d, want %d", c.name, got, want)
		}
	}
	f.hub.Close() // again: returns at once

	// A connection after Close is refused before the WebSocket handshake.
	_, resp, err := websocket.Dial(context.Background(), u, &websocket.DialOptions{Subprotocols: []string{"_aws_wt_session", "token"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("dial after Close: %v, %v; want 503", resp, err)
	}
}

// freeUDPPort returns a UDP port that was free a moment ago.
func freeUDPPort(t *testing.T) uint16 {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return uint16(c.LocalAddr().(*net.UDPAddr).Port)
}

func waitForStats(t *testing.T, h *media.Hub, cond func(media.Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond(h.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v never reached", h.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
