package sigv4

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"testing"

	awsv2 "github.com/aws/aws-sdk-go-v2/aws"
	signerv2 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// The Signer's headers are those aws-sdk-go-v2 writes for the same request,
// and the Verifier accepts them.
func TestSignerAgreesWithTheSDK(t *testing.T) {
	cred := Credential{AccessKeyID: testAKID, SecretAccessKey: testSecret}
	s := NewSigner(cred.AccessKeyID, cred.SecretAccessKey, testRegion, testService)
	sdk := signerv2.NewSigner()
	for _, tc := range []struct {
		method, target string
		body           []byte
	}{
		{"GET", "http://127.0.0.1:8080/meetings/0195f3a2-1c2b-7d4e-8f90-a1b2c3d4e5f6", nil},
		{"POST", "http://127.0.0.1:8080/meetings", []byte(`{"ClientRequestToken":"t-1","MediaRegion":"us-east-1"}`)},
		{"POST", "http://localhost/meetings/m/attendees?operation=batch-create", []byte(`{"Attendees":[]}`)},
		{"GET", "http://localhost/meetings/m/attendees?next-token=a%2Bb%3D%3D&max-results=10", nil},
		{"DELETE", "http://localhost/meetings/a%20b/attendees/x", nil},
	} {
		req := newRequest(t, tc.method, tc.target, tc.body)
		sum := sha256.Sum256(tc.body)
		if err := sdk.SignHTTP(context.Background(), awsv2.Credentials{AccessKeyID: cred.AccessKeyID, SecretAccessKey: cred.SecretAccessKey},
			req, hex.EncodeToString(sum[:]), testService, testRegion, signTime()); err != nil {
			t.Fatal(err)
		}
		date, authz, err := s.Sign(&Request{Method: tc.method, Host: req.URL.Host, Path: req.URL.EscapedPath(), RawQuery: req.URL.RawQuery,
			ContentType: req.Header.Get("Content-Type"), ContentLength: len(tc.body), PayloadHash: sum}, signTime())
		if err != nil {
			t.Fatal(err)
		}
		if date != req.Header.Get("X-Amz-Date") || authz != req.Header.Get("Authorization") {
			t.Errorf("%s %s:\n got %s / %s\nwant %s / %s", tc.method, tc.target, date, authz, req.Header.Get("X-Amz-Date"), req.Header.Get("Authorization"))
		}
		own := newRequest(t, tc.method, tc.target, tc.body)
		own.Header.Set("X-Amz-Date", date)
		own.Header.Set("Authorization", authz)
		own.Header.Set("Host", req.URL.Host)
		own.Host = req.URL.Host
		if out := verifyInProcess(newTestVerifier(signTime()), own, tc.body); out.Status != http.StatusOK {
			t.Errorf("%s %s: refused: %+v", tc.method, tc.target, out)
		}
	}
}

// An empty path is signed as the "/" that goes on the wire.
func TestSignerEmptyPath(t *testing.T) {
	s := NewSigner("AKID", "secret", testRegion, testService)
	_, a, err := s.Sign(&Request{Method: "GET", Host: "h"}, signTime())
	if err != nil {
		t.Fatal(err)
	}
	_, b, _ := s.Sign(&Request{Method: "GET", Host: "h", Path: "/"}, signTime())
	if a != b {
		t.Fatalf("%s\n%s", a, b)
	}
}

func TestSignerRefusesABadQuery(t *testing.T) {
	s := NewSigner("AKID", "secret", testRegion, testService)
	if _, _, err := s.Sign(&Request{Method: "GET", Host: "h", Path: "/", RawQuery: "a=%zz"}, signTime()); err == nil {
		t.Fatal("signed a query with a bad escape")
	}
}

func BenchmarkSign(b *testing.B) {
	s := NewSigner("AKIDEXAMPLE", "secret", testRegion, testService)
	r := &Request{Method: "POST", Host: "127.0.0.1:8080", Path: "/meetings/0195f3a2-1c2b-7d4e-8f90-a1b2c3d4e5f6/attendees",
		ContentType: "application/json", ContentLength: 22, PayloadHash: sha256.Sum256([]byte(`{"ExternalUserId":"u"}`))}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := s.Sign(r, signTime()); err != nil {
			b.Fatal(err)
		}
	}
}
