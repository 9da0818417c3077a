package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"
)

// binary builds cmd/carillon once per test run.
var binary = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "carillon-e2e-bin")
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, "carillon")
	out, err := exec.Command("go", "build", "-o", path, "github.com/carillon-dev/carillon/cmd/carillon").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return path, nil
})

// process is the carillon binary running as a child process.
type process struct {
	t      *testing.T
	cmd    *exec.Cmd
	addr   string
	log    syncBuffer
	done   chan error
	exited atomic.Bool
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startProcess runs `carillon serve` with args and waits until it answers.
func startProcess(t *testing.T, addr string, args ...string) *process {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"serve", "--listen", addr, "--ops-listen", ""}, args...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{t: t, cmd: cmd, addr: addr, done: make(chan error, 1)}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			fmt.Fprintln(&p.log, sc.Text())
		}
		err := cmd.Wait()
		p.exited.Store(true)
		p.done <- err
	}()
	t.Cleanup(func() {
		if !p.exited.Load() {
			cmd.Process.Kill()
			<-p.done
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			conn.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("carillon did not start:\n%s", p.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (p *process) client() *chimesdkmeetings.ChimeSDKMeetings {
	return chimesdkmeetings.New(session.Must(session.NewSession(&aws.Config{
		Region:      aws.String("us-east-1"),
		Endpoint:    aws.String("http://" + p.addr),
		Credentials: credentials.NewStaticCredentials("test", "test", ""),
		MaxRetries:  aws.Int(0),
	})))
}

// TestKillNineLosesNoAcknowledgedWrite kills the server with SIGKILL while
// clients are adding attendees, restarts it, and checks that every attendee
// whose creation was acknowledged is there with the same join token.
func TestKillNineLosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	addr := freePort(t)
	p := startProcess(t, addr, "--data-dir", dir)
	c := p.client()
	m, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String("crash"), MediaRegion: aws.String("us-east-1")})
	if err != nil {
		t.Fatal(err)
	}

	var (
		mu    sync.Mutex
		acked = map[string]string{} // AttendeeId -> JoinToken
		wg    sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ctx.Err() == nil; i++ {
				out, err := c.CreateAttendeeWithContext(ctx, &chimesdkmeetings.CreateAttendeeInput{
					MeetingId: m.Meeting.MeetingId, ExternalUserId: aws.String(fmt.Sprintf("w%d-%d", w, i))})
				if err != nil {
					return // the server is gone
				}
				mu.Lock()
				acked[*out.Attendee.AttendeeId] = *out.Attendee.JoinToken
				mu.Unlock()
			}
		}(w)
	}
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 120 {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	cancel()
	wg.Wait()

	p2 := startProcess(t, addr, "--data-dir", dir)
	stored := map[string]string{}
	err = p2.client().ListAttendeesPages(&chimesdkmeetings.ListAttendeesInput{MeetingId: m.Meeting.MeetingId, MaxResults: aws.Int64(100)},
		func(page *chimesdkmeetings.ListAttendeesOutput, last bool) bool {
			for _, a := range page.Attendees {
				stored[*a.AttendeeId] = *a.JoinToken
			}
			return true
		})
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for id, tok := range acked {
		if got, ok := stored[id]; !ok || got != tok {
			t.Fatalf("acknowledged attendee %s lost (or its token changed) after kill -9: %d acknowledged, %d stored", id, len(acked), len(stored))
		}
	}
	t.Logf("%d acknowledged attendees, %d stored after kill -9", len(acked), len(stored))
}

// TestGracefulShutdown sends SIGTERM while requests are in flight: the
// process exits 0 and every request it accepted got its answer.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	addr := freePort(t)
	p := startProcess(t, addr, "--data-dir", dir)
	c := p.client()
	m, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String("term"), MediaRegion: aws.String("us-east-1")})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := 0
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				_, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: m.Meeting.MeetingId, ExternalUserId: aws.String(fmt.Sprintf("w%d-%d", w, i))})
				if err != nil {
					return
				}
				mu.Lock()
				acked++
				mu.Unlock()
			}
		}(w)
	}
	time.Sleep(300 * time.Millisecond)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("carillon exited with %v after SIGTERM:\n%s", err, p.log.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("carillon did not exit after SIGTERM")
	}
	wg.Wait()
	if !strings.Contains(p.log.String(), "stopped") {
		t.Fatalf("no clean stop in the log:\n%s", p.log.String())
	}
	p2 := startProcess(t, addr, "--data-dir", dir)
	stored := 0
	err = p2.client().ListAttendeesPages(&chimesdkmeetings.ListAttendeesInput{MeetingId: m.Meeting.MeetingId, MaxResults: aws.Int64(100)},
		func(page *chimesdkmeetings.ListAttendeesOutput, last bool) bool {
			stored += len(page.Attendees)
			return true
		})
	if err != nil {
		t.Fatal(err)
	}
	if stored < acked {
		t.Fatalf("%d acknowledged, %d stored after a graceful stop", acked, stored)
	}
}

// TestKillNineBetweenCommitAndDelivery kills the server while its webhook
// receiver is down, so that committed events wait undelivered in the
// outbox; after a restart every one of them arrives.
func TestKillNineBetweenCommitAndDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	rc := newReceiver(t)
	rc.setFailing(true)
	dir := t.TempDir()
	addr := freePort(t)
	args := []string{"--data-dir", dir, "--webhook-url", rc.srv.URL, "--webhook-secret", webhookSecret,
		"--delivery-backoff", "20ms", "--delivery-max-backoff", "100ms"}
	p := startProcess(t, addr, args...)
	c := p.client()
	m, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String("outbox"), MediaRegion: aws.String("us-east-1")})
	if err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	for i := 0; i < 20; i++ {
		out, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: m.Meeting.MeetingId, ExternalUserId: aws.String(fmt.Sprintf("user-%02d", i))})
		if err != nil {
			t.Fatal(err)
		}
		acked[*out.Attendee.AttendeeId] = true
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
	rc.setFailing(false)
	startProcess(t, addr, args...)
	got := rc.waitFor(21)
	if got[0].Detail.EventType != "chime:MeetingStarted" {
		t.Fatalf("first event = %s", got[0].Detail.EventType)
	}
	for i, env := range got[1:] {
		if env.Detail.EventType != "chime:AttendeeAdded" || env.Detail.ExternalUserID != fmt.Sprintf("user-%02d", i) || !acked[env.Detail.AttendeeID] {
			t.Fatalf("event %d = %s %s", i+1, env.Detail.EventType, env.Detail.ExternalUserID)
		}
	}
}

// carillon runs the binary with args and returns its output.
func carillon(t *testing.T, args ...string) string {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("carillon %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestAdminCommands reads a running server's store with `carillon meetings`.
func TestAdminCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	dir := t.TempDir()
	p := startProcess(t, freePort(t), "--data-dir", dir)
	c := p.client()
	m, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String("admin-view"), MediaRegion: aws.String("eu-west-1"),
		Tags: []*chimesdkmeetings.Tag{{Key: aws.String("team"), Value: aws.String("blue")}}})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: m.Meeting.MeetingId, ExternalUserId: aws.String("alice")})
	if err != nil {
		t.Fatal(err)
	}
	gone, err := c.CreateMeeting(&chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String("gone"), MediaRegion: aws.String("us-east-1")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.DeleteMeeting(&chimesdkmeetings.DeleteMeetingInput{MeetingId: gone.Meeting.MeetingId}); err != nil {
		t.Fatal(err)
	}

	list := carillon(t, "meetings", "list", "--data-dir", dir)
	if !strings.Contains(list, *m.Meeting.MeetingId) || !strings.Contains(list, "1/250") || strings.Contains(list, *gone.Meeting.MeetingId) {
		t.Fatalf("meetings list:\n%s", list)
	}
	all := carillon(t, "meetings", "list", "--all", "--data-dir", dir)
	if !strings.Contains(all, *gone.Meeting.MeetingId) || !strings.Contains(all, "(Deleted)") {
		t.Fatalf("meetings list --all:\n%s", all)
	}
	show := carillon(t, "meetings", "show", *m.Meeting.MeetingId, "--data-dir", dir)
	for _, want := range []string{"admin-view", "eu-west-1", "team=blue", *a.Attendee.AttendeeId, "alice", "SendReceive", "active"} {
		if !strings.Contains(show, want) {
			t.Fatalf("meetings show lacks %q:\n%s", want, show)
		}
	}
	if strings.Contains(show, *a.Attendee.JoinToken) {
		t.Fatal("meetings show prints a join token")
	}
	help := carillon(t, "serve", "--help")
	for _, want := range []string{"--listen", "CARILLON_LISTEN", "--quota-preset", "--webhook-url", "--idle-timeout"} {
		if !strings.Contains(help, want) {
			t.Fatalf("serve --help lacks %q", want)
		}
	}
	if v := carillon(t, "version"); !strings.HasPrefix(v, "carillon ") {
		t.Fatalf("version: %q", v)
	}
}
