package sigv4

import (
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	scopeTerminator = "aws4_request"
	amzDateLayout   = "20060102T150405Z"
	scopeDateLayout = "20060102"

	// Size bounds on what is parsed. Real SDK values are far smaller (an
	// Authorization header is typically 200-400 bytes); the bounds keep a
	// hostile request from making the verifier work on megabytes.
	maxAuthorizationLen = 8 << 10
	maxCredentialLen    = 512
	maxSignedHeadersLen = 8 << 10
	maxAccessKeyIDLen   = 128
	maxRegionLen        = 64
	maxQueryLen         = 64 << 10

	// Presigned query parameter names, spelled as AWS spells them; the
	// match is case-sensitive, as it is for AWS.
	paramAlgorithm     = "X-Amz-Algorithm"
	paramCredential    = "X-Amz-Credential"
	paramDate          = "X-Amz-Date"
	paramExpires       = "X-Amz-Expires"
	paramSignedHeaders = "X-Amz-SignedHeaders"
	paramSignature     = "X-Amz-Signature"
	paramSecurityToken = "X-Amz-Security-Token"
)

// signedRequest is the authentication data of a request, parsed and
// syntactically validated, from either the Authorization header or the
// presigned query.
type signedRequest struct {
	presigned     bool
	accessKeyID   string
	scope         credentialScope
	signedHeaders []string // lowercase, sorted, unique, includes "host"
	signature     []byte   // 32 bytes
	date          time.Time
	amzDate       string        // date in ISO 8601 basic format, as the string to sign has it
	expires       time.Duration // presigned only
}

// credentialScope is the part of the credential after the access key ID:
// date/region/service/aws4_request.
type credentialScope struct {
	date    string // YYYYMMDD
	region  string
	service string
}

// String formats the scope as it appears in the string to sign.
func (s credentialScope) String() string { return string(s.append(nil)) }

func (s credentialScope) append(dst []byte) []byte {
	dst = append(dst, s.date...)
	dst = append(dst, '/')
	dst = append(dst, s.region...)
	dst = append(dst, '/')
	dst = append(dst, s.service...)
	return append(dst, "/"+scopeTerminator...)
}

// queryParam is one decoded query parameter, in request order.
type queryParam struct {
	key, value string
}

// parseQuery decodes the raw query string the way net/url.ParseQuery does,
// so the signature covers exactly the parameters handlers will see through
// r.URL.Query(). Like ParseQuery it refuses bad escapes and semicolons,
// which ParseQuery would silently drop.
func parseQuery(raw string) ([]queryParam, error) {
	if len(raw) > maxQueryLen {
		return nil, unauthorized("The query string is too long (%d bytes; at most %d are accepted).", len(raw), maxQueryLen)
	}
	var params []queryParam
	for raw != "" {
		var part string
		part, raw, _ = strings.Cut(raw, "&")
		if part == "" {
			continue
		}
		if strings.IndexByte(part, ';') >= 0 {
			return nil, unauthorized("The query string is malformed: ';' must be percent-encoded.")
		}
		k, val, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		value, err2 := url.QueryUnescape(val)
		if err1 != nil || err2 != nil {
			return nil, unauthorized("The query string is malformed: invalid percent-encoding in '%s'.", echo(part))
		}
		params = append(params, queryParam{key: key, value: value})
	}
	return params, nil
}

// parseAuthentication finds the authentication data: exactly one of the
// Authorization header and the presigned query.
func (v *Verifier) parseAuthentication(r *http.Request, params []queryParam) (signedRequest, error) {
	authz := r.Header["Authorization"]
	hasHeader := len(authz) > 1 || (len(authz) == 1 && trimOWS(authz[0]) != "")
	presigned := isPresigned(params)
	switch {
	case hasHeader && presigned:
		return signedRequest{}, unauthorized(msgTwoMechanisms)
	case presigned:
		return parsePresignedQuery(params, v.service, v.maxPresignExpiry)
	case !hasHeader:
		return signedRequest{}, unauthorized(msgMissingAuthToken)
	case len(authz) > 1:
		return signedRequest{}, unauthorized("The Authorization header must appear only once.")
	}
	sr, err := parseAuthorizationHeader(authz[0], v.service)
	if err != nil {
		return signedRequest{}, err
	}
	if sr.date, sr.amzDate, err = requestDate(r.Header, authz[0]); err != nil {
		return signedRequest{}, err
	}
	if err := checkScopeDate(sr.scope, sr.amzDate); err != nil {
		return signedRequest{}, err
	}
	return sr, nil
}

// isPresigned reports whether the query carries SigV4 query authentication.
// Any one of its characteristic parameters is enough, so that a request
// with a partial set is refused as malformed rather than as unsigned.
func isPresigned(params []queryParam) bool {
	for _, p := range params {
		switch p.key {
		case paramAlgorithm, paramCredential, paramSignature, paramSignedHeaders:
			return true
		}
	}
	return false
}

// parseAuthorizationHeader parses
//
//	AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/chime/aws4_request, SignedHeaders=host;x-amz-date, Signature=<64 hex>
//
// The three parameters are separated by commas with optional spaces or tabs
// around them (SDKs write ", ", some clients ","); each must appear exactly
// once, and nothing else may appear. The returned date is not yet set: it
// comes from the X-Amz-Date or Date header.
func parseAuthorizationHeader(h, service string) (signedRequest, error) {
	if len(h) > maxAuthorizationLen {
		return signedRequest{}, unauthorized("The Authorization header is too long (%d bytes; at most %d are accepted).", len(h), maxAuthorizationLen)
	}
	h = trimOWS(h)
	alg, rest := h, ""
	if i := strings.IndexAny(h, " \t"); i >= 0 {
		alg, rest = h[:i], trimOWS(h[i:])
	}
	if alg != algorithm {
		return signedRequest{}, unauthorized("Unsupported AWS 'algorithm': '%s'", echo(alg))
	}

	var credential, signedHeaders, signature string
	var seenCredential, seenSignedHeaders, seenSignature bool
	if rest != "" {
		for more := true; more; {
			var part string
			part, rest, more = strings.Cut(rest, ",")
			part = trimOWS(part)
			key, value, ok := strings.Cut(part, "=")
			if !ok {
				return signedRequest{}, unauthorized("'%s' not a valid key=value pair (missing equal-sign) in Authorization header: '%s'.", echo(part), echo(h))
			}
			if strings.ContainsAny(part, " \t") {
				return signedRequest{}, unauthorized("'%s' is not a valid key=value pair: Authorization header parameters must be separated by commas. Authorization=%s", echo(part), echo(h))
			}
			var seen *bool
			switch key {
			case "Credential":
				credential, seen = value, &seenCredential
			case "SignedHeaders":
				signedHeaders, seen = value, &seenSignedHeaders
			case "Signature":
				signature, seen = value, &seenSignature
			default:
				return signedRequest{}, unauthorized("Authorization header has an unknown parameter '%s'. Authorization=%s", echo(key), echo(h))
			}
			if *seen {
				return signedRequest{}, unauthorized("Authorization header has a duplicate '%s' parameter. Authorization=%s", key, echo(h))
			}
			*seen = true
		}
	}

	var missing strings.Builder
	for _, p := range [...]struct{ name, value string }{
		{"Credential", credential}, {"Signature", signature}, {"SignedHeaders", signedHeaders},
	} {
		if p.value == "" {
			missing.WriteString("Authorization header requires '" + p.name + "' parameter. ")
		}
	}
	if missing.Len() > 0 {
		return signedRequest{}, unauthorized("%sAuthorization=%s", missing.String(), echo(h))
	}

	var sr signedRequest
	var err error
	if sr.accessKeyID, sr.scope, err = parseCredential(credential, service); err != nil {
		return signedRequest{}, err
	}
	if sr.signedHeaders, err = parseSignedHeaders(signedHeaders); err != nil {
		return signedRequest{}, err
	}
	if sr.signature, err = parseSignature(signature); err != nil {
		return signedRequest{}, err
	}
	return sr, nil
}

// parsePresignedQuery parses SigV4 query authentication (a presigned URL).
// Every parameter must appear exactly once; X-Amz-Expires must be between 1
// second and maxExpiry.
func parsePresignedQuery(params []queryParam, service string, maxExpiry time.Duration) (signedRequest, error) {
	names := [...]string{paramAlgorithm, paramCredential, paramDate, paramExpires, paramSignedHeaders, paramSignature}
	var values [len(names)]string
	var counts [len(names)]int
	for _, p := range params {
		for i, name := range names {
			if p.key == name {
				counts[i]++
				values[i] = p.value
			}
		}
	}
	var missing strings.Builder
	for i, name := range names {
		if counts[i] > 1 {
			return signedRequest{}, unauthorized("AWS query-string parameter '%s' must appear only once.", name)
		}
		if values[i] == "" {
			missing.WriteString("AWS query-string parameters must include '" + name + "'. ")
		}
	}
	if missing.Len() > 0 {
		return signedRequest{}, unauthorized("%sRe-examine the query-string parameters.", missing.String())
	}
	alg, credential, date, expires, signedHeaders, signature := values[0], values[1], values[2], values[3], values[4], values[5]

	if alg != algorithm {
		return signedRequest{}, unauthorized("X-Amz-Algorithm only supports \"%s\"", algorithm)
	}
	sr := signedRequest{presigned: true}
	var err error
	if sr.accessKeyID, sr.scope, err = parseCredential(credential, service); err != nil {
		return signedRequest{}, err
	}
	var ok bool
	if sr.date, ok = parseAmzDate(date); !ok {
		return signedRequest{}, unauthorized("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
	}
	sr.amzDate = date
	if err := checkScopeDate(sr.scope, sr.amzDate); err != nil {
		return signedRequest{}, err
	}
	if sr.expires, err = parseExpires(expires, maxExpiry); err != nil {
		return signedRequest{}, err
	}
	if len(signedHeaders) > maxSignedHeadersLen {
		return signedRequest{}, unauthorized("X-Amz-SignedHeaders is too long (%d bytes; at most %d are accepted).", len(signedHeaders), maxSignedHeadersLen)
	}
	if sr.signedHeaders, err = parseSignedHeaders(signedHeaders); err != nil {
		return signedRequest{}, err
	}
	if sr.signature, err = parseSignature(signature); err != nil {
		return signedRequest{}, err
	}
	return sr, nil
}

// parseCredential splits AKID/YYYYMMDD/region/service/aws4_request and
// checks each element. Any region is accepted, as long as it is a plausible
// region name; the service must be the one this server emulates, so a
// signature made for another service can't be replayed here.
func parseCredential(v, service string) (string, credentialScope, error) {
	if len(v) > maxCredentialLen {
		return "", credentialScope{}, unauthorized("Credential is too long (%d bytes; at most %d are accepted).", len(v), maxCredentialLen)
	}
	parts := strings.Split(v, "/")
	if len(parts) != 5 {
		return "", credentialScope{}, unauthorized("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '%s'", echo(v))
	}
	akid, date, region, svc, term := parts[0], parts[1], parts[2], parts[3], parts[4]
	if !isScopeElement(akid, maxAccessKeyIDLen) {
		return "", credentialScope{}, unauthorized("Credential access key ID is empty or malformed: '%s'", echo(akid))
	}
	if _, ok := parseScopeDate(date); !ok {
		return "", credentialScope{}, unauthorized("Credential date must be in YYYYMMDD format, got '%s'", echo(date))
	}
	if !isScopeElement(region, maxRegionLen) {
		return "", credentialScope{}, unauthorized("Credential should be scoped to a valid region, not '%s'.", echo(region))
	}
	if svc != service {
		return "", credentialScope{}, unauthorized("Credential should be scoped to correct service: '%s'.", service)
	}
	if term != scopeTerminator {
		return "", credentialScope{}, unauthorized("Credential should be scoped with a valid terminator: '%s', not '%s'.", scopeTerminator, echo(term))
	}
	return akid, credentialScope{date: date, region: region, service: svc}, nil
}

// parseSignedHeaders checks the client's SignedHeaders list. AWS defines it
// as lowercase names, sorted, separated by ';'. Requiring exactly that form
// (rather than normalizing it) means the list used in the canonical request
// is byte-for-byte the list the client sent. host must be signed, as AWS
// requires, so the request can't be redirected to another host. x-amz-date
// need not be: the date is part of the string to sign anyway.
func parseSignedHeaders(v string) ([]string, error) {
	names := strings.Split(v, ";")
	hasHost := false
	for i, name := range names {
		if !isLowerToken(name) {
			return nil, unauthorized("SignedHeaders must be a semicolon-separated list of lowercase header names, got '%s'", echo(v))
		}
		if i > 0 && name <= names[i-1] {
			return nil, unauthorized("SignedHeaders must be sorted and must not repeat a header, got '%s'", echo(v))
		}
		if name == "host" {
			hasHost = true
		}
	}
	if !hasHost {
		return nil, unauthorized(msgHostNotSigned)
	}
	return names, nil
}

// parseSignature decodes the 64 lowercase hex digits SDKs send.
func parseSignature(v string) ([]byte, error) {
	if len(v) != 64 || strings.Trim(v, "0123456789abcdef") != "" {
		return nil, unauthorized("Signature must be 64 lowercase hexadecimal characters, got '%s'", echo(v))
	}
	sig, err := hex.DecodeString(v)
	if err != nil { // unreachable after the check above; kept for safety
		return nil, unauthorized("Signature must be 64 lowercase hexadecimal characters, got '%s'", echo(v))
	}
	return sig, nil
}

// parseExpires parses X-Amz-Expires: a decimal number of seconds without
// sign, from 1 to maxExpiry.
func parseExpires(v string, maxExpiry time.Duration) (time.Duration, error) {
	if v == "" || len(v) > 18 || strings.Trim(v, "0123456789") != "" {
		return 0, unauthorized("X-Amz-Expires should be a number")
	}
	secs, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, unauthorized("X-Amz-Expires should be a number")
	}
	if secs < 1 {
		return 0, unauthorized("X-Amz-Expires must be at least 1 second")
	}
	maxSecs := int64(maxExpiry / time.Second)
	if secs > maxSecs {
		if maxExpiry == defaultMaxPresignExpiry {
			return 0, unauthorized("X-Amz-Expires must be less than a week (in seconds) that is %d", maxSecs)
		}
		return 0, unauthorized("X-Amz-Expires must be at most %d seconds", maxSecs)
	}
	return time.Duration(secs) * time.Second, nil
}

// requestDate finds the request time of a header-signed request:
// X-Amz-Date in ISO 8601 basic format, or, only when that is absent, the
// HTTP Date header in RFC 1123 form, which AWS also accepts. Either way the
// string to sign carries the time in ISO 8601 basic format.
func requestDate(h http.Header, authz string) (time.Time, string, error) {
	if xs := h["X-Amz-Date"]; len(xs) > 0 {
		if len(xs) > 1 {
			return time.Time{}, "", unauthorized("The X-Amz-Date header must appear only once.")
		}
		t, ok := parseAmzDate(xs[0])
		if !ok {
			return time.Time{}, "", unauthorized("Date must be in ISO-8601 'basic format'. Got '%s'. See http://en.wikipedia.org/wiki/ISO_8601", echo(xs[0]))
		}
		return t, xs[0], nil
	}
	if ds := h["Date"]; len(ds) > 0 {
		if len(ds) > 1 {
			return time.Time{}, "", unauthorized("The Date header must appear only once.")
		}
		t, err := time.Parse(http.TimeFormat, ds[0])
		if err != nil || t.UTC().Format(http.TimeFormat) != ds[0] {
			return time.Time{}, "", unauthorized("Date header must be in RFC 1123 format, e.g. 'Mon, 02 Jan 2006 15:04:05 GMT'. Got '%s'.", echo(ds[0]))
		}
		t = t.UTC()
		return t, t.Format(amzDateLayout), nil
	}
	return time.Time{}, "", unauthorized("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=%s", echo(authz))
}

// checkScopeDate requires the credential scope's date to be the day of the
// request time, as AWS does: the signing key is derived from the scope date,
// so a mismatch means the client used a key for another day.
func checkScopeDate(scope credentialScope, amzDate string) error {
	if len(amzDate) != len(amzDateLayout) { // every caller has checked it
		return unauthorized("Date must be in ISO-8601 'basic format'. Got '%s'.", echo(amzDate))
	}
	if day := amzDate[:len(scopeDateLayout)]; scope.date != day {
		return unauthorized("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '%s' != '%s', from '%s'.",
			scope.date, day, amzDate)
	}
	return nil
}

// requestSecurityToken returns the session token sent with the request, from
// the X-Amz-Security-Token header or query parameter (SDKs use the header
// when signing headers and the parameter when presigning), and whether one
// was sent at all. Each may appear at most once, and if both appear they
// must agree.
func requestSecurityToken(r *http.Request, params []queryParam) (token string, present bool, err error) {
	headerTokens := r.Header["X-Amz-Security-Token"]
	if len(headerTokens) > 1 {
		return "", false, unauthorized("The X-Amz-Security-Token header must appear only once.")
	}
	var queryTokens []string
	for _, p := range params {
		if p.key == paramSecurityToken {
			queryTokens = append(queryTokens, p.value)
		}
	}
	if len(queryTokens) > 1 {
		return "", false, unauthorized("AWS query-string parameter '%s' must appear only once.", paramSecurityToken)
	}
	switch {
	case len(headerTokens) == 1 && len(queryTokens) == 1:
		if headerTokens[0] != queryTokens[0] {
			return "", false, forbidden(msgInvalidToken)
		}
		return headerTokens[0], true, nil
	case len(headerTokens) == 1:
		return headerTokens[0], true, nil
	case len(queryTokens) == 1:
		return queryTokens[0], true, nil
	}
	return "", false, nil
}

// checkSessionToken ties temporary credentials to their token: a credential
// with a session token is only valid together with it, and a request that
// sends a token for a credential without one is refused as AWS refuses it.
func checkSessionToken(cred Credential, token string, present bool) error {
	if cred.SessionToken == "" {
		if present {
			return forbidden(msgInvalidToken)
		}
		return nil
	}
	if !present || subtle.ConstantTimeCompare([]byte(token), []byte(cred.SessionToken)) != 1 {
		return forbidden(msgInvalidToken)
	}
	return nil
}

// parseAmzDate parses YYYYMMDDTHHMMSSZ strictly: digits where digits go, a
// real day and time of day, so that the value is exactly what formatting
// the parsed time gives back and no lenient variant (short fields, other
// zones, a 61st second) can reach the string to sign.
func parseAmzDate(v string) (time.Time, bool) {
	if len(v) != len(amzDateLayout) || v[8] != 'T' || v[15] != 'Z' {
		return time.Time{}, false
	}
	day, ok := parseScopeDate(v[:8])
	h, okH := decimal(v[9:11])
	m, okM := decimal(v[11:13])
	sec, okS := decimal(v[13:15])
	if !ok || !okH || !okM || !okS || h > 23 || m > 59 || sec > 59 {
		return time.Time{}, false
	}
	return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second), true
}

// parseScopeDate parses the YYYYMMDD of the credential scope as strictly.
func parseScopeDate(v string) (time.Time, bool) {
	if len(v) != len(scopeDateLayout) {
		return time.Time{}, false
	}
	y, okY := decimal(v[:4])
	m, okM := decimal(v[4:6])
	d, okD := decimal(v[6:])
	if !okY || !okM || !okD || m < 1 || m > 12 || d < 1 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	if t.Day() != d { // the 30th of February
		return time.Time{}, false
	}
	return t, true
}

// decimal parses a short run of ASCII digits, nothing else.
func decimal(v string) (int, bool) {
	n := 0
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, v != ""
}

// isScopeElement reports whether v is 1..max characters from the URI
// unreserved set, which covers every real access key ID and region name and
// keeps '/', separators and control characters out of the scope.
func isScopeElement(v string, max int) bool {
	if v == "" || len(v) > max {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isUnreserved(v[i]) {
			return false
		}
	}
	return true
}

// isLowerToken reports whether v is a non-empty HTTP token (RFC 9110) with
// no uppercase letters: a header name as SignedHeaders must spell it.
func isLowerToken(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// trimOWS trims the optional whitespace (spaces and tabs) HTTP allows.
func trimOWS(s string) string {
	return strings.Trim(s, " \t")
}
