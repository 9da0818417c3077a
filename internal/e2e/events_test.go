package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/carillon-dev/carillon/internal/config"
	"github.com/carillon-dev/carillon/internal/events"
)

const webhookSecret = "whsec-test-secret"

// receiver is a webhook endpoint that verifies signatures and records what
// it accepts; it can be told to fail.
type receiver struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	failing  bool
	attempts int
	got      []events.Envelope
	ids      map[string]int // event ID -> deliveries seen
	arrived  chan struct{}
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t, ids: map[string]int{}, arrived: make(chan struct{}, 10000)}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.attempts++
	if err := events.VerifyWebhook([]byte(webhookSecret), r.Header, body, time.Now(), 5*time.Minute); err != nil {
		rc.t.Errorf("webhook signature: %v", err)
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if rc.failing {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
		return
	}
	var env events.Envelope
	if err := json.Unmarshal(body, &env); err != nil {
		rc.t.Errorf("webhook body: %v", err)
		return
	}
	if r.Header.Get(events.HeaderEventID) != env.ID || r.Header.Get(events.HeaderEventType) != env.Detail.EventType {
		rc.t.Errorf("webhook headers do not match the body: %v", r.Header)
	}
	rc.ids[env.ID]++
	if rc.ids[env.ID] == 1 {
		rc.got = append(rc.got, env)
	}
	rc.arrived <- struct{}{}
}

func (rc *receiver) setFailing(f bool) {
	rc.mu.Lock()
	rc.failing = f
	rc.mu.Unlock()
}

// waitFor waits until n distinct events have arrived and returns them.
func (rc *receiver) waitFor(n int) []events.Envelope {
	rc.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		rc.mu.Lock()
		if len(rc.got) >= n {
			out := append([]events.Envelope(nil), rc.got...)
			rc.mu.Unlock()
			return out
		}
		have := len(rc.got)
		rc.mu.Unlock()
		select {
		case <-rc.arrived:
		case <-deadline:
			rc.t.Fatalf("only %d of %d events arrived: %v", have, n, types(rc.got))
		}
	}
}

func types(envs []events.Envelope) []string {
	var out []string
	for _, e := range envs {
		out = append(out, strings.TrimPrefix(e.Detail.EventType, "chime:")+":"+e.Detail.ExternalUserID)
	}
	return out
}

func withWebhook(rc *receiver) option {
	return withConfig(func(c *config.Config) {
		c.WebhookURLs = []string{rc.srv.URL}
		c.WebhookSecret = webhookSecret
		c.DeliveryBackoff = 20 * time.Millisecond
		c.DeliveryMaxBackoff = 100 * time.Millisecond
	})
}

func TestWebhookEventsInOrder(t *testing.T) {
	rc := newReceiver(t)
	e := start(t, withWebhook(rc))
	m := e.createMeeting("events", func(in *chimesdkmeetings.CreateMeetingInput) { in.MediaRegion = aws.String("eu-west-1") })
	alice := e.createAttendee(*m.MeetingId, "alice")
	e.createAttendee(*m.MeetingId, "alice") // a repeat adds nothing
	e.createAttendee(*m.MeetingId, "bob")
	if _, err := e.client.UpdateAttendeeCapabilitiesWithContext(e.ctx(), &chimesdkmeetings.UpdateAttendeeCapabilitiesInput{MeetingId: m.MeetingId, AttendeeId: alice.AttendeeId,
		Capabilities: &chimesdkmeetings.AttendeeCapabilities{Audio: aws.String("Receive"), Video: aws.String("None"), Content: aws.String("None")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.StartMeetingTranscriptionWithContext(e.ctx(), &chimesdkmeetings.StartMeetingTranscriptionInput{MeetingId: m.MeetingId,
		TranscriptionConfiguration: &chimesdkmeetings.TranscriptionConfiguration{EngineTranscribeSettings: &chimesdkmeetings.EngineTranscribeSettings{LanguageCode: aws.String("en-US")}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.StopMeetingTranscriptionWithContext(e.ctx(), &chimesdkmeetings.StopMeetingTranscriptionInput{MeetingId: m.MeetingId}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.client.DeleteAttendeeWithContext(e.ctx(), &chimesdkmeetings.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: alice.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Service().RecordAttendeeEvent(e.ctx(), *m.MeetingId, "", events.AttendeeJoined); err == nil {
		t.Fatal("a media event for no attendee was accepted")
	}
	if _, err := e.client.DeleteMeetingWithContext(e.ctx(), &chimesdkmeetings.DeleteMeetingInput{MeetingId: m.MeetingId}); err != nil {
		t.Fatal(err)
	}
	got := rc.waitFor(9)
	want := "[MeetingStarted: AttendeeAdded:alice AttendeeAdded:bob AttendeeCapabilitiesUpdated:alice TranscriptionStarted: TranscriptionStopped: AttendeeDeleted:alice AttendeeDeleted:bob MeetingEnded:]"
	if fmt.Sprint(types(got)) != want {
		t.Fatalf("events in order:\n got %v\nwant %s", types(got), want)
	}
	first := got[0]
	if first.Version != "0" || first.Source != "aws.chime" || first.DetailType != "Chime Meeting State Change" || first.Account != "000000000000" ||
		first.Region != "us-east-1" || len(first.Resources) != 1 || first.Resources[0] != *m.MeetingArn || first.ID == "" {
		t.Fatalf("envelope = %+v", first)
	}
	if _, err := time.Parse(time.RFC3339, first.Time); err != nil {
		t.Fatalf("time %q: %v", first.Time, err)
	}
	d := first.Detail
	if d.Version != "0" || d.MeetingID != *m.MeetingId || d.ExternalMeetingID != "events" || d.MediaRegion != "eu-west-1" || d.Timestamp == 0 {
		t.Fatalf("detail = %+v", d)
	}
	if a := got[1].Detail; a.AttendeeID != *alice.AttendeeId || a.ExternalUserID != "alice" || a.NetworkType != "" {
		t.Fatalf("AttendeeAdded detail = %+v", a)
	}
	if c := got[3].Detail; c.AttendeeCapabilities == nil || c.AttendeeCapabilities.Audio != "Receive" || c.Success != "1" {
		t.Fatalf("AttendeeCapabilitiesUpdated detail = %+v", c)
	}
	if tr := got[4].Detail; tr.TranscriptionRegion != "eu-west-1" || !strings.Contains(tr.TranscriptionConfiguration, `"LanguageCode":"en-US"`) {
		t.Fatalf("TranscriptionStarted detail = %+v", tr)
	}
}

func TestWebhookRetriesAndDeadLetters(t *testing.T) {
	rc := newReceiver(t)
	e := start(t, withWebhook(rc), withConfig(func(c *config.Config) { c.DeliveryMaxAttempts = 3 }))
	rc.setFailing(true)
	m := e.createMeeting("retries")
	e.createAttendee(*m.MeetingId, "alice")
	// Three failed attempts of the head send it to the dead-letter list,
	// then the next event of the meeting is tried (and fails) in turn.
	var dead struct{ DeadLetters []map[string]any }
	waitUntil(t, 20*time.Second, func() bool {
		e.opsJSON("GET", "/v1/events/dead-letters", nil, &dead)
		return len(dead.DeadLetters) == 2
	}, func() string { return fmt.Sprintf("dead letters = %v", dead.DeadLetters) })
	if dead.DeadLetters[0]["EventType"] != events.MeetingStarted || dead.DeadLetters[0]["Attempts"].(float64) != 3 ||
		!strings.Contains(dead.DeadLetters[0]["LastError"].(string), "503") {
		t.Fatalf("dead letters = %v", dead.DeadLetters)
	}
	// The receiver recovers: new events flow, the dead ones wait.
	rc.setFailing(false)
	e.createAttendee(*m.MeetingId, "bob")
	if got := types(rc.waitFor(1)); fmt.Sprint(got) != "[AttendeeAdded:bob]" {
		t.Fatalf("after recovery: %v", got)
	}
	// An operator replays the dead letters.
	var replayed struct{ Replayed int }
	e.opsJSON("POST", "/v1/events/dead-letters/replay", nil, &replayed)
	if replayed.Replayed != 2 {
		t.Fatalf("replayed %d", replayed.Replayed)
	}
	if got := types(rc.waitFor(3)); fmt.Sprint(got) != "[AttendeeAdded:bob MeetingStarted: AttendeeAdded:alice]" {
		t.Fatalf("after replay: %v", got)
	}
}

func TestWebhookRecoversAfterFailures(t *testing.T) {
	rc := newReceiver(t)
	e := start(t, withWebhook(rc))
	rc.setFailing(true)
	m := e.createMeeting("flaky")
	for i := 0; i < 5; i++ {
		e.createAttendee(*m.MeetingId, fmt.Sprintf("user-%d", i))
	}
	time.Sleep(200 * time.Millisecond)
	rc.setFailing(false)
	got := types(rc.waitFor(6))
	if fmt.Sprint(got) != "[MeetingStarted: AttendeeAdded:user-0 AttendeeAdded:user-1 AttendeeAdded:user-2 AttendeeAdded:user-3 AttendeeAdded:user-4]" {
		t.Fatalf("order after retries: %v", got)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.attempts <= 6 {
		t.Fatalf("no retries happened: %d attempts", rc.attempts)
	}
}

// TestUndeliveredEventsSurviveRestart stops the server while the receiver is
// down and checks that every event arrives after a restart.
func TestUndeliveredEventsSurviveRestart(t *testing.T) {
	rc := newReceiver(t)
	e := start(t, withWebhook(rc), withDataDir(t.TempDir()))
	rc.setFailing(true)
	m := e.createMeeting("restart")
	e.createAttendee(*m.MeetingId, "alice")
	e.restart()
	rc.setFailing(false)
	if got := types(rc.waitFor(2)); fmt.Sprint(got) != "[MeetingStarted: AttendeeAdded:alice]" {
		t.Fatalf("after restart: %v", got)
	}
}

func TestLiveStream(t *testing.T) {
	e := start(t)
	m := e.createMeeting("watched")
	other := e.createMeeting("unwatched")
	req, _ := http.NewRequest("GET", "http://"+e.srv.OpsAddr()+"/v1/events?meeting-id="+*m.MeetingId, nil)
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("Content-Type = %s", resp.Header.Get("Content-Type"))
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	e.createAttendee(*other.MeetingId, "elsewhere")
	e.createAttendee(*m.MeetingId, "alice")
	var got []string
	timeout := time.After(10 * time.Second)
	for len(got) < 1 {
		select {
		case l := <-lines:
			if strings.HasPrefix(l, "data: ") {
				var env events.Envelope
				if err := json.Unmarshal([]byte(strings.TrimPrefix(l, "data: ")), &env); err != nil {
					t.Fatal(err)
				}
				got = append(got, env.Detail.EventType+":"+env.Detail.ExternalUserID)
			}
		case <-timeout:
			t.Fatalf("no event on the stream; got %v", got)
		}
	}
	if got[0] != "chime:AttendeeAdded:alice" {
		t.Fatalf("stream = %v (the other meeting's event must not appear)", got)
	}
}

// opsJSON calls the operations API.
func (e *env) opsJSON(method, path string, body io.Reader, out any) {
	e.t.Helper()
	req, err := http.NewRequest(method, "http://"+e.srv.OpsAddr()+path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		e.t.Fatal(err)
	}
}

// TestEveryEndIsReported checks MeetingEnded (after AttendeeDeleted for
// each attendee) for the automatic ends, and media-plane events.
func TestEveryEndIsReported(t *testing.T) {
	rc := newReceiver(t)
	e := start(t, withWebhook(rc))
	primary := e.createMeeting("primary")
	replica := e.createMeeting("replica", func(in *chimesdkmeetings.CreateMeetingInput) { in.PrimaryMeetingId = primary.MeetingId })
	a := e.createAttendee(*replica.MeetingId, "alice")
	if err := e.srv.Service().RecordAttendeeEvent(e.ctx(), *replica.MeetingId, *a.AttendeeId+"#content", events.AttendeeContentJoined); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Service().RecordAttendeeEvent(e.ctx(), *replica.MeetingId, *a.AttendeeId, "chime:Bogus"); err == nil {
		t.Fatal("an unknown media event was accepted")
	}
	e.clock.Advance(6 * time.Minute)
	e.endDue()
	// Order holds within a meeting, not across meetings.
	perMeeting := map[string][]string{}
	for _, env := range rc.waitFor(7) {
		perMeeting[env.Detail.ExternalMeetingID] = append(perMeeting[env.Detail.ExternalMeetingID],
			strings.TrimPrefix(env.Detail.EventType, "chime:")+"/"+env.Detail.NetworkType)
	}
	if got := fmt.Sprint(perMeeting["primary"]); got != "[MeetingStarted/ MeetingEnded/]" {
		t.Fatalf("primary: %s", got)
	}
	if got := fmt.Sprint(perMeeting["replica"]); got != "[MeetingStarted/ AttendeeAdded/ AttendeeContentJoined/Voip AttendeeDeleted/ MeetingEnded/]" {
		t.Fatalf("replica: %s", got)
	}
}

// TestUnreachableDestinationDoesNotBlockMeetings points notifications at a
// closed port: meetings work, and their events wait in the outbox.
func TestUnreachableDestinationDoesNotBlockMeetings(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	e := start(t, withConfig(func(c *config.Config) {
		c.NotificationsEndpoint = "http://" + freePort(t)
		c.DeliveryBackoff, c.DeliveryMaxBackoff = time.Hour, time.Hour
	}))
	m := e.createMeeting("unreachable", func(in *chimesdkmeetings.CreateMeetingInput) {
		in.NotificationsConfiguration = &chimesdkmeetings.NotificationsConfiguration{SqsQueueArn: aws.String("arn:aws:sqs:us-east-1:123456789012:nowhere")}
	})
	e.createAttendee(*m.MeetingId, "alice")
	if _, err := e.client.GetMeetingWithContext(e.ctx(), &chimesdkmeetings.GetMeetingInput{MeetingId: m.MeetingId}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, func() bool { return e.metric(`carillon_event_deliveries_total{kind="sqs",result="failure"}`) >= 1 },
		func() string { return "no delivery was attempted" })
	if got := e.metric("carillon_event_outbox_pending"); got != 2 {
		t.Fatalf("outbox pending = %v, want the 2 events waiting", got)
	}
}
