// Package hmacpool keeps HMAC-SHA256 states keyed with one key for reuse.
// Reset takes a state back to its keyed state without hashing the key's
// pads again, and each state has a scratch buffer for its message, so that
// a MAC over a message built in place allocates nothing: for MACs computed
// on every request (signatures, join tokens).
package hmacpool

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"sync"
)

// Pool hands out states keyed with one key. It is safe for concurrent use.
type Pool struct{ states sync.Pool }

// State is a keyed HMAC and a scratch buffer for the message.
type State struct {
	mac hash.Hash
	// Buf is room to build the message in: Buf[:0], appended to.
	Buf []byte
	sum [sha256.Size]byte
}

// New returns a pool of states keyed with key.
func New(key []byte) *Pool {
	key = bytes.Clone(key)
	p := &Pool{}
	p.states.New = func() any { return &State{mac: hmac.New(sha256.New, key)} }
	return p
}

// Get returns a state ready for a message.
func (p *Pool) Get() *State {
	s := p.states.Get().(*State)
	s.mac.Reset()
	return s
}

// Put gives a state back.
func (p *Pool) Put(s *State) { p.states.Put(s) }

// Sum returns the MAC of msg, which was built in s.Buf: its storage, grown
// or not, stays the state's buffer.
func (s *State) Sum(msg []byte) [sha256.Size]byte {
	s.Buf = msg[:0]
	s.mac.Write(msg)
	return [sha256.Size]byte(s.mac.Sum(s.sum[:0]))
}
