package token

import "testing"

func BenchmarkJoinTokenMint(b *testing.B) {
	kr, _ := Ephemeral()
	c := claims(kr)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.JoinToken(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJoinTokenVerify(b *testing.B) {
	kr, _ := Ephemeral()
	c := claims(kr)
	tok, _ := kr.JoinToken(c)
	b.ReportAllocs()
	for b.Loop() {
		p, err := ParseJoinToken(tok)
		if err != nil || !kr.CheckJoinToken(p, c.AccountID, c.Salt) {
			b.Fatal("does not verify")
		}
	}
}

func BenchmarkCursorSealOpen(b *testing.B) {
	kr, _ := Ephemeral()
	payload := []byte{0, 0, 0, 0, 0, 0, 1, 2}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.OpenCursor("scope", kr.SealCursor("scope", payload)); err != nil {
			b.Fatal(err)
		}
	}
}
