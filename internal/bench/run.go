package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Config is one load run.
type Config struct {
	Workload    string        // an entry of Workloads
	Concurrency int           // workers (closed loop), or the bound on requests in flight at a rate
	Rate        float64       // requests per second (open loop); 0: as fast as the workers go
	Duration    time.Duration // measured time
	BatchSize   int           // attendees per BatchCreateAttendee
	// Attendees, when set, are what get-attendee and get-meeting read (a
	// meeting ID and an attendee ID each, and those attendees' meetings)
	// instead of rows of their own making: a sample of a filled store.
	Attendees [][2]string
	Progress  io.Writer // live progress lines; nil: none
	// Measure, when set, is called as the measured time begins (true) and
	// ends (false), after the workload's setup: what the caller times or
	// profiles is then the run alone.
	Measure func(begin bool)
}

// sample is one timed request.
type sample struct {
	op      string
	d       time.Duration // from when it was due (rate mode) or sent
	service time.Duration // from when it was sent
	items   int
	err     string // error shape, "" on success
}

// Worker is one load-generating loop with its own state.
type Worker struct {
	id        int
	client    *Client
	samples   []sample
	scheduled time.Time // when the current step was due (rate mode)
	rec       *recorder

	// What the worker's workload keeps between steps.
	meeting   string   // the meeting it works in
	count     int      // attendees it added to it
	attendees []string // attendee IDs it has in it
	step      int      // where it is in a sequence of requests
}

// call sends a request and records it under op. The first call of a step
// in rate mode is timed from when it was due, so that a server that falls
// behind shows in the latency (no coordinated omission).
func (w *Worker) call(ctx context.Context, op, method, path string, body []byte, items int, out any) error {
	sent := time.Now()
	start := sent
	if !w.scheduled.IsZero() {
		start, w.scheduled = w.scheduled, time.Time{}
	}
	err := w.client.Do(ctx, method, path, body, out)
	if ctx.Err() != nil && err != nil {
		return err // the run is over: not a sample
	}
	s := sample{op: op, d: time.Since(start), service: time.Since(sent), items: items}
	if err != nil {
		var ae *APIError
		switch {
		case errors.As(err, &ae):
			s.err = ae.Shape
		case errors.Is(err, errBadAnswer):
			s.err = "InvalidAnswer"
		default:
			s.err = "TransportError"
			if w.rec.firstTransport.Load() == nil {
				w.rec.firstTransport.CompareAndSwap(nil, new(err.Error()))
			}
		}
	}
	w.samples = append(w.samples, s)
	w.rec.done(s.err != "")
	return err
}

// recorder counts completions for the live progress.
type recorder struct {
	completed atomic.Int64
	failed    atomic.Int64
	// firstTransport is the first failure to get an answer at all, which
	// the error counts alone would not explain.
	firstTransport atomic.Pointer[string]
}

func (r *recorder) done(failed bool) {
	r.completed.Add(1)
	if failed {
		r.failed.Add(1)
	}
}

// OpResult is what one operation did in a run.
type OpResult struct {
	Operation string  `json:"operation"`
	Requests  int     `json:"requests"`
	PerSecond float64 `json:"requestsPerSecond"`
	Items     int     `json:"items,omitempty"` // attendees created, for batches
	ItemsPerS float64 `json:"itemsPerSecond,omitempty"`
	P50       float64 `json:"p50Ms"`
	P90       float64 `json:"p90Ms"`
	P99       float64 `json:"p99Ms"`
	Max       float64 `json:"maxMs"`
	// P99Service is the p99 from when requests were sent rather than due:
	// in rate mode the difference is the load generator falling behind
	// (its own scheduling on a shared machine, say).
	P99Service float64        `json:"p99ServiceMs"`
	Errors     map[string]int `json:"errors,omitempty"`
	ErrorCount int            `json:"errorCount"`
}

// Result is one run.
type Result struct {
	Workload   string     `json:"workload"`
	Seconds    float64    `json:"seconds"`
	Operations []OpResult `json:"operations"`
	// ServerCPUSeconds is the CPU time the server used during the run,
	// when its metrics were given.
	ServerCPUSeconds float64 `json:"serverCpuSeconds,omitempty"`
	// GeneratorCPUSeconds is the CPU time the load generator used during
	// the run: on a shared machine, what the server could not have.
	GeneratorCPUSeconds float64 `json:"generatorCpuSeconds,omitempty"`
	// Machine is how the machine's cores spent the run, where it can be
	// read (Linux).
	Machine *MachineCPU `json:"machineCpu,omitempty"`
	// FirstTransportError is the first request that got no answer, if any.
	FirstTransportError string `json:"firstTransportError,omitempty"`
}

// Run drives the workload against the client for the configured time.
func Run(ctx context.Context, client *Client, cfg Config) (*Result, error) {
	wl, ok := Workloads()[cfg.Workload]
	if !ok {
		return nil, fmt.Errorf("unknown workload %q", cfg.Workload)
	}
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	if cfg.BatchSize < 1 {
		cfg.BatchSize = 100
	}
	shared, err := wl.Setup(ctx, client, cfg)
	if err != nil {
		return nil, fmt.Errorf("setting up %s: %w", cfg.Workload, err)
	}
	if cfg.Measure != nil {
		cfg.Measure(true) // before the run's clock and pacer start
	}
	runCtx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()

	rec := &recorder{}
	var ticks chan time.Time
	if cfg.Rate > 0 {
		ticks = make(chan time.Time, cfg.Concurrency*4)
		go pace(runCtx, cfg.Rate, ticks)
	}
	workers := make([]*Worker, cfg.Concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range workers {
		w := &Worker{id: i, client: client, rec: rec}
		workers[i] = w
		wg.Go(func() {
			for runCtx.Err() == nil {
				if ticks != nil {
					select {
					case <-runCtx.Done():
						return
					case t := <-ticks:
						w.scheduled = t
					}
				}
				_ = wl.Step(runCtx, w, shared, cfg) // errors are samples already
			}
		})
	}
	stopProgress := make(chan struct{})
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		progress(cfg.Progress, rec, start, stopProgress)
	}()
	wg.Wait()
	elapsed := time.Since(start)
	if cfg.Measure != nil {
		cfg.Measure(false)
	}
	close(stopProgress)
	<-progressDone
	res := summarize(cfg.Workload, workers, elapsed)
	if e := rec.firstTransport.Load(); e != nil {
		res.FirstTransportError = *e
	}
	return res, nil
}

// announce writes a line saying what a measurement is doing; a nil out
// says nothing.
func announce(out io.Writer, format string, args ...any) {
	if out != nil {
		fmt.Fprintf(out, format+"\n", args...)
	}
}

// The rates a run can keep: a request at least every 100 s, at most one
// a microsecond.
const (
	minRate = 0.01
	maxRate = 1_000_000
)

// CheckRate reports a rate (requests per second) outside what a run can
// keep.
func CheckRate(rate float64) error {
	if !(rate >= minRate && rate <= maxRate) {
		return fmt.Errorf("a rate of %g/s is outside %g-%g/s", rate, float64(minRate), float64(maxRate))
	}
	return nil
}

// pace sends the due time of each request at the configured rate. It
// sleeps with the system's precise sleep where there is one: the runtime's
// timers can wake a millisecond late (the timer resolution of some virtual
// machines), which would send requests in bursts, each one late before it
// is even sent.
func pace(ctx context.Context, rate float64, ticks chan<- time.Time) {
	interval := time.Duration(float64(time.Second) / rate)
	next := time.Now()
	for {
		now := time.Now()
		for !next.After(now) {
			select {
			case ticks <- next:
			case <-ctx.Done():
				return
			}
			next = next.Add(interval)
		}
		waitUntil(ctx, next)
		if ctx.Err() != nil {
			return
		}
	}
}

// waitUntil returns at t, or when ctx ends. Its last two milliseconds are
// slept precisely.
func waitUntil(ctx context.Context, t time.Time) {
	for d := time.Until(t); d > 0 && ctx.Err() == nil; d = time.Until(t) {
		if d <= 2*time.Millisecond {
			sleepPrecisely(d)
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(d - time.Millisecond):
		}
	}
}

func progress(out io.Writer, rec *recorder, start time.Time, stop <-chan struct{}) {
	if out == nil {
		<-stop
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last int64
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			n := rec.completed.Load()
			fmt.Fprintf(out, "  %5.1fs  %8d req/s  %9d done  %6d errors\n", now.Sub(start).Seconds(), n-last, n, rec.failed.Load())
			last = n
		}
	}
}

func summarize(workload string, workers []*Worker, elapsed time.Duration) *Result {
	byOp := map[string][]sample{}
	for _, w := range workers {
		for _, s := range w.samples {
			byOp[s.op] = append(byOp[s.op], s)
		}
	}
	res := &Result{Workload: workload, Seconds: elapsed.Seconds()}
	for op, ss := range byOp {
		r := OpResult{Operation: op, Requests: len(ss), PerSecond: float64(len(ss)) / elapsed.Seconds()}
		durs := make([]time.Duration, 0, len(ss))
		svc := make([]time.Duration, 0, len(ss))
		for _, s := range ss {
			durs = append(durs, s.d)
			svc = append(svc, s.service)
			if s.err != "" {
				if r.Errors == nil {
					r.Errors = map[string]int{}
				}
				r.Errors[s.err]++
				r.ErrorCount++
			} else {
				r.Items += s.items
			}
		}
		r.P50, r.P90, r.P99, r.Max = percentiles(durs)
		_, _, r.P99Service, _ = percentiles(svc)
		if r.Items > 0 {
			r.ItemsPerS = float64(r.Items) / elapsed.Seconds()
		}
		res.Operations = append(res.Operations, r)
	}
	sort.Slice(res.Operations, func(i, j int) bool { return res.Operations[i].Requests > res.Operations[j].Requests })
	return res
}
