//go:build !linux

package bench

import "time"

// sleepPrecisely sleeps for about d.
func sleepPrecisely(d time.Duration) { time.Sleep(d) }
