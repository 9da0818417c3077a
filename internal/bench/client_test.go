package bench

import (
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/procfs"

	"github.com/carillon-dev/carillon/internal/sigv4"
)

type oneCredential struct{}

func (oneCredential) Lookup(id string) (sigv4.Credential, bool) {
	return sigv4.Credential{AccessKeyID: id, SecretAccessKey: "secret", AccountID: "111122223333"}, id == "AKID"
}

// What the client sends verifies, under an endpoint path prefix too, and
// its answers are told apart: success, API errors, and bodies that are not
// JSON.
func TestClientSignsAndReadsAnswers(t *testing.T) {
	v := sigv4.NewVerifier(sigv4.Config{Service: "chime", Credentials: oneCredential{}})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := v.Verify(r, body); err != nil {
			w.Header().Set("x-amzn-ErrorType", "ForbiddenException")
			w.WriteHeader(http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/prefix/ok":
			w.Write([]byte(`{"Attendee":{"AttendeeId":"a"}}`))
		case "/prefix/garbage":
			w.Write([]byte(`<html>`))
		default:
			w.Header().Set("x-amzn-ErrorType", "NotFoundException")
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL+"/prefix/", "AKID", "secret", "us-east-1", 2)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	var out struct{ Attendee struct{ AttendeeId string } }
	if err := c.Do(ctx, "POST", "/ok?operation=x%20y", []byte(`{"a":1}`), &out); err != nil || out.Attendee.AttendeeId != "a" {
		t.Fatalf("POST: %v, %+v", err, out)
	}
	if err := c.Do(ctx, "GET", "/ok", nil, nil); err != nil {
		t.Fatalf("GET: %v", err)
	}
	var ae *APIError
	if err := c.Do(ctx, "DELETE", "/missing", nil, nil); !errors.As(err, &ae) || ae.Shape != "NotFoundException" || ae.Status != 404 {
		t.Fatalf("missing: %v", err)
	}
	if err := c.Do(ctx, "GET", "/garbage", nil, nil); !errors.Is(err, errBadAnswer) {
		t.Fatalf("garbage: %v", err)
	}
	if err := c.Do(ctx, "GET", "/garbage", nil, &out); !errors.Is(err, errBadAnswer) {
		t.Fatalf("garbage decoded: %v", err)
	}
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if err := c.Do(gone, "GET", "/ok", nil, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %v", err)
	}
	// The host and path go out as they were signed: a host in capitals,
	// a path prefix that a client could normalise.
	for _, endpoint := range []string{strings.Replace(srv.URL, "127.0.0.1", "LOCALHOST", 1) + "/prefix", srv.URL + "/prefix/x/..//%7E"} {
		odd, err := NewClient(endpoint, "AKID", "secret", "us-east-1", 1)
		if err != nil {
			t.Fatal(err)
		}
		defer odd.Close()
		if err := odd.Do(ctx, "GET", "/ok", nil, nil); err != nil && !isNotFound(err) {
			t.Errorf("%s: %v", endpoint, err)
		}
	}
	wrong, err := NewClient(srv.URL+"/prefix", "AKID", "not-the-secret", "us-east-1", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer wrong.Close()
	if err := wrong.Do(ctx, "GET", "/ok", nil, nil); !errors.As(err, &ae) || ae.Shape != "ForbiddenException" {
		t.Fatalf("wrong secret: %v", err)
	}
}

// isNotFound says the request verified and reached the router.
func isNotFound(err error) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == http.StatusNotFound
}

func TestClientRefusesBadEndpoints(t *testing.T) {
	for _, e := range []string{"127.0.0.1:8080", "ftp://h", "http://", "http://h/?a=b", "://"} {
		if _, err := NewClient(e, "a", "b", "us-east-1", 1); err == nil {
			t.Errorf("%q accepted", e)
		}
	}
}

// Until shares out the time between two readings, and a reading works
// where /proc/stat is.
func TestMachineTimes(t *testing.T) {
	before := machineTimes{procfs.CPUStat{User: 10, System: 5, Idle: 100, Iowait: 1, Steal: 2}}
	after := machineTimes{procfs.CPUStat{User: 16, Nice: 1, System: 7, SoftIRQ: 1, Idle: 108, Iowait: 2, Steal: 4}}
	got := before.Until(after)
	want := MachineCPU{Busy: 10.0 / 21, Idle: 8.0 / 21, IOWait: 1.0 / 21, Steal: 2.0 / 21}
	if math.Abs(got.Busy-want.Busy)+math.Abs(got.Idle-want.Idle)+math.Abs(got.IOWait-want.IOWait)+math.Abs(got.Steal-want.Steal) > 1e-9 {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if (machineTimes{}).Until(machineTimes{}) != (MachineCPU{}) {
		t.Fatal("no time passed, yet shares")
	}
	if _, err := os.Stat("/proc/stat"); err != nil {
		t.Skip("no /proc/stat here")
	}
	a, err := readMachineTimes()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	b, err := readMachineTimes()
	if err != nil {
		t.Fatal(err)
	}
	if m := a.Until(b); m.Busy+m.Idle+m.IOWait+m.Steal > 1.0001 {
		t.Fatalf("shares add up to more than the whole: %+v", m)
	}
}

// Two readings give the generator's and the machine's use between them;
// a server metrics URL that cannot be read is an error, none is not.
func TestReadingUntil(t *testing.T) {
	before := Read("")
	time.Sleep(20 * time.Millisecond)
	used, err := before.Until(Read(""))
	if err != nil || used.Generator < 0 || used.Server != 0 {
		t.Fatalf("without a server: %+v %v", used, err)
	}
	if _, statErr := os.Stat("/proc/stat"); statErr == nil && used.Machine == nil {
		t.Error("no machine CPU where /proc/stat is")
	}
	if _, err := Read("http://127.0.0.1:1/metrics").Until(Read("")); err == nil {
		t.Error("an unreachable server's metrics read without an error")
	}
}
