package bench

import (
	"context"
	"os"
	"testing"
	"time"
)

func TestDiskAnswersEveryDueRequest(t *testing.T) {
	dir := t.TempDir()
	cfg := DiskConfig{Dir: dir, Rate: 2000, Pages: 2, Duration: 300 * time.Millisecond}
	res, err := Disk(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// Requests are due every 500 µs from the start until the deadline.
	if want := int(cfg.Rate * cfg.Duration.Seconds()); res.Requests != want {
		t.Errorf("requests = %d, want %d", res.Requests, want)
	}
	if res.Commits < 1 || res.Commits > res.Requests {
		t.Errorf("commits = %d for %d requests", res.Commits, res.Requests)
	}
	if !(res.P50 <= res.P90 && res.P90 <= res.P99 && res.P99 <= res.Max) {
		t.Errorf("latencies out of order: %+v", res)
	}
	// A request waits at least for the fdatasync of its commit.
	if res.Max < res.SyncP50 {
		t.Errorf("max latency %.3f ms below the median fdatasync %.3f ms", res.Max, res.SyncP50)
	}
	if res.Stalls > res.Commits || res.LongestStall > 0 && res.LongestStall < stallThreshold.Seconds()*1000 {
		t.Errorf("stalls = %d (longest %.3f ms) of %d commits", res.Stalls, res.LongestStall, res.Commits)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("scratch file left behind: %v", entries)
	}
}

func TestDiskRefusesBadConfig(t *testing.T) {
	dir := t.TempDir()
	for name, cfg := range map[string]DiskConfig{
		"no rate":     {Dir: dir, Pages: 2, Duration: time.Second},
		"no pages":    {Dir: dir, Rate: 100, Duration: time.Second},
		"no duration": {Dir: dir, Rate: 100, Pages: 2},
		"no dir":      {Dir: dir + "/missing", Rate: 100, Pages: 2, Duration: time.Second},
	} {
		if _, err := Disk(context.Background(), cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestDiskStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := Disk(ctx, DiskConfig{Dir: t.TempDir(), Rate: 1000, Pages: 1, Duration: time.Minute})
	if err == nil {
		t.Fatal("no error from a cancelled run")
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("took %s to stop", took)
	}
}
