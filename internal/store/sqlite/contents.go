package sqlite

import (
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"strings"
)

// Contents is what a database holds.
type Contents struct {
	Meetings  int64 `json:"meetings"`
	Attendees int64 `json:"attendees"`
	Bytes     int64 `json:"bytes"` // the database file and its WAL
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

// SampleAttendees draws up to n distinct attendees of the database at path
// at random, each as its meeting's ID and its own, in random order: by
// looking up random sequence numbers, or, where n is half the numbers
// drawn so far or more, by shuffling them all. It returns fewer where the
// database holds fewer, or where most of its numbers were deleted.
func SampleAttendees(ctx context.Context, path string, n int) ([][2]string, error) {
	s, err := OpenReadOnly(ctx, path)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var last int64
	if err := s.read.QueryRowContext(ctx, `SELECT COALESCE(max(seq), 0) FROM attendees`).Scan(&last); err != nil || last == 0 {
		return nil, err
	}
	if int64(n) >= last/2 { // most of it: all of it, rather than draws that mostly repeat
		all, err := allAttendees(ctx, s)
		return shuffled(all, n), err
	}
	const chunk = 500
	query := `SELECT seq, meeting_id, id FROM attendees WHERE seq IN (?` + strings.Repeat(", ?", chunk-1) + `)`
	var sample [][2]string
	taken := map[int64]bool{}
	args := make([]any, chunk)
	for drawn := 0; len(sample) < n && drawn < 4*n; drawn += chunk {
		for i := range args {
			args[i] = 1 + rand.Int64N(last)
		}
		rows, err := s.read.QueryContext(ctx, query, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var seq int64
			var a [2]string
			if err := rows.Scan(&seq, &a[0], &a[1]); err != nil {
				rows.Close()
				return nil, err
			}
			if !taken[seq] {
				taken[seq] = true
				sample = append(sample, a)
			}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	// Each query returns its rows by seq: shuffled, so that cutting the
	// last chunk short keeps no part of the store more than another.
	return shuffled(sample, n), nil
}

// shuffled returns up to n of as, in random order.
func shuffled(as [][2]string, n int) [][2]string {
	rand.Shuffle(len(as), func(i, j int) { as[i], as[j] = as[j], as[i] })
	return as[:min(len(as), n)]
}

// allAttendees returns every attendee.
func allAttendees(ctx context.Context, s *Store) ([][2]string, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT meeting_id, id FROM attendees`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var all [][2]string
	for rows.Next() {
		var a [2]string
		if err := rows.Scan(&a[0], &a[1]); err != nil {
			return nil, err
		}
		all = append(all, a)
	}
	return all, rows.Err()
}
