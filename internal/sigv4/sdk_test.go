package sigv4

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	signerv2 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go/aws/credentials"
	signerv1 "github.com/aws/aws-sdk-go/aws/signer/v4"
)

// Requests in these tests are signed by the real SDK signers and sent
// through real httptest servers, so Verify sees exactly the *http.Request
// that net/http builds on the server side.

func newRequest(t testing.TB, method, target string, body []byte) *http.Request {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, target, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func bodySeeker(body []byte) io.ReadSeeker {
	if body == nil {
		return nil
	}
	return bytes.NewReader(body)
}

// signV1 signs with aws-sdk-go v1 Signer.Sign (URI path escaping on, as
// for every service but S3).
func signV1(t testing.TB, req *http.Request, body []byte, cred Credential, unsignedPayload bool) {
	t.Helper()
	s := signerv1.NewSigner(credentials.NewStaticCredentials(cred.AccessKeyID, cred.SecretAccessKey, cred.SessionToken),
		func(s *signerv1.Signer) {
			s.UnsignedPayload = unsignedPayload
			s.DisableURIPathEscaping = false
		})
	if _, err := s.Sign(req, bodySeeker(body), testService, testRegion, signTime()); err != nil {
		t.Fatal(err)
	}
}

// presignV1 presigns with aws-sdk-go v1 Signer.Presign.
func presignV1(t testing.TB, req *http.Request, body []byte, cred Credential, unsignedPayload bool, exp time.Duration) {
	t.Helper()
	s := signerv1.NewSigner(credentials.NewStaticCredentials(cred.AccessKeyID, cred.SecretAccessKey, cred.SessionToken),
		func(s *signerv1.Signer) { s.UnsignedPayload = unsignedPayload })
	if _, err := s.Presign(req, bodySeeker(body), testService, testRegion, exp, signTime()); err != nil {
		t.Fatal(err)
	}
}

func v2Credentials(cred Credential) awsv2.Credentials {
	return awsv2.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey, SessionToken: cred.SessionToken}
}

// signV2 signs with aws-sdk-go-v2 Signer.SignHTTP.
func signV2(t testing.TB, req *http.Request, cred Credential, payloadHash string) {
	t.Helper()
	err := signerv2.NewSigner().SignHTTP(context.Background(), v2Credentials(cred), req, payloadHash, testService, testRegion, signTime())
	if err != nil {
		t.Fatal(err)
	}
}

// presignV2 presigns with aws-sdk-go-v2 Signer.PresignHTTP and returns the
// request a client would send with the presigned URL and headers. Like the
// SDK's presign middleware, it sets X-Amz-Expires before signing.
func presignV2(t testing.TB, req *http.Request, body []byte, cred Credential, payloadHash string, exp time.Duration) *http.Request {
	t.Helper()
	q := req.URL.Query()
	q.Set("X-Amz-Expires", strconv.FormatInt(int64(exp/time.Second), 10))
	req.URL.RawQuery = q.Encode()
	signedURL, headers, err := signerv2.NewSigner().PresignHTTP(context.Background(), v2Credentials(cred), req, payloadHash,
		testService, testRegion, signTime())
	if err != nil {
		t.Fatal(err)
	}
	out := newRequest(t, req.Method, signedURL, body)
	for k, vs := range headers {
		if k == "Host" || k == "Content-Length" { // net/http writes these from Host and ContentLength
			continue
		}
		out.Header[k] = vs
	}
	return out
}

func testCredentials() []Credential {
	c := defaultCredentials()
	long, _ := c.Lookup(testAKID)
	temp, _ := c.Lookup(tempAKID)
	return []Credential{long, temp}
}

// Paths that need encoding: a space, an encoded slash inside a segment, a
// colon, UTF-8, a plus, sub-delimiters and a tilde.
func testPaths() []string {
	return []string{
		"/meetings",
		"/",
		"/meetings/a%20b/attendees",
		"/meetings/c%2Fd/e:f/%C3%A9t%C3%A9/x+y/~t/!$&'()*,;=@",
		"/meetings/%E2%9C%93%20ok/",
	}
}

// testQueries need encoding too. Repeated keys keep their values in an order
// that is the same raw and encoded; see TestSDKv1SortsQueryValuesUnencoded.
func testQueries() []string {
	return []string{"", "max-results=10&next-token=abc%2Bdef%3D%3D", "name=a%20b&name=b%C3%A9&empty=&z=~&%2A=%2A"}
}

// TestSDKv1SortsQueryValuesUnencoded pins a known aws-sdk-go v1 quirk: it
// sorts query values before encoding them, while SigV4 (and AWS, botocore and
// aws-sdk-go-v2) sort after encoding. When the two orders differ, here
// "a b" < "é" but "%C3%A9" < "a%20b", v1's signature does not verify, exactly
// as AWS refuses it. The verifier follows AWS rather than guessing orders.
func TestSDKv1SortsQueryValuesUnencoded(t *testing.T) {
	v := newTestVerifier(signTime().Add(time.Second))
	srv := startServer(t, v)
	const query = "?name=a%20b&name=%C3%A9"

	req := newRequest(t, "GET", srv.URL+"/meetings"+query, nil)
	signV2(t, req, testCredentials()[0], sha256Hex(nil))
	expectOK(t, send(t, srv.Client(), req))

	req = newRequest(t, "GET", srv.URL+"/meetings"+query, nil)
	signV1(t, req, nil, testCredentials()[0], false)
	expectRefused(t, send(t, srv.Client(), req), Forbidden, msgSignatureMismatch)
}

type headerSigner struct {
	name string
	sign func(t testing.TB, req *http.Request, body []byte, cred Credential)
}

func headerSigners() []headerSigner {
	return []headerSigner{
		{"v1", func(t testing.TB, req *http.Request, body []byte, cred Credential) { signV1(t, req, body, cred, false) }},
		{"v1-unsigned-payload", func(t testing.TB, req *http.Request, body []byte, cred Credential) {
			signV1(t, req, body, cred, true)
		}},
		{"v2", func(t testing.TB, req *http.Request, body []byte, cred Credential) {
			signV2(t, req, cred, sha256Hex(body))
		}},
		{"v2-content-sha256-header", func(t testing.TB, req *http.Request, body []byte, cred Credential) {
			req.Header.Set("X-Amz-Content-Sha256", sha256Hex(body))
			signV2(t, req, cred, sha256Hex(body))
		}},
		// The SDK's unsigned-payload middleware announces the choice in
		// X-Amz-Content-Sha256; without it the service would hash the body.
		{"v2-unsigned-payload", func(t testing.TB, req *http.Request, body []byte, cred Credential) {
			req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			signV2(t, req, cred, "UNSIGNED-PAYLOAD")
		}},
	}
}

func TestSDKHeaderSignedRequestsVerify(t *testing.T) {
	v := newTestVerifier(signTime().Add(time.Second))
	srv := startServer(t, v)
	for _, signer := range headerSigners() {
		for _, cred := range testCredentials() {
			for _, path := range testPaths() {
				for _, query := range testQueries() {
					for _, method := range []string{"GET", "POST"} {
						var body []byte
						if method == "POST" {
							body = []byte(testJSONBody)
						}
						target := srv.URL + path
						if query != "" {
							target += "?" + query
						}
						name := signer.name + " " + cred.AccessKeyID + " " + method + " " + path + "?" + query
						req := newRequest(t, method, target, body)
						signer.sign(t, req, body, cred)
						out := send(t, srv.Client(), req)
						if out.Status != http.StatusOK {
							t.Errorf("%s: refused (%d): %s", name, out.Status, out.Message)
							continue
						}
						if out.AccessKeyID != cred.AccessKeyID || out.Region != testRegion || out.Presigned ||
							!out.Date.Equal(signTime()) {
							t.Errorf("%s: wrong result %+v", name, out)
						}
					}
				}
			}
		}
	}
}

func TestSDKHeaderSignedRequestsVerifyOverHTTP2(t *testing.T) {
	v := newTestVerifier(signTime().Add(time.Second))
	srv := startHTTP2Server(t, v)
	for _, signer := range headerSigners() {
		for _, path := range testPaths() {
			body := []byte(testJSONBody)
			req := newRequest(t, "POST", srv.URL+path+"?a=1", body)
			signer.sign(t, req, body, testCredentials()[1])
			out := send(t, srv.Client(), req)
			expectOK(t, out)
			if out.Proto != 2 {
				t.Fatalf("request went over HTTP/%d", out.Proto)
			}
		}
	}
}

type presigner struct {
	name    string
	presign func(t testing.TB, req *http.Request, body []byte, cred Credential, exp time.Duration) *http.Request
}

func presigners() []presigner {
	return []presigner{
		// aws-sdk-go v1 signs the body's hash without announcing it.
		{"v1", func(t testing.TB, req *http.Request, body []byte, cred Credential, exp time.Duration) *http.Request {
			presignV1(t, req, body, cred, false, exp)
			return req
		}},
		{"v1-unsigned-payload", func(t testing.TB, req *http.Request, body []byte, cred Credential, exp time.Duration) *http.Request {
			presignV1(t, req, body, cred, true, exp)
			return req
		}},
		{"v2", func(t testing.TB, req *http.Request, body []byte, cred Credential, exp time.Duration) *http.Request {
			return presignV2(t, req, body, cred, sha256Hex(body), exp)
		}},
		{"v2-unsigned-payload", func(t testing.TB, req *http.Request, body []byte, cred Credential, exp time.Duration) *http.Request {
			return presignV2(t, req, body, cred, "UNSIGNED-PAYLOAD", exp)
		}},
	}
}

func TestSDKPresignedRequestsVerify(t *testing.T) {
	v := newTestVerifier(signTime().Add(time.Minute))
	srv := startServer(t, v)
	for _, ps := range presigners() {
		for _, cred := range testCredentials() {
			for _, path := range testPaths() {
				for _, query := range testQueries() {
					for _, method := range []string{"GET", "POST"} {
						var body []byte
						if method == "POST" {
							body = []byte(testJSONBody)
						}
						target := srv.URL + path
						if query != "" {
							target += "?" + query
						}
						name := ps.name + " " + cred.AccessKeyID + " " + method + " " + path + "?" + query
						req := ps.presign(t, newRequest(t, method, target, body), body, cred, 5*time.Minute)
						if req.Header.Get("Authorization") != "" || req.URL.Query().Get("X-Amz-Signature") == "" {
							t.Fatalf("%s: not a presigned request: %s", name, req.URL)
						}
						out := send(t, srv.Client(), req)
						if out.Status != http.StatusOK {
							t.Errorf("%s: refused (%d): %s", name, out.Status, out.Message)
							continue
						}
						if out.AccessKeyID != cred.AccessKeyID || !out.Presigned || !out.Date.Equal(signTime()) {
							t.Errorf("%s: wrong result %+v", name, out)
						}
					}
				}
			}
		}
	}
}

// TestExpectContinueSigned covers aws-sdk-go v1, which signs every header
// it is given, Expect included. Go's HTTP/1 server leaves Expect in
// r.Header; its HTTP/2 server deletes it, and the verifier must then use
// "100-continue".
func TestExpectContinueSigned(t *testing.T) {
	v := newTestVerifier(signTime().Add(time.Second))
	for _, tc := range []struct {
		name  string
		srv   *httptest.Server
		proto int
	}{
		{"http1", startServer(t, v), 1},
		{"http2", startHTTP2Server(t, v), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := []byte(testJSONBody)
			req := newRequest(t, "PUT", tc.srv.URL+"/meetings/m-1", body)
			req.Header.Set("Expect", "100-continue")
			signV1(t, req, body, testCredentials()[0], false)
			if !strings.Contains(req.Header.Get("Authorization"), "expect;") {
				t.Fatalf("the signer did not sign Expect: %s", req.Header.Get("Authorization"))
			}
			out := send(t, tc.srv.Client(), req)
			expectOK(t, out)
			if out.Proto != tc.proto {
				t.Fatalf("went over HTTP/%d, want HTTP/%d", out.Proto, tc.proto)
			}
		})
	}
}

// TestMultiValuedAndSpacedHeaders covers canonical header values: repeated
// headers joined with ',' and inner runs of spaces collapsed.
func TestMultiValuedAndSpacedHeaders(t *testing.T) {
	v := newTestVerifier(signTime().Add(time.Second))
	srv := startServer(t, v)
	for _, signer := range headerSigners() {
		body := []byte(testJSONBody)
		req := newRequest(t, "POST", srv.URL+"/meetings", body)
		req.Header.Add("X-Custom", "first   value")
		req.Header.Add("X-Custom", "second")
		req.Header.Set("X-Spaced", "a  b   c")
		signer.sign(t, req, body, testCredentials()[0])
		if !strings.Contains(req.Header.Get("Authorization"), "x-custom;") {
			t.Fatalf("%s did not sign x-custom: %s", signer.name, req.Header.Get("Authorization"))
		}
		expectOK(t, send(t, srv.Client(), req))
	}
}

func setEscapedPath(t testing.TB, req *http.Request, escaped string) {
	t.Helper()
	u, err := url.Parse(escaped)
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Path, req.URL.RawPath = u.Path, u.RawPath
}
