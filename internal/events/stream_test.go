package events_test

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/events"
)

// A client that reconnects with Last-Event-ID gets the events after it; an
// id past the end of the log (a database since replaced) resumes at the
// end, and one that is not an id is refused.
func TestStreamResumes(t *testing.T) {
	st, m := testOutbox(t)
	stream := events.NewStream(st, 10*time.Millisecond)
	defer stream.Close()
	srv := httptest.NewServer(stream)
	defer srv.Close()
	sent := appendEvents(t, st, m, 3)

	for _, bad := range []string{"abc", "-1", "1.5"} {
		resp := get(t, srv.URL, bad)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("Last-Event-ID %q: %d, want 400", bad, resp.StatusCode)
		}
	}
	for _, tc := range []struct {
		lastEventID string
		want        []int64
	}{
		{fmt.Sprint(sent[0].Seq), []int64{sent[1].Seq, sent[2].Seq}},
		{fmt.Sprint(sent[2].Seq + 1000), nil},
	} {
		resp := get(t, srv.URL, tc.lastEventID)
		ids := make(chan int64, 10)
		go func() {
			defer close(ids)
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				var id int64
				if _, err := fmt.Sscanf(sc.Text(), "id: %d", &id); err == nil {
					ids <- id
				}
			}
		}()
		later := appendEvents(t, st, m, 1)[0] // after the stream started
		want := append(tc.want, later.Seq)
		for _, w := range want {
			select {
			case got := <-ids:
				if got != w {
					t.Fatalf("Last-Event-ID %s: id %d, want %d (all: %v)", tc.lastEventID, got, w, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("Last-Event-ID %s: no id %d", tc.lastEventID, w)
			}
		}
		resp.Body.Close()
	}
}

// get opens the stream of every meeting with a Last-Event-ID.
func get(t *testing.T, url, lastEventID string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Last-Event-ID", lastEventID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode == http.StatusOK && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	return resp
}
