package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testService = "chime"
	testRegion  = "us-east-1"

	testAKID   = "AKIAIOSFODNN7EXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

	tempAKID   = "ASIAIOSFODNN7TEMPKEY"
	tempSecret = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"
	tempToken  = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCXVzLWVhc3QtMSJHMEUCIQD+session+token/with=odd&chars"

	// testJSONBody is a typical ~200-byte CreateMeeting body.
	testJSONBody = `{"ClientRequestToken":"7f7bd1d5-0d0f-4a43-9c5d-5f4a2c3e1b99","MediaRegion":"us-east-1",` +
		`"ExternalMeetingId":"standup-2026-01-01","MeetingHostId":"user-0042","Tags":[{"Key":"team","Value":"carillon"}]}`
)

// signTime is when the test requests are signed; the verifier's clock reads
// a second later unless a test says otherwise.
func signTime() time.Time { return time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC) }

func fixedClock(t time.Time) func() time.Time { return func() time.Time { return t } }

// memCredentials is a mutable, concurrency-safe Credentials for tests.
type memCredentials struct {
	mu    sync.RWMutex
	creds map[string]Credential
}

func newMemCredentials(creds ...Credential) *memCredentials {
	m := &memCredentials{creds: map[string]Credential{}}
	for _, c := range creds {
		m.set(c)
	}
	return m
}

func (m *memCredentials) Lookup(id string) (Credential, bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	c, ok := m.creds[id]
	return c, ok
}

func (m *memCredentials) set(c Credential) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.creds[c.AccessKeyID] = c
}

func defaultCredentials() *memCredentials {
	return newMemCredentials(
		Credential{AccessKeyID: testAKID, SecretAccessKey: testSecret, AccountID: "111122223333"},
		Credential{AccessKeyID: tempAKID, SecretAccessKey: tempSecret, SessionToken: tempToken, AccountID: "111122223333"},
	)
}

func newTestVerifier(now time.Time) *Verifier {
	return NewVerifier(Config{Service: testService, Credentials: defaultCredentials(), Now: fixedClock(now)})
}

// outcome is what the test server reports about one request.
type outcome struct {
	Status      int
	Kind        Kind
	Message     string
	AccessKeyID string
	Region      string
	Date        time.Time
	Presigned   bool
	Proto       int
}

// verifyHandler answers with the outcome of Verify, so tests see exactly
// what a server sees: the *http.Request as net/http presents it.
func verifyHandler(v *Verifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		out := outcome{Status: http.StatusOK, Proto: r.ProtoMajor}
		res, err := v.Verify(r, body)
		var e *Error
		switch {
		case errors.As(err, &e):
			out.Kind, out.Message = e.Kind, e.Message
			out.Status = http.StatusForbidden
			if e.Kind == Unauthorized {
				out.Status = http.StatusUnauthorized
			}
		case err != nil:
			out.Status, out.Message = http.StatusInternalServerError, err.Error()
		default:
			out.AccessKeyID, out.Region = res.Credential.AccessKeyID, res.Region
			out.Date, out.Presigned = res.Date, res.Presigned
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(out.Status)
		json.NewEncoder(w).Encode(out)
	})
}

func startServer(t testing.TB, v *Verifier) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(verifyHandler(v))
	t.Cleanup(srv.Close)
	return srv
}

func startHTTP2Server(t testing.TB, v *Verifier) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(verifyHandler(v))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

// send sends req through client and decodes the server's outcome.
func send(t testing.TB, client *http.Client, req *http.Request) outcome {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	var out outcome
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decoding outcome (status %d): %v", resp.StatusCode, err)
	}
	if out.Status != resp.StatusCode {
		t.Fatalf("status %d but outcome says %d", resp.StatusCode, out.Status)
	}
	return out
}

func expectOK(t testing.TB, out outcome) {
	t.Helper()
	if out.Status != http.StatusOK {
		t.Fatalf("refused (%d): %s", out.Status, out.Message)
	}
}

func expectRefused(t testing.TB, out outcome, kind Kind, message string) {
	t.Helper()
	if out.Status == http.StatusOK {
		t.Fatalf("accepted, want refusal %q", message)
	}
	if out.Kind != kind || !strings.Contains(out.Message, message) {
		t.Fatalf("refused with kind %d %q, want kind %d containing %q", out.Kind, out.Message, kind, message)
	}
}

// verifyInProcess runs Verify directly and converts the result into an
// outcome, for tests that build requests with httptest.NewRequest.
func verifyInProcess(v *Verifier, r *http.Request, body []byte) outcome {
	res, err := v.Verify(r, body)
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return outcome{Status: http.StatusInternalServerError, Message: err.Error()}
		}
		status := http.StatusForbidden
		if e.Kind == Unauthorized {
			status = http.StatusUnauthorized
		}
		if res != (Result{}) {
			return outcome{Status: http.StatusInternalServerError, Message: "non-zero Result with an error"}
		}
		return outcome{Status: status, Kind: e.Kind, Message: e.Message}
	}
	return outcome{Status: http.StatusOK, AccessKeyID: res.Credential.AccessKeyID, Region: res.Region,
		Date: res.Date, Presigned: res.Presigned, Proto: r.ProtoMajor}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// refSigner is an independent, minimal SigV4 signer written from the AWS
// documentation, sharing no code with the package. Tests use it where the SDK
// signers can't produce the request (a Date header instead of X-Amz-Date, a
// botocore-normalized path, hand-chosen canonical forms) and cross-check it
// against the SDKs. Canonical URI, query and header values are given
// explicitly, so each test spells out the canonical form it expects.
type refSigner struct {
	akid, secret, region, service string
}

type refRequest struct {
	method         string
	canonicalURI   string
	canonicalQuery string
	headers        [][2]string // lowercase name, canonical value; sorted by name
	payloadHash    string
	date           time.Time
}

func (s refSigner) scope(t time.Time) string {
	return t.UTC().Format("20060102") + "/" + s.region + "/" + s.service + "/aws4_request"
}

func (s refSigner) signature(rr refRequest) (signature, signedHeaders string) {
	var canonHeaders strings.Builder
	names := make([]string, 0, len(rr.headers))
	for _, h := range rr.headers {
		canonHeaders.WriteString(h[0] + ":" + h[1] + "\n")
		names = append(names, h[0])
	}
	signedHeaders = strings.Join(names, ";")
	creq := strings.Join([]string{rr.method, rr.canonicalURI, rr.canonicalQuery, canonHeaders.String(),
		signedHeaders, rr.payloadHash}, "\n")
	sts := "AWS4-HMAC-SHA256\n" + rr.date.UTC().Format("20060102T150405Z") + "\n" + s.scope(rr.date) + "\n" +
		sha256Hex([]byte(creq))
	mac := func(key []byte, data string) []byte {
		h := hmac.New(sha256.New, key)
		h.Write([]byte(data))
		return h.Sum(nil)
	}
	k := mac([]byte("AWS4"+s.secret), rr.date.UTC().Format("20060102"))
	k = mac(k, s.region)
	k = mac(k, s.service)
	k = mac(k, "aws4_request")
	return hex.EncodeToString(mac(k, sts)), signedHeaders
}

func (s refSigner) authorization(rr refRequest) string {
	sig, signed := s.signature(rr)
	return "AWS4-HMAC-SHA256 Credential=" + s.akid + "/" + s.scope(rr.date) + ", SignedHeaders=" + signed +
		", Signature=" + sig
}

func defaultRefSigner() refSigner {
	return refSigner{akid: testAKID, secret: testSecret, region: testRegion, service: testService}
}
