//go:build !linux

package bench

import (
	"os"
	"time"
)

// settle would write out the machine's dirty pages before a measurement;
// elsewhere than on Linux it does nothing.
func settle() {}

// datasync makes f's data durable with os.File.Sync: fsync, or on macOS
// F_FULLFSYNC, stricter than SQLite's default there.
func datasync(f *os.File) error { return f.Sync() }

// sleepPrecisely sleeps for about d.
func sleepPrecisely(d time.Duration) { time.Sleep(d) }
