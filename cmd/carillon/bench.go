package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/carillon-dev/carillon/internal/bench"
	"github.com/carillon-dev/carillon/internal/store/sqlite"
	"github.com/carillon-dev/carillon/internal/store/sqlstore"
)

// benchReport is what --json writes.
type benchReport struct {
	Machine  map[string]any `json:"machine"`
	Config   map[string]any `json:"config"`
	Ceiling  *bench.Result  `json:"ceiling,omitempty"`
	Result   *bench.Result  `json:"result"`
	Started  time.Time      `json:"started"`
	Endpoint string         `json:"endpoint"`
}

func benchCommand(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "seed":
			return seedCommand(args[1:], stdout, stderr)
		case "disk":
			return diskCommand(args[1:], stdout, stderr)
		case "targets":
			return targetsCommand(args[1:], stdout, stderr)
		case "growth":
			return growthCommand(args[1:], stdout, stderr)
		}
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", envOr("CARILLON_BENCH_ENDPOINT", "http://127.0.0.1:8080"), "API `URL` to load")
	key := fs.String("access-key-id", envOr("AWS_ACCESS_KEY_ID", "test"), "access `KEY` to sign with")
	secret := fs.String("secret-access-key", envOr("AWS_SECRET_ACCESS_KEY", "test"), "`SECRET` to sign with")
	region := fs.String("region", "us-east-1", "`REGION` to sign for")
	workload := fs.String("workload", "create-attendee", "`NAME`: "+strings.Join(bench.WorkloadNames(), ", "))
	concurrency := fs.Int("concurrency", 32, "workers (`N`); with --rate, the bound on requests in flight")
	rate := fs.Float64("rate", 0, "requests per second (`N`, open loop); 0: as fast as the workers go")
	duration := fs.Duration("duration", 10*time.Second, "measured time (`DURATION`)")
	batch := fs.Int("batch-size", 100, "attendees per BatchCreateAttendee (`N`)")
	ceiling := fs.Bool("ceiling", true, "first measure this machine's ceiling for the same requests (a bare in-process server)")
	ceilingFor := fs.Duration("ceiling-duration", 0, "how long to measure the ceiling (`DURATION`; default: --duration)")
	jsonOut := fs.String("json", "", "also write the results as JSON to `FILE`")
	serverMetrics := fs.String("server-metrics", "", "the server's metrics `URL` (http://127.0.0.1:9464/metrics): report its CPU time per request")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the load generator's measured run to `FILE`")
	sampleFrom := fs.String("sample-from", "", "data `DIR` of the server measured: get-attendee and get-meeting read a random sample of its stored attendees and their meetings (those workloads only)")
	sample := fs.Int("sample", 1_000_000, "attendees to draw with --sample-from (`N`)")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	tuneGC(800, 0) // the load generator must not stall on its own collections
	if *rate != 0 {
		if err := bench.CheckRate(*rate); err != nil {
			return fmt.Errorf("bench: --rate: %w", err)
		}
	}
	if _, ok := bench.Workloads()[*workload]; !ok {
		return fmt.Errorf("bench: unknown workload %q (want one of %s)", *workload, strings.Join(bench.WorkloadNames(), ", "))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := bench.Config{Workload: *workload, Concurrency: *concurrency, Rate: *rate, Duration: *duration, BatchSize: *batch, Progress: stdout}
	if *sampleFrom != "" {
		if *workload != "get-attendee" && *workload != "get-meeting" {
			return fmt.Errorf("bench: --sample-from is for the get-attendee and get-meeting workloads, not %s", *workload)
		}
		if *sample < 1 {
			return errors.New("bench: --sample must be at least 1")
		}
		var err error
		if cfg.Attendees, err = sqlite.SampleAttendees(ctx, sqlite.FileIn(*sampleFrom), *sample); err != nil {
			return fmt.Errorf("bench: --sample-from: %w", err)
		}
		if len(cfg.Attendees) == 0 {
			return fmt.Errorf("bench: --sample-from: %s holds no attendees to read", *sampleFrom)
		}
		fmt.Fprintf(stdout, "reading a sample of %d attendees stored in %s\n", len(cfg.Attendees), *sampleFrom)
	}
	report := benchReport{
		Machine: map[string]any{"cpus": runtime.NumCPU(), "gomaxprocs": runtime.GOMAXPROCS(0), "os": runtime.GOOS, "arch": runtime.GOARCH, "go": runtime.Version()},
		Config: map[string]any{"workload": *workload, "concurrency": *concurrency, "rate": *rate, "durationSeconds": duration.Seconds(),
			"batchSize": *batch, "sampleFrom": *sampleFrom, "sampled": len(cfg.Attendees)},
		Started: time.Now().UTC(), Endpoint: *endpoint,
	}
	c, err := bench.NewClient(*endpoint, *key, *secret, *region, *concurrency)
	if err != nil {
		return err
	}
	defer c.Close()
	if *ceiling {
		cc := cfg
		if *ceilingFor > 0 {
			cc.Duration = *ceilingFor
		}
		fmt.Fprintf(stdout, "measuring the ceiling: %s against a bare in-process server for %s\n", *workload, cc.Duration)
		res, err := bench.Ceiling(ctx, cc)
		if err != nil {
			return fmt.Errorf("ceiling: %w", err)
		}
		report.Ceiling = res
	}
	fmt.Fprintf(stdout, "running %s against %s: %d workers", *workload, *endpoint, *concurrency)
	if *rate > 0 {
		fmt.Fprintf(stdout, " at %.0f requests/s", *rate)
	}
	fmt.Fprintf(stdout, " for %s\n", *duration)
	// Times and the profile cover the measured run, not the workload's setup.
	var (
		profile       *os.File
		profileErr    error
		before, after bench.Reading
	)
	if *cpuProfile != "" {
		if profile, err = os.Create(*cpuProfile); err != nil {
			return err
		}
	}
	cfg.Measure = func(begin bool) {
		if begin {
			before = bench.Read(*serverMetrics)
			if profile != nil {
				profileErr = pprof.StartCPUProfile(profile)
			}
			return
		}
		if profile != nil && profileErr == nil {
			pprof.StopCPUProfile()
		}
		after = bench.Read(*serverMetrics)
	}
	res, err := bench.Run(ctx, c, cfg)
	if profile != nil {
		profileErr = errors.Join(profileErr, profile.Close())
	}
	if err != nil {
		return err
	}
	if profileErr != nil {
		return fmt.Errorf("cpu profile: %w", profileErr)
	}
	total := 0
	for _, o := range res.Operations {
		total += o.Requests
	}
	report.Result = res
	printBench(stdout, res, report.Ceiling, *rate > 0)
	if *rate > 0 {
		fmt.Fprintln(stdout, "(latencies count from when each request was due; P99 SENT counts from when it was sent)")
		if report.Ceiling != nil {
			fmt.Fprintln(stdout, "(CEILING P99 MS: the bare server's p99 at the same rate, what this machine and load generator give alone)")
		}
	}
	used, serverErr := before.Until(after)
	report.Result.GeneratorCPUSeconds = used.Generator
	fmt.Fprintf(stdout, "load generator CPU: %.2f s (%.0f%% of a core), %.1f µs per request\n",
		used.Generator, 100*used.Generator/res.Seconds, 1e6*used.Generator/float64(max(total, 1)))
	if *serverMetrics != "" {
		if serverErr != nil {
			return fmt.Errorf("server CPU: %w", serverErr)
		}
		report.Result.ServerCPUSeconds = used.Server
		fmt.Fprintf(stdout, "server CPU: %.2f s over %.1f s (%.0f%% of a core), %.1f µs per request\n",
			used.Server, res.Seconds, 100*used.Server/res.Seconds, 1e6*used.Server/float64(max(total, 1)))
	}
	if m := used.Machine; m != nil {
		report.Result.Machine = m
		fmt.Fprintf(stdout, "machine CPU (all %d cores): %.0f%% busy, %.0f%% idle, %.0f%% waiting for I/O, %.0f%% stolen by the hypervisor\n",
			runtime.NumCPU(), 100*m.Busy, 100*m.Idle, 100*m.IOWait, 100*m.Steal)
	}
	return writeJSON(*jsonOut, report)
}

// writeJSON writes v indented to path, unless path is empty.
func writeJSON(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func printBench(out io.Writer, res *bench.Result, ceiling *bench.Result, atRate bool) {
	ceil := map[string]bench.OpResult{}
	if ceiling != nil {
		for _, o := range ceiling.Operations {
			ceil[o.Operation] = o
		}
	}
	fmt.Fprintf(out, "\n%s, %.1fs\n", res.Workload, res.Seconds)
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', tabwriter.AlignRight)
	header := "OPERATION\tREQUESTS\tREQ/S\tITEMS/S\tP50 MS\tP90 MS\tP99 MS\tMAX MS\tP99 SENT MS\tERRORS\tCEILING REQ/S\tOF CEILING\t"
	if atRate {
		// At a rate both runs carry the same load, so their latencies
		// compare; as fast as they go, the ceiling's carries more.
		header += "CEILING P99 MS\t"
	}
	fmt.Fprintln(tw, header)
	for _, o := range res.Operations {
		items, c, ratio, c99 := "", "", "", ""
		if o.ItemsPerS > 0 {
			items = fmt.Sprintf("%.0f", o.ItemsPerS)
		}
		if co, ok := ceil[o.Operation]; ok && co.PerSecond > 0 {
			c = fmt.Sprintf("%.0f", co.PerSecond)
			ratio = fmt.Sprintf("%.0f%%", 100*o.PerSecond/co.PerSecond)
			c99 = fmt.Sprintf("%.2f", co.P99)
		}
		line := fmt.Sprintf("%s\t%d\t%.0f\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t%s\t%s\t", o.Operation, o.Requests, o.PerSecond, items,
			o.P50, o.P90, o.P99, o.Max, o.P99Service, o.ErrorCount, c, ratio)
		if atRate {
			line += c99 + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	for _, o := range res.Operations {
		if len(o.Errors) == 0 {
			continue
		}
		var codes []string
		for code, n := range o.Errors {
			codes = append(codes, fmt.Sprintf("%s %d", code, n))
		}
		sort.Strings(codes)
		fmt.Fprintf(out, "errors of %s: %s\n", o.Operation, strings.Join(codes, ", "))
	}
	if res.FirstTransportError != "" {
		fmt.Fprintf(out, "first TransportError: %s\n", res.FirstTransportError)
	}
}

// seedCommand fills a stopped server's data directory with meetings and
// attendees, to measure a server that holds a lot.
func seedCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench seed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := dataDirFlag(fs, "data `DIR` of a server that is not running")
	meetings := fs.Int("meetings", 1_000_000, "meetings to add (`N`)")
	per := fs.Int("attendees-per-meeting", 10, "attendees of each meeting (`N`)")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := seed(ctx, *dataDir, *meetings, *per, stdout); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "serve it with --idle-timeout and --max-duration beyond its age (bench growth gives 8760h), or 0 for never, or the lifecycle ends every seeded meeting")
	return nil
}

// seed fills dataDir's store with meetings of per attendees each.
func seed(ctx context.Context, dataDir string, meetings, per int, stdout io.Writer) error {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	st, err := sqlite.Open(ctx, sqlite.Options{Path: sqlite.FileIn(dataDir), Synchronous: "NORMAL"})
	if err != nil {
		return err
	}
	start := time.Now()
	fmt.Fprintf(stdout, "seeding %s with %d meetings of %d attendees\n", dataDir, meetings, per)
	err = bench.Seed(ctx, st, meetings, per, stdout)
	if err = errors.Join(err, st.Close()); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dataDir, seededMark), fmt.Appendf(nil, "%d meetings of %d attendees, %s\n",
		meetings, per, time.Now().UTC().Format(time.RFC3339)), 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded in %s\n", time.Since(start).Round(time.Second))
	return nil
}

// seededMark is the file bench seed leaves in a data directory it filled:
// bench growth writes into the store it measures, so it takes only one
// that the bench made.
const seededMark = "bench-seeded"

// growthCommand checks the growth targets: a server on a filled store
// against one on an empty store, both started here.
func growthCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench growth", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "data `DIR` of the filled store (required): seeded first if it holds none; the runs write to it")
	meetings := fs.Int("meetings", 1_000_000, "meetings to seed an empty --data-dir with (`N`)")
	per := fs.Int("attendees-per-meeting", 10, "attendees of each seeded meeting (`N`)")
	sample := fs.Int("sample", 1_000_000, "attendees of the filled store, drawn at random, that its spread reads read (`N`)")
	concurrency := fs.Int("concurrency", 32, "workers of the peak runs (`N`)")
	duration := fs.Duration("duration", 10*time.Second, "each run (`DURATION`)")
	jsonOut := fs.String("json", "", "also write the checks and every run as JSON to `FILE`")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	if *dataDir == "" {
		return errors.New("bench growth: --data-dir is required: a directory of its own, which it fills and writes to")
	}
	if *sample < 1 {
		return errors.New("bench growth: --sample must be at least 1")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	tuneGC(800, 0) // as for bench: the load generator must not stall on its own collections
	// On SIGTERM too, so that the servers it started are stopped.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, noStore := os.Stat(sqlite.FileIn(*dataDir))
	_, unmarked := os.Stat(filepath.Join(*dataDir, seededMark))
	switch {
	case errors.Is(noStore, os.ErrNotExist):
		if err := seed(ctx, *dataDir, *meetings, *per, stdout); err != nil {
			return err
		}
	case unmarked != nil:
		return fmt.Errorf("bench growth: %s holds a store that bench seed did not fill; the runs would write into it: give bench growth a directory of its own", *dataDir)
	}
	rep, err := bench.Growth(ctx, bench.GrowthConfig{Serve: []string{self, "serve"}, DataDir: *dataDir, Sample: *sample,
		Concurrency: *concurrency, Duration: *duration, Progress: stdout})
	if err != nil {
		return errors.Join(err, writeJSON(*jsonOut, rep))
	}
	fmt.Fprintf(stdout, "\nthe filled store: %d meetings and %d attendees in %d bytes, %.0f per attendee with its share of its meeting\n",
		rep.Stored.Meetings, rep.Stored.Attendees, rep.Stored.Bytes, rep.BytesPerAttendee)
	if !bench.GrowthStoreLarge(rep.Stored) {
		fmt.Fprintf(stdout, "the targets are set for %s: a smaller store meets none of them\n", bench.GrowthTargetSize())
	}
	met := printChecks(stdout, rep.Checks, "FOR COMPARISON")
	fmt.Fprintf(stdout, "%d of %d targets met on %d cores\n", met, len(rep.Checks), runtime.NumCPU())
	if len(rep.Spread) == 0 {
		fmt.Fprintln(stdout, "no spread reads: the filled store holds no attendees")
		return writeJSON(*jsonOut, rep)
	}
	fmt.Fprintf(stdout, "\nnot a target: reads spread over %d of the filled store's attendees, drawn at random (the read cache holds %d meetings and %d attendees):\n",
		rep.Sampled, sqlstore.CacheEntries, sqlstore.CacheEntries)
	for _, r := range rep.Spread {
		fmt.Fprintf(stdout, "  %s %.0f/s", r.Operation, r.PerSecond)
		if r.PerSecond > 0 {
			fmt.Fprintf(stdout, ", %.2fx slower than the empty store's %.0f/s", r.Empty/r.PerSecond, r.Empty)
		}
		if r.ErrorCount > 0 {
			fmt.Fprintf(stdout, ", %d errors", r.ErrorCount)
		}
		fmt.Fprintln(stdout)
	}
	if filled := rep.Phases[0]; filled.PeakResidentAfterSpread > 0 {
		fmt.Fprintf(stdout, "  resident memory at most %d MiB once they too had run\n", filled.PeakResidentAfterSpread>>20)
	}
	return writeJSON(*jsonOut, rep)
}

// diskCommand measures the floor that the data directory's storage sets
// under the latency of durable writes at a rate (see bench.Disk).
func diskCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench disk", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := dataDirFlag(fs, "the data `DIR` whose storage to measure")
	rate := fs.Float64("rate", 5000, "durable writes per second (`N`)")
	pages := fs.Int("pages-per-request", bench.PagesPerCreateAttendee, "4 KiB pages each write adds to its commit (`N`; a CreateAttendee's)")
	duration := fs.Duration("duration", 10*time.Second, "measured time (`DURATION`)")
	jsonOut := fs.String("json", "", "also write the result as JSON to `FILE`")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	cfg := bench.DiskConfig{Dir: *dataDir, Rate: *rate, Pages: *pages, Duration: *duration}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if err := os.MkdirAll(*dataDir, 0o700); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	fmt.Fprintf(stdout, "storage floor of %s: %.0f writes/s of %d pages each, committed in groups with fdatasync and nothing else, for %s\n",
		*dataDir, *rate, *pages, *duration)
	res, err := bench.Disk(ctx, cfg)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "WRITES\tCOMMITS\tWRITES/COMMIT\tP50 MS\tP90 MS\tP99 MS\tMAX MS\t")
	fmt.Fprintf(tw, "%d\t%d\t%.1f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", res.Requests, res.Commits,
		float64(res.Requests)/float64(max(res.Commits, 1)), res.P50, res.P90, res.P99, res.Max)
	tw.Flush()
	fmt.Fprintf(stdout, "a commit's page writes: p50 %.2f ms, p99 %.2f, max %.2f; its fdatasync: p50 %.2f ms, p99 %.2f, max %.2f\n",
		res.WriteP50, res.WriteP99, res.WriteMax, res.SyncP50, res.SyncP99, res.SyncMax)
	fmt.Fprintf(stdout, "stalls (a commit that took over 5 ms): %d, %.0f ms in all, the longest %.2f ms\n",
		res.Stalls, res.StalledMs, res.LongestStall)
	fmt.Fprintln(stdout, "(latencies count from when each write was due; a server that acknowledges writes once durable answers no faster at this rate on this storage)")
	return writeJSON(*jsonOut, res)
}

// targetsCommand checks a server against the performance targets and
// prints each one, met or not, beside what the machine gives alone.
func targetsCommand(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench targets", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", envOr("CARILLON_BENCH_ENDPOINT", "http://127.0.0.1:8080"), "API `URL` of the server")
	key := fs.String("access-key-id", envOr("AWS_ACCESS_KEY_ID", "test"), "access `KEY` to sign with")
	secret := fs.String("secret-access-key", envOr("AWS_SECRET_ACCESS_KEY", "test"), "`SECRET` to sign with")
	concurrency := fs.Int("concurrency", 32, "workers of the peak runs (`N`)")
	duration := fs.Duration("duration", 10*time.Second, "each run against the server (`DURATION`)")
	ceilingFor := fs.Duration("ceiling-duration", 5*time.Second, "each run against the bare server (`DURATION`)")
	dataDir := fs.String("data-dir", "", "the server's data `DIR`: also measure its storage's floor (bench disk) at the write rate")
	jsonOut := fs.String("json", "", "also write the checks and every run as JSON to `FILE`")
	if _, err := parseInterleaved(fs, args); err != nil {
		return err
	}
	if *dataDir != "" {
		// Checked now rather than after the runs before its turn.
		if fi, err := os.Stat(*dataDir); err != nil || !fi.IsDir() {
			return fmt.Errorf("bench targets: --data-dir %s is not a directory", *dataDir)
		}
	}
	tuneGC(800, 0) // as for bench: the load generator must not stall on its own collections
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	c, err := bench.NewClient(*endpoint, *key, *secret, "us-east-1", max(*concurrency, 128))
	if err != nil {
		return err
	}
	defer c.Close()
	rep, err := bench.Targets(ctx, c, bench.TargetsConfig{Concurrency: *concurrency, Duration: *duration,
		CeilingDuration: *ceilingFor, DiskDir: *dataDir, Progress: stdout})
	if err != nil {
		// Keep the runs made so far.
		return errors.Join(err, writeJSON(*jsonOut, rep))
	}
	fmt.Fprintln(stdout)
	met := printChecks(stdout, rep.Checks, "THE MACHINE ALONE")
	fmt.Fprintf(stdout, "%d of %d targets met on %d cores (growth, memory and start-up: see bench growth)\n",
		met, len(rep.Checks), runtime.NumCPU())
	return writeJSON(*jsonOut, rep)
}

// printChecks prints checks as a table, each check's context under
// contextHeader, and returns how many were met.
func printChecks(out io.Writer, checks []bench.Check, contextHeader string) int {
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "TARGET\tMEASURED\tMET\t%s\t\n", contextHeader)
	met := 0
	for _, ch := range checks {
		verdict := "no"
		if ch.Met {
			verdict, met = "yes", met+1
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", ch.Target, ch.Measured, verdict, ch.Context)
	}
	tw.Flush()
	return met
}
