package api

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadBody(t *testing.T) {
	const limit = 16
	for _, tc := range []struct {
		name     string
		body     string
		length   int64 // the declared Content-Length; -1: chunked
		limit    int64 // 0: 16
		want     string
		tooLarge bool
		fails    bool
	}{
		{name: "declared", body: `{"a":1}`, length: 7, want: `{"a":1}`},
		{name: "empty", body: "", length: 0, want: ""},
		{name: "chunked", body: `{"a":1}`, length: -1, want: `{"a":1}`},
		{name: "declared at the limit", body: strings.Repeat("x", limit), length: limit, want: strings.Repeat("x", limit)},
		{name: "declared over the limit", body: strings.Repeat("x", limit+1), length: limit + 1, tooLarge: true},
		{name: "chunked over the limit", body: strings.Repeat("x", limit+1), length: -1, tooLarge: true},
		{name: "shorter than declared", body: `{"a"`, length: 7, fails: true},
		// Over exactBody: read as it arrives, within the limit.
		{name: "declared large", body: strings.Repeat("x", exactBody+1), length: exactBody + 1, limit: 2 * exactBody,
			want: strings.Repeat("x", exactBody+1)},
	} {
		r := httptest.NewRequest(http.MethodPost, "/meetings", nil)
		r.Body = io.NopCloser(strings.NewReader(tc.body))
		r.ContentLength = tc.length
		lim := tc.limit
		if lim == 0 {
			lim = limit
		}
		got, err := readBody(httptest.NewRecorder(), r, lim)
		var tooBig *http.MaxBytesError
		switch {
		case tc.tooLarge:
			if !errors.As(err, &tooBig) {
				t.Errorf("%s: err = %v, want a MaxBytesError", tc.name, err)
			}
		case tc.fails:
			if err == nil {
				t.Errorf("%s: read %q, want an error", tc.name, got)
			}
		case err != nil || string(got) != tc.want:
			t.Errorf("%s: read %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}
