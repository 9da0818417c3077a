// Package sigv4 verifies AWS Signature Version 4 (SigV4) on requests received
// by a server that emulates an AWS service.
//
// The server repeats what the client did when it signed, following the AWS
// procedure "Create a signed AWS API request" one function per step, so each
// step can be read against the documentation and against the signers it has
// to agree with (aws-sdk-go, aws-sdk-go-v2, botocore):
//
//   - parse the authentication data: the Authorization header
//     (parseAuthorizationHeader) or the presigned query (parsePresignedQuery);
//   - check the request time (checkRequestTime) and look up the credential;
//   - Step 1, create a canonical request (canonicalRequest and its parts:
//     canonicalURIs, canonicalQueryString, canonicalHeaders, payloadHashes);
//   - Step 2, create a hash of the canonical request (hashCanonicalRequest);
//   - Step 3, create a string to sign (stringToSign);
//   - Step 4, calculate the signature (deriveSigningKey, calculateSignature);
//   - Step 5, where the client adds the signature to the request, the server
//     compares it in constant time (signaturesEqual);
//   - finally check the session token (checkSessionToken).
//
// The package has no mutable package-level state: each Verifier owns its
// cache of derived signing keys.
package sigv4

import (
	"net/http"
	"strings"
	"time"
)

// Credential is one access key known to the server.
type Credential struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string // optional; when set, requests must carry X-Amz-Security-Token equal to it
	AccountID       string
}

// Credentials finds the credential for an access key ID. Verifier calls it
// on every request, from many goroutines at once.
type Credentials interface {
	Lookup(accessKeyID string) (Credential, bool)
}

// Config configures a Verifier.
type Config struct {
	Service          string           // signing name the scope must carry, e.g. "chime"
	Credentials      Credentials      // required
	Now              func() time.Time // injected clock; time.Now when nil
	MaxSkew          time.Duration    // default 15 * time.Minute when zero or negative
	MaxPresignExpiry time.Duration    // default 7 days when zero or negative
}

const (
	defaultMaxSkew          = 15 * time.Minute
	defaultMaxPresignExpiry = 7 * 24 * time.Hour
)

// Verifier checks SigV4 signatures. It is safe for concurrent use. It caches
// derived signing keys, which change only daily, so that a request costs one
// HMAC for the signature instead of five.
type Verifier struct {
	service          string
	credentials      Credentials
	now              func() time.Time
	maxSkew          time.Duration
	maxPresignExpiry time.Duration
	keys             keyCache
}

// NewVerifier returns a Verifier for cfg. It panics when cfg.Service is empty
// or cfg.Credentials is nil: both are programming errors, and failing at
// start-up beats refusing (or worse, accepting) every request later.
func NewVerifier(cfg Config) *Verifier {
	if cfg.Service == "" {
		panic("sigv4: Config.Service is empty")
	}
	if cfg.Credentials == nil {
		panic("sigv4: Config.Credentials is nil")
	}
	v := &Verifier{
		service:          cfg.Service,
		credentials:      cfg.Credentials,
		now:              cfg.Now,
		maxSkew:          cfg.MaxSkew,
		maxPresignExpiry: cfg.MaxPresignExpiry,
	}
	if v.now == nil {
		v.now = time.Now
	}
	if v.maxSkew <= 0 {
		v.maxSkew = defaultMaxSkew
	}
	if v.maxPresignExpiry <= 0 {
		v.maxPresignExpiry = defaultMaxPresignExpiry
	}
	return v
}

// Result describes an authenticated request.
type Result struct {
	Credential Credential // as returned by Credentials.Lookup, secret included: don't log it
	Region     string
	Date       time.Time // X-Amz-Date (or the Date header), UTC
	Presigned  bool
}

// Verify checks the signature of r. body is the complete request body,
// already read by the caller (who also bounds its size); r.Body is not read.
//
// Every refusal is an *Error. Verify never panics on request data.
//
// A request path that is not in normal form (containing "//", "." or ".."
// segments) is accepted when the signature covers either the path as sent,
// which is what the Go SDKs sign, or its normalized form, which is what
// botocore signs. Route on a cleaned path, as net/http.ServeMux does, or
// refuse such paths before calling Verify.
func (v *Verifier) Verify(r *http.Request, body []byte) (Result, error) {
	if r == nil || r.URL == nil || r.Header == nil {
		return Result{}, unauthorized(msgMissingAuthToken)
	}
	// Parse: every malformation is refused here, before any secret is used.
	params, err := parseQuery(r.URL.RawQuery)
	if err != nil {
		return Result{}, err
	}
	sr, err := v.parseAuthentication(r, params)
	if err != nil {
		return Result{}, err
	}
	token, hasToken, err := requestSecurityToken(r, params)
	if err != nil {
		return Result{}, err
	}
	// Check the time and find the credential.
	if err := v.checkRequestTime(sr); err != nil {
		return Result{}, err
	}
	cred, err := v.lookupCredential(sr.accessKeyID)
	if err != nil {
		return Result{}, err
	}
	// Step 1: the parts of the canonical request.
	payloads, err := payloadHashes(r, body, sr.presigned)
	if err != nil {
		return Result{}, err
	}
	headers, err := canonicalHeaders(r, sr.signedHeaders)
	if err != nil {
		return Result{}, err
	}
	query := canonicalQueryString(params, sr.presigned)
	signedHeaders := strings.Join(sr.signedHeaders, ";")

	// Step 4, first half: the signing key, from the cache when possible.
	key, cached := v.keys.get(cred.SecretAccessKey, sr.scope)
	if !cached {
		key = &signingKey{key: deriveSigningKey(cred.SecretAccessKey, sr.scope)}
	}
	// Steps 1 to 5 for each candidate canonical request. At most two URIs
	// times two payload hashes are tried; which candidates exist depends only
	// on the request, so stopping at the first match reveals nothing.
	matched := false
candidates:
	for _, uri := range canonicalURIs(r.URL) {
		for _, payload := range payloads {
			creq := canonicalRequestHash(r.Method, uri, query, headers, signedHeaders, payload)
			if signaturesEqual(key.sign(sr.amzDate, sr.scope, creq), sr.signature) {
				matched = true
				break candidates
			}
		}
	}
	if !matched {
		return Result{}, forbidden(msgSignatureMismatch)
	}
	// Only keys that verified a signature are cached, so requests from
	// someone who knows an access key ID but not its secret cannot churn
	// the cache.
	if !cached {
		v.keys.put(cred.SecretAccessKey, sr.scope, key.kept())
	}
	// The session token is checked last, once the signature proves the
	// sender holds the secret, so the check is no oracle for guessing tokens.
	if err := checkSessionToken(cred, token, hasToken); err != nil {
		return Result{}, err
	}
	return Result{
		Credential: cred,
		Region:     sr.scope.region,
		Date:       sr.date,
		Presigned:  sr.presigned,
	}, nil
}

// lookupCredential finds the secret for the access key in the credential
// scope. A credential without a secret is treated as unknown: anyone can
// compute an HMAC with an empty key.
func (v *Verifier) lookupCredential(accessKeyID string) (Credential, error) {
	cred, ok := v.credentials.Lookup(accessKeyID)
	if !ok || cred.SecretAccessKey == "" {
		return Credential{}, forbidden(msgInvalidToken)
	}
	return cred, nil
}

// checkRequestTime bounds the window in which a captured request can be
// replayed. A header-signed request must be dated within MaxSkew of now; a
// presigned one must not have expired and must not be dated more than
// MaxSkew in the future.
func (v *Verifier) checkRequestTime(sr signedRequest) error {
	now := v.now().UTC()
	earliest, latest := now.Add(-v.maxSkew), now.Add(v.maxSkew)
	if sr.date.After(latest) {
		return forbidden("Signature not yet current: %s is still later than %s (%s + %s.)",
			sr.date.Format(amzDateLayout), latest.Format(amzDateLayout),
			now.Format(amzDateLayout), formatSkew(v.maxSkew))
	}
	if sr.presigned {
		if now.After(sr.date.Add(sr.expires)) {
			return forbidden(msgPresignExpired)
		}
		return nil
	}
	if sr.date.Before(earliest) {
		return forbidden("Signature expired: %s is now earlier than %s (%s - %s.)",
			sr.date.Format(amzDateLayout), earliest.Format(amzDateLayout),
			now.Format(amzDateLayout), formatSkew(v.maxSkew))
	}
	return nil
}

// formatSkew renders the skew the way AWS does in its messages ("15 min").
func formatSkew(d time.Duration) string {
	if d%time.Minute == 0 {
		return sprintf("%d min", int64(d/time.Minute))
	}
	return sprintf("%d sec", int64(d/time.Second))
}
