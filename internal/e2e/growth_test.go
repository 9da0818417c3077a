package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/carillon-dev/carillon/internal/bench"
)

// bench growth seeds a directory, starts its own servers on the filled and
// an empty store, and measures every run without an error, the filled
// store's reads also spread over its sampled attendees; it refuses a store
// it did not fill.
func TestBenchGrowth(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: bench growth starts two servers and runs for a few seconds")
	}
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "growth.json")
	cmd := exec.Command(bin, "bench", "growth", "--data-dir", filepath.Join(dir, "data"), "--meetings", "100",
		"--attendees-per-meeting", "5", "--sample", "200", "--duration", "300ms", "--concurrency", "4", "--json", out)
	cmd.Env = append(os.Environ(), "CARILLON_STORE=memory") // not the store measured: the servers get none of these
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bench growth: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep bench.GrowthReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Stored.Meetings != 100 || rep.Stored.Attendees != 500 || rep.Stored.Bytes == 0 || rep.Sampled != 200 {
		t.Errorf("stored %+v, sampled %d; want 100 meetings, 500 attendees, 200 sampled", rep.Stored, rep.Sampled)
	}
	if len(rep.Phases) != 2 || len(rep.Checks) != 6 || len(rep.Spread) != 2 {
		t.Fatalf("%d phases, %d checks, %d spread reads", len(rep.Phases), len(rep.Checks), len(rep.Spread))
	}
	for _, r := range rep.Spread {
		if r.PerSecond <= 0 || r.Empty <= 0 || r.ErrorCount > 0 {
			t.Errorf("spread read %+v", r)
		}
	}
	if f := rep.Phases[0]; f.Store != "filled" || f.PeakResidentAfterSpread < f.PeakResidentBytes {
		t.Errorf("first phase %s: %d bytes after the spread reads, %d before", f.Store, f.PeakResidentAfterSpread, f.PeakResidentBytes)
	}
	for _, p := range rep.Phases {
		if p.StartUpMs <= 0 || p.PeakResidentBytes <= 0 || len(p.Runs) != 4 || len(p.Spread) != map[string]int{"filled": 2}[p.Store] {
			t.Errorf("%s store: start-up %.1f ms, %d bytes, %d runs, %d spread", p.Store, p.StartUpMs, p.PeakResidentBytes, len(p.Runs), len(p.Spread))
		}
		for _, r := range append(p.Runs, p.Spread...) {
			for _, op := range r.Result.Operations {
				if op.Requests == 0 || op.ErrorCount > 0 {
					t.Errorf("%s store, %s: %s %d requests, errors %v", p.Store, r.Name, op.Operation, op.Requests, op.Errors)
				}
			}
		}
	}
	for _, c := range rep.Checks {
		if c.Met {
			t.Errorf("met on a store of 100 meetings: %+v", c)
		}
	}

	// A store bench seed did not fill is not written into.
	other := filepath.Join(dir, "other")
	if err := os.MkdirAll(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "carillon.db"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err = exec.Command(bin, "bench", "growth", "--data-dir", other).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "bench seed did not fill") {
		t.Errorf("a store of another's: %v\n%s", err, b)
	}
	if b, err = exec.Command(bin, "bench", "growth").CombinedOutput(); err == nil || !strings.Contains(string(b), "--data-dir is required") {
		t.Errorf("no --data-dir: %v\n%s", err, b)
	}
	// bench --sample-from reads a sample only where a workload reads.
	b, err = exec.Command(bin, "bench", "--workload", "create-attendee", "--sample-from", filepath.Join(dir, "data")).CombinedOutput()
	if err == nil || !strings.Contains(string(b), "is for the get-attendee and get-meeting workloads") {
		t.Errorf("a sample for create-attendee: %v\n%s", err, b)
	}
}
