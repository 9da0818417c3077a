package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"
	"github.com/coder/websocket"

	"github.com/carillon-dev/carillon/internal/config"
	"github.com/carillon-dev/carillon/internal/media/signal"
)

// signalingClient is the bare signaling side of a browser client: enough to
// join and to see what the server tells it.
type signalingClient struct {
	t      *testing.T
	conn   *websocket.Conn
	frames chan *signal.Frame
	closed chan websocket.StatusCode
}

// dialSignaling connects to a meeting's SignalingUrl as the browser client
// does: its query string, and the join token beside the subprotocol.
func dialSignaling(t *testing.T, signalingURL, joinToken string) *signalingClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, signalingURL+"?X-Chime-Control-Protocol-Version=3&X-Amzn-Chime-Send-Close-On-Error=1",
		&websocket.DialOptions{Subprotocols: []string{"_aws_wt_session", joinToken}})
	if err != nil {
		t.Fatalf("dial %s: %v", signalingURL, err)
	}
	c := &signalingClient{t: t, conn: conn, frames: make(chan *signal.Frame, 100), closed: make(chan websocket.StatusCode, 1)}
	go func() {
		for {
			_, msg, err := conn.Read(context.Background())
			if err != nil {
				c.closed <- websocket.CloseStatus(err)
				close(c.frames)
				return
			}
			if f, err := signal.Decode(msg); err == nil {
				c.frames <- f
			}
		}
	}()
	t.Cleanup(func() { conn.CloseNow() })
	return c
}

func (c *signalingClient) send(f *signal.Frame) {
	c.t.Helper()
	b, err := signal.Encode(f)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.conn.Write(context.Background(), websocket.MessageBinary, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *signalingClient) join() {
	c.t.Helper()
	f := signal.New(signal.Frame_JOIN, time.Now())
	f.Join = &signal.Join{ProtocolVersion: aws.Uint32(2), AudioSessionId: aws.Uint64(1)}
	c.send(f)
}

// await returns the next frame of a type, skipping others.
func (c *signalingClient) await(typ signal.Frame_Type) *signal.Frame {
	c.t.Helper()
	timeout := time.After(15 * time.Second)
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.t.Fatalf("the connection closed before %s", typ)
			}
			if f.GetType() == typ {
				return f
			}
		case <-timeout:
			c.t.Fatalf("no %s frame", typ)
		}
	}
}

func TestSignalingAtTheMeetingsSignalingURL(t *testing.T) {
	e := start(t)
	m := e.createMeeting("media")
	a := e.createAttendee(*m.MeetingId, "alice")
	c := dialSignaling(t, *m.MediaPlacement.SignalingUrl, *a.JoinToken)
	c.join()
	c.await(signal.Frame_JOIN_ACK)
	c.await(signal.Frame_INDEX)
	if got := e.metric("carillon_media_sessions"); got != 1 {
		t.Errorf("carillon_media_sessions = %v, want 1", got)
	}
	if got := e.metric("carillon_media_joins_total"); got != 1 {
		t.Errorf("carillon_media_joins_total = %v, want 1", got)
	}

	if _, err := e.client.DeleteMeetingWithContext(e.ctx(), &chimesdkmeetings.DeleteMeetingInput{MeetingId: m.MeetingId}); err != nil {
		t.Fatal(err)
	}
	if st := c.await(signal.Frame_AUDIO_STATUS).GetAudioStatus().GetAudioStatus(); st != 410 {
		t.Fatalf("AUDIO_STATUS %d after DeleteMeeting, want 410", st)
	}
	c.send(signal.New(signal.Frame_LEAVE, time.Now()))
	if code := <-c.closed; code != 4410 {
		t.Fatalf("close code %d, want 4410", code)
	}
}

// On several replicas, the replica that hosts a meeting's media learns of
// a change made through another from the shared event outbox.
func TestMediaReplicaSeesChangesMadeOnAnother(t *testing.T) {
	pg := withPostgres(t)
	hosting, other := start(t, pg), start(t, pg) // one database, one key file
	m := other.createMeeting("replicas")
	a := other.createAttendee(*m.MeetingId, "alice")
	// MediaPlacement names the replica that answered; connect to the
	// hosting one, as a load balancer hashing the path would.
	url := strings.Replace(*m.MediaPlacement.SignalingUrl, strings.TrimPrefix(other.url, "http://"), strings.TrimPrefix(hosting.url, "http://"), 1)
	c := dialSignaling(t, url, *a.JoinToken)
	c.join()
	c.await(signal.Frame_INDEX)
	if _, err := other.client.DeleteAttendeeWithContext(other.ctx(), &chimesdkmeetings.DeleteAttendeeInput{MeetingId: m.MeetingId, AttendeeId: a.AttendeeId}); err != nil {
		t.Fatal(err)
	}
	if st := c.await(signal.Frame_AUDIO_STATUS).GetAudioStatus().GetAudioStatus(); st != 411 {
		t.Fatalf("AUDIO_STATUS %d after DeleteAttendee on another replica, want 411", st)
	}
}

func TestDemoPage(t *testing.T) {
	bundle := filepath.Join(t.TempDir(), "sdk.js")
	e := start(t, withConfig(func(c *config.Config) { c.DemoSDK = bundle }))

	get := func(path string) (int, string) {
		resp, err := e.http.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/demo/"); code != 200 || !strings.Contains(body, "<title>Carillon meeting</title>") {
		t.Fatalf("GET /demo/: %d %.80q", code, body)
	}
	// Without the bundle, the page's import fails with instructions.
	if code, body := get("/demo/sdk.js"); code != 404 || !strings.Contains(body, "npm --prefix web run build") {
		t.Fatalf("GET /demo/sdk.js without a bundle: %d %q", code, body)
	}
	if err := os.WriteFile(bundle, []byte("export default {};\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := get("/demo/sdk.js"); code != 200 || body != "export default {};\n" {
		t.Fatalf("GET /demo/sdk.js: %d %q", code, body)
	}

	join := func(body string) (int, map[string]json.RawMessage) {
		resp, err := e.http.Post(e.url+"/demo/join", "application/json", bytes.NewBufferString(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]json.RawMessage
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	code, first := join(`{"meeting":"Standup","name":"Ada"}`)
	if code != 200 {
		t.Fatalf("POST /demo/join: %d %s", code, first)
	}
	var m struct {
		MeetingId      string
		MediaPlacement struct{ SignalingUrl string }
	}
	var a struct{ AttendeeId, ExternalUserId, JoinToken string }
	json.Unmarshal(first["Meeting"], &m)
	json.Unmarshal(first["Attendee"], &a)
	if m.MeetingId == "" || !strings.HasPrefix(m.MediaPlacement.SignalingUrl, "ws://") || a.JoinToken == "" || !strings.HasPrefix(a.ExternalUserId, "Ada#") {
		t.Fatalf("join answer: %s", first)
	}
	// The same name finds the same meeting, and a new attendee.
	_, second := join(`{"meeting":"standup","name":"Ada"}`)
	var m2 struct{ MeetingId string }
	var a2 struct{ AttendeeId string }
	json.Unmarshal(second["Meeting"], &m2)
	json.Unmarshal(second["Attendee"], &a2)
	if m2.MeetingId != m.MeetingId || a2.AttendeeId == a.AttendeeId {
		t.Fatalf("second join: meeting %s (want %s), attendee %s", m2.MeetingId, m.MeetingId, a2.AttendeeId)
	}
	for _, bad := range []string{`{"meeting":"","name":"Ada"}`, `{"meeting":"x","name":"<script>"}`, `not json`, `{"meeting":"` + strings.Repeat("a", 41) + `","name":"Ada"}`} {
		if code, _ := join(bad); code != 400 {
			t.Errorf("POST /demo/join %s: %d, want 400", bad, code)
		}
	}
	resp, err := e.http.Get(e.url + "/demo/join")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /demo/join: %d", resp.StatusCode)
	}
}

func TestDemoPageIsOffWithCredentials(t *testing.T) {
	e := start(t, withCredentials(writeCredentials(t)))
	// The path is the API's again: an unsigned request is refused.
	r := e.do("GET", "/demo/", nil, false)
	wantRawError(t, r, 401, "UnauthorizedException")
}
