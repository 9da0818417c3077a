package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/aws/credentials"
	"github.com/aws/aws-sdk-go/aws/session"
	v4 "github.com/aws/aws-sdk-go/aws/signer/v4"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/carillon-dev/carillon/internal/config"
	"github.com/carillon-dev/carillon/internal/meetings"
	"github.com/carillon-dev/carillon/internal/server"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/postgres/pgtest"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test at once.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitUntil polls cond until it holds, failing the test with failure()
// after timeout.
func waitUntil(t *testing.T, timeout time.Duration, cond func() bool, failure func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(failure())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// clock is a settable time source for the meetings lifecycle.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// presence is a settable presence source.
type presence struct {
	mu     sync.Mutex
	status map[string]meetings.PresenceStatus
}

func (p *presence) Status(_ context.Context, meetingID string) (meetings.PresenceStatus, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.status[meetingID], nil
}

func (p *presence) set(meetingID string, st meetings.PresenceStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status[meetingID] = st
}

// env is one running server and clients for it.
type env struct {
	t        *testing.T
	cfg      config.Config
	srv      *server.Server
	url      string
	clock    *clock
	presence *presence
	// http is shared by every client of the env, so that stop can close
	// its idle connections: a server waits for unused new connections
	// before it finishes a graceful shutdown.
	http      *http.Client
	wrapStore func(store.Store) store.Store
	logTo     io.Writer
	cancel    context.CancelFunc
	done      chan error
	// client is the SDK client of the default local account.
	client *chimesdkmeetings.ChimeSDKMeetings
	// raw is the same client with the SDK's own parameter checks off, so
	// that the server's validation is what answers.
	raw *chimesdkmeetings.ChimeSDKMeetings
}

type option func(*config.Config)

func withDataDir(dir string) option {
	return func(c *config.Config) { c.Store, c.DataDir = "sqlite", dir }
}

func withCredentials(path string) option { return func(c *config.Config) { c.Credentials = path } }

func withConfig(f func(c *config.Config)) option { return f }

// withPostgres runs the server on a PostgreSQL schema of the test's own.
func withPostgres(t *testing.T) option {
	url, schema := pgtest.Schema(t)
	keys := filepath.Join(t.TempDir(), "join-token-keys.json")
	return func(c *config.Config) {
		c.Store, c.PostgresURL, c.PostgresSchema, c.TokenKeyFile = "postgres", url, schema, keys
	}
}

// start runs a server on a free loopback port with an in-memory store.
func start(t *testing.T, opts ...option) *env {
	t.Helper()
	return startEnv(t, nil, opts...)
}

// startWith is start with the store wrapped (to make it fail on demand).
func startWith(t *testing.T, wrap func(store.Store) store.Store, opts ...option) *env {
	t.Helper()
	return startEnv(t, func(e *env) { e.wrapStore = wrap }, opts...)
}

// startLogged is start with the server's log written to w.
func startLogged(t *testing.T, w io.Writer, opts ...option) *env {
	t.Helper()
	return startEnv(t, func(e *env) { e.logTo = w }, opts...)
}

func startEnv(t *testing.T, prepare func(*env), opts ...option) *env {
	t.Helper()
	cfg, err := config.Parse("serve", []string{"--listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0", "--store", "memory"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range opts {
		o(&cfg)
	}
	// CARILLON_E2E_STORE=postgres runs the tests that do not ask for a
	// particular store against PostgreSQL.
	if cfg.Store == "memory" && os.Getenv("CARILLON_E2E_STORE") == "postgres" {
		withPostgres(t)(&cfg)
	}
	if err := cfg.Check(); err != nil {
		t.Fatal(err)
	}
	if cfg.Store == "sqlite" {
		cfg.TokenKeyFile = filepath.Join(cfg.DataDir, "join-token-keys.json")
	}
	e := &env{t: t, cfg: cfg, clock: &clock{now: time.Now().UTC()}, presence: &presence{status: map[string]meetings.PresenceStatus{}}}
	if prepare != nil {
		prepare(e)
	}
	e.run()
	t.Cleanup(e.stop)
	return e
}

func (e *env) run() {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	opts := server.Options{Now: e.clock.Now, Presence: e.presence, WrapStore: e.wrapStore}
	if e.logTo != nil {
		opts.Log = slog.New(slog.NewTextHandler(e.logTo, nil))
	}
	srv, err := server.New(ctx, e.cfg, opts)
	if err != nil {
		cancel()
		e.t.Fatal(err)
	}
	e.srv, e.cancel, e.done = srv, cancel, make(chan error, 1)
	e.url = "http://" + srv.APIAddr()
	e.http = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	go func() { e.done <- srv.Run(ctx) }()
	e.client = e.newClient("test", "test", "")
	e.raw = e.newClient("test", "test", "", func(c *aws.Config) { c.DisableParamValidation = aws.Bool(true) })
}

// stop shuts the server down and reports whether it stopped cleanly.
func (e *env) stop() {
	if e.cancel == nil {
		return
	}
	e.http.CloseIdleConnections()
	e.cancel()
	select {
	case err := <-e.done:
		if err != nil {
			e.t.Errorf("server stopped with %v", err)
		}
	case <-time.After(30 * time.Second):
		e.t.Error("server did not stop")
	}
	e.cancel = nil
}

// restart stops the server and starts it again on the same configuration.
func (e *env) restart() {
	e.t.Helper()
	e.stop()
	e.cfg.Listen = e.srv.APIAddr() // keep the port, so URLs stay valid
	e.run()
}

func (e *env) newClient(key, secret, token string, mutate ...func(*aws.Config)) *chimesdkmeetings.ChimeSDKMeetings {
	cfg := &aws.Config{
		Region:      aws.String("us-east-1"),
		Endpoint:    aws.String(e.url),
		Credentials: credentials.NewStaticCredentials(key, secret, token),
		MaxRetries:  aws.Int(0),
		HTTPClient:  e.http,
	}
	for _, m := range mutate {
		m(cfg)
	}
	return chimesdkmeetings.New(session.Must(session.NewSession(cfg)))
}

// ctx is a context for one call.
func (e *env) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	e.t.Cleanup(cancel)
	return ctx
}

// createMeeting makes a meeting with the given external ID.
func (e *env) createMeeting(external string, mutate ...func(*chimesdkmeetings.CreateMeetingInput)) *chimesdkmeetings.Meeting {
	e.t.Helper()
	in := &chimesdkmeetings.CreateMeetingInput{
		ExternalMeetingId: aws.String(external),
		MediaRegion:       aws.String("us-east-1"),
	}
	for _, m := range mutate {
		m(in)
	}
	out, err := e.client.CreateMeetingWithContext(e.ctx(), in)
	if err != nil {
		e.t.Fatalf("CreateMeeting: %v", err)
	}
	return out.Meeting
}

func (e *env) createAttendee(meetingID, external string) *chimesdkmeetings.Attendee {
	e.t.Helper()
	out, err := e.client.CreateAttendeeWithContext(e.ctx(), &chimesdkmeetings.CreateAttendeeInput{
		MeetingId: aws.String(meetingID), ExternalUserId: aws.String(external),
	})
	if err != nil {
		e.t.Fatalf("CreateAttendee: %v", err)
	}
	return out.Attendee
}

// wantAPIError checks that err is the AWS error code with a status and,
// when given, a message fragment.
func wantAPIError(t *testing.T, err error, code string, status int, fragment string) {
	t.Helper()
	var rf awserr.RequestFailure
	if !errors.As(err, &rf) {
		t.Fatalf("want %s (%d), got %v", code, status, err)
	}
	if rf.Code() != code || rf.StatusCode() != status {
		t.Fatalf("want %s (%d), got %s (%d): %s", code, status, rf.Code(), rf.StatusCode(), rf.Message())
	}
	if fragment != "" && !strings.Contains(rf.Message(), fragment) {
		t.Fatalf("%s message %q does not mention %q", code, rf.Message(), fragment)
	}
	if rf.RequestID() == "" {
		t.Fatalf("%s without a request ID", code)
	}
}

// rawResponse is an HTTP response read whole.
type rawResponse struct {
	status int
	header http.Header
	body   []byte
}

func (r rawResponse) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response body is not JSON: %q", r.body)
	}
	return m
}

// do sends a raw request signed for the local account (unsigned when sign
// is false).
func (e *env) do(method, path string, body []byte, sign bool) rawResponse {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sign {
		signer := v4.NewSigner(credentials.NewStaticCredentials("test", "test", ""))
		if _, err := signer.Sign(req, bytes.NewReader(body), "chime", "us-east-1", time.Now()); err != nil {
			e.t.Fatal(err)
		}
	}
	resp, err := e.http.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return rawResponse{status: resp.StatusCode, header: resp.Header, body: b}
}

// wantRawError checks the wire form of an error response.
func wantRawError(t *testing.T, r rawResponse, status int, shape string) map[string]any {
	t.Helper()
	if r.status != status || r.header.Get("x-amzn-ErrorType") != shape {
		t.Fatalf("want %d %s, got %d %s: %s", status, shape, r.status, r.header.Get("x-amzn-ErrorType"), r.body)
	}
	if r.header.Get("x-amzn-RequestId") == "" {
		t.Fatal("error response without x-amzn-RequestId")
	}
	m := r.json(t)
	if m["Code"] == "" || m["Message"] == "" || m["RequestId"] != r.header.Get("x-amzn-RequestId") {
		t.Fatalf("error body lacks Code, Message or the RequestId: %s", r.body)
	}
	return m
}

// verifyToken asks the internal API whether a join token admits anyone.
func (e *env) verifyToken(tok string) (map[string]any, bool) {
	e.t.Helper()
	body, _ := json.Marshal(map[string]string{"JoinToken": tok})
	resp, err := http.Post("http://"+e.srv.OpsAddr()+"/internal/v1/join-tokens/verify", "application/json", bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		e.t.Fatal(err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		return m, true
	case http.StatusForbidden, http.StatusBadRequest:
		return m, false
	default:
		e.t.Fatalf("verify: %d %v", resp.StatusCode, m)
		return nil, false
	}
}

// newServer builds (without running) a server from cfg.
func newServer(t *testing.T, cfg config.Config) (*server.Server, error) {
	t.Helper()
	return server.New(context.Background(), cfg, server.Options{})
}
