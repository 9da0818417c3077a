package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/carillon-dev/carillon/internal/store/sqlite"
)

// The growth targets: with this much stored, the peak figures stay within
// targetGrowth of an empty store's, in this much memory, after this quick
// a start.
const (
	targetGrowthMeetings  = 1_000_000
	targetGrowthAttendees = 10_000_000
	targetGrowth          = 1.5
	targetResident        = 1 << 30 // bytes
	targetStartUp         = 2 * time.Second
)

// GrowthConfig is one check of the growth targets.
type GrowthConfig struct {
	// Serve is the command line that starts a server: the carillon binary
	// and "serve" (StartServer adds the rest).
	Serve []string
	// DataDir is the filled store's data directory, which the runs write
	// to. The empty store is made beside it, on the same file system.
	DataDir string
	// Sample is how many of the filled store's attendees, drawn at random,
	// its spread reads read.
	Sample      int
	Concurrency int           // workers of the peak runs
	Duration    time.Duration // each run
	Progress    io.Writer     // a line as each step starts; nil: none
}

// GrowthPhase is one server, on the empty or the filled store, and what
// it did.
type GrowthPhase struct {
	Store     string  `json:"store"` // "empty" or "filled"
	StartUpMs float64 `json:"startUpMs"`
	// PeakResidentBytes is the most resident memory over the target runs.
	PeakResidentBytes int64        `json:"peakResidentBytes,omitempty"`
	Runs              []*TargetRun `json:"runs"` // growthRuns, in order
	// Spread are the filled store's spread reads (spreadRuns, in order),
	// run after the targets', and PeakResidentAfterSpread the most
	// resident memory once they too had run.
	Spread                  []*TargetRun `json:"spreadRuns,omitempty"`
	PeakResidentAfterSpread int64        `json:"peakResidentAfterSpreadBytes,omitempty"`
}

// GrowthReport is the outcome of Growth.
type GrowthReport struct {
	Stored sqlite.Contents `json:"stored"`
	// BytesPerAttendee is the filled database's size over its attendees:
	// an attendee's own row and index entries, and its share of its
	// meeting's.
	BytesPerAttendee float64 `json:"bytesPerAttendee"`
	// Sampled is how many attendees the filled store's spread reads read.
	Sampled int            `json:"sampled"`
	Checks  []Check        `json:"checks"`
	Spread  []SpreadRead   `json:"spread"`
	Phases  []*GrowthPhase `json:"phases"`
}

// SpreadRead is a read of the filled store spread over a random sample of
// it, beside the empty store's figure for the same operation: not one of
// the targets, which run the same workload on both stores, but what reads
// cost that the server's read cache cannot hold.
type SpreadRead struct {
	Operation  string  `json:"operation"`
	PerSecond  float64 `json:"requestsPerSecond"`
	ErrorCount int     `json:"errorCount"`
	Empty      float64 `json:"emptyStoreRequestsPerSecond"`
}

// growthRuns are the peak runs compared between the stores: the figure of
// each throughput target, the same workload on both (the reads, of rows
// the run makes), reads first and batches last (see Targets).
var growthRuns = []struct {
	workload, op string
	workers      int // 0: the configured concurrency
	items        bool
}{
	{"get-attendee", "GetAttendee", 0, false},
	{"get-meeting", "GetMeeting", 0, false},
	{"create-attendee", "CreateAttendee", 0, false},
	{"batch-create-attendee", "BatchCreateAttendee", targetsBatchWorkers, true},
}

// spreadRuns are the reads that the filled store also gets over its
// sample, after the targets' runs, so that they change none of them.
var spreadRuns = []struct{ workload, op string }{
	{"get-attendee", "GetAttendee"},
	{"get-meeting", "GetMeeting"},
}

// Growth checks the growth targets. It counts what the filled store holds
// and draws a sample of its attendees; then it starts a server on the
// filled store, and one on an empty store beside it, each as an operator
// would, times their start-up, runs each throughput target's peak against
// them, and reads their peak resident memory. The filled store's reads
// then run again spread over the sample, which the server's read cache
// need not hold (reported, not judged). The filled store goes first, so
// that a server already running on it is found at once; the empty one is
// removed after. On an error the report holds the phases measured until
// then.
func Growth(ctx context.Context, cfg GrowthConfig) (*GrowthReport, error) {
	rep := &GrowthReport{}
	db := sqlite.FileIn(cfg.DataDir)
	announce(cfg.Progress, "counting what %s holds", db)
	var err error
	if rep.Stored, err = sqlite.Count(ctx, db); err != nil {
		return rep, err
	}
	if rep.Stored.Attendees > 0 {
		rep.BytesPerAttendee = float64(rep.Stored.Bytes) / float64(rep.Stored.Attendees)
	}
	announce(cfg.Progress, "drawing %d of its attendees at random", cfg.Sample)
	sample, err := sqlite.SampleAttendees(ctx, db, cfg.Sample)
	if err != nil {
		return rep, err
	}
	rep.Sampled = len(sample)
	empty, err := os.MkdirTemp(filepath.Dir(filepath.Clean(cfg.DataDir)), ".carillon-growth-empty-")
	if err != nil {
		return rep, err
	}
	defer os.RemoveAll(empty)
	phases := map[string]*GrowthPhase{}
	for _, p := range []struct {
		name, dir string
		sample    [][2]string
	}{{"filled", cfg.DataDir, sample}, {"empty", empty, nil}} {
		phase, err := growthPhase(ctx, cfg, p.name, p.dir, p.sample)
		if phase != nil {
			rep.Phases = append(rep.Phases, phase)
			phases[p.name] = phase
		}
		if err != nil {
			return rep, fmt.Errorf("%s store: %w", p.name, err)
		}
	}
	rep.Checks = growthChecks(rep.Stored, phases["empty"], phases["filled"])
	rep.Spread = spreadReads(phases["empty"], phases["filled"])
	return rep, nil
}

// spreadReads sets the filled store's spread reads beside the empty
// store's figures: none without a sample.
func spreadReads(empty, filled *GrowthPhase) []SpreadRead {
	reads := []SpreadRead{}
	for i, tr := range filled.Spread {
		op := spreadRuns[i].op
		got := opOf(tr.Result, op)
		reads = append(reads, SpreadRead{Operation: op, PerSecond: got.PerSecond, ErrorCount: got.ErrorCount,
			Empty: empty.peak(op).PerSecond})
	}
	return reads
}

// growthPhase starts a server on dir, measures it, and stops it.
func growthPhase(ctx context.Context, cfg GrowthConfig, name, dir string, sample [][2]string) (phase *GrowthPhase, err error) {
	announce(cfg.Progress, "starting a server on the %s store (%s)", name, dir)
	settle()
	srv, err := StartServer(ctx, cfg.Serve, dir)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, srv.Stop()) }()
	phase = &GrowthPhase{Store: name, StartUpMs: ms(srv.StartUp)}
	announce(cfg.Progress, "  ready in %.0f ms", phase.StartUpMs)
	c, err := NewClient(srv.Endpoint, "test", "test", "us-east-1", max(cfg.Concurrency, targetsBatchWorkers))
	if err != nil {
		return phase, err
	}
	defer c.Close()
	measure := func(name, workload string, workers int, sample [][2]string) (*TargetRun, error) {
		if workers == 0 {
			workers = cfg.Concurrency
		}
		announce(cfg.Progress, "  measuring %s", name)
		res, err := Run(ctx, c, Config{Workload: workload, Concurrency: workers, Duration: cfg.Duration,
			BatchSize: targetsBatchSize, Attendees: sample, Measure: settleFirst})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return &TargetRun{Name: name, Result: res}, nil
	}
	for _, r := range growthRuns {
		tr, err := measure(r.workload+" at its peak", r.workload, r.workers, nil)
		if err != nil {
			return phase, err
		}
		phase.Runs = append(phase.Runs, tr)
	}
	var memErr error
	if phase.PeakResidentBytes, memErr = srv.PeakResident(); memErr != nil {
		announce(cfg.Progress, "  peak resident memory not measured: %v", memErr)
	}
	if len(sample) == 0 {
		return phase, nil
	}
	for _, sr := range spreadRuns {
		tr, err := measure(fmt.Sprintf("%s over %d stored attendees", sr.workload, len(sample)), sr.workload, 0, sample)
		if err != nil {
			return phase, err
		}
		phase.Spread = append(phase.Spread, tr)
	}
	if memErr == nil {
		phase.PeakResidentAfterSpread, _ = srv.PeakResident()
	}
	return phase, nil
}

// peak is the result of op in the phase's run of it among growthRuns.
func (p *GrowthPhase) peak(op string) OpResult {
	for i, r := range growthRuns {
		if r.op == op && i < len(p.Runs) {
			return opOf(p.Runs[i].Result, op)
		}
	}
	return OpResult{Operation: op}
}

// settleFirst is a Config.Measure that writes out the machine's dirty
// pages before the measured time begins.
func settleFirst(begin bool) {
	if begin {
		settle()
	}
}

// GrowthStoreLarge reports whether a store holds as much as the growth
// targets are set for: a smaller one meets none of them, since it shows
// nothing about one that large.
func GrowthStoreLarge(stored sqlite.Contents) bool {
	return stored.Meetings >= targetGrowthMeetings && stored.Attendees >= targetGrowthAttendees
}

// GrowthTargetSize describes the store the growth targets are set for.
func GrowthTargetSize() string {
	return fmt.Sprintf("%d meetings and %d attendees", targetGrowthMeetings, targetGrowthAttendees)
}

// growthChecks judges the growth targets from the two phases.
func growthChecks(stored sqlite.Contents, empty, filled *GrowthPhase) []Check {
	var checks []Check
	for _, r := range growthRuns {
		before, after := empty.peak(r.op), filled.peak(r.op)
		was, is, unit := before.PerSecond, after.PerSecond, "/s"
		if r.items {
			was, is, unit = before.ItemsPerS, after.ItemsPerS, " attendees/s"
		}
		slower := 0.0
		if is > 0 {
			slower = was / is
		}
		// Without a figure on the empty store there is nothing to compare.
		baseline := before.Requests > 0 && before.ErrorCount == 0 && was > 0
		c := judged(fmt.Sprintf("%s on the filled store within %.1fx of the empty", r.op, targetGrowth), after,
			fmt.Sprintf("%.0f%s, %.2fx", is, unit, slower), is > 0 && slower <= targetGrowth && baseline)
		c.Context = fmt.Sprintf("empty store %.0f%s", was, unit)
		if before.ErrorCount > 0 {
			c.Context += fmt.Sprintf(", %d errors", before.ErrorCount)
		}
		checks = append(checks, c)
	}
	resident := Check{Target: fmt.Sprintf("resident memory on the filled store at most %d MiB", targetResident>>20),
		Measured: "not measured"}
	if filled.PeakResidentBytes > 0 {
		resident.Measured = fmt.Sprintf("%d MiB at most", filled.PeakResidentBytes>>20)
		resident.Met = filled.PeakResidentBytes <= targetResident
		resident.Context = fmt.Sprintf("empty store %d MiB", empty.PeakResidentBytes>>20)
	}
	startUp := Check{Target: fmt.Sprintf("start-up on the filled store at most %s", targetStartUp),
		Measured: fmt.Sprintf("%.0f ms", filled.StartUpMs), Met: filled.StartUpMs <= ms(targetStartUp),
		Context: fmt.Sprintf("empty store %.0f ms", empty.StartUpMs)}
	checks = append(checks, resident, startUp)
	if !GrowthStoreLarge(stored) {
		for i := range checks {
			checks[i].Met = false
		}
	}
	return checks
}
