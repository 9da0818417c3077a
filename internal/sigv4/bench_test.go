package sigv4

import (
	"bytes"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkVerifyHeader verifies a typical header-signed POST with a ~200-byte
// JSON body, signed by aws-sdk-go-v2 (signing key cached after the first
// request, as in steady state).
func BenchmarkVerifyHeader(b *testing.B) {
	body := []byte(testJSONBody)
	r := httptest.NewRequest("POST", "https://meetings-chime.us-east-1.amazonaws.com/meetings", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "aws-sdk-go-v2/1.48.0 os/linux lang/go#1.26 api/chimesdkmeetings#1.0")
	r.Header.Set("Amz-Sdk-Invocation-Id", "0b1f4a52-6c1e-4f7e-9b0a-6f1e2d3c4b5a")
	r.Header.Set("Amz-Sdk-Request", "attempt=1; max=3")
	signV2(b, r, testCredentials()[1], sha256Hex(body))
	v := newTestVerifier(signTime().Add(time.Second))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyPresigned verifies a presigned GET with a session token.
func BenchmarkVerifyPresigned(b *testing.B) {
	req := httptest.NewRequest("GET", "https://meetings-chime.us-east-1.amazonaws.com/meetings/m-1/attendees?max-results=10", nil)
	r := presignV2(b, req, nil, testCredentials()[1], "UNSIGNED-PAYLOAD", 15*time.Minute)
	r.Host = r.URL.Host
	v := newTestVerifier(signTime().Add(time.Second))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyHeaderUncachedKey is BenchmarkVerifyHeader with the signing
// key derived on every request, to show what the cache saves.
func BenchmarkVerifyHeaderUncachedKey(b *testing.B) {
	body := []byte(testJSONBody)
	r := httptest.NewRequest("POST", "https://meetings-chime.us-east-1.amazonaws.com/meetings", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	signV2(b, r, testCredentials()[1], sha256Hex(body))
	v := newTestVerifier(signTime().Add(time.Second))
	b.ReportAllocs()
	for b.Loop() {
		v.keys.mu.Lock()
		v.keys.keys = nil
		v.keys.mu.Unlock()
		if _, err := v.Verify(r, body); err != nil {
			b.Fatal(err)
		}
	}
}
