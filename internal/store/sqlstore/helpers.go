package sqlstore

import (
	"fmt"

	"github.com/carillon-dev/carillon/internal/store"
)

// CacheEntries is the default bound of the in-memory caches of a store.
const CacheEntries = 100_000

// Run calls a transaction's callback, turning a panic into an error so
// that the store rolls back and keeps serving.
func Run(fn func(store.Writer) error, w store.Writer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store: transaction panicked: %v", p)
		}
	}()
	return fn(w)
}

// EvictHalf drops about half of a cache, at random (map order): cheaper
// than an LRU, and good enough for entries this cheap to rebuild.
func EvictHalf[V any](m map[string]V) {
	n, target := 0, len(m)/2
	for k := range m {
		delete(m, k)
		if n++; n >= target {
			return
		}
	}
}
