package server

import (
	"fmt"
	"path/filepath"

	"github.com/gofrs/flock"
)

// dirLock keeps a second process from opening the same data directory: two
// writers would defeat the group commit's single-writer design.
type dirLock struct{ l *flock.Flock }

func lockDir(dir string) (*dirLock, error) {
	l := flock.New(filepath.Join(dir, "LOCK"))
	locked, err := l.TryLock()
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", l.Path(), err)
	}
	if !locked {
		return nil, fmt.Errorf("data directory %s is in use by another carillon process", dir)
	}
	return &dirLock{l: l}, nil
}

func (l *dirLock) release() error { return l.l.Unlock() }
