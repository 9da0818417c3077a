package sigv4

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync"

	"github.com/carillon-dev/carillon/internal/hmacpool"
)

// Step 4: Calculate the signature.
//
// deriveSigningKey derives the signing key from the secret access key:
//
//	kDate    = HMAC("AWS4" + secret, Date)
//	kRegion  = HMAC(kDate, Region)
//	kService = HMAC(kRegion, Service)
//	kSigning = HMAC(kService, "aws4_request")
func deriveSigningKey(secret string, scope credentialScope) [sha256.Size]byte {
	kDate := hmacSHA256([]byte("AWS4"+secret), scope.date)
	kRegion := hmacSHA256(kDate[:], scope.region)
	kService := hmacSHA256(kRegion[:], scope.service)
	return hmacSHA256(kService[:], scopeTerminator)
}

// signingKey is the second half of Step 4: the signature is
// HMAC(kSigning, StringToSign). A key that is kept (cached, or the
// Signer's) has a pool of HMAC states keyed with it, so that a signature
// costs a Reset rather than a new HMAC; a key used once has none. The
// signature travels hex-encoded, and is compared here as raw bytes.
type signingKey struct {
	key  [sha256.Size]byte
	macs *hmacpool.Pool // nil for a key used once
}

// kept returns the key with a pool of states, to be kept and reused.
func (k *signingKey) kept() *signingKey {
	if k.macs != nil {
		return k
	}
	return &signingKey{key: k.key, macs: hmacpool.New(k.key[:])}
}

// sign returns the signature of the request whose canonical request hashes
// to canonicalRequestHash.
func (k *signingKey) sign(amzDate string, scope credentialScope, canonicalRequestHash [sha256.Size]byte) [sha256.Size]byte {
	if k.macs == nil {
		return hmacSHA256(k.key[:], string(appendStringToSign(nil, amzDate, scope, canonicalRequestHash)))
	}
	st := k.macs.Get()
	defer k.macs.Put(st)
	return st.Sum(appendStringToSign(st.Buf[:0], amzDate, scope, canonicalRequestHash))
}

// Step 5: Add the signature to the request.
//
// That is the client's step; the server's counterpart is to compare the
// signature it calculated with the one the client added, in constant time so
// that the time taken reveals nothing about how many leading bytes matched.
func signaturesEqual(calculated [sha256.Size]byte, provided []byte) bool {
	return hmac.Equal(calculated[:], provided)
}

func hmacSHA256(key []byte, data string) [sha256.Size]byte {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(data))
	var sum [sha256.Size]byte
	mac.Sum(sum[:0])
	return sum
}

// maxCachedKeys bounds the key cache. A signing key is valid for one day,
// region and service, so a server sees about one per active access key and
// region per day; when the bound is reached the cache is simply emptied,
// which costs each active key one derivation.
const maxCachedKeys = 1024

// keyCache holds derived signing keys. It belongs to one Verifier, and the
// zero value is ready to use.
//
// Entries are keyed by the secret itself, not the access key ID, so a
// rotated secret never finds the key derived from the old one: rotation takes
// effect on the very next request. The secrets are held by the credential
// store anyway, and the cache only holds keys that already verified a
// signature.
type keyCache struct {
	mu   sync.RWMutex
	keys map[signingKeyID]*signingKey
}

type signingKeyID struct {
	secret string
	scope  credentialScope
}

func (c *keyCache) get(secret string, scope credentialScope) (*signingKey, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	key, ok := c.keys[signingKeyID{secret: secret, scope: scope}]
	return key, ok
}

func (c *keyCache) put(secret string, scope credentialScope, key *signingKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys == nil || len(c.keys) >= maxCachedKeys {
		c.keys = make(map[signingKeyID]*signingKey)
	}
	c.keys[signingKeyID{secret: secret, scope: scope}] = key
}

func (c *keyCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.keys)
}
