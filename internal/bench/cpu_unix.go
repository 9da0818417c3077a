//go:build unix

package bench

import (
	"syscall"
	"time"
)

// ownCPU is the CPU time (user and system) this process has used, in
// seconds (0 if getrusage fails).
func ownCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
