package sigv4

import (
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

const fuzzSignature = "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

// checkRefusal asserts that err is an *Error of the given kind with a short,
// printable message.
func checkRefusal(t *testing.T, err error, kind Kind) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not an *Error", err, err)
	}
	if e.Kind != kind {
		t.Fatalf("kind %d, want %d: %s", e.Kind, kind, e.Message)
	}
	if e.Message == "" || len(e.Message) > 2*maxEcho+512 || !utf8.ValidString(e.Message) {
		t.Fatalf("bad message (%d bytes): %q", len(e.Message), e.Message)
	}
	for i := 0; i < len(e.Message); i++ {
		if c := e.Message[i]; c < 0x20 || c > 0x7e {
			t.Fatalf("message contains byte %#x: %q", c, e.Message)
		}
	}
}

// checkParsed asserts the invariants every accepted signedRequest has.
func checkParsed(t *testing.T, sr signedRequest) {
	t.Helper()
	if len(sr.signature) != 32 {
		t.Fatalf("signature of %d bytes", len(sr.signature))
	}
	if !isScopeElement(sr.accessKeyID, maxAccessKeyIDLen) || !isScopeElement(sr.scope.region, maxRegionLen) {
		t.Fatalf("bad access key or region: %q %q", sr.accessKeyID, sr.scope.region)
	}
	if sr.scope.service != testService {
		t.Fatalf("service %q", sr.scope.service)
	}
	if _, ok := parseScopeDate(sr.scope.date); !ok {
		t.Fatalf("scope date %q", sr.scope.date)
	}
	hasHost := false
	for i, name := range sr.signedHeaders {
		if !isLowerToken(name) || (i > 0 && name <= sr.signedHeaders[i-1]) {
			t.Fatalf("signed headers %q", sr.signedHeaders)
		}
		hasHost = hasHost || name == "host"
	}
	if !hasHost {
		t.Fatalf("host not signed: %q", sr.signedHeaders)
	}
}

func formatAuthorization(sr signedRequest) string {
	return "AWS4-HMAC-SHA256 Credential=" + sr.accessKeyID + "/" + sr.scope.String() +
		", SignedHeaders=" + strings.Join(sr.signedHeaders, ";") + ", Signature=" + hex.EncodeToString(sr.signature)
}

func FuzzParseAuthorization(f *testing.F) {
	const cred = "Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/chime/aws4_request"
	const signed = "SignedHeaders=content-type;host;x-amz-date"
	const sig = "Signature=" + fuzzSignature
	for _, seed := range []string{
		"AWS4-HMAC-SHA256 " + cred + ", " + signed + ", " + sig,
		"AWS4-HMAC-SHA256 " + cred + "," + signed + "," + sig,
		"AWS4-HMAC-SHA256\t" + cred + " ,\t" + signed + " , " + sig + " ",
		"AWS4-HMAC-SHA256 " + sig + ", " + cred + ", " + signed,
		"AWS4-HMAC-SHA256 Credential=a/20260229/x/chime/aws4_request, SignedHeaders=host, " + sig,
		"",
		"Bearer token",
		"AWS4-HMAC-SHA256",
		"AWS4-HMAC-SHA256 " + cred + ", " + cred + ", " + signed + ", " + sig,
		"AWS4-HMAC-SHA256 " + cred + ", " + signed + ", " + sig + ", Foo=bar",
		"AWS4-HMAC-SHA256 " + cred + " " + signed + " " + sig,
		"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=x-amz-date;host, " + sig,
		"AWS4-HMAC-SHA256 " + cred + ", SignedHeaders=Host, " + sig,
		"AWS4-HMAC-SHA256 " + cred + ", " + signed + ", Signature=" + strings.ToUpper(fuzzSignature),
		"AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, " + signed + ", " + sig,
		"AWS4-HMAC-SHA256 Credential=AKID/2026-01-01/us-east-1/chime/aws4_request, " + signed + ", " + sig,
		"AWS4-HMAC-SHA256 Credential=AKID//us-east-1/chime/aws4_request/, " + signed + ", " + sig,
		"AWS4-HMAC-SHA256 ,,,===,;;; \x00\xff",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, h string) {
		sr, err := parseAuthorizationHeader(h, testService)
		if err != nil {
			checkRefusal(t, err, Unauthorized)
			return
		}
		checkParsed(t, sr)
		if sr.presigned {
			t.Fatal("header form marked presigned")
		}
		// What was accepted is what the header says.
		for _, want := range []string{
			"Credential=" + sr.accessKeyID + "/" + sr.scope.String(),
			"SignedHeaders=" + strings.Join(sr.signedHeaders, ";"),
			"Signature=" + hex.EncodeToString(sr.signature),
		} {
			if !strings.Contains(h, want) {
				t.Fatalf("accepted %q but it does not contain %q", h, want)
			}
		}
		// And it round-trips through the canonical formatting.
		again, err := parseAuthorizationHeader(formatAuthorization(sr), testService)
		if err != nil || !reflect.DeepEqual(again, sr) {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", h, again, err, sr)
		}
	})
}

// encodeQuery writes params back into a query string, in order.
func encodeQuery(params []queryParam) string {
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.key) + "=" + url.QueryEscape(p.value))
	}
	return b.String()
}

func FuzzParsePresigned(f *testing.F) {
	valid := presignedInProcess(f, 5*time.Minute).URL.RawQuery
	const base = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fchime%2Faws4_request" +
		"&X-Amz-Date=20260101T120000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=" + fuzzSignature
	for _, seed := range []string{
		valid,
		base,
		base + "&X-Amz-Security-Token=abc%2Bdef&a=b+c&%C3%A9=",
		strings.Replace(base, "X-Amz-Expires=300", "X-Amz-Expires=604801", 1),
		strings.Replace(base, "X-Amz-Expires=300", "X-Amz-Expires=0", 1),
		strings.Replace(base, "X-Amz-Date=20260101T120000Z", "X-Amz-Date=20260102T120000Z", 1),
		strings.Replace(base, "%2Fchime%2F", "%2Fs3%2F", 1),
		strings.Replace(base, "SignedHeaders=host", "SignedHeaders=x-amz-date", 1),
		base + "&X-Amz-Signature=" + fuzzSignature,
		base + "&a=%zz",
		base + ";a=b",
		"X-Amz-Algorithm=AWS4-HMAC-SHA256",
		"X-Amz-Signature=00",
		"",
		"&&&=&==&%",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		params, err := parseQuery(raw)
		if err != nil {
			checkRefusal(t, err, Unauthorized)
			return
		}
		sr, err := parsePresignedQuery(params, testService, defaultMaxPresignExpiry)
		if err != nil {
			checkRefusal(t, err, Unauthorized)
			return
		}
		checkParsed(t, sr)
		if !sr.presigned || !isPresigned(params) {
			t.Fatal("presigned form not marked presigned")
		}
		if sr.expires < time.Second || sr.expires > defaultMaxPresignExpiry || sr.expires%time.Second != 0 {
			t.Fatalf("expires %v", sr.expires)
		}
		if sr.date.Format(scopeDateLayout) != sr.scope.date || sr.date.Location() != time.UTC {
			t.Fatalf("date %v does not match scope %q", sr.date, sr.scope.date)
		}
		cq := canonicalQueryString(params, true)
		for _, p := range strings.Split(cq, "&") {
			if strings.HasPrefix(p, paramSignature+"=") {
				t.Fatalf("canonical query contains the signature: %q", cq)
			}
		}
		// Re-encoding the parameters gives the same parameters, the same
		// authentication data and the same canonical query.
		again := encodeQuery(params)
		if len(again) > maxQueryLen {
			return
		}
		params2, err := parseQuery(again)
		if err != nil || !reflect.DeepEqual(params2, params) {
			t.Fatalf("re-encoded %q parsed as %+v, %v; want %+v", again, params2, err, params)
		}
		sr2, err := parsePresignedQuery(params2, testService, defaultMaxPresignExpiry)
		if err != nil || !reflect.DeepEqual(sr2, sr) {
			t.Fatalf("re-encoded query: %+v, %v; want %+v", sr2, err, sr)
		}
		if cq2 := canonicalQueryString(params2, true); cq2 != cq {
			t.Fatalf("canonical query changed: %q vs %q", cq2, cq)
		}
	})
}

// FuzzVerify runs whole requests through Verify: it must never panic, must
// refuse with an *Error, and may accept only what the seed signed.
func FuzzVerify(f *testing.F) {
	r, authz := validAuthorization(f)
	f.Add("GET", r.URL.RequestURI(), authz, r.Header.Get("X-Amz-Date"), "", "")
	presigned := presignedInProcess(f, time.Minute)
	f.Add("GET", presigned.URL.RequestURI(), "", "", "", "")
	f.Add("POST", "//a/./b/../%2E%2E/c%2f?x=1&x=2&X-Amz-Signature=1", authz, "20260101T120000Z", "UNSIGNED-PAYLOAD", "body")
	f.Add("PUT", "/meetings?X-Amz-Algorithm=x", "AWS4-HMAC-SHA256 Credential=a", "Thu, 01 Jan 2026 12:00:00 GMT", "00", "")
	v := newTestVerifier(signTime())
	f.Fuzz(func(t *testing.T, method, target, authorization, date, contentSHA, body string) {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		req := &http.Request{Method: method, URL: u, Host: "chime.us-east-1.amazonaws.com", Header: http.Header{},
			ContentLength: int64(len(body))}
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		if date != "" {
			req.Header.Set("X-Amz-Date", date)
			req.Header.Set("Date", date)
		}
		if contentSHA != "" {
			req.Header.Set("X-Amz-Content-Sha256", contentSHA)
		}
		res, err := v.Verify(req, []byte(body))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || (e.Kind != Unauthorized && e.Kind != Forbidden) || res != (Result{}) {
				t.Fatalf("bad refusal: %v, %+v", err, res)
			}
			return
		}
		if res.Credential.AccessKeyID != testAKID || res.Region != testRegion {
			t.Fatalf("accepted an unexpected request: %+v", res)
		}
	})
}
