package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go/aws"
	"github.com/aws/aws-sdk-go/aws/awserr"
	"github.com/aws/aws-sdk-go/service/chimesdkmeetings"

	"github.com/carillon-dev/carillon/internal/config"
	"github.com/carillon-dev/carillon/internal/store"
)

func TestThrottling(t *testing.T) {
	e := start(t, withCredentials(writeCredentials(t)), withConfig(func(c *config.Config) { c.RateLimit, c.RateBurst = 5, 5 }))
	one := e.newClient("AKIAONE", "secret-one", "")
	two := e.newClient("AKIATWO", "secret-two", "")
	get := func(c *chimesdkmeetings.ChimeSDKMeetings) error {
		_, err := c.GetMeetingWithContext(e.ctx(), &chimesdkmeetings.GetMeetingInput{MeetingId: aws.String("00000000-0000-0000-0000-000000000000")})
		return err
	}
	throttled := 0
	for i := 0; i < 20; i++ {
		err := get(one)
		if strings.Contains(fmt.Sprint(err), "ThrottlingException") {
			wantAPIError(t, err, "ThrottlingException", 429, "Rate exceeded")
			throttled++
		}
	}
	if throttled < 10 {
		t.Fatalf("only %d of 20 requests over a 5/s limit were throttled", throttled)
	}
	// Another account has its own bucket.
	wantAPIError(t, get(two), "NotFoundException", 404, "")
	// The bucket refills.
	time.Sleep(500 * time.Millisecond)
	wantAPIError(t, get(one), "NotFoundException", 404, "")
	if got := e.metric(`carillon_api_throttled_total{account="111111111111"}`); got < 10 {
		t.Fatalf("throttled metric = %v", got)
	}
}

func TestActiveMeetingQuota(t *testing.T) {
	e := start(t, withConfig(func(c *config.Config) { c.MaxActiveMeetings = 2 }))
	a := e.createMeeting("q1")
	e.createMeeting("q2")
	_, err := e.client.CreateMeetingWithContext(e.ctx(), &chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String("q3"), MediaRegion: aws.String("us-east-1")})
	wantAPIError(t, err, "LimitExceededException", 400, "2 active meetings")
	if _, err := e.client.DeleteMeetingWithContext(e.ctx(), &chimesdkmeetings.DeleteMeetingInput{MeetingId: a.MeetingId}); err != nil {
		t.Fatal(err)
	}
	e.createMeeting("q3")
}

// metric reads one sample from /metrics (0 if absent).
func (e *env) metric(series string) float64 {
	e.t.Helper()
	resp, err := e.http.Get("http://" + e.srv.OpsAddr() + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				e.t.Fatalf("metric %s: %q", series, v)
			}
			return f
		}
	}
	return 0
}

func TestMetricsMove(t *testing.T) {
	rc := newReceiver(t)
	e := start(t, withWebhook(rc))
	before := e.metric(`carillon_api_requests_total{operation="CreateMeeting",status="200"}`)
	m := e.createMeeting("metrics")
	e.createAttendee(*m.MeetingId, "alice")
	e.createAttendee(*m.MeetingId, "bob")
	e.do("GET", "/meetings/00000000-0000-0000-0000-000000000000", nil, true)
	rc.waitFor(3)
	// The dispatcher counts a delivery, and clears it from the outbox,
	// only after the receiver has answered.
	delivered := `carillon_event_deliveries_total{kind="webhook",result="success"}`
	waitUntil(t, 10*time.Second, func() bool {
		return e.metric(delivered) == 3 && e.metric(`carillon_event_outbox_pending`) == 0
	}, func() string {
		return fmt.Sprintf("%s = %v, outbox pending %v", delivered, e.metric(delivered), e.metric(`carillon_event_outbox_pending`))
	})
	checks := map[string]float64{
		`carillon_api_requests_total{operation="CreateMeeting",status="200"}`:        before + 1,
		`carillon_api_requests_total{operation="CreateAttendee",status="200"}`:       2,
		`carillon_api_errors_total{code="NotFoundException",operation="GetMeeting"}`: 1,
		`carillon_active_meetings`:  1,
		`carillon_active_attendees`: 2,
		`carillon_api_request_duration_seconds_count{operation="CreateAttendee"}`: 2,
		`carillon_event_deliveries_total{kind="webhook",result="success"}`:        3,
		`carillon_store_transaction_duration_seconds_count{kind="write"}`:         -1, // any
		`carillon_event_outbox_pending`:                                           0,
		`carillon_api_in_flight_requests`:                                         0,
	}
	for series, want := range checks {
		got := e.metric(series)
		if (want >= 0 && got != want) || (want < 0 && got <= 0) {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

// flakyStore fails Ping (and, when blocked, holds writes) on demand.
type flakyStore struct {
	store.Store
	down  atomic.Bool
	block chan struct{} // when not nil, writes wait for it to close
	mu    sync.Mutex
}

func (f *flakyStore) Ping(ctx context.Context) error {
	if f.down.Load() {
		return errors.New("store unreachable")
	}
	return f.Store.Ping(ctx)
}

func (f *flakyStore) Write(ctx context.Context, fn func(store.Writer) error) error {
	f.mu.Lock()
	block := f.block
	f.mu.Unlock()
	if block != nil {
		<-block
	}
	return f.Store.Write(ctx, fn)
}

func TestReadiness(t *testing.T) {
	flaky := &flakyStore{}
	e := startWith(t, func(st store.Store) store.Store { flaky.Store = st; return flaky })
	status := func(path string) int {
		resp, err := e.http.Get("http://" + e.srv.OpsAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if status("/healthz") != 200 || status("/readyz") != 200 {
		t.Fatal("a healthy server is not ready")
	}
	flaky.down.Store(true)
	if status("/readyz") != 503 || status("/healthz") != 200 {
		t.Fatal("readiness did not follow the store")
	}
	flaky.down.Store(false)
	if status("/readyz") != 200 {
		t.Fatal("readiness did not come back")
	}
}

func TestOverloadAnswersServiceUnavailable(t *testing.T) {
	flaky := &flakyStore{}
	e := startWith(t, func(st store.Store) store.Store { flaky.Store = st; return flaky }, withConfig(func(c *config.Config) { c.MaxInFlight = 1 }))
	m := e.createMeeting("busy")
	flaky.mu.Lock()
	flaky.block = make(chan struct{})
	flaky.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, err := e.client.CreateAttendee(&chimesdkmeetings.CreateAttendeeInput{MeetingId: m.MeetingId, ExternalUserId: aws.String("slow")})
		done <- err
	}()
	waitUntil(t, 5*time.Second, func() bool { return e.metric("carillon_api_in_flight_requests") >= 1 },
		func() string { return "the slow request never started" })
	r := e.do("GET", "/meetings/"+*m.MeetingId, nil, true)
	wantRawError(t, r, 503, "ServiceUnavailableException")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("ServiceUnavailableException without Retry-After")
	}
	flaky.mu.Lock()
	close(flaky.block)
	flaky.block = nil
	flaky.mu.Unlock()
	if err := <-done; err != nil {
		t.Fatalf("the request in flight failed: %v", err)
	}
	if r := e.do("GET", "/meetings/"+*m.MeetingId, nil, true); r.status != 200 {
		t.Fatalf("after the load: %d", r.status)
	}
}

// TestSlowLoris holds many connections that send headers a byte at a time:
// the server drops them after its header timeout and keeps serving others.
func TestSlowLoris(t *testing.T) {
	e := start(t, withConfig(func(c *config.Config) { c.ReadHeaderTimeout = 300 * time.Millisecond }))
	var conns []net.Conn
	for i := 0; i < 50; i++ {
		c, err := net.Dial("tcp", e.srv.APIAddr())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprint(c, "POST /meetings HTTP/1.1\r\nHost: x\r\n")
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// Others are served meanwhile.
	start := time.Now()
	e.createMeeting("not-blocked")
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Fatalf("a normal request waited %s behind slow clients", d)
	}
	// The slow clients are cut off after the header timeout.
	for _, c := range conns {
		c.SetDeadline(time.Now().Add(3 * time.Second))
		for i := 0; ; i++ {
			if _, err := fmt.Fprint(c, "X"); err != nil {
				break
			}
			buf := make([]byte, 512)
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			if n, err := c.Read(buf); n > 0 || (err != nil && !isTimeout(err)) {
				break // the server answered (408) or closed
			}
			if i > 60 {
				t.Fatal("a slow client held its connection past the header timeout")
			}
		}
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func TestRequestLog(t *testing.T) {
	var buf syncBuffer
	e := startLogged(t, &buf)
	m := e.createMeeting("logged")
	a := e.createAttendee(*m.MeetingId, "alice")
	e.stop()
	log := buf.String()
	line := regexp.MustCompile(`(?m)^.*operation=CreateAttendee.*$`).FindString(log)
	for _, want := range []string{"request_id=", "account=000000000000", "status=200", "duration=", "method=POST"} {
		if !strings.Contains(line, want) {
			t.Fatalf("request log line %q lacks %q", line, want)
		}
	}
	if strings.Contains(log, *a.JoinToken) || strings.Contains(log, "Signature=") {
		t.Fatal("the log holds a token or a signature")
	}
}

// failingStore fails every write with an internal error.
type failingStore struct{ store.Store }

func (failingStore) Write(context.Context, func(store.Writer) error) error {
	return errors.New("disk I/O error: /var/lib/carillon/carillon.db")
}

func TestServiceFailureHidesTheCause(t *testing.T) {
	var buf syncBuffer
	e := startEnv(t, func(e *env) {
		e.logTo = &buf
		e.wrapStore = func(st store.Store) store.Store { return failingStore{st} }
	})
	_, err := e.client.CreateMeetingWithContext(e.ctx(), &chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String("x1"), MediaRegion: aws.String("us-east-1")})
	wantAPIError(t, err, "ServiceFailureException", 500, "unexpected failure")
	if strings.Contains(err.Error(), "disk") {
		t.Fatalf("the cause reached the client: %v", err)
	}
	if !strings.Contains(buf.String(), "disk I/O error") {
		t.Fatal("the cause was not logged")
	}
}

func TestSingleKeyPairFromConfiguration(t *testing.T) {
	e := start(t, withConfig(func(c *config.Config) {
		c.AccessKeyID, c.SecretAccessKey, c.AccountID = "AKIASINGLE", "single-secret", "333333333333"
	}))
	c := e.newClient("AKIASINGLE", "single-secret", "")
	out, err := c.CreateMeetingWithContext(e.ctx(), &chimesdkmeetings.CreateMeetingInput{ExternalMeetingId: aws.String("single"), MediaRegion: aws.String("us-east-1")})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(*out.Meeting.MeetingArn, ":333333333333:") {
		t.Fatalf("ARN %s", *out.Meeting.MeetingArn)
	}
	_, err = e.client.GetMeetingWithContext(e.ctx(), &chimesdkmeetings.GetMeetingInput{MeetingId: out.Meeting.MeetingId})
	wantAPIError(t, err, "ForbiddenException", 403, "")
}

// Replicas racing at the active-meeting limit never pass it together.
func TestActiveMeetingQuotaAcrossReplicas(t *testing.T) {
	pg, limit := withPostgres(t), withConfig(func(c *config.Config) { c.MaxActiveMeetings = 3 })
	replicas := []*env{start(t, pg, limit), start(t, pg, limit)}
	for round := range 3 {
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			created []string
			refused int
		)
		for i := range 16 {
			wg.Go(func() {
				e := replicas[i%2]
				out, err := e.client.CreateMeetingWithContext(e.ctx(), &chimesdkmeetings.CreateMeetingInput{
					ClientRequestToken: aws.String(fmt.Sprintf("quota-%d-%d", round, i)),
					ExternalMeetingId:  aws.String("quota"), MediaRegion: aws.String("us-east-1")})
				mu.Lock()
				defer mu.Unlock()
				var ae awserr.Error
				switch {
				case err == nil:
					created = append(created, *out.Meeting.MeetingId)
				case errors.As(err, &ae) && ae.Code() == "LimitExceededException":
					refused++
				default:
					t.Errorf("CreateMeeting: %v", err)
				}
			})
		}
		wg.Wait()
		if len(created) != 3 || refused != 13 {
			t.Fatalf("round %d: %d meetings created and %d refused at a limit of 3", round, len(created), refused)
		}
		for _, id := range created { // room for the next round
			replicas[1].deleteMeeting(id)
		}
	}

	// Repeats of one request racing at the last free place all get the
	// meeting the first of them made.
	replicas[0].createMeeting("first")
	replicas[1].createMeeting("second")
	for round := range 5 {
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			ids = map[string]bool{}
		)
		for i := range 8 {
			wg.Go(func() {
				e := replicas[i%2]
				out, err := e.client.CreateMeetingWithContext(e.ctx(), &chimesdkmeetings.CreateMeetingInput{
					ClientRequestToken: aws.String(fmt.Sprintf("repeat-%d", round)),
					ExternalMeetingId:  aws.String("quota"), MediaRegion: aws.String("us-east-1")})
				if err != nil {
					t.Errorf("round %d: a repeat of the request: %v", round, err)
					return
				}
				mu.Lock()
				ids[*out.Meeting.MeetingId] = true
				mu.Unlock()
			})
		}
		wg.Wait()
		if len(ids) != 1 {
			t.Fatalf("round %d: repeats of one request made %d meetings", round, len(ids))
		}
		for id := range ids {
			replicas[0].deleteMeeting(id)
		}
	}
}

func (e *env) deleteMeeting(id string) {
	e.t.Helper()
	if _, err := e.client.DeleteMeetingWithContext(e.ctx(), &chimesdkmeetings.DeleteMeetingInput{MeetingId: aws.String(id)}); err != nil {
		e.t.Fatal(err)
	}
}
