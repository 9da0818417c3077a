package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// The measurements' use of the system, where Linux offers more than the
// standard library.

// settle writes out every dirty page of the machine (sync), so that a
// measurement does not pay for the writeback of what ran before it.
func settle() { unix.Sync() }

// datasync makes f's data durable as SQLite does on Linux: fdatasync,
// which skips metadata such as the modification time.
func datasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }

// sleepPrecisely blocks the calling thread for about d with nanosleep,
// which wakes within a tenth of a millisecond where the runtime's timers
// may take a millisecond. A signal may end it early; callers check the
// time.
func sleepPrecisely(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	_ = unix.Nanosleep(&ts, nil)
}

// peakResident reads the most resident memory process pid has had (VmHWM),
// in bytes.
func peakResident(pid int) (int64, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("VmHWM:")); ok {
			kb, err := strconv.ParseInt(string(bytes.TrimSpace(bytes.TrimSuffix(bytes.TrimSpace(rest), []byte("kB")))), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("VmHWM of process %d: %w", pid, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/%d/status", pid)
}
