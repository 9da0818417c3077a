package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestAWSDocumentationExamples checks two signatures published in the AWS
// SigV4 documentation, independently of any SDK.
func TestAWSDocumentationExamples(t *testing.T) {
	const secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	at := time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	creds := newMemCredentials(Credential{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: secret})

	for _, tc := range []struct {
		name, service, target, contentType, authorization string
	}{
		{
			name: "get-vanilla", service: "service", target: "https://example.amazonaws.com/",
			authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, " +
				"SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
		},
		{
			name: "iam-list-users", service: "iam", target: "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08",
			contentType: "application/x-www-form-urlencoded; charset=utf-8",
			authorization: "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, " +
				"SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := NewVerifier(Config{Service: tc.service, Credentials: creds, Now: fixedClock(at)})
			r := httptest.NewRequest("GET", tc.target, nil)
			r.Header.Set("X-Amz-Date", "20150830T123600Z")
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			r.Header.Set("Authorization", tc.authorization)
			expectOK(t, verifyInProcess(v, r, nil))

			// One changed signature digit is refused.
			r.Header.Set("Authorization", tc.authorization[:len(tc.authorization)-1]+"0")
			expectRefused(t, verifyInProcess(v, r, nil), Forbidden, msgSignatureMismatch)
		})
	}
}

// TestReferenceSignerAgreesWithSDK makes sure the independent test signer
// computes what aws-sdk-go v1 computes, so tests built on it are meaningful.
func TestReferenceSignerAgreesWithSDK(t *testing.T) {
	body := []byte(testJSONBody)
	req := newRequest(t, "POST", "https://chime.us-east-1.amazonaws.com/meetings/a%20b?x=1&a=%C3%A9", body)
	signV1(t, req, body, testCredentials()[0], false)
	rr := refRequest{
		method: "POST", canonicalURI: "/meetings/a%2520b", canonicalQuery: "a=%C3%A9&x=1",
		headers: [][2]string{{"content-type", "application/json"}, {"host", "chime.us-east-1.amazonaws.com"},
			{"x-amz-date", "20260101T120000Z"}},
		payloadHash: sha256Hex(body), date: signTime(),
	}
	if got, want := req.Header.Get("Authorization"), defaultRefSigner().authorization(rr); got != want {
		t.Fatalf("SDK:       %s\nreference: %s", got, want)
	}
}

// signedBaseRequest returns a POST signed by aws-sdk-go-v2 with a signed
// custom header, a query and a body, ready to be tampered with.
func signedBaseRequest(t testing.TB, srvURL string, cred Credential) *http.Request {
	body := []byte(testJSONBody)
	req := newRequest(t, "POST", srvURL+"/meetings/m-1/attendees?a=1&b=2", body)
	req.Header.Set("X-Custom", "one")
	signV2(t, req, cred, sha256Hex(body))
	return req
}

func setBody(req *http.Request, body string) {
	req.Body = io.NopCloser(strings.NewReader(body))
	req.ContentLength = int64(len(body))
}

func replaceInAuthorization(old, new string) func(*http.Request) {
	return func(req *http.Request) {
		req.Header.Set("Authorization", strings.Replace(req.Header.Get("Authorization"), old, new, 1))
	}
}

func flipLastSignatureDigit(s string) string {
	last := s[len(s)-1]
	if last == '0' {
		return s[:len(s)-1] + "1"
	}
	return s[:len(s)-1] + "0"
}

func TestTamperedHeaderSignedRequestsAreRefused(t *testing.T) {
	v := newTestVerifier(signTime().Add(time.Second))
	srv := startServer(t, v)
	sameLengthBody := strings.Replace(testJSONBody, "standup", "standUP", 1)

	for _, tc := range []struct {
		name   string
		mutate func(*http.Request)
		kind   Kind
		msg    string
	}{
		{"method", func(r *http.Request) { r.Method = "PUT" }, Forbidden, msgSignatureMismatch},
		{"path", func(r *http.Request) { setEscapedPath(t, r, "/meetings/m-2/attendees") }, Forbidden, msgSignatureMismatch},
		{"path encoding", func(r *http.Request) { setEscapedPath(t, r, "/meetings/m%2D1/attendees") }, Forbidden, msgSignatureMismatch},
		{"query value", func(r *http.Request) { r.URL.RawQuery = "a=1&b=3" }, Forbidden, msgSignatureMismatch},
		{"query added", func(r *http.Request) { r.URL.RawQuery = "a=1&b=2&c=3" }, Forbidden, msgSignatureMismatch},
		{"query removed", func(r *http.Request) { r.URL.RawQuery = "a=1" }, Forbidden, msgSignatureMismatch},
		{"query repeated", func(r *http.Request) { r.URL.RawQuery = "a=1&a=1&b=2" }, Forbidden, msgSignatureMismatch},
		{"signed header value", func(r *http.Request) { r.Header.Set("X-Custom", "two") }, Forbidden, msgSignatureMismatch},
		{"signed header removed", func(r *http.Request) { r.Header.Del("X-Custom") }, Forbidden, msgSignatureMismatch},
		{"signed header repeated", func(r *http.Request) { r.Header.Add("X-Custom", "one") }, Forbidden, msgSignatureMismatch},
		{"content type", func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, Forbidden, msgSignatureMismatch},
		{"host", func(r *http.Request) { r.Host = "chime.evil.example" }, Forbidden, msgSignatureMismatch},
		{"body same length", func(r *http.Request) { setBody(r, sameLengthBody) }, Forbidden, msgSignatureMismatch},
		{"body other length", func(r *http.Request) { setBody(r, testJSONBody+" ") }, Forbidden, msgSignatureMismatch},
		{"body with declared hash", func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", sha256Hex([]byte(testJSONBody)))
			setBody(r, sameLengthBody)
		}, Forbidden, msgContentSHAMismatch},
		{"date second", func(r *http.Request) { r.Header.Set("X-Amz-Date", "20260101T120001Z") }, Forbidden, msgSignatureMismatch},
		{"date day", func(r *http.Request) { r.Header.Set("X-Amz-Date", "20260102T120000Z") }, Unauthorized, "Date in Credential scope does not match"},
		{"scope region", replaceInAuthorization("/us-east-1/", "/us-west-2/"), Forbidden, msgSignatureMismatch},
		{"scope service", replaceInAuthorization("/chime/", "/chimx/"), Unauthorized, "Credential should be scoped to correct service: 'chime'."},
		{"scope date", replaceInAuthorization("/20260101/", "/20251231/"), Unauthorized, "Date in Credential scope does not match YYYYMMDD"},
		{"scope terminator", replaceInAuthorization("/aws4_request", "/aws4_requesT"), Unauthorized, "valid terminator"},
		{"access key of another credential", replaceInAuthorization(testAKID, tempAKID), Forbidden, msgSignatureMismatch},
		{"unknown access key", replaceInAuthorization(testAKID, "AKIAUNKNOWNEXAMPLE00"), Forbidden, msgInvalidToken},
		{"signed headers list", replaceInAuthorization(";x-custom", ""), Forbidden, msgSignatureMismatch},
		{"signature", func(r *http.Request) {
			r.Header.Set("Authorization", flipLastSignatureDigit(r.Header.Get("Authorization")))
		}, Forbidden, msgSignatureMismatch},
		{"signature truncated", func(r *http.Request) {
			a := r.Header.Get("Authorization")
			r.Header.Set("Authorization", a[:len(a)-1])
		}, Unauthorized, "Signature must be 64 lowercase hexadecimal characters"},
		{"authorization removed", func(r *http.Request) { r.Header.Del("Authorization") }, Unauthorized, msgMissingAuthToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := signedBaseRequest(t, srv.URL, testCredentials()[0])
			tc.mutate(req)
			expectRefused(t, send(t, srv.Client(), req), tc.kind, tc.msg)
		})
	}

	// Controls: changes outside the signature are not refused.
	for _, tc := range []struct {
		name   string
		mutate func(*http.Request)
	}{
		{"untouched", func(*http.Request) {}},
		{"unsigned header added", func(r *http.Request) { r.Header.Set("X-Unsigned", "anything") }},
		{"user agent", func(r *http.Request) { r.Header.Set("User-Agent", "other/1.0") }},
		{"query reordered", func(r *http.Request) { r.URL.RawQuery = "b=2&a=1" }},
		{"authorization reformatted", func(r *http.Request) {
			r.Header.Set("Authorization", strings.ReplaceAll(r.Header.Get("Authorization"), ", ", ",\t "))
		}},
	} {
		t.Run("control/"+tc.name, func(t *testing.T) {
			req := signedBaseRequest(t, srv.URL, testCredentials()[0])
			tc.mutate(req)
			expectOK(t, send(t, srv.Client(), req))
		})
	}
}

func setQueryParam(req *http.Request, key, value string) {
	q := req.URL.Query()
	q.Set(key, value)
	req.URL.RawQuery = q.Encode()
}

func TestTamperedPresignedRequestsAreRefused(t *testing.T) {
	v := newTestVerifier(signTime().Add(time.Second))
	srv := startServer(t, v)
	sameLengthBody := strings.Replace(testJSONBody, "standup", "standUP", 1)

	for _, ps := range presigners() {
		for _, tc := range []struct {
			name   string
			mutate func(*http.Request)
			kind   Kind
			msg    string
		}{
			{"method", func(r *http.Request) { r.Method = "PUT" }, Forbidden, msgSignatureMismatch},
			{"path", func(r *http.Request) { setEscapedPath(t, r, "/meetings/m-2") }, Forbidden, msgSignatureMismatch},
			{"query added", func(r *http.Request) { setQueryParam(r, "c", "3") }, Forbidden, msgSignatureMismatch},
			{"query value", func(r *http.Request) { setQueryParam(r, "a", "2") }, Forbidden, msgSignatureMismatch},
			{"expires", func(r *http.Request) { setQueryParam(r, "X-Amz-Expires", "301") }, Forbidden, msgSignatureMismatch},
			{"date", func(r *http.Request) { setQueryParam(r, "X-Amz-Date", "20260101T120001Z") }, Forbidden, msgSignatureMismatch},
			{"credential region", func(r *http.Request) {
				setQueryParam(r, "X-Amz-Credential", strings.Replace(r.URL.Query().Get("X-Amz-Credential"), testRegion, "eu-west-1", 1))
			}, Forbidden, msgSignatureMismatch},
			{"credential service", func(r *http.Request) {
				setQueryParam(r, "X-Amz-Credential", strings.Replace(r.URL.Query().Get("X-Amz-Credential"), "/chime/", "/s3/", 1))
			}, Unauthorized, "Credential should be scoped to correct service"},
			{"signed headers", func(r *http.Request) { setQueryParam(r, "X-Amz-SignedHeaders", "host") }, Forbidden, msgSignatureMismatch},
			{"signature", func(r *http.Request) {
				setQueryParam(r, "X-Amz-Signature", flipLastSignatureDigit(r.URL.Query().Get("X-Amz-Signature")))
			}, Forbidden, msgSignatureMismatch},
			{"token changed", func(r *http.Request) { setQueryParam(r, "X-Amz-Security-Token", tempToken+"x") }, Forbidden, msgSignatureMismatch},
			{"token removed", func(r *http.Request) {
				q := r.URL.Query()
				q.Del("X-Amz-Security-Token")
				r.URL.RawQuery = q.Encode()
			}, Forbidden, msgSignatureMismatch},
			{"content type", func(r *http.Request) { r.Header.Set("Content-Type", "text/plain") }, Forbidden, msgSignatureMismatch},
			{"algorithm", func(r *http.Request) { setQueryParam(r, "X-Amz-Algorithm", "AWS4-HMAC-SHA512") }, Unauthorized, "X-Amz-Algorithm only supports"},
			{"authorization added", func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x") }, Unauthorized, msgTwoMechanisms},
		} {
			t.Run(ps.name+"/"+tc.name, func(t *testing.T) {
				body := []byte(testJSONBody)
				req := ps.presign(t, newRequest(t, "POST", srv.URL+"/meetings/m-1?a=1", body), body, testCredentials()[1], 5*time.Minute)
				tc.mutate(req)
				expectRefused(t, send(t, srv.Client(), req), tc.kind, tc.msg)
			})
		}

		// A presigned request whose signer hashed the body covers the body.
		if ps.name == "v1" || ps.name == "v2" {
			t.Run(ps.name+"/body", func(t *testing.T) {
				body := []byte(testJSONBody)
				req := ps.presign(t, newRequest(t, "POST", srv.URL+"/meetings/m-1", body), body, testCredentials()[1], 5*time.Minute)
				setBody(req, sameLengthBody)
				expectRefused(t, send(t, srv.Client(), req), Forbidden, msgSignatureMismatch)
			})
		}
	}
}

// v2SignedInProcess signs an in-process request with aws-sdk-go-v2.
func v2SignedInProcess(t testing.TB, cred Credential, body []byte) *http.Request {
	t.Helper()
	r := httptest.NewRequest("POST", "https://chime.us-east-1.amazonaws.com/meetings", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	signV2(t, r, cred, sha256Hex(body))
	return r
}

func TestClockSkew(t *testing.T) {
	body := []byte(testJSONBody)
	for _, tc := range []struct {
		name    string
		now     time.Time
		maxSkew time.Duration
		msg     string // empty: accepted
	}{
		{"now", signTime(), 0, ""},
		{"15 min later", signTime().Add(15 * time.Minute), 0, ""},
		{"15 min earlier", signTime().Add(-15 * time.Minute), 0, ""},
		{"too old", signTime().Add(15*time.Minute + time.Second), 0,
			"Signature expired: 20260101T120000Z is now earlier than 20260101T120001Z (20260101T121501Z - 15 min.)"},
		{"too new", signTime().Add(-15*time.Minute - time.Second), 0,
			"Signature not yet current: 20260101T120000Z is still later than 20260101T115959Z (20260101T114459Z + 15 min.)"},
		{"custom skew in minutes", signTime().Add(6 * time.Minute), 5 * time.Minute,
			"Signature expired: 20260101T120000Z is now earlier than 20260101T120100Z (20260101T120600Z - 5 min.)"},
		{"custom skew in seconds", signTime().Add(-2 * time.Minute), 90 * time.Second,
			"Signature not yet current: 20260101T120000Z is still later than 20260101T115930Z (20260101T115800Z + 90 sec.)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := NewVerifier(Config{Service: testService, Credentials: defaultCredentials(), Now: fixedClock(tc.now), MaxSkew: tc.maxSkew})
			out := verifyInProcess(v, v2SignedInProcess(t, testCredentials()[0], body), body)
			if tc.msg == "" {
				expectOK(t, out)
				return
			}
			expectRefused(t, out, Forbidden, tc.msg)
			if out.Message != tc.msg {
				t.Fatalf("message %q, want exactly %q", out.Message, tc.msg)
			}
		})
	}
}

func presignedInProcess(t testing.TB, exp time.Duration) *http.Request {
	t.Helper()
	req := httptest.NewRequest("GET", "https://chime.us-east-1.amazonaws.com/meetings?max-results=5", nil)
	req.RequestURI = ""
	out := presignV2(t, req, nil, testCredentials()[0], "UNSIGNED-PAYLOAD", exp)
	out.Host = out.URL.Host
	return out
}

func TestPresignedExpiry(t *testing.T) {
	for _, tc := range []struct {
		name string
		now  time.Time
		msg  string
	}{
		{"just signed", signTime(), ""},
		{"last second", signTime().Add(60 * time.Second), ""},
		{"expired", signTime().Add(61 * time.Second), msgPresignExpired},
		{"long expired", signTime().Add(30 * 24 * time.Hour), msgPresignExpired},
		{"slightly in the future", signTime().Add(-14 * time.Minute), ""},
		{"too far in the future", signTime().Add(-15*time.Minute - time.Second), "Signature not yet current"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newTestVerifier(tc.now)
			out := verifyInProcess(v, presignedInProcess(t, 60*time.Second), nil)
			if tc.msg == "" {
				expectOK(t, out)
				if !out.Presigned {
					t.Fatal("Result.Presigned is false")
				}
				return
			}
			expectRefused(t, out, Forbidden, tc.msg)
		})
	}
}

func TestPresignedExpiresBounds(t *testing.T) {
	for _, tc := range []struct {
		expires   string
		maxExpiry time.Duration
		msg       string
	}{
		{"0", 0, "X-Amz-Expires must be at least 1 second"},
		{"604801", 0, "X-Amz-Expires must be less than a week (in seconds) that is 604800"},
		{"3601", time.Hour, "X-Amz-Expires must be at most 3600 seconds"},
		{"-1", 0, "X-Amz-Expires should be a number"},
		{"+60", 0, "X-Amz-Expires should be a number"},
		{"1e3", 0, "X-Amz-Expires should be a number"},
		{" 60", 0, "X-Amz-Expires should be a number"},
		{"99999999999999999999", 0, "X-Amz-Expires should be a number"},
	} {
		t.Run(tc.expires, func(t *testing.T) {
			v := NewVerifier(Config{Service: testService, Credentials: defaultCredentials(), Now: fixedClock(signTime()), MaxPresignExpiry: tc.maxExpiry})
			req := presignedInProcess(t, 60*time.Second)
			setQueryParam(req, "X-Amz-Expires", tc.expires)
			expectRefused(t, verifyInProcess(v, req, nil), Unauthorized, tc.msg)
		})
	}
	// The bounds themselves are accepted (the signature covers X-Amz-Expires,
	// so these are signed with it).
	for _, exp := range []time.Duration{time.Second, 7 * 24 * time.Hour} {
		v := newTestVerifier(signTime())
		expectOK(t, verifyInProcess(v, presignedInProcess(t, exp), nil))
	}
}

func TestSessionTokens(t *testing.T) {
	v := newTestVerifier(signTime().Add(time.Second))
	srv := startServer(t, v)
	long, temp := testCredentials()[0], testCredentials()[1]
	withoutToken := temp
	withoutToken.SessionToken = ""
	wrongToken := temp
	wrongToken.SessionToken = tempToken + "-stale"
	unexpectedToken := long
	unexpectedToken.SessionToken = "a-token-for-a-long-term-key"

	for _, tc := range []struct {
		name string
		cred Credential
		ok   bool
	}{
		{"temporary key with its token", temp, true},
		{"temporary key without token", withoutToken, false},
		{"temporary key with another token", wrongToken, false},
		{"long-term key without token", long, true},
		{"long-term key with a token", unexpectedToken, false},
	} {
		for _, signer := range headerSigners() {
			t.Run(tc.name+"/"+signer.name, func(t *testing.T) {
				body := []byte(testJSONBody)
				req := newRequest(t, "POST", srv.URL+"/meetings", body)
				signer.sign(t, req, body, tc.cred)
				out := send(t, srv.Client(), req)
				if tc.ok {
					expectOK(t, out)
				} else {
					expectRefused(t, out, Forbidden, msgInvalidToken)
				}
			})
		}
		for _, ps := range presigners() {
			t.Run(tc.name+"/presigned-"+ps.name, func(t *testing.T) {
				req := ps.presign(t, newRequest(t, "GET", srv.URL+"/meetings", nil), nil, tc.cred, time.Minute)
				out := send(t, srv.Client(), req)
				if tc.ok {
					expectOK(t, out)
				} else {
					expectRefused(t, out, Forbidden, msgInvalidToken)
				}
			})
		}
	}
}

// refSignedRequest builds an in-process request signed by the reference
// signer. headers are set on the request and signed along with host and
// x-amz-date; canonicalURI and canonicalQuery are what the test expects the
// canonical forms of target to be.
func refSignedRequest(t testing.TB, s refSigner, method, target, canonicalURI, canonicalQuery string, headers [][2]string, body []byte) *http.Request {
	t.Helper()
	r := httptest.NewRequest(method, target, bytes.NewReader(body))
	date := signTime().Format(amzDateLayout)
	r.Header.Set("X-Amz-Date", date)
	signed := append([][2]string{{"host", r.Host}, {"x-amz-date", date}}, headers...)
	for _, h := range headers {
		r.Header.Add(h[0], h[1])
	}
	sortHeaderPairs(signed)
	rr := refRequest{method: method, canonicalURI: canonicalURI, canonicalQuery: canonicalQuery, headers: signed,
		payloadHash: sha256Hex(body), date: signTime()}
	r.Header.Set("Authorization", s.authorization(rr))
	return r
}

func sortHeaderPairs(h [][2]string) {
	for i := 1; i < len(h); i++ {
		for j := i; j > 0 && h[j][0] < h[j-1][0]; j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
}

func TestSessionTokenHeaderNeedNotBeSigned(t *testing.T) {
	v := newTestVerifier(signTime())
	s := refSigner{akid: tempAKID, secret: tempSecret, region: testRegion, service: testService}
	target := "https://chime.us-east-1.amazonaws.com/meetings"

	r := refSignedRequest(t, s, "GET", target, "/meetings", "", nil, nil)
	r.Header.Set("X-Amz-Security-Token", tempToken) // not signed, as AWS allows
	expectOK(t, verifyInProcess(v, r, nil))

	r.Header.Set("X-Amz-Security-Token", "forged")
	expectRefused(t, verifyInProcess(v, r, nil), Forbidden, msgInvalidToken)

	r.Header.Del("X-Amz-Security-Token")
	expectRefused(t, verifyInProcess(v, r, nil), Forbidden, msgInvalidToken)

	r.Header["X-Amz-Security-Token"] = []string{tempToken, tempToken}
	expectRefused(t, verifyInProcess(v, r, nil), Unauthorized, "must appear only once")
}

func TestUnsignedRequestIsUnauthorized(t *testing.T) {
	v := newTestVerifier(signTime())
	srv := startServer(t, v)
	for _, req := range []*http.Request{
		newRequest(t, "GET", srv.URL+"/meetings", nil),
		newRequest(t, "POST", srv.URL+"/meetings?X-Amz-Date=20260101T120000Z", []byte(testJSONBody)),
	} {
		out := send(t, srv.Client(), req)
		expectRefused(t, out, Unauthorized, msgMissingAuthToken)
		if out.Status != http.StatusUnauthorized || out.Message != msgMissingAuthToken {
			t.Fatalf("got %d %q", out.Status, out.Message)
		}
	}
	req := newRequest(t, "GET", srv.URL+"/meetings", nil)
	req.Header.Set("Authorization", "")
	expectRefused(t, send(t, srv.Client(), req), Unauthorized, msgMissingAuthToken)

	if _, err := v.Verify(nil, nil); err == nil {
		t.Fatal("nil request accepted")
	}
	if _, err := v.Verify(&http.Request{}, nil); err == nil {
		t.Fatal("empty request accepted")
	}
}

func TestCredentialWithoutSecretIsRefused(t *testing.T) {
	creds := newMemCredentials(Credential{AccessKeyID: testAKID})
	v := NewVerifier(Config{Service: testService, Credentials: creds, Now: fixedClock(signTime())})
	s := refSigner{akid: testAKID, secret: "", region: testRegion, service: testService}
	r := refSignedRequest(t, s, "GET", "https://chime.us-east-1.amazonaws.com/", "/", "", nil, nil)
	expectRefused(t, verifyInProcess(v, r, nil), Forbidden, msgInvalidToken)
}

// validAuthorization returns a request signed by the reference signer and
// its Authorization header, for the malformed-header tests.
func validAuthorization(t testing.TB) (*http.Request, string) {
	r := refSignedRequest(t, defaultRefSigner(), "GET", "https://chime.us-east-1.amazonaws.com/meetings", "/meetings", "", nil, nil)
	return r, r.Header.Get("Authorization")
}

func TestAuthorizationHeaderWhitespaceVariants(t *testing.T) {
	v := newTestVerifier(signTime())
	r, authz := validAuthorization(t)
	rest := strings.TrimPrefix(authz, "AWS4-HMAC-SHA256 ")
	params := strings.Split(rest, ", ")
	for _, variant := range []string{
		authz,
		"AWS4-HMAC-SHA256 " + strings.Join(params, ","),
		"AWS4-HMAC-SHA256   " + strings.Join(params, " ,  "),
		"AWS4-HMAC-SHA256\t" + strings.Join(params, ",\t"),
		"  AWS4-HMAC-SHA256 " + strings.Join(params, ", ") + "  ",
		// Parameter order is free.
		"AWS4-HMAC-SHA256 " + params[2] + ", " + params[0] + ", " + params[1],
	} {
		r.Header.Set("Authorization", variant)
		if out := verifyInProcess(v, r, nil); out.Status != http.StatusOK {
			t.Errorf("%q refused: %s", variant, out.Message)
		}
	}
}

func TestMalformedAuthorizationHeader(t *testing.T) {
	v := newTestVerifier(signTime())
	_, authz := validAuthorization(t)
	rest := strings.TrimPrefix(authz, "AWS4-HMAC-SHA256 ")
	params := strings.Split(rest, ", ")
	cred, signedHeaders, sig := params[0], params[1], params[2]
	scope := "20260101/us-east-1/chime/aws4_request"
	with := func(c, sh, s string) string { return "AWS4-HMAC-SHA256 " + c + ", " + sh + ", " + s }

	for _, tc := range []struct {
		name, header, msg string
	}{
		{"other scheme", "Bearer abc.def", "Unsupported AWS 'algorithm': 'Bearer'"},
		{"sigv2", "AWS " + testAKID + ":c2lnbmF0dXJl", "Unsupported AWS 'algorithm': 'AWS'"},
		{"other algorithm", strings.Replace(authz, "SHA256", "SHA512", 1), "Unsupported AWS 'algorithm'"},
		{"lowercase algorithm", strings.Replace(authz, "AWS4-HMAC-SHA256", "aws4-hmac-sha256", 1), "Unsupported AWS 'algorithm'"},
		{"algorithm only", "AWS4-HMAC-SHA256",
			"Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. " +
				"Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256"},
		{"no credential", "AWS4-HMAC-SHA256 " + signedHeaders + ", " + sig, "Authorization header requires 'Credential' parameter."},
		{"no signature", "AWS4-HMAC-SHA256 " + cred + ", " + signedHeaders, "Authorization header requires 'Signature' parameter."},
		{"no signed headers", "AWS4-HMAC-SHA256 " + cred + ", " + sig, "Authorization header requires 'SignedHeaders' parameter."},
		{"empty credential", with("Credential=", signedHeaders, sig), "requires 'Credential' parameter"},
		{"duplicate credential", authz + ", " + cred, "duplicate 'Credential' parameter"},
		{"duplicate signature", authz + ", " + sig, "duplicate 'Signature' parameter"},
		{"unknown parameter", authz + ", Foo=bar", "unknown parameter 'Foo'"},
		{"lowercase parameter", strings.Replace(authz, "Credential=", "credential=", 1), "unknown parameter 'credential'"},
		{"missing equal sign", authz + ", Signature", "not a valid key=value pair (missing equal-sign)"},
		{"trailing comma", authz + ",", "not a valid key=value pair"},
		{"double comma", strings.Replace(authz, ", ", ",,", 1), "not a valid key=value pair"},
		{"space separated", "AWS4-HMAC-SHA256 " + cred + " " + signedHeaders + " " + sig, "must be separated by commas"},
		{"space around equal sign", strings.Replace(authz, "Signature=", "Signature = ", 1), "must be separated by commas"},
		{"credential 4 parts", with("Credential="+testAKID+"/20260101/us-east-1/chime", signedHeaders, sig), "exactly 5 slash-delimited elements"},
		{"credential 6 parts", with("Credential="+testAKID+"/x/"+scope, signedHeaders, sig), "exactly 5 slash-delimited elements"},
		{"empty access key", with("Credential=/"+scope, signedHeaders, sig), "access key ID is empty or malformed"},
		{"access key with space", with("Credential=AK%20ID/"+scope, signedHeaders, sig), "access key ID is empty or malformed"},
		{"bad scope date", with("Credential="+testAKID+"/2026011/us-east-1/chime/aws4_request", signedHeaders, sig), "Credential date must be in YYYYMMDD format"},
		{"impossible scope date", with("Credential="+testAKID+"/20261301/us-east-1/chime/aws4_request", signedHeaders, sig), "Credential date must be in YYYYMMDD format"},
		{"empty region", with("Credential="+testAKID+"/20260101//chime/aws4_request", signedHeaders, sig), "Credential should be scoped to a valid region, not ''."},
		{"odd region", with("Credential="+testAKID+"/20260101/us east/chime/aws4_request", signedHeaders, sig), "not a valid key=value pair"},
		{"odd region 2", with("Credential="+testAKID+"/20260101/us:east/chime/aws4_request", signedHeaders, sig), "Credential should be scoped to a valid region, not 'us:east'."},
		{"wrong service", with("Credential="+testAKID+"/20260101/us-east-1/s3/aws4_request", signedHeaders, sig), "Credential should be scoped to correct service: 'chime'."},
		{"wrong terminator", with("Credential="+testAKID+"/20260101/us-east-1/chime/aws4", signedHeaders, sig),
			"Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4'."},
		{"signed headers uppercase", with(cred, "SignedHeaders=Host;x-amz-date", sig), "lowercase header names"},
		{"signed headers unsorted", with(cred, "SignedHeaders=x-amz-date;host", sig), "must be sorted"},
		{"signed headers repeated", with(cred, "SignedHeaders=host;host;x-amz-date", sig), "must not repeat"},
		{"signed headers empty element", with(cred, "SignedHeaders=host;;x-amz-date", sig), "lowercase header names"},
		{"signed headers odd name", with(cred, "SignedHeaders=host;x:amz", sig), "lowercase header names"},
		{"host not signed", with(cred, "SignedHeaders=x-amz-date", sig), msgHostNotSigned},
		{"signature short", with(cred, signedHeaders, sig[:len(sig)-1]), "Signature must be 64 lowercase hexadecimal characters"},
		{"signature long", with(cred, signedHeaders, sig+"0"), "Signature must be 64 lowercase hexadecimal characters"},
		{"signature uppercase", with(cred, signedHeaders, "Signature="+strings.ToUpper(strings.TrimPrefix(sig, "Signature="))), "Signature must be 64 lowercase hexadecimal characters"},
		{"signature not hex", with(cred, signedHeaders, "Signature="+strings.Repeat("g", 64)), "Signature must be 64 lowercase hexadecimal characters"},
		{"huge", authz + ", " + strings.Repeat("Foo=bar, ", 1000), "The Authorization header is too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := validAuthorization(t)
			r.Header.Set("Authorization", tc.header)
			out := verifyInProcess(v, r, nil)
			expectRefused(t, out, Unauthorized, tc.msg)
			if len(out.Message) > 2*maxEcho+400 {
				t.Fatalf("message of %d bytes", len(out.Message))
			}
		})
	}
}

func TestMalformedRequestDates(t *testing.T) {
	v := newTestVerifier(signTime())
	for _, tc := range []struct {
		name   string
		mutate func(http.Header)
		msg    string
	}{
		{"no date", func(h http.Header) { h.Del("X-Amz-Date") },
			"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256 Credential="},
		{"extended format", func(h http.Header) { h.Set("X-Amz-Date", "2026-01-01T12:00:00Z") }, "Date must be in ISO-8601 'basic format'. Got '2026-01-01T12:00:00Z'."},
		{"no zone", func(h http.Header) { h.Set("X-Amz-Date", "20260101T120000") }, "Date must be in ISO-8601 'basic format'"},
		{"impossible", func(h http.Header) { h.Set("X-Amz-Date", "20260132T120000Z") }, "Date must be in ISO-8601 'basic format'"},
		{"twice", func(h http.Header) { h.Add("X-Amz-Date", "20260101T120000Z") }, "must appear only once"},
		{"other day than scope", func(h http.Header) { h.Set("X-Amz-Date", "20260102T000000Z") },
			"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20260101' != '20260102', from '20260102T000000Z'."},
		{"bad Date header", func(h http.Header) { h.Del("X-Amz-Date"); h.Set("Date", "2026-01-01") }, "Date header must be in RFC 1123 format"},
		{"Date header with wrong weekday", func(h http.Header) { h.Del("X-Amz-Date"); h.Set("Date", "Fri, 01 Jan 2026 12:00:00 GMT") }, "Date header must be in RFC 1123 format"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := validAuthorization(t)
			tc.mutate(r.Header)
			expectRefused(t, verifyInProcess(v, r, nil), Unauthorized, tc.msg)
		})
	}
}

// TestDateHeader covers a request dated by the HTTP Date header instead of
// X-Amz-Date, which AWS accepts and which no SDK produces.
func TestDateHeader(t *testing.T) {
	v := newTestVerifier(signTime().Add(time.Minute))
	const httpDate = "Thu, 01 Jan 2026 12:00:00 GMT"
	s := defaultRefSigner()
	r := httptest.NewRequest("GET", "https://chime.us-east-1.amazonaws.com/meetings", nil)
	r.Header.Set("Date", httpDate)
	sign := func(headers [][2]string) {
		r.Header.Set("Authorization", s.authorization(refRequest{method: "GET", canonicalURI: "/meetings",
			headers: headers, payloadHash: sha256Hex(nil), date: signTime()}))
	}
	sign([][2]string{{"date", httpDate}, {"host", r.Host}})
	out := verifyInProcess(v, r, nil)
	expectOK(t, out)
	if !out.Date.Equal(signTime()) {
		t.Fatalf("Result.Date = %v", out.Date)
	}

	// The date is bound through the string to sign even when unsigned.
	sign([][2]string{{"host", r.Host}})
	expectOK(t, verifyInProcess(v, r, nil))
	r.Header.Set("Date", "Thu, 01 Jan 2026 12:00:01 GMT")
	expectRefused(t, verifyInProcess(v, r, nil), Forbidden, msgSignatureMismatch)

	// X-Amz-Date wins over Date.
	r.Header.Set("Date", "Mon, 05 Jan 2026 00:00:00 GMT")
	r.Header.Set("X-Amz-Date", "20260101T120000Z")
	sign([][2]string{{"host", r.Host}, {"x-amz-date", "20260101T120000Z"}})
	expectOK(t, verifyInProcess(v, r, nil))
}

func TestMalformedPresignedQuery(t *testing.T) {
	v := newTestVerifier(signTime())
	for _, tc := range []struct {
		name   string
		mutate func(url.Values)
		msg    string
	}{
		{"no algorithm", func(q url.Values) { q.Del("X-Amz-Algorithm") }, "AWS query-string parameters must include 'X-Amz-Algorithm'. Re-examine the query-string parameters."},
		{"no credential", func(q url.Values) { q.Del("X-Amz-Credential") }, "must include 'X-Amz-Credential'"},
		{"no date", func(q url.Values) { q.Del("X-Amz-Date") }, "must include 'X-Amz-Date'"},
		{"no expires", func(q url.Values) { q.Del("X-Amz-Expires") }, "must include 'X-Amz-Expires'"},
		{"no signed headers", func(q url.Values) { q.Del("X-Amz-SignedHeaders") }, "must include 'X-Amz-SignedHeaders'"},
		{"no signature", func(q url.Values) { q.Del("X-Amz-Signature") }, "must include 'X-Amz-Signature'"},
		{"only algorithm", func(q url.Values) {
			for k := range q {
				if k != "X-Amz-Algorithm" {
					q.Del(k)
				}
			}
		}, "must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Date'."},
		{"repeated signature", func(q url.Values) { q.Add("X-Amz-Signature", q.Get("X-Amz-Signature")) }, "'X-Amz-Signature' must appear only once"},
		{"repeated credential", func(q url.Values) { q.Add("X-Amz-Credential", q.Get("X-Amz-Credential")) }, "'X-Amz-Credential' must appear only once"},
		{"repeated token", func(q url.Values) { q.Add("X-Amz-Security-Token", "a"); q.Add("X-Amz-Security-Token", "a") }, "'X-Amz-Security-Token' must appear only once"},
		{"wrong algorithm", func(q url.Values) { q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA1") }, `X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"`},
		{"bad date", func(q url.Values) { q.Set("X-Amz-Date", "20260101") }, "X-Amz-Date must be in the ISO8601 Long Format"},
		{"scope date", func(q url.Values) { q.Set("X-Amz-Date", "20260102T120000Z") }, "Date in Credential scope does not match"},
		{"wrong service", func(q url.Values) {
			q.Set("X-Amz-Credential", testAKID+"/20260101/us-east-1/execute-api/aws4_request")
		}, "Credential should be scoped to correct service: 'chime'."},
		{"signed headers without host", func(q url.Values) { q.Set("X-Amz-SignedHeaders", "x-amz-date") }, msgHostNotSigned},
		{"signed headers huge", func(q url.Values) { q.Set("X-Amz-SignedHeaders", "host;"+strings.Repeat("x", 9000)) }, "X-Amz-SignedHeaders is too long"},
		{"signature not hex", func(q url.Values) { q.Set("X-Amz-Signature", strings.Repeat("z", 64)) }, "Signature must be 64 lowercase hexadecimal characters"},
		{"credential huge", func(q url.Values) { q.Set("X-Amz-Credential", strings.Repeat("A", 600)) }, "Credential is too long"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := presignedInProcess(t, time.Minute)
			q := r.URL.Query()
			tc.mutate(q)
			r.URL.RawQuery = q.Encode()
			expectRefused(t, verifyInProcess(v, r, nil), Unauthorized, tc.msg)
		})
	}

	t.Run("query too long", func(t *testing.T) {
		r := presignedInProcess(t, time.Minute)
		r.URL.RawQuery += "&pad=" + strings.Repeat("x", maxQueryLen)
		expectRefused(t, verifyInProcess(v, r, nil), Unauthorized, "The query string is too long")
	})
	for _, raw := range []string{"a=%zz", "a=1;b=2", "%=x"} {
		t.Run("query "+raw, func(t *testing.T) {
			r := presignedInProcess(t, time.Minute)
			r.URL.RawQuery += "&" + raw
			expectRefused(t, verifyInProcess(v, r, nil), Unauthorized, "The query string is malformed")
		})
	}
}

// TestCanonicalURI checks the double encoding of paths and the two
// normalization choices against canonical URIs spelled out by hand.
func TestCanonicalURI(t *testing.T) {
	v := newTestVerifier(signTime())
	s := defaultRefSigner()
	const host = "https://chime.us-east-1.amazonaws.com"
	for _, tc := range []struct {
		name, path, canonicalURI string
	}{
		{"empty", "", "/"},
		{"root", "/", "/"},
		{"plain", "/meetings/m-1", "/meetings/m-1"},
		{"space", "/meetings/a%20b", "/meetings/a%2520b"},
		{"encoded slash", "/meetings/c%2Fd", "/meetings/c%252Fd"},
		{"lowercase escape kept as sent", "/meetings/c%2fd", "/meetings/c%252fd"},
		{"colon", "/meetings/e:f", "/meetings/e%3Af"},
		{"utf-8", "/meetings/%C3%A9t%C3%A9", "/meetings/%25C3%25A9t%25C3%25A9"},
		{"plus and sub-delimiters", "/a+b/!$&'()*,;=@", "/a%2Bb/%21%24%26%27%28%29%2A%2C%3B%3D%40"},
		{"unreserved", "/A-Z_a.z~0", "/A-Z_a.z~0"},
		{"trailing slash", "/meetings/", "/meetings/"},
		// Not normalized, as aws-sdk-go and aws-sdk-go-v2 sign it:
		{"dot segments as sent", "/meetings/./m-1/../m-2", "/meetings/./m-1/../m-2"},
		{"double slash as sent", "//meetings//m-1/", "//meetings//m-1/"},
		// Normalized, as botocore signs it:
		{"dot segments normalized", "/meetings/./m-1/../m-2", "/meetings/m-2"},
		{"double slash normalized", "//meetings//m-1/", "/meetings/m-1/"},
		{"above root normalized", "/../../meetings", "/meetings"},
		{"only dots normalized", "/./..", "/"},
		{"encoded dots are not dots", "/meetings/%2E%2E/m-1", "/meetings/%252E%252E/m-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := refSignedRequest(t, s, "GET", host+tc.path, tc.canonicalURI, "", nil, nil)
			expectOK(t, verifyInProcess(v, r, nil))
		})
	}

	// A signature for one path does not verify another that merely
	// normalizes differently.
	for _, tc := range []struct{ path, signedFor string }{
		{"/meetings/./m-1/../m-2", "/meetings/m-1"},
		{"/meetings/m-1", "/meetings/m-1/"},
		{"/meetings/a%20b", "/meetings/a b"},
		{"/meetings/a%20b", "/meetings/a%20b"}, // single encoding, as for S3
		{"/meetings/c%2Fd", "/meetings/c/d"},
	} {
		t.Run("refused "+tc.path+" signed for "+tc.signedFor, func(t *testing.T) {
			r := refSignedRequest(t, s, "GET", host+tc.path, tc.signedFor, "", nil, nil)
			expectRefused(t, verifyInProcess(v, r, nil), Forbidden, msgSignatureMismatch)
		})
	}
}

func TestCanonicalQuery(t *testing.T) {
	v := newTestVerifier(signTime())
	s := defaultRefSigner()
	const host = "https://chime.us-east-1.amazonaws.com/meetings"
	for _, tc := range []struct {
		name, query, canonical string
	}{
		{"sorted by name then value", "b=2&a=1&a=0", "a=0&a=1&b=2"},
		{"empty values keep =", "c=&d", "c=&d="},
		{"space and plus", "q=a+b%2Bc%20d", "q=a%20b%2Bc%20d"},
		{"utf-8", "%C3%A9=%C3%BC", "%C3%A9=%C3%BC"},
		{"reserved characters", "k=%2F%3F%3D%26%2A~", "k=%2F%3F%3D%26%2A~"},
		{"sorted after encoding", "k=a%20b&k=%C3%A9&k=-", "k=%C3%A9&k=-&k=a%20b"},
		{"empty pairs ignored", "a=1&&b=2&", "a=1&b=2"},
		{"names sorted by encoded form", "b=1&%2A=2&B=3", "%2A=2&B=3&b=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := refSignedRequest(t, s, "GET", host+"?"+tc.query, "/meetings", tc.canonical, nil, nil)
			expectOK(t, verifyInProcess(v, r, nil))
		})
	}
}

func TestCanonicalHeaders(t *testing.T) {
	v := newTestVerifier(signTime())
	s := defaultRefSigner()
	const target = "https://chime.us-east-1.amazonaws.com/meetings"

	t.Run("values trimmed, spaces collapsed, repeats joined", func(t *testing.T) {
		r := refSignedRequest(t, s, "GET", target, "/meetings", "",
			[][2]string{{"x-multi", "a b,c d"}, {"x-spaced", "e f g"}}, nil)
		r.Header["X-Multi"] = []string{"  a  b  ", "c   d"}
		r.Header.Set("X-Spaced", "e     f  g")
		expectOK(t, verifyInProcess(v, r, nil))
	})
	t.Run("empty value", func(t *testing.T) {
		r := refSignedRequest(t, s, "GET", target, "/meetings", "", [][2]string{{"x-empty", ""}}, nil)
		r.Header["X-Empty"] = []string{""}
		expectOK(t, verifyInProcess(v, r, nil))
	})
	t.Run("signed empty header missing from the request", func(t *testing.T) {
		// Absent is not the same as empty: the client signed a header it sent.
		r := refSignedRequest(t, s, "GET", target, "/meetings", "", [][2]string{{"x-empty", ""}}, nil)
		r.Header.Del("X-Empty")
		expectRefused(t, verifyInProcess(v, r, nil), Forbidden, msgSignatureMismatch)
	})
	t.Run("signed header missing from the request", func(t *testing.T) {
		r := refSignedRequest(t, s, "GET", target, "/meetings", "", [][2]string{{"x-gone", "v"}}, nil)
		r.Header.Del("X-Gone")
		expectRefused(t, verifyInProcess(v, r, nil), Forbidden, msgSignatureMismatch)
	})
	t.Run("content-length from ContentLength", func(t *testing.T) {
		body := []byte(testJSONBody)
		r := v2SignedInProcess(t, testCredentials()[0], body) // signs content-length
		if !strings.Contains(r.Header.Get("Authorization"), "content-length") || r.Header.Get("Content-Length") != "" {
			t.Fatal("test needs a signed content-length that is not in r.Header")
		}
		expectOK(t, verifyInProcess(newTestVerifier(signTime()), r, body))
		r.ContentLength = -1
		expectRefused(t, verifyInProcess(newTestVerifier(signTime()), r, body), Forbidden, msgSignatureMismatch)
	})
	t.Run("transfer-encoding from TransferEncoding", func(t *testing.T) {
		r := refSignedRequest(t, s, "POST", target, "/meetings", "", [][2]string{{"transfer-encoding", "chunked"}}, nil)
		r.Header.Del("Transfer-Encoding")
		r.TransferEncoding = []string{"chunked"}
		expectOK(t, verifyInProcess(v, r, nil))
	})
	t.Run("expect consumed by the server", func(t *testing.T) {
		body := []byte(testJSONBody)
		r := httptest.NewRequest("POST", target, bytes.NewReader(body))
		r.Header.Set("Expect", "100-continue")
		signV1(t, r, body, testCredentials()[0], false)
		r.Header.Del("Expect") // as Go's HTTP/2 server does
		expectOK(t, verifyInProcess(v, r, body))
	})
	t.Run("host missing", func(t *testing.T) {
		r, _ := validAuthorization(t)
		r.Host = ""
		expectRefused(t, verifyInProcess(v, r, nil), Forbidden, msgSignatureMismatch)
	})
}

func TestPayloadHash(t *testing.T) {
	v := newTestVerifier(signTime())
	body := []byte(testJSONBody)
	signed := func(contentSHA string) *http.Request {
		r := httptest.NewRequest("POST", "https://chime.us-east-1.amazonaws.com/meetings", bytes.NewReader(body))
		payload := sha256Hex(body)
		if contentSHA != "" {
			r.Header.Set("X-Amz-Content-Sha256", contentSHA)
			payload = contentSHA
		}
		signV2(t, r, testCredentials()[0], payload)
		return r
	}
	other := []byte(strings.Replace(testJSONBody, "standup", "standUP", 1))

	expectOK(t, verifyInProcess(v, signed(""), body))
	expectRefused(t, verifyInProcess(v, signed(""), other), Forbidden, msgSignatureMismatch)

	expectOK(t, verifyInProcess(v, signed(sha256Hex(body)), body))
	expectRefused(t, verifyInProcess(v, signed(sha256Hex(body)), other), Forbidden, msgContentSHAMismatch)
	expectRefused(t, verifyInProcess(v, signed(sha256Hex(other)), body), Forbidden, msgContentSHAMismatch)
	expectRefused(t, verifyInProcess(v, signed("not-a-hash"), body), Unauthorized, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.")
	expectRefused(t, verifyInProcess(v, signed("STREAMING-AWS4-HMAC-SHA256-PAYLOAD"), body), Unauthorized, "must be UNSIGNED-PAYLOAD")

	// UNSIGNED-PAYLOAD: the client chose not to sign the body.
	expectOK(t, verifyInProcess(v, signed("UNSIGNED-PAYLOAD"), body))
	expectOK(t, verifyInProcess(v, signed("UNSIGNED-PAYLOAD"), other))

	// A header-signed request claiming UNSIGNED-PAYLOAD without saying so in
	// X-Amz-Content-Sha256 is refused: the body would be unauthenticated.
	r := httptest.NewRequest("POST", "https://chime.us-east-1.amazonaws.com/meetings", bytes.NewReader(body))
	signV2(t, r, testCredentials()[0], "UNSIGNED-PAYLOAD")
	expectRefused(t, verifyInProcess(v, r, body), Forbidden, msgSignatureMismatch)

	r = signed(sha256Hex(body))
	r.Header.Add("X-Amz-Content-Sha256", sha256Hex(body))
	expectRefused(t, verifyInProcess(v, r, body), Unauthorized, "must appear only once")
}

func TestKeyCacheRotationTakesEffectImmediately(t *testing.T) {
	creds := defaultCredentials()
	v := NewVerifier(Config{Service: testService, Credentials: creds, Now: fixedClock(signTime())})
	oldCred := testCredentials()[0]
	body := []byte(testJSONBody)

	expectOK(t, verifyInProcess(v, v2SignedInProcess(t, oldCred, body), body))
	expectOK(t, verifyInProcess(v, v2SignedInProcess(t, oldCred, body), body)) // from the cache
	if v.keys.len() != 1 {
		t.Fatalf("%d cached keys, want 1", v.keys.len())
	}

	newCred := oldCred
	newCred.SecretAccessKey = "rotated/SECRET/key/EXAMPLE0000000000000000"
	creds.set(newCred)
	expectRefused(t, verifyInProcess(v, v2SignedInProcess(t, oldCred, body), body), Forbidden, msgSignatureMismatch)
	expectOK(t, verifyInProcess(v, v2SignedInProcess(t, newCred, body), body))

	creds.set(oldCred) // and back
	expectOK(t, verifyInProcess(v, v2SignedInProcess(t, oldCred, body), body))
	expectRefused(t, verifyInProcess(v, v2SignedInProcess(t, newCred, body), body), Forbidden, msgSignatureMismatch)
}

func TestKeyCacheIsBoundedAndOnlyHoldsVerifiedKeys(t *testing.T) {
	v := newTestVerifier(signTime())
	r, authz := validAuthorization(t)
	r.Header.Set("Authorization", flipLastSignatureDigit(authz))
	for range 10 {
		expectRefused(t, verifyInProcess(v, r, nil), Forbidden, msgSignatureMismatch)
	}
	if n := v.keys.len(); n != 0 {
		t.Fatalf("failed verifications cached %d keys", n)
	}

	for i := range maxCachedKeys + 50 {
		s := defaultRefSigner()
		s.region = "region-" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + "-" + strconv.Itoa(i)
		r := refSignedRequest(t, s, "GET", "https://chime.example/", "/", "", nil, nil)
		out := verifyInProcess(v, r, nil)
		expectOK(t, out)
		if out.Region != s.region {
			t.Fatalf("Result.Region = %q, want %q", out.Region, s.region)
		}
		if n := v.keys.len(); n > maxCachedKeys {
			t.Fatalf("%d cached keys, bound is %d", n, maxCachedKeys)
		}
	}
}

func TestConcurrentVerify(t *testing.T) {
	creds := defaultCredentials()
	v := NewVerifier(Config{Service: testService, Credentials: creds, Now: fixedClock(signTime())})
	body := []byte(testJSONBody)
	good := v2SignedInProcess(t, testCredentials()[0], body)
	temp := v2SignedInProcess(t, testCredentials()[1], body)
	bad := v2SignedInProcess(t, testCredentials()[0], body)
	bad.Header.Set("Authorization", flipLastSignatureDigit(bad.Header.Get("Authorization")))

	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				if g == 0 && i%50 == 0 {
					creds.set(testCredentials()[0]) // concurrent writes to the store
				}
				if out := verifyInProcess(v, good, body); out.Status != http.StatusOK {
					errs <- "good: " + out.Message
					return
				}
				if out := verifyInProcess(v, temp, body); out.Status != http.StatusOK {
					errs <- "temp: " + out.Message
					return
				}
				if out := verifyInProcess(v, bad, body); out.Status == http.StatusOK {
					errs <- "bad accepted"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestNewVerifierRejectsBadConfig(t *testing.T) {
	for _, cfg := range []Config{{Credentials: defaultCredentials()}, {Service: testService}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("NewVerifier(%+v) did not panic", cfg)
				}
			}()
			NewVerifier(cfg)
		}()
	}
	v := NewVerifier(Config{Service: testService, Credentials: defaultCredentials()})
	if v.maxSkew != 15*time.Minute || v.maxPresignExpiry != 7*24*time.Hour || v.now == nil {
		t.Fatalf("defaults not applied: %+v", v)
	}
}

func TestErrorFormatting(t *testing.T) {
	e := &Error{Kind: Forbidden, Message: msgInvalidToken}
	if got := e.Error(); got != "sigv4: forbidden: "+msgInvalidToken {
		t.Fatalf("Error() = %q", got)
	}
	if got := echo("a\x00b\xffc" + strings.Repeat("x", 300)); len(got) != maxEcho+3 || !strings.HasPrefix(got, "a?b?c") {
		t.Fatalf("echo = %q", got)
	}
}

func TestMessagesNeverContainSecrets(t *testing.T) {
	v := newTestVerifier(signTime())
	r, authz := validAuthorization(t)
	for _, h := range []string{
		flipLastSignatureDigit(authz),
		strings.Replace(authz, "/chime/", "/"+testSecret+"/", 1),
		authz + ", Foo=" + testSecret,
	} {
		r.Header.Set("Authorization", h)
		out := verifyInProcess(v, r, nil)
		if out.Status == http.StatusOK {
			t.Fatalf("accepted %q", h)
		}
		if strings.Contains(out.Message, "wJalrXUtnFEMI") && !strings.Contains(h, "wJalrXUtnFEMI") {
			t.Fatalf("message leaks the secret: %q", out.Message)
		}
	}
}
