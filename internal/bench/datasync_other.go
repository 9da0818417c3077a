//go:build !linux

package bench

import "os"

// datasync makes f's data durable (fsync where fdatasync is not offered).
func datasync(f *os.File) error { return f.Sync() }

// settle would write out the machine's dirty pages before a measurement;
// elsewhere than on Linux it does nothing.
func settle() {}
