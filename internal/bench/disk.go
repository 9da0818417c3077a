package bench

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// The file Disk writes is laid out as SQLite's WAL: frames of a 24-byte
// header and a 4 KiB page, each written with a call of its own, in a file
// that holds walFrames of them (the checkpoint threshold) and is
// overwritten from the start, as the WAL is after each checkpoint.
const (
	frameHeader = 24
	pageSize    = 4096
	walFrames   = 1000
)

// PagesPerCreateAttendee is about how many pages a CreateAttendee adds to
// the WAL's commit (31 frames for 16 additions, measured from the WAL's
// frame headers).
const PagesPerCreateAttendee = 2

// maxDiskWrites bounds the writes of one run (their latencies are kept).
const maxDiskWrites = 100_000_000

// stallThreshold is how long a commit's writes and sync must take to
// count as a stall of the storage.
const stallThreshold = 5 * time.Millisecond

// DiskConfig is one measurement of the storage floor.
type DiskConfig struct {
	Dir      string        // a directory on the storage to measure (the data directory)
	Rate     float64       // requests per second, arriving evenly
	Pages    int           // pages each request writes; each commit writes one more
	Duration time.Duration // measured time
}

// Validate reports a configuration that cannot be measured.
func (c DiskConfig) Validate() error {
	switch err := CheckRate(c.Rate); {
	case err != nil:
		return fmt.Errorf("disk: %w", err)
	case c.Rate*c.Duration.Seconds() > maxDiskWrites:
		return fmt.Errorf("disk: at most %d writes in a run", maxDiskWrites)
	case c.Pages < 1:
		return errors.New("disk: each request writes at least one page")
	case c.Duration <= 0:
		return errors.New("disk: the duration must be positive")
	}
	return nil
}

// DiskResult is the latency that storage alone gives durable writes at a
// rate: what a server that commits them in groups, and spends no time on
// anything else, would answer.
type DiskResult struct {
	Dir             string  `json:"dir"`
	Rate            float64 `json:"requestsPerSecond"`
	PagesPerRequest int     `json:"pagesPerRequest"`
	Seconds         float64 `json:"seconds"`
	Requests        int     `json:"requests"`
	Commits         int     `json:"commits"`
	// Latencies of requests, from when each was due to the end of the
	// fdatasync of the commit that carried it.
	P50 float64 `json:"p50Ms"`
	P90 float64 `json:"p90Ms"`
	P99 float64 `json:"p99Ms"`
	Max float64 `json:"maxMs"`
	// A commit's page writes and its fdatasync.
	WriteP50 float64 `json:"writeP50Ms"`
	WriteP99 float64 `json:"writeP99Ms"`
	WriteMax float64 `json:"writeMaxMs"`
	SyncP50  float64 `json:"syncP50Ms"`
	SyncP99  float64 `json:"syncP99Ms"`
	SyncMax  float64 `json:"syncMaxMs"`
	// Stalls are the commits whose writes and sync took over 5 ms.
	Stalls       int     `json:"stalls"`
	StalledMs    float64 `json:"stalledMs"`
	LongestStall float64 `json:"longestStallMs"`
}

// Disk measures the storage floor: requests arrive at the configured rate,
// and one loop commits, again and again, every request that has arrived,
// by writing their pages to a scratch file in Dir and calling fdatasync.
// It does nothing else, so no server that acknowledges a write only once
// it is durable can answer at that rate with a lower latency on that
// storage. The scratch file is removed at the end.
func Disk(ctx context.Context, cfg DiskConfig) (*DiskResult, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(cfg.Dir, ".carillon-disk-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	// Allocate the whole file first, so that no commit extends it (then
	// fdatasync would have the file's size to record as well).
	if _, err := f.WriteAt(make([]byte, walFrames*(frameHeader+pageSize)), 0); err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}
	if err := datasync(f); err != nil {
		return nil, fmt.Errorf("disk: %w", err)
	}

	var (
		header    = make([]byte, frameHeader)
		page      = randomPage() // not zeros, which some storage skips or compresses
		frame     int            // next frame to write
		latencies = make([]time.Duration, 0, min(int(cfg.Rate*cfg.Duration.Seconds())+1, 1<<20))
		due       []time.Time // the requests of the commit under way
		writes    []time.Duration
		syncs     []time.Duration
		res       = &DiskResult{Dir: cfg.Dir, Rate: cfg.Rate, PagesPerRequest: cfg.Pages}
		longest   time.Duration
		stalled   time.Duration
	)
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	next := start // when the next request is due
	for ctx.Err() == nil {
		now := time.Now()
		if next.After(now) {
			if !next.Before(deadline) {
				break
			}
			waitUntil(ctx, next)
			continue
		}
		// Every request due by now goes into this commit.
		due = due[:0]
		for !next.After(now) && next.Before(deadline) {
			due = append(due, next)
			next = next.Add(interval)
		}
		if len(due) == 0 {
			break
		}
		// A commit larger than the file (after a long stall) wraps around
		// in it: what matters is what is written, not where.
		for range len(due)*cfg.Pages + 1 {
			if frame == walFrames {
				frame = 0
			}
			off := int64(frame) * (frameHeader + pageSize)
			if _, err := f.WriteAt(header, off); err != nil {
				return nil, fmt.Errorf("disk: %w", err)
			}
			if _, err := f.WriteAt(page, off+frameHeader); err != nil {
				return nil, fmt.Errorf("disk: %w", err)
			}
			frame++
		}
		written := time.Now()
		if err := datasync(f); err != nil {
			return nil, fmt.Errorf("disk: %w", err)
		}
		end := time.Now()
		for _, d := range due {
			latencies = append(latencies, end.Sub(d))
		}
		writes = append(writes, written.Sub(now))
		syncs = append(syncs, end.Sub(written))
		if took := end.Sub(now); took > stallThreshold {
			res.Stalls++
			stalled += took
			longest = max(longest, took)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res.Seconds = time.Since(start).Seconds()
	res.Requests, res.Commits = len(latencies), len(syncs)
	res.P50, res.P90, res.P99, res.Max = percentiles(latencies)
	res.WriteP50, _, res.WriteP99, res.WriteMax = percentiles(writes)
	res.SyncP50, _, res.SyncP99, res.SyncMax = percentiles(syncs)
	res.StalledMs, res.LongestStall = ms(stalled), ms(longest)
	return res, nil
}

func randomPage() []byte {
	p := make([]byte, pageSize)
	rand.Read(p)
	return p
}

// percentiles returns the p50, p90, p99 and maximum of ds in milliseconds,
// sorting ds.
func percentiles(ds []time.Duration) (p50, p90, p99, maximum float64) {
	if len(ds) == 0 {
		return 0, 0, 0, 0
	}
	slices.Sort(ds)
	at := func(p float64) float64 { return ms(ds[int(p*float64(len(ds)-1))]) }
	return at(0.50), at(0.90), at(0.99), at(1)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
