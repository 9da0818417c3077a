package bench

import (
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
