package bench

import (
	"strings"
	"testing"
)

func run1(op string, o OpResult) *Result {
	o.Operation = op
	return &Result{Operations: []OpResult{{Operation: "CreateMeeting", Requests: 3}, o}}
}

func TestPeakChecks(t *testing.T) {
	ca := &TargetRun{Result: run1("CreateAttendee", OpResult{Requests: 1, PerSecond: 12_000}),
		Ceiling: run1("CreateAttendee", OpResult{Requests: 1, PerSecond: 40_000})}
	batch := &TargetRun{Result: run1("BatchCreateAttendee", OpResult{Requests: 1, PerSecond: 700, ItemsPerS: 70_000})}
	ga := &TargetRun{Result: run1("GetAttendee", OpResult{Requests: 1, PerSecond: 25_000})}
	gm := &TargetRun{Result: run1("GetMeeting", OpResult{Requests: 1, PerSecond: 24_999})}
	checks := peakChecks(ca, batch, ga, gm)
	want := []struct {
		measured string
		met      bool
	}{
		{"12000/s", true},
		{"30%", false}, // 12,000 of 40,000
		{"70000 attendees/s", true},
		{"25000/s", true}, // the bound itself meets it
		{"24999/s", false},
	}
	if len(checks) != len(want) {
		t.Fatalf("%d checks, want %d: %+v", len(checks), len(want), checks)
	}
	for i, w := range want {
		if checks[i].Measured != w.measured || checks[i].Met != w.met {
			t.Errorf("%s: measured %q met %v, want %q %v", checks[i].Target, checks[i].Measured, checks[i].Met, w.measured, w.met)
		}
	}
	if !strings.Contains(checks[1].Context, "40000") {
		t.Errorf("the share's context does not name the ceiling: %q", checks[1].Context)
	}
	// Errors make a fast run fail its target.
	ga.Result = run1("GetAttendee", OpResult{Requests: 1, PerSecond: 90_000, ErrorCount: 5})
	if c := peakChecks(ca, batch, ga, gm)[3]; c.Met || !strings.Contains(c.Measured, "5 errors") {
		t.Errorf("a run with errors: %+v", c)
	}
}

func TestLatencyCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		got  OpResult
		met  bool
	}{
		{"within", OpResult{Requests: 100, P99: 4.9}, true},
		{"at the bound", OpResult{Requests: 100, P99: 5}, true},
		{"over", OpResult{Requests: 100, P99: 5.1}, false},
		{"fast but failing", OpResult{Requests: 100, P99: 1, ErrorCount: 2}, false},
		{"nothing answered", OpResult{}, false},
	} {
		tr := &TargetRun{Result: run1("CreateAttendee", tc.got), Ceiling: run1("CreateAttendee", OpResult{P99: 2.5}),
			Disk: &DiskResult{P99: 12.5}}
		c := latencyCheck("CreateAttendee", 5000, tr)
		if c.Met != tc.met {
			t.Errorf("%s: met = %v (%+v)", tc.name, c.Met, c)
		}
		if !strings.Contains(c.Context, "bare server 2.5 ms") || !strings.Contains(c.Context, "storage 12.5 ms") {
			t.Errorf("%s: context %q", tc.name, c.Context)
		}
	}
	// An operation missing from a run (its workload failed) is not met.
	if c := latencyCheck("GetMeeting", 5000, &TargetRun{Result: &Result{}}); c.Met {
		t.Errorf("met with no result: %+v", c)
	}
}
