package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/carillon-dev/carillon/internal/config"
	"github.com/carillon-dev/carillon/internal/meetings"
)

// endDue runs one pass of the lifecycle now.
func (e *env) endDue() int {
	e.t.Helper()
	n, err := e.srv.Service().EndDueMeetings(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) meetingExists(id string) bool {
	e.t.Helper()
	_, err := e.client.GetMeetingWithContext(e.ctx(), &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String(id)})
	if err == nil {
		return true
	}
	wantAPIError(e.t, err, "NotFoundException", 404, "")
	return false
}

func TestIdleMeetingEnds(t *testing.T) {
	e := start(t)
	m := e.createMeeting("idle")
	a := e.createAttendee(*m.MeetingId, "alice")
	replica := e.createMeeting("replica", func(in *chimesdkmeetings.CreateMeetingInput) { in.PrimaryMeetingId = m.MeetingId })
	// The replica is in use, but a replica ends with its primary.
	e.presence.set(*replica.MeetingId, meetings.PresenceStatus{Connected: 1})

	e.clock.Advance(4 * time.Minute)
	e.endDue()
	if !e.meetingExists(*m.MeetingId) {
		t.Fatal("meeting ended before the idle timeout")
	}
	e.clock.Advance(90 * time.Second)
	if n := e.endDue(); n == 0 {
		t.Fatal("nothing ended after the idle timeout")
	}
	if e.meetingExists(*m.MeetingId) || e.meetingExists(*replica.MeetingId) {
		t.Fatal("an idle meeting (or its replica) survived the idle timeout")
	}
	if _, ok := e.verifyToken(*a.JoinToken); ok {
		t.Fatal("the join token of an ended meeting still verifies")
	}
}

func TestConnectedMeetingRunsUntilMaxDuration(t *testing.T) {
	e := start(t)
	m := e.createMeeting("busy")
	e.presence.set(*m.MeetingId, meetings.PresenceStatus{Connected: 2})
	for i := 0; i < 23; i++ {
		e.clock.Advance(time.Hour)
		e.endDue()
	}
	if !e.meetingExists(*m.MeetingId) {
		t.Fatal("a meeting with connected attendees ended before 24 hours")
	}
	e.clock.Advance(time.Hour)
	e.endDue()
	if e.meetingExists(*m.MeetingId) {
		t.Fatal("a meeting outlived its maximum duration")
	}
}

func TestIdleCountsFromLastDeparture(t *testing.T) {
	e := start(t)
	m := e.createMeeting("left")
	e.clock.Advance(10 * time.Minute)
	// Someone was connected until a minute ago.
	e.presence.set(*m.MeetingId, meetings.PresenceStatus{Connected: 0, LastSeen: e.clock.Now().Add(-time.Minute)})
	e.endDue()
	if !e.meetingExists(*m.MeetingId) {
		t.Fatal("the idle timeout did not count from the last departure")
	}
	e.clock.Advance(3 * time.Minute)
	e.endDue()
	if !e.meetingExists(*m.MeetingId) {
		t.Fatal("ended 4 minutes after the last departure")
	}
	e.clock.Advance(2 * time.Minute)
	e.endDue()
	if e.meetingExists(*m.MeetingId) {
		t.Fatal("still running 6 minutes after the last departure")
	}
}

func TestIdleTimeoutZeroNeverEnds(t *testing.T) {
	e := start(t, withConfig(func(c *config.Config) { c.IdleTimeout = 0; c.MaxDuration = 0 }))
	m := e.createMeeting("forever")
	e.clock.Advance(48 * time.Hour)
	e.endDue()
	if !e.meetingExists(*m.MeetingId) {
		t.Fatal("a meeting ended with both timers off")
	}
}

// TestLifecycleRunsByItself checks the background runner, not a manual pass.
func TestLifecycleRunsByItself(t *testing.T) {
	e := start(t, withConfig(func(c *config.Config) { c.LifecycleInterval = 20 * time.Millisecond }))
	m := e.createMeeting("auto")
	e.clock.Advance(6 * time.Minute)
	deadline := time.Now().Add(10 * time.Second)
	for e.meetingExists(*m.MeetingId) {
		if time.Now().After(deadline) {
			t.Fatal("the lifecycle did not end an idle meeting by itself")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTimersSurviveRestart(t *testing.T) {
	e := start(t, withDataDir(t.TempDir()))
	m := e.createMeeting("restart")
	e.clock.Advance(3 * time.Minute)
	e.restart()
	e.endDue()
	if !e.meetingExists(*m.MeetingId) {
		t.Fatal("ended early after a restart")
	}
	e.clock.Advance(3 * time.Minute)
	e.restart()
	e.endDue()
	if e.meetingExists(*m.MeetingId) {
		t.Fatal("the idle timer was lost across restarts")
	}
}
