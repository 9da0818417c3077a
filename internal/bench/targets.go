package bench

import (
	"context"
	"fmt"
	"io"
	"time"
)

// The performance targets Carillon holds itself to on its CI machine kind
// (2 cores, load generator on the same machine, durable commits).
const (
	targetCreateAttendee = 10_000 // CreateAttendee requests per second
	targetOfCeiling      = 0.40   // CreateAttendee's share of the ceiling
	targetBatchAttendees = 60_000 // attendees per second in batches of 100
	targetReads          = 25_000 // GetAttendee and GetMeeting requests per second
	targetP99AtHalf      = 5.0    // p99 ms of single-item operations at half their peak
	targetsBatchSize     = 100
	targetsBatchWorkers  = 8
	targetsRateInFlight  = 128 // the bound on requests in flight at a rate
)

// TargetsConfig is one check of the targets against a server.
type TargetsConfig struct {
	Concurrency     int           // workers of the peak runs
	Duration        time.Duration // each run against the server
	CeilingDuration time.Duration // each run against the bare server
	// DiskDir is the server's data directory: at the rate of the latency
	// check of CreateAttendee, its storage's floor is measured too. ""
	// leaves it out.
	DiskDir  string
	Progress io.Writer // a line as each run starts; nil: none
}

// Check is one target and what was measured for it.
type Check struct {
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
	// Context is what the machine gives alone, where a figure depends on
	// it: the ceiling, the bare server's latency, the storage's floor.
	Context string `json:"context,omitempty"`
}

// TargetRun is one measurement the checks were made from.
type TargetRun struct {
	Name    string      `json:"name"`
	Result  *Result     `json:"result"`
	Ceiling *Result     `json:"ceiling,omitempty"`
	Disk    *DiskResult `json:"disk,omitempty"`
}

// TargetsReport is the outcome of Targets.
type TargetsReport struct {
	Checks []Check      `json:"checks"`
	Runs   []*TargetRun `json:"runs"`
}

// Targets measures the server behind c against the throughput and latency
// targets: each operation's peak and, for the single-item operations, the
// latency at half their peak, each beside what the machine gives alone.
// Before each run the machine's dirty pages are written out, so that no
// run pays for the writeback of the one before. (The growth targets need a
// store filled beforehand: see Growth.) On an error the report holds
// the runs made until then.
func Targets(ctx context.Context, c *Client, cfg TargetsConfig) (*TargetsReport, error) {
	rep := &TargetsReport{}
	run := func(name string, rc Config, ceiling bool) (*TargetRun, error) {
		announce(cfg.Progress, "measuring %s", name)
		tr := &TargetRun{Name: name}
		rc.Measure = settleFirst
		if ceiling {
			cc := rc
			cc.Duration = cfg.CeilingDuration
			res, err := Ceiling(ctx, cc)
			if err != nil {
				return nil, fmt.Errorf("%s, ceiling: %w", name, err)
			}
			tr.Ceiling = res
		}
		res, err := Run(ctx, c, rc)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		tr.Result = res
		rep.Runs = append(rep.Runs, tr)
		return tr, nil
	}
	peak := func(workload string, workers int, ceiling bool) (*TargetRun, error) {
		return run(workload+" at its peak", Config{Workload: workload, Concurrency: workers, Duration: cfg.Duration,
			BatchSize: targetsBatchSize}, ceiling)
	}
	// halfPeak checks an operation's latency at half its peak.
	halfPeak := func(workload, op string, peak *TargetRun) error {
		rate := opOf(peak.Result, op).PerSecond / 2
		if rate <= 0 {
			rep.Checks = append(rep.Checks, Check{Target: p99Target(op), Measured: "no peak to halve"})
			return nil
		}
		tr, err := run(fmt.Sprintf("%s at %.0f/s", workload, rate), Config{Workload: workload,
			Concurrency: targetsRateInFlight, Rate: rate, Duration: cfg.Duration, BatchSize: targetsBatchSize}, true)
		if err != nil {
			return err
		}
		if op == "CreateAttendee" && cfg.DiskDir != "" {
			announce(cfg.Progress, "measuring the storage's floor at %.0f writes/s", rate)
			settle()
			if tr.Disk, err = Disk(ctx, DiskConfig{Dir: cfg.DiskDir, Rate: rate, Pages: PagesPerCreateAttendee, Duration: cfg.Duration}); err != nil {
				return err
			}
		}
		rep.Checks = append(rep.Checks, latencyCheck(op, rate, tr))
		return nil
	}

	// Reads first and the batches last: a run that writes a lot leaves
	// the storage busy writing it back for a while after it ends.
	ga, err := peak("get-attendee", cfg.Concurrency, false)
	if err != nil {
		return rep, err
	}
	gm, err := peak("get-meeting", cfg.Concurrency, false)
	if err != nil {
		return rep, err
	}
	if err := halfPeak("get-attendee", "GetAttendee", ga); err != nil {
		return rep, err
	}
	if err := halfPeak("get-meeting", "GetMeeting", gm); err != nil {
		return rep, err
	}
	ca, err := peak("create-attendee", cfg.Concurrency, true)
	if err != nil {
		return rep, err
	}
	if err := halfPeak("create-attendee", "CreateAttendee", ca); err != nil {
		return rep, err
	}
	batch, err := peak("batch-create-attendee", targetsBatchWorkers, false)
	if err != nil {
		return rep, err
	}
	rep.Checks = append(peakChecks(ca, batch, ga, gm), rep.Checks...)
	return rep, nil
}

// peakChecks judges the throughput targets from the peak runs. A run
// with errors meets nothing: fast refusals are not throughput.
func peakChecks(ca, batch, ga, gm *TargetRun) []Check {
	create := opOf(ca.Result, "CreateAttendee")
	ceiling := opOf(ca.Ceiling, "CreateAttendee")
	share := 0.0
	if ceiling.PerSecond > 0 {
		share = create.PerSecond / ceiling.PerSecond
	}
	batched := opOf(batch.Result, "BatchCreateAttendee")
	get, getMeeting := opOf(ga.Result, "GetAttendee"), opOf(gm.Result, "GetMeeting")
	checks := []Check{
		judged(fmt.Sprintf("CreateAttendee at least %d/s", targetCreateAttendee), create,
			fmt.Sprintf("%.0f/s", create.PerSecond), create.PerSecond >= targetCreateAttendee),
		judged(fmt.Sprintf("CreateAttendee at least %.0f%% of the ceiling", 100*targetOfCeiling), create,
			fmt.Sprintf("%.0f%%", 100*share), share >= targetOfCeiling),
		judged(fmt.Sprintf("BatchCreateAttendee of %d at least %d attendees/s", targetsBatchSize, targetBatchAttendees), batched,
			fmt.Sprintf("%.0f attendees/s", batched.ItemsPerS), batched.ItemsPerS >= targetBatchAttendees),
		judged(fmt.Sprintf("GetAttendee at least %d/s", targetReads), get,
			fmt.Sprintf("%.0f/s", get.PerSecond), get.PerSecond >= targetReads),
		judged(fmt.Sprintf("GetMeeting at least %d/s", targetReads), getMeeting,
			fmt.Sprintf("%.0f/s", getMeeting.PerSecond), getMeeting.PerSecond >= targetReads),
	}
	checks[1].Context = fmt.Sprintf("ceiling %.0f/s", ceiling.PerSecond)
	return checks
}

// judged is a check of an operation's run: met when the run answered
// without errors and its figure is within the bound.
func judged(target string, o OpResult, measured string, within bool) Check {
	c := Check{Target: target, Measured: measured, Met: o.Requests > 0 && o.ErrorCount == 0 && within}
	if o.ErrorCount > 0 {
		c.Measured += fmt.Sprintf(", %d errors", o.ErrorCount)
	}
	return c
}

// latencyCheck judges an operation's p99 at half its peak, beside the bare
// server's at the same rate and, for writes, the storage's floor.
func latencyCheck(op string, rate float64, tr *TargetRun) Check {
	got := opOf(tr.Result, op)
	c := judged(p99Target(op), got, fmt.Sprintf("%.1f ms at %.0f/s", got.P99, rate), got.P99 <= targetP99AtHalf)
	if tr.Ceiling != nil {
		c.Context = fmt.Sprintf("bare server %.1f ms", opOf(tr.Ceiling, op).P99)
	}
	if tr.Disk != nil {
		c.Context += fmt.Sprintf(", storage %.1f ms", tr.Disk.P99)
	}
	return c
}

func p99Target(op string) string {
	return fmt.Sprintf("%s p99 at most %.0f ms at half its peak", op, targetP99AtHalf)
}

// opOf returns the result of op in res, or a zero one.
func opOf(res *Result, op string) OpResult {
	if res != nil {
		for _, o := range res.Operations {
			if o.Operation == op {
				return o
			}
		}
	}
	return OpResult{Operation: op}
}
