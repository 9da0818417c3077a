package sigv4

import (
	"fmt"
	"strings"
)

// Kind classifies a refusal by the HTTP status the caller should answer with.
type Kind int

const (
	// Unauthorized (HTTP 401): the request is not signed, or its
	// authentication data is malformed, so no signature could be checked.
	Unauthorized Kind = iota + 1
	// Forbidden (HTTP 403): the request is well-formed but not acceptable:
	// unknown access key, wrong signature, expired or skewed time, or a bad
	// session token.
	Forbidden
)

// Error is returned for every refusal. Message is phrased like the message
// the real AWS service sends, so that SDKs and people see familiar text; it
// never contains a secret and echoes request data only truncated.
type Error struct {
	Kind    Kind
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string {
	switch e.Kind {
	case Unauthorized:
		return "sigv4: unauthorized: " + e.Message
	case Forbidden:
		return "sigv4: forbidden: " + e.Message
	default:
		return "sigv4: " + e.Message
	}
}

// Messages that the real services send verbatim.
const (
	msgMissingAuthToken  = "Missing Authentication Token"
	msgInvalidToken      = "The security token included in the request is invalid."
	msgSignatureMismatch = "The request signature we calculated does not match the signature you provided. " +
		"Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
	msgContentSHAMismatch = "The provided 'x-amz-content-sha256' header does not match what was computed."
	msgPresignExpired     = "Request has expired"
	msgHostNotSigned      = "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization."
	msgTwoMechanisms      = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, " +
		"Signature query string parameter or the Authorization header should be specified"
)

// maxEcho bounds how much of a client-supplied value a message repeats, so a
// huge header cannot be reflected back or bloat logs.
const maxEcho = 256

func unauthorized(format string, args ...any) error {
	return &Error{Kind: Unauthorized, Message: sprintf(format, args...)}
}

func forbidden(format string, args ...any) error {
	return &Error{Kind: Forbidden, Message: sprintf(format, args...)}
}

func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// echo prepares a client-supplied value for inclusion in a message: at most
// maxEcho bytes, with anything but printable ASCII replaced by '?', so the
// message is always short, valid UTF-8 and free of control characters.
func echo(s string) string {
	truncated := false
	if len(s) > maxEcho {
		s, truncated = s[:maxEcho], true
	}
	var b strings.Builder
	b.Grow(len(s) + 3)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		b.WriteByte(c)
	}
	if truncated {
		b.WriteString("...")
	}
	return b.String()
}
