package sigv4

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"
	"time"
)

// Signer signs requests the way the AWS SDKs do, for Carillon's own
// clients (the load generator): its signatures are byte for byte those of
// the SDK signers for the same headers. It keeps the day's signing key, so
// that a request costs one HMAC, and is safe for concurrent use.
type Signer struct {
	accessKeyID string
	secret      string
	region      string
	service     string

	mu    sync.Mutex
	scope credentialScope
	key   *signingKey
}

// NewSigner returns a Signer for one credential, region and service.
func NewSigner(accessKeyID, secret, region, service string) *Signer {
	return &Signer{accessKeyID: accessKeyID, secret: secret, region: region, service: service}
}

// Request is what a signature covers: the method, the host and path as
// sent, the raw (encoded) query, the Content-Type header when the request
// has one, and the length and SHA-256 of the body.
type Request struct {
	Method        string
	Host          string
	Path          string
	RawQuery      string
	ContentType   string
	ContentLength int
	PayloadHash   [sha256.Size]byte
}

// Sign returns the values of the X-Amz-Date and Authorization headers for r
// sent at t. The signed headers are host, x-amz-date and, as the SDKs
// sign them, content-length for a body and content-type when set.
func (s *Signer) Sign(r *Request, t time.Time) (amzDate, authorization string, err error) {
	t = t.UTC()
	amzDate = t.Format(amzDateLayout)
	scope := credentialScope{date: amzDate[:8], region: s.region, service: s.service}
	var query string
	if r.RawQuery != "" {
		params, err := parseQuery(r.RawQuery)
		if err != nil {
			return "", "", err
		}
		query = canonicalQueryString(params, false)
	}
	signed := "host;x-amz-date"
	headers := "host:" + r.Host + "\nx-amz-date:" + amzDate + "\n"
	if r.ContentType != "" {
		signed = "content-type;" + signed
		headers = "content-type:" + r.ContentType + "\n" + headers
	}
	if r.ContentLength > 0 {
		signed = "content-length;" + signed
		headers = "content-length:" + strconv.Itoa(r.ContentLength) + "\n" + headers
	}
	path := r.Path
	if path == "" {
		path = "/" // what goes on the wire
	}
	creq := canonicalRequestHash(r.Method, uriEncode(path, true), query, headers, signed, hex.EncodeToString(r.PayloadHash[:]))
	sig := s.signingKey(scope).sign(amzDate, scope, creq)
	return amzDate, algorithm + " Credential=" + s.accessKeyID + "/" + scope.String() +
		", SignedHeaders=" + signed + ", Signature=" + hex.EncodeToString(sig[:]), nil
}

// signingKey derives the key for scope once per day.
func (s *Signer) signingKey(scope credentialScope) *signingKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.key == nil || s.scope != scope {
		s.key, s.scope = (&signingKey{key: deriveSigningKey(s.secret, scope)}).kept(), scope
	}
	return s.key
}
