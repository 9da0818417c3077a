package bench

import (
	"context"
	"testing"
	"time"
)

// The delete workload's stock covers what its run can delete, and is
// handed out once each.
func TestDeleteStock(t *testing.T) {
	if n := stockSize(Config{Rate: 3000, Duration: 10 * time.Second}); n < 30_000 || n > 34_000 {
		t.Errorf("at 3,000/s for 10 s: a stock of %d", n)
	}
	if n := stockSize(Config{Duration: 2 * time.Second}); n < 20_000 {
		t.Errorf("closed loop for 2 s: a stock of %d", n)
	}
	s := &stock{attendees: [][2]string{{"m", "a"}, {"m", "b"}}}
	seen := map[string]bool{}
	for {
		a, ok := s.take()
		if !ok {
			break
		}
		if seen[a[1]] {
			t.Fatalf("%s handed out twice", a[1])
		}
		seen[a[1]] = true
	}
	if len(seen) != 2 {
		t.Fatalf("handed out %d of 2", len(seen))
	}
}

func TestPaceSendsEveryDueTimeOnce(t *testing.T) {
	const rate = 2000
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	ticks := make(chan time.Time, 1000)
	start := time.Now()
	pace(ctx, rate, ticks)
	end := time.Now()
	close(ticks)
	var got []time.Time
	for tk := range ticks {
		got = append(got, tk)
	}
	// Due every 500 µs from the start until pace returned (the context
	// ends a little after its 200 ms), none of them ahead of time; on a
	// loaded machine the last ones may be cut off.
	if most := int(end.Sub(start)/(time.Second/rate)) + 1; len(got) < 200 || len(got) > most {
		t.Fatalf("%d due times in %v at %d/s", len(got), end.Sub(start), rate)
	}
	if last := got[len(got)-1]; last.After(end) {
		t.Errorf("due time %v sent before it was due (pace returned at %v)", last, end)
	}
	if got[0].Before(start) {
		t.Errorf("first due time %v before the start %v", got[0], start)
	}
	for i := 1; i < len(got); i++ {
		if d := got[i].Sub(got[i-1]); d != time.Second/rate {
			t.Fatalf("due times %d and %d are %v apart, want %v", i-1, i, d, time.Second/rate)
		}
	}
}

// At a low rate, pace returns when its context ends, not at the next due
// time (waiting for it would spin on a core).
func TestPaceStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	ticks := make(chan time.Time, 10)
	start := time.Now()
	pace(ctx, 0.1, ticks) // the second request is due after 10 s
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("pace returned %v after its context ended at 50 ms", took)
	}
	if len(ticks) != 1 {
		t.Errorf("%d due times, want the first only", len(ticks))
	}
}
