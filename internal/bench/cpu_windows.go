package bench

import (
	"time"

	"golang.org/x/sys/windows"
)

// ownCPU is the CPU time (user and system) this process has used, in
// seconds (0 if GetProcessTimes fails).
func ownCPU() float64 {
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(windows.CurrentProcess(), &created, &exited, &kernel, &user); err != nil {
		return 0
	}
	// Filetimes count 100 ns intervals.
	ticks := func(f windows.Filetime) int64 { return int64(f.HighDateTime)<<32 | int64(f.LowDateTime) }
	return (time.Duration(ticks(kernel)+ticks(user)) * 100).Seconds()
}
