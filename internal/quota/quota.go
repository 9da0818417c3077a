// Package quota limits the request rate of each account with a token bucket,
// like the real service (10 requests per second with bursts of 20 by
// default there).
package quota

import (
	"sync"

	"golang.org/x/time/rate"
)

// Limiter holds one token bucket per account. Accounts come from the
// configured credentials, so the set of buckets is bounded.
type Limiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// NewLimiter allows perSecond requests per account, with bursts of burst.
// A zero or negative rate means no limit (Allow always says yes).
func NewLimiter(perSecond float64, burst int) *Limiter {
	if burst < 1 {
		burst = 1
	}
	return &Limiter{rate: rate.Limit(perSecond), burst: burst, buckets: map[string]*rate.Limiter{}}
}

// Allow takes a token from the account's bucket, or reports that there is none.
func (l *Limiter) Allow(accountID string) bool {
	if l == nil || l.rate <= 0 {
		return true
	}
	l.mu.Lock()
	b, ok := l.buckets[accountID]
	if !ok {
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[accountID] = b
	}
	l.mu.Unlock()
	return b.Allow()
}
