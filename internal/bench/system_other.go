//go:build !linux

package bench

import (
	"errors"
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

// peakResident would read a process's peak resident memory, which only
// Linux's /proc offers here.
func peakResident(pid int) (int64, error) {
	return 0, errors.New("peak resident memory: only measured on Linux")
}
