package sigv4

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

const unsignedPayload = "UNSIGNED-PAYLOAD"

// Steps 1 and 2: Create a canonical request, and hash it.
//
// canonicalRequestHash joins the six parts AWS defines,
//
//	HTTPMethod \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders \n SignedHeaders \n HashedPayload
//
// and returns their SHA-256, building them in a buffer on the stack when
// they fit. canonicalHeaders already ends every header with "\n", hence the
// blank line before SignedHeaders.
func canonicalRequestHash(method, uri, query, headers, signedHeaders, payloadHash string) [sha256.Size]byte {
	var stack [1024]byte
	b := append(stack[:0], method...)
	for _, part := range [...]string{uri, query, headers, signedHeaders, payloadHash} {
		b = append(b, '\n')
		b = append(b, part...)
	}
	return sha256.Sum256(b)
}

// canonicalURIs returns the canonical URI of the request path, the first
// candidate being the one to prefer.
//
// For every service but S3, AWS URI-encodes each path segment twice: the
// path as sent on the wire is already encoded once, and the signer encodes
// it again ("%20" becomes "%2520"). So the input here is the escaped path as
// received (r.URL.EscapedPath, which is RawPath whenever the client's
// encoding differs from Go's default, such as "%2F" inside a segment), and
// not the decoded Path, which would lose the difference between "/" and
// "%2F".
//
// Whether to normalize the path first is where clients differ:
// aws-sdk-go and aws-sdk-go-v2 sign the path exactly as sent, while botocore
// (and the AWS SigV4 test suite) first removes "." and ".." segments and
// empty segments ("//"). The first candidate is the path as sent; when
// normalization changes it, the normalized form is the second candidate, so
// requests from either kind of client verify.
func canonicalURIs(u *url.URL) []string {
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	uris := []string{uriEncode(p, true)}
	if mayNeedNormalizing(p) {
		if n := removeDotSegments(p); n != p {
			uris = append(uris, uriEncode(n, true))
		}
	}
	return uris
}

// mayNeedNormalizing is a cheap test that lets the common, clean path skip
// removeDotSegments: only "//" and "." or ".." segments can change a path
// that starts with '/'.
func mayNeedNormalizing(p string) bool {
	if strings.Contains(p, "//") {
		return true
	}
	for rest := p; rest != ""; {
		var segment string
		segment, rest, _ = strings.Cut(rest, "/")
		if segment == "." || segment == ".." {
			return true
		}
	}
	return false
}

// removeDotSegments normalizes an escaped path as botocore's
// remove_dot_segments does: "." segments and empty segments are dropped,
// ".." drops the previous segment (never above the root), and a trailing
// slash is kept if anything is left. Working on the escaped path means
// "%2E%2E" or "a%2Fb" are ordinary segments, as they are for botocore.
func removeDotSegments(p string) string {
	if p == "" {
		return "/"
	}
	segments := strings.Split(p, "/")
	out := make([]string, 0, len(segments))
	for _, s := range segments {
		switch s {
		case "", ".":
		case "..":
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
		default:
			out = append(out, s)
		}
	}
	var b strings.Builder
	b.Grow(len(p))
	if p[0] == '/' {
		b.WriteByte('/')
	}
	for i, s := range out {
		if i > 0 {
			b.WriteByte('/')
		}
		b.WriteString(s)
	}
	if p[len(p)-1] == '/' && len(out) > 0 {
		b.WriteByte('/')
	}
	return b.String()
}

// canonicalQueryString encodes every query parameter name and value with the
// AWS URI encoding (unreserved characters kept, everything else %XX in
// uppercase hex, space as %20), sorts by encoded name and then by encoded
// value, and joins them as name=value with '&', writing '=' even for empty
// values. In a presigned request X-Amz-Signature is left out: it can't sign
// itself.
func canonicalQueryString(params []queryParam, presigned bool) string {
	encoded := make([]queryParam, 0, len(params))
	for _, p := range params {
		if presigned && p.key == paramSignature {
			continue
		}
		encoded = append(encoded, queryParam{key: uriEncode(p.key, false), value: uriEncode(p.value, false)})
	}
	slices.SortFunc(encoded, func(a, b queryParam) int {
		if c := cmp.Compare(a.key, b.key); c != 0 {
			return c
		}
		return cmp.Compare(a.value, b.value)
	})
	var b strings.Builder
	for i, p := range encoded {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// canonicalHeaders writes "name:value\n" for each signed header, in the
// (already sorted) SignedHeaders order. A header sent several times has its
// values joined with ',' in the order received. Each value is trimmed and
// inner runs of spaces are collapsed to one, the AWS rule.
//
// A signed header the request does not carry is refused: the client signed a
// value that did not arrive, so the signature can't match honestly.
func canonicalHeaders(r *http.Request, names []string) (string, error) {
	var b strings.Builder
	b.Grow(64 * len(names))
	for _, name := range names {
		if name == "host" { // the common case, without a slice for it
			if r.Host == "" {
				return "", forbidden(msgSignatureMismatch)
			}
			b.WriteString("host:")
			writeCanonicalValue(&b, r.Host)
			b.WriteByte('\n')
			continue
		}
		values, ok := signedHeaderValues(r, name)
		if !ok {
			return "", forbidden(msgSignatureMismatch)
		}
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range values {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonicalValue(&b, v)
		}
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// signedHeaderValues finds the values of a signed header where net/http puts
// them (host, always in r.Host, the Host header or :authority in HTTP/2, is
// read by canonicalHeaders). net/http moves some headers out of r.Header:
//
//   - content-length: the HTTP/1 server keeps it in r.Header, but not every
//     path does (HTTP/2 without the header, requests built in code); then
//     r.ContentLength, which is what the client had when it signed.
//   - transfer-encoding: moved to r.TransferEncoding.
//   - expect: Go's HTTP/2 server consumes "Expect: 100-continue" and deletes
//     it from r.Header (as older HTTP/1 servers did), yet aws-sdk-go v1
//     signs every header it is given, Expect included. 100-continue is the
//     only expectation a server lets through (any other gets 417 before the
//     handler runs), so an absent signed expect header stands for it.
func signedHeaderValues(r *http.Request, name string) ([]string, bool) {
	if values := r.Header[canonicalKey(name)]; len(values) > 0 {
		return values, true
	}
	switch name {
	case "content-length":
		if r.ContentLength >= 0 {
			return []string{strconv.FormatInt(r.ContentLength, 10)}, true
		}
	case "transfer-encoding":
		if len(r.TransferEncoding) > 0 {
			return []string{strings.Join(r.TransferEncoding, ",")}, true
		}
	case "expect":
		return []string{"100-continue"}, true
	}
	return nil, false
}

// canonicalKey is the key net/http files a header under: constants for the
// headers SDKs sign, which spares an allocation per header and request.
func canonicalKey(name string) string {
	switch name {
	case "x-amz-date":
		return "X-Amz-Date"
	case "content-type":
		return "Content-Type"
	case "content-length":
		return "Content-Length"
	case "x-amz-content-sha256":
		return "X-Amz-Content-Sha256"
	case "x-amz-security-token":
		return "X-Amz-Security-Token"
	case "x-amz-target":
		return "X-Amz-Target"
	case "x-amz-user-agent":
		return "X-Amz-User-Agent"
	case "amz-sdk-invocation-id":
		return "Amz-Sdk-Invocation-Id"
	case "amz-sdk-request":
		return "Amz-Sdk-Request"
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// writeCanonicalValue writes v without leading or trailing spaces and tabs
// and with each run of spaces inside it collapsed to one space.
func writeCanonicalValue(b *strings.Builder, v string) {
	v = trimOWS(v)
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
}

// payloadHashes returns the candidate values of the canonical request's last
// line, HashedPayload.
//
// With an X-Amz-Content-Sha256 header the client chose the value: either
// UNSIGNED-PAYLOAD, or the hex SHA-256 of the body, which is checked here
// against the body actually received. Without it, a header-signed request
// must have signed the body's hash (UNSIGNED-PAYLOAD is only honoured when
// announced). A presigned request may have used either: UNSIGNED-PAYLOAD is
// what the S3-style presigners and aws-sdk-go-v2 callers use, while
// aws-sdk-go v1 (Presign without UnsignedPayload) and botocore sign the hash
// of the body, without saying so.
func payloadHashes(r *http.Request, body []byte, presigned bool) ([]string, error) {
	declared := r.Header["X-Amz-Content-Sha256"]
	if len(declared) > 1 {
		return nil, unauthorized("The X-Amz-Content-Sha256 header must appear only once.")
	}
	if len(declared) == 1 {
		h := declared[0]
		if h == unsignedPayload {
			return []string{h}, nil
		}
		want, err := hex.DecodeString(h)
		if err != nil || len(want) != sha256.Size {
			return nil, unauthorized("x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.")
		}
		got := sha256.Sum256(body)
		if !bytes.Equal(want, got[:]) {
			return nil, forbidden(msgContentSHAMismatch)
		}
		return []string{h}, nil
	}
	sum := sha256.Sum256(body)
	hashed := hex.EncodeToString(sum[:])
	if presigned {
		return []string{unsignedPayload, hashed}, nil
	}
	return []string{hashed}, nil
}

// Step 3: Create a string to sign.
//
//	AWS4-HMAC-SHA256 \n RequestDateTime \n CredentialScope \n HashedCanonicalRequest
//
// appendStringToSign appends it to dst.
func appendStringToSign(dst []byte, amzDate string, scope credentialScope, canonicalRequestHash [sha256.Size]byte) []byte {
	dst = append(dst, algorithm+"\n"...)
	dst = append(dst, amzDate...)
	dst = append(dst, '\n')
	dst = scope.append(dst)
	dst = append(dst, '\n')
	return hex.AppendEncode(dst, canonicalRequestHash[:])
}

// uriEncode applies the AWS URI encoding: the unreserved characters
// A-Z a-z 0-9 - _ . ~ stay, every other byte becomes %XX with uppercase hex
// (so a space is %20, never '+'). keepSlash keeps '/' for paths.
func uriEncode(s string, keepSlash bool) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isUnreserved(c) && !(keepSlash && c == '/') {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const upperHex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isUnreserved(c) || (keepSlash && c == '/') {
			b = append(b, c)
		} else {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		}
	}
	return string(b)
}

// isUnreserved reports whether c is in the RFC 3986 unreserved set, which is
// the set AWS leaves unencoded.
func isUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}
