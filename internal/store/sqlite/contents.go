package sqlite

import (
	"context"
	"errors"
	"io/fs"
	"os"
)

// Contents is what a database holds.
type Contents struct {
	Meetings  int64
	Attendees int64
	Bytes     int64 // the database file and its WAL
}

// Count reads what the database at path holds, beside a server that may
// be running on it. It reads every row's key, which takes a second or two
// for ten million attendees.
func Count(ctx context.Context, path string) (Contents, error) {
	var c Contents
	s, err := OpenReadOnly(ctx, path)
	if err != nil {
		return c, err
	}
	defer s.Close()
	if err := s.read.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM meetings), (SELECT count(*) FROM attendees)`).
		Scan(&c.Meetings, &c.Attendees); err != nil {
		return c, err
	}
	for _, f := range []string{path, path + "-wal"} {
		fi, err := os.Stat(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return c, err
		}
		c.Bytes += fi.Size()
	}
	return c, nil
}
