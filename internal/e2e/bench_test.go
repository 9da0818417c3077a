package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/bench"
)

// Every workload of the load tool runs against the real server without an
// error: its requests are signed, shaped and sequenced as the API wants.
func TestLoadToolWorkloads(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the load tool's workloads take a few seconds")
	}
	e := start(t)
	c, err := bench.NewClient(e.url, "test", "test", "us-east-1", 4)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, name := range bench.WorkloadNames() {
		t.Run(name, func(t *testing.T) {
			res, err := bench.Run(context.Background(), c, bench.Config{Workload: name, Concurrency: 4, Duration: 300 * time.Millisecond, BatchSize: 10})
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for _, op := range res.Operations {
				total += op.Requests
				if op.ErrorCount > 0 {
					t.Errorf("%s: %d errors: %v", op.Operation, op.ErrorCount, op.Errors)
				}
			}
			if total == 0 {
				t.Fatal("no requests")
			}
		})
	}
}
