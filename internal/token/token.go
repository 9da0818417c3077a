package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"strings"

	"github.com/google/uuid"

	"github.com/carillon-dev/carillon/internal/model"
)

// A join token is base64url (no padding) of
//
//	version (1) | key ID (4) | meeting ID (16) | attendee ID (16) | MAC (32)
//
// where MAC = HMAC-SHA256 under the key's join sub-key of the account ID, the
// two IDs and the attendee's salt. The token is derived, never stored: the
// same attendee always gets the same token, and the database holds only the
// salt, which is useless without the key. 92 characters, all of them valid in
// a WebSocket subprotocol.
const (
	joinVersion  = 1
	joinRawLen   = 1 + 4 + 16 + 16 + sha256.Size
	joinTokenLen = (joinRawLen*8 + 5) / 6
	SaltSize     = 16
)

// ErrInvalid is returned for any token that does not verify. It says nothing
// about why, on purpose.
var ErrInvalid = errors.New("token: invalid")

// JoinClaims are the inputs of a join token.
type JoinClaims struct {
	KeyID      uint32
	AccountID  string
	MeetingID  string
	AttendeeID string
	Salt       []byte
}

// NewSalt returns fresh random salt for a new attendee.
func NewSalt() ([]byte, error) {
	salt := make([]byte, SaltSize)
	_, err := io.ReadFull(rand.Reader, salt)
	return salt, err
}

// JoinToken derives the join token of an attendee. It fails only if the key
// has been retired or an ID is malformed.
func (kr *Keyring) JoinToken(c JoinClaims) (string, error) {
	d, ok := kr.key(c.KeyID)
	if !ok {
		return "", ErrInvalid
	}
	meeting, err := uuid.Parse(c.MeetingID)
	if err != nil {
		return "", err
	}
	attendee, err := uuid.Parse(c.AttendeeID)
	if err != nil {
		return "", err
	}
	raw := make([]byte, 0, joinRawLen)
	raw = append(raw, joinVersion)
	raw = binary.BigEndian.AppendUint32(raw, c.KeyID)
	raw = append(raw, meeting[:]...)
	raw = append(raw, attendee[:]...)
	raw = d.appendJoinMAC(raw, c.AccountID, meeting, attendee, c.Salt)
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// appendJoinMAC appends the MAC of a join token to dst.
func (d derived) appendJoinMAC(dst []byte, accountID string, meeting, attendee uuid.UUID, salt []byte) []byte {
	st := d.join.Get()
	defer d.join.Put(st)
	msg := binary.BigEndian.AppendUint16(st.Buf[:0], uint16(len(accountID)))
	msg = append(msg, accountID...)
	msg = append(msg, meeting[:]...)
	msg = append(msg, attendee[:]...)
	msg = append(msg, salt...)
	sum := st.Sum(msg)
	return append(dst, sum[:]...)
}

// ParsedJoinToken is what a join token says before it is checked.
type ParsedJoinToken struct {
	KeyID      uint32
	MeetingID  string
	AttendeeID string
	// Content is set for the content-share session, whose token carries the
	// suffix "#content".
	Content bool
	mac     []byte
}

// ParseJoinToken decodes a token without checking it: the caller looks up
// the attendee it names and then calls Keyring.CheckJoinToken.
func ParseJoinToken(tok string) (ParsedJoinToken, error) {
	var p ParsedJoinToken
	tok, p.Content = strings.CutSuffix(tok, model.ContentSuffix)
	if len(tok) != joinTokenLen {
		return p, ErrInvalid
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(raw) != joinRawLen || raw[0] != joinVersion {
		return p, ErrInvalid
	}
	p.KeyID = binary.BigEndian.Uint32(raw[1:5])
	p.MeetingID = uuid.UUID(raw[5:21]).String()
	p.AttendeeID = uuid.UUID(raw[21:37]).String()
	p.mac = raw[37:]
	return p, nil
}

// CheckJoinToken reports whether the parsed token was minted for this
// account and salt by a key of the keyring. A token of an unknown key makes
// it reload the key file once, in case another process rotated it.
func (kr *Keyring) CheckJoinToken(p ParsedJoinToken, accountID string, salt []byte) bool {
	d, ok := kr.key(p.KeyID)
	if !ok {
		kr.reloadForUnknownKey()
		if d, ok = kr.key(p.KeyID); !ok {
			return false
		}
	}
	meeting, err1 := uuid.Parse(p.MeetingID)
	attendee, err2 := uuid.Parse(p.AttendeeID)
	if err1 != nil || err2 != nil {
		return false
	}
	return hmac.Equal(p.mac, d.appendJoinMAC(nil, accountID, meeting, attendee, salt))
}

// A cursor is base64url (no padding) of
//
//	version (1) | key ID (4) | payload | MAC (16)
//
// where MAC is a truncated HMAC-SHA256 over a scope string (the account and
// what the cursor pages through) and the payload: a cursor cannot be forged,
// altered, or replayed in another account or listing.
const (
	cursorVersion = 1
	cursorMACLen  = 16
	maxCursorLen  = 1024
)

// SealCursor returns an opaque cursor for payload, bound to scope.
func (kr *Keyring) SealCursor(scope string, payload []byte) string {
	id, d := kr.active()
	raw := make([]byte, 0, 5+len(payload)+cursorMACLen)
	raw = append(raw, cursorVersion)
	raw = binary.BigEndian.AppendUint32(raw, id)
	raw = append(raw, payload...)
	raw = append(raw, cursorMAC(d.cursor, scope, raw)...)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// OpenCursor checks a cursor made by SealCursor for the same scope and
// returns its payload.
func (kr *Keyring) OpenCursor(scope, cursor string) ([]byte, error) {
	if len(cursor) > maxCursorLen {
		return nil, ErrInvalid
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(cursor)
	if err != nil || len(raw) < 5+cursorMACLen || raw[0] != cursorVersion {
		return nil, ErrInvalid
	}
	d, ok := kr.key(binary.BigEndian.Uint32(raw[1:5]))
	if !ok {
		return nil, ErrInvalid
	}
	body, mac := raw[:len(raw)-cursorMACLen], raw[len(raw)-cursorMACLen:]
	if !hmac.Equal(mac, cursorMAC(d.cursor, scope, body)) {
		return nil, ErrInvalid
	}
	return body[5:], nil
}

func cursorMAC(key []byte, scope string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	var n [2]byte
	binary.BigEndian.PutUint16(n[:], uint16(len(scope)))
	m.Write(n[:])
	m.Write([]byte(scope))
	m.Write(body)
	return m.Sum(nil)[:cursorMACLen]
}
