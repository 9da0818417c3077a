package events

import (
	"context"
	"fmt"
	"testing"
)

// Meetings may name queues and topics in any region, each with clients of
// its own: the Notifier keeps a bounded number.
func TestNotifierKeepsBoundedRegions(t *testing.T) {
	n, err := NewNotifier(context.Background(), "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 * maxRegions {
		name := fmt.Sprintf("region-%d", i)
		if c := n.region(name); c == nil || c.sqs == nil || n.region(name) != c {
			t.Fatalf("region %s: clients %v not kept while in use", name, c)
		}
	}
	if len(n.clients) != maxRegions {
		t.Fatalf("%d regions kept, want %d", len(n.clients), maxRegions)
	}
}
