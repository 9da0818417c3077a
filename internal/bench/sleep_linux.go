package bench

import (
	"time"

	"golang.org/x/sys/unix"
)

// sleepPrecisely blocks the calling thread for about d with nanosleep,
// which wakes within tens of microseconds where the runtime's timers may
// take a millisecond. A signal may end it early; callers check the time.
func sleepPrecisely(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	_ = unix.Nanosleep(&ts, nil)
}
