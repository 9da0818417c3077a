// Package periodic runs background work at once and then at an interval.
package periodic

import (
	"context"
	"time"
)

// Every calls fn at once, then every interval after the last call began
// (a call that runs long is not called again behind it), until ctx ends.
func Every(ctx context.Context, interval time.Duration, fn func(context.Context)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		fn(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
