package bench

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for a server that StartServer
// runs: with BENCH_FAKE_SERVER set, it parses serve's flags, writes its
// process ID into --data-dir, answers ready on --ops-listen, and exits as
// the variable says.
func TestMain(m *testing.M) {
	if how := os.Getenv("BENCH_FAKE_SERVER"); how != "" {
		os.Exit(fakeServer(how, os.Args[2:]))
	}
	os.Exit(m.Run())
}

func fakeServer(how string, args []string) int {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	for _, name := range []string{"store", "data-dir", "listen", "ops-listen", "idle-timeout", "max-duration", "log-level"} {
		fs.String(name, "", "")
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir := fs.Lookup("data-dir").Value.String()
	if err := os.WriteFile(filepath.Join(dir, "pid"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		return 1
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "CARILLON_") {
			fmt.Fprintln(os.Stderr, "given", kv)
			return 1
		}
	}
	if how == "fail" || fs.Lookup("store").Value.String() != "sqlite" {
		fmt.Fprintln(os.Stderr, "cannot open the store in", dir)
		return 1
	}
	interrupted := make(chan os.Signal, 1)
	signal.Notify(interrupted, os.Interrupt)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {})
	go http.ListenAndServe(fs.Lookup("ops-listen").Value.String(), mux) //nolint:errcheck // the test sees it as never ready
	<-interrupted
	return 0
}

func fakeServe(t *testing.T, how string) []string {
	t.Setenv("BENCH_FAKE_SERVER", how)
	return []string{os.Args[0], "serve"}
}

func TestStartServer(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("stops servers with SIGINT, which Windows processes cannot be sent")
	}
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("CARILLON_STORE", "memory") // the server gets none of these
	srv, err := StartServer(ctx, fakeServe(t, "serve"), dir)
	if err != nil {
		t.Fatal(err)
	}
	if srv.StartUp <= 0 || srv.StartUp > serverReadyWithin {
		t.Errorf("start-up %s", srv.StartUp)
	}
	if !strings.HasPrefix(srv.Endpoint, "http://127.0.0.1:") {
		t.Errorf("endpoint %q", srv.Endpoint)
	}
	if runtime.GOOS == "linux" {
		if rss, err := srv.PeakResident(); err != nil || rss < 1<<20 {
			t.Errorf("peak resident %d bytes, %v", rss, err)
		}
	}
	if err := srv.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}

	// A server that exits at once is reported with its last words, at
	// once rather than after the readiness wait.
	start := time.Now()
	_, err = StartServer(ctx, fakeServe(t, "fail"), dir)
	if err == nil || !strings.Contains(err.Error(), "cannot open the store in "+dir) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > serverReadyWithin/2 {
		t.Errorf("took %s to see the server exit", time.Since(start))
	}

	// A start given up by the caller stops the server it began, and reaps
	// it.
	os.Remove(filepath.Join(dir, "pid"))
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := StartServer(cancelled, fakeServe(t, "serve"), dir); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled start: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "pid")); err == nil { // else it was stopped before it began
		pid, _ := strconv.Atoi(string(b))
		if p, err := os.FindProcess(pid); err == nil && p.Signal(syscall.Signal(0)) == nil {
			t.Errorf("server %d still running after a cancelled start", pid)
		}
	}
}

func TestTailBuffer(t *testing.T) {
	b := &tailBuffer{max: 8}
	b.Write([]byte("0123456789"))
	b.Write([]byte("ab\n"))
	if got := b.String(); got != "56789ab" {
		t.Errorf("tail %q", got)
	}
}
