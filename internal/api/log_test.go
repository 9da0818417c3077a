package api

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carillon-dev/carillon/internal/accounts"
	"github.com/carillon-dev/carillon/internal/sigv4"
)

type countingObserver struct {
	nopObserver
	mu       sync.Mutex
	statuses []int
}

func (o *countingObserver) ObserveRequest(_ string, status int, _ string, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.statuses = append(o.statuses, status)
}

// Every request is counted; its log line is written only at the levels
// that keep it.
func TestRequestLineFollowsTheLogLevel(t *testing.T) {
	for _, tc := range []struct {
		level   slog.Level
		logged  bool
		comment string
	}{
		{slog.LevelInfo, true, "info keeps request lines"},
		{slog.LevelWarn, false, "warn drops them"},
	} {
		var buf bytes.Buffer
		obs := &countingObserver{}
		reg := accounts.NewLocal()
		h := New(Config{
			Verifier: sigv4.NewVerifier(sigv4.Config{Service: "chime", Credentials: reg}), Accounts: reg,
			Log:      slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: tc.level})),
			Observer: obs,
		})
		rr := httptest.NewRecorder()
		h.ServeHTTP(rr, httptest.NewRequest(http.MethodGet, "/meetings/x", nil)) // unsigned: refused
		if rr.Code < 400 {
			t.Fatalf("%s: an unsigned request answered %d", tc.comment, rr.Code)
		}
		if len(obs.statuses) != 1 || obs.statuses[0] != rr.Code {
			t.Errorf("%s: observed %v, want one %d", tc.comment, obs.statuses, rr.Code)
		}
		line := fmt.Sprintf("status=%d", rr.Code)
		if got := strings.Contains(buf.String(), "msg=request") && strings.Contains(buf.String(), line); got != tc.logged {
			t.Errorf("%s: log %q", tc.comment, buf.String())
		}
	}
}
