package bench

import (
	"strings"
	"testing"

	"github.com/carillon-dev/carillon/internal/store/sqlite"
)

func phase(name string, startUpMs float64, resident int64, getAttendee, batchItems float64) *GrowthPhase {
	p := &GrowthPhase{Store: name, StartUpMs: startUpMs, PeakResidentBytes: resident}
	for _, r := range growthRuns {
		o := OpResult{Requests: 100, PerSecond: getAttendee}
		if r.items {
			o.ItemsPerS = batchItems
		}
		p.Runs = append(p.Runs, &TargetRun{Name: r.workload, Result: run1(r.op, o)})
	}
	return p
}

func TestGrowthChecks(t *testing.T) {
	large := sqlite.Contents{Meetings: 1_000_000, Attendees: 10_000_000, Bytes: 3 << 30}
	empty := phase("empty", 30, 200<<20, 30_000, 90_000)
	filled := phase("filled", 25, 900<<20, 20_000, 60_000) // 1.5x slower: the bound itself
	checks := growthChecks(large, empty, filled)
	if len(checks) != len(growthRuns)+2 {
		t.Fatalf("%d checks: %+v", len(checks), checks)
	}
	for _, c := range checks {
		if !c.Met {
			t.Errorf("not met: %+v", c)
		}
	}
	if c := checks[0]; c.Measured != "20000/s, 1.50x" || c.Context != "empty store 30000/s" {
		t.Errorf("GetAttendee: %+v", c)
	}
	if c := checks[len(growthRuns)-1]; c.Measured != "60000 attendees/s, 1.50x" {
		t.Errorf("batches are judged by attendees: %+v", c)
	}

	slow := phase("filled", 2500, 1100<<20, 19_999, 90_000)
	checks = growthChecks(large, empty, slow)
	for i, want := range []bool{false, false, false, true, false, false} {
		if checks[i].Met != want {
			t.Errorf("%s: met %v, want %v (%+v)", checks[i].Target, checks[i].Met, want, checks[i])
		}
	}

	// A store smaller than the targets' meets none of them, however fast.
	for _, c := range growthChecks(sqlite.Contents{Meetings: 999_999, Attendees: 10_000_000}, empty, filled) {
		if c.Met {
			t.Errorf("met on a small store: %+v", c)
		}
	}

	// Memory that could not be read is said so, not met.
	filled.PeakResidentBytes = 0
	if c := growthChecks(large, empty, filled)[len(growthRuns)]; c.Met || c.Measured != "not measured" {
		t.Errorf("unread memory: %+v", c)
	}

	// Without a figure on the empty store, or with errors there, there is
	// nothing to compare with: not met, and the errors are said.
	nothing := phase("empty", 30, 200<<20, 30_000, 90_000)
	nothing.Runs[0].Result = run1("GetAttendee", OpResult{})
	nothing.Runs[1].Result = run1("GetMeeting", OpResult{Requests: 100, PerSecond: 30_000, ErrorCount: 7})
	checks = growthChecks(large, nothing, phase("filled", 25, 900<<20, 20_000, 60_000))
	if checks[0].Met || checks[1].Met || !strings.Contains(checks[1].Context, "7 errors") || !checks[2].Met {
		t.Errorf("against an empty store that measured nothing or failed: %+v", checks[:3])
	}

	// A filled store whose run failed meets nothing.
	filled.Runs[0].Result = run1("GetAttendee", OpResult{Requests: 100, PerSecond: 30_000, ErrorCount: 3})
	if c := growthChecks(large, empty, filled)[0]; c.Met || !strings.Contains(c.Measured, "3 errors") {
		t.Errorf("a failing run: %+v", c)
	}
}

// Spread reads are set beside the empty store's figures, and a filled
// store without a sample (it held no attendees) has none.
func TestSpreadReads(t *testing.T) {
	empty := phase("empty", 30, 200<<20, 30_000, 90_000)
	filled := phase("filled", 25, 300<<20, 29_000, 88_000)
	if got := spreadReads(empty, filled); len(got) != 0 {
		t.Errorf("no spread runs gave %+v", got)
	}
	filled.Spread = []*TargetRun{{Result: run1("GetAttendee", OpResult{Requests: 10, PerSecond: 10_000})},
		{Result: run1("GetMeeting", OpResult{Requests: 10, PerSecond: 15_000, ErrorCount: 2})}}
	got := spreadReads(empty, filled)
	if len(got) != 2 || got[0] != (SpreadRead{Operation: "GetAttendee", PerSecond: 10_000, Empty: 30_000}) ||
		got[1] != (SpreadRead{Operation: "GetMeeting", PerSecond: 15_000, ErrorCount: 2, Empty: 30_000}) {
		t.Errorf("spread reads %+v", got)
	}
}
