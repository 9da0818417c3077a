package hmacpool

import (
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"sync"
	"testing"
)

// Every state gives the MAC a fresh HMAC gives, however often it is reused
// and from however many goroutines.
func TestSumIsTheHMAC(t *testing.T) {
	key := []byte("the key")
	p := New(key)
	key[0] = 'X' // the pool keeps its own copy
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 200 {
				msg := fmt.Sprintf("message %d of %d, %s", i, g, string(make([]byte, i)))
				want := hmac.New(sha256.New, []byte("the key"))
				want.Write([]byte(msg))
				s := p.Get()
				got := s.Sum(append(s.Buf[:0], msg...))
				p.Put(s)
				if !hmac.Equal(got[:], want.Sum(nil)) {
					t.Errorf("MAC of %q differs from HMAC's", msg)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkSum(b *testing.B) {
	p := New([]byte("the key"))
	msg := make([]byte, 128)
	b.ReportAllocs()
	for b.Loop() {
		s := p.Get()
		s.Sum(append(s.Buf[:0], msg...))
		p.Put(s)
	}
}
