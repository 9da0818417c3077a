package token

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func claims(kr *Keyring) JoinClaims {
	return JoinClaims{
		KeyID:      kr.ActiveID(),
		AccountID:  "111111111111",
		MeetingID:  "01a21db6-2c58-7b21-9f77-de46597f739f",
		AttendeeID: "01a21db6-3fb5-7532-aa42-4f6bce817338",
		Salt:       []byte("0123456789abcdef"),
	}
}

// mint mints the token of the test claims under kr.
func mint(t *testing.T, kr *Keyring) (JoinClaims, string) {
	t.Helper()
	c := claims(kr)
	tok, err := kr.JoinToken(c)
	if err != nil {
		t.Fatal(err)
	}
	return c, tok
}

func TestJoinTokenRoundTrip(t *testing.T) {
	kr, err := Ephemeral()
	if err != nil {
		t.Fatal(err)
	}
	c, tok := mint(t, kr)
	if len(tok) != joinTokenLen || strings.ContainsAny(tok, "=+/") {
		t.Fatalf("token %q: want %d unpadded base64url characters", tok, joinTokenLen)
	}
	again, _ := kr.JoinToken(c)
	if again != tok {
		t.Fatal("the same claims gave another token")
	}
	p, err := ParseJoinToken(tok)
	if err != nil || p.MeetingID != c.MeetingID || p.AttendeeID != c.AttendeeID || p.Content {
		t.Fatalf("parse: %+v %v", p, err)
	}
	if !kr.CheckJoinToken(p, c.AccountID, c.Salt) {
		t.Fatal("a minted token does not check")
	}
	if kr.CheckJoinToken(p, "222222222222", c.Salt) || kr.CheckJoinToken(p, c.AccountID, []byte("another salt....")) {
		t.Fatal("a token checks for another account or salt")
	}
	pc, err := ParseJoinToken(tok + "#content")
	if err != nil || !pc.Content || !kr.CheckJoinToken(pc, c.AccountID, c.Salt) {
		t.Fatalf("content token: %+v %v", pc, err)
	}
	other, _ := Ephemeral()
	if other.CheckJoinToken(p, c.AccountID, c.Salt) {
		t.Fatal("a token checks under another keyring")
	}
	for _, bad := range []string{"", "#content", tok[:len(tok)-1], tok + "A", strings.Replace(tok, tok[:1], "B", 1), tok + "#contents"} {
		if p, err := ParseJoinToken(bad); err == nil && kr.CheckJoinToken(p, c.AccountID, c.Salt) {
			t.Fatalf("%q checks", bad)
		}
	}
}

func TestKeyFileRotationAndRetirement(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	kr, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode: %v %v", info.Mode(), err)
	}
	c := claims(kr)
	tok, _ := kr.JoinToken(c)
	reopened, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := reopened.JoinToken(c); again != tok {
		t.Fatal("the key did not persist")
	}

	id, err := Rotate(path)
	if err != nil || id != 2 {
		t.Fatalf("rotate: %d %v", id, err)
	}
	if err := Retire(path, 2); err == nil {
		t.Fatal("retired the active key")
	}
	// The running keyring learns of the new key when it meets a token of it.
	fresh, _ := Open(path)
	c2 := c
	c2.KeyID = fresh.ActiveID()
	tok2, _ := fresh.JoinToken(c2)
	p2, _ := ParseJoinToken(tok2)
	if !kr.CheckJoinToken(p2, c.AccountID, c.Salt) {
		t.Fatal("a keyring did not pick up a rotated key")
	}
	p, _ := ParseJoinToken(tok)
	if !kr.CheckJoinToken(p, c.AccountID, c.Salt) {
		t.Fatal("rotation voided an old token")
	}
	if err := Retire(path, 1); err != nil {
		t.Fatal(err)
	}
	if err := kr.Reload(); err != nil {
		t.Fatal(err)
	}
	if kr.CheckJoinToken(p, c.AccountID, c.Salt) {
		t.Fatal("a retired key's token still checks")
	}
	list, err := List(path)
	if err != nil || len(list) != 1 || list[0].ID != 2 || !list[0].Active {
		t.Fatalf("list: %+v %v", list, err)
	}
	b, _ := os.ReadFile(path)
	if !bytes.Contains(b, []byte(`"activeKeyId": 2`)) {
		t.Fatalf("key file: %s", b)
	}
}

func TestCursor(t *testing.T) {
	kr, _ := Ephemeral()
	c := kr.SealCursor("scope-a", []byte{1, 2, 3})
	got, err := kr.OpenCursor("scope-a", c)
	if err != nil || !bytes.Equal(got, []byte{1, 2, 3}) {
		t.Fatalf("open: %v %v", got, err)
	}
	if _, err := kr.OpenCursor("scope-b", c); err == nil {
		t.Fatal("a cursor opened in another scope")
	}
	raw := []byte(c)
	for i := range raw {
		tampered := bytes.Clone(raw)
		tampered[i] ^= 1
		if _, err := kr.OpenCursor("scope-a", string(tampered)); err == nil {
			t.Fatalf("a cursor with byte %d changed opened", i)
		}
	}
	if _, err := kr.OpenCursor("scope-a", strings.Repeat("A", 5000)); err == nil {
		t.Fatal("a huge cursor opened")
	}
}

func FuzzParseJoinToken(f *testing.F) {
	kr, _ := Ephemeral()
	tok, _ := kr.JoinToken(claims(kr))
	f.Add(tok)
	f.Add(tok + "#content")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseJoinToken(s)
		if err == nil {
			kr.CheckJoinToken(p, "111111111111", []byte("0123456789abcdef"))
		}
	})
}

// TestJoinTokenIsStable pins a token minted from a fixed key: tokens are
// derived, never stored, so one minted before an upgrade must come out the
// same after it.
func TestJoinTokenIsStable(t *testing.T) {
	kr, err := fromFile("", &keyFile{Version: keyFileVersion, ActiveID: 7,
		Keys: []Key{{ID: 7, Secret: bytes.Repeat([]byte{0x5a}, secretSize)}}})
	if err != nil {
		t.Fatal(err)
	}
	_, tok := mint(t, kr)
	const want = "AQAAAAcBoh22LFh7IZ933kZZf3OfAaIdtj-1dTKqQk9rzoFzOMUw-Rh6szbn8xFhv1QGAFzSA4fXSQW4PvE3sre6nTfC"
	if tok != want {
		t.Fatalf("token %s, want %s", tok, want)
	}
}
