package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// Server is a server process the bench started itself, on loopback ports
// of its own, so that it can time its start-up and read its memory.
type Server struct {
	Endpoint string        // its API
	StartUp  time.Duration // from starting the process to its first ready answer

	cmd    *exec.Cmd
	exited chan struct{} // closed once the process is reaped
	err    error         // its exit status, once exited
	stderr *tailBuffer
}

// serverReadyWithin bounds how long StartServer waits for a server to
// answer ready, which a store of ten million attendees does in well under
// a second.
const serverReadyWithin = time.Minute

// keepMeetings is the idle timeout and longest duration of the servers
// StartServer runs: a year, so that the lifecycle ends none of a store
// seeded earlier.
const keepMeetings = "8760h"

// StartServer runs serve (a command line that starts a server, such as the
// carillon binary and "serve") on the SQLite store in dataDir, with every
// meeting kept until deleted (a filled store's meetings would otherwise end
// while it is measured) and its API and ops listeners on free loopback
// ports, and waits until it answers ready. The server gets no CARILLON_*
// variable of the environment: those would choose another store, other
// credentials, limits or webhooks than the ones measured.
func StartServer(ctx context.Context, serve []string, dataDir string) (*Server, error) {
	if len(serve) == 0 {
		return nil, errors.New("start server: no command")
	}
	api, err := freePort()
	if err != nil {
		return nil, err
	}
	ops, err := freePort()
	if err != nil {
		return nil, err
	}
	// The lifecycle runs, as on a server in use (its poll for due meetings
	// reads the store each second), with limits no stored meeting reaches.
	args := append(serve[1:len(serve):len(serve)], "--store", "sqlite", "--data-dir", dataDir, "--listen", api,
		"--ops-listen", ops, "--idle-timeout", keepMeetings, "--max-duration", keepMeetings, "--log-level", "warn")
	s := &Server{
		Endpoint: "http://" + api,
		cmd:      exec.Command(serve[0], args...),
		exited:   make(chan struct{}),
		stderr:   &tailBuffer{max: 4096},
	}
	s.cmd.Stdout = s.stderr
	s.cmd.Stderr = s.stderr
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CARILLON_") {
			s.cmd.Env = append(s.cmd.Env, kv)
		}
	}
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	if err := s.awaitReady(ctx, "http://"+ops+"/readyz"); err != nil {
		s.Stop() //nolint:errcheck // the start's error says more
		return nil, err
	}
	s.StartUp = time.Since(start)
	return s, nil
}

// awaitReady polls the server's readiness until it answers 200, exits, or
// serverReadyWithin passes.
func (s *Server) awaitReady(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(serverReadyWithin)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		ready := false
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
		// Checked after an answer too: a server that could not listen
		// exits, and what answered was another process on that port.
		if s.hasExited() {
			return fmt.Errorf("server exited before it was ready (%v): %s", s.err, s.stderr.String())
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("server not ready after %s: %s", serverReadyWithin, s.stderr.String())
		}
		select {
		case <-s.exited: // reported at the next round
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

func (s *Server) hasExited() bool {
	select {
	case <-s.exited:
		return true
	default:
		return false
	}
}

// PeakResident is the most resident memory the process has had, in bytes.
func (s *Server) PeakResident() (int64, error) { return peakResident(s.cmd.Process.Pid) }

// Stop asks the server to shut down as an operator would (SIGINT), kills
// it if it has not within a minute or cannot be asked (Windows), and
// reports how it ended once it is reaped.
func (s *Server) Stop() error {
	if err := s.cmd.Process.Signal(os.Interrupt); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.cmd.Process.Kill() //nolint:errcheck // reaped below either way
		<-s.exited
		return nil
	}
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		s.cmd.Process.Kill() //nolint:errcheck // reaped below either way
		<-s.exited
		return fmt.Errorf("server did not stop within a minute: %s", s.stderr.String())
	}
	if s.err != nil {
		return fmt.Errorf("server: %w: %s", s.err, s.stderr.String())
	}
	return nil
}

// freePort returns a loopback address no one listens on at the moment.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// tailBuffer keeps the last max bytes written to it: a server's last
// words, for an error.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.b))
}
