package bench

import (
	"os"

	"golang.org/x/sys/unix"
)

// settle writes out every dirty page of the machine (sync), so that a
// measurement does not pay for the writeback of what ran before it.
func settle() { unix.Sync() }

// datasync makes f's data durable as SQLite does on Linux: fdatasync,
// which skips metadata such as the modification time.
func datasync(f *os.File) error { return unix.Fdatasync(int(f.Fd())) }
