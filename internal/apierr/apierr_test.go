package apierr

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestEveryKindHasAWireForm(t *testing.T) {
	shapes := map[string]bool{}
	for _, k := range Kinds() {
		w := wireForms[k]
		if w.status < 400 || w.status > 599 || w.shape == "" || w.code == "" {
			t.Errorf("kind %d has no complete wire form: %+v", k, w)
		}
		if !strings.HasSuffix(w.shape, "Exception") {
			t.Errorf("kind %d: shape %q does not name an exception", k, w.shape)
		}
		if shapes[w.shape] {
			t.Errorf("shape %q is used twice", w.shape)
		}
		shapes[w.shape] = true
	}
}

func TestAsHidesInternalErrors(t *testing.T) {
	e := As(fmt.Errorf("wrapped: %w", errors.New("disk I/O error at /var/lib/x")))
	if e.Kind != ServiceFailure || strings.Contains(e.Message, "disk") {
		t.Fatalf("internal error leaked: %+v", e)
	}
	nf := New(NotFound, "Meeting <%s> not found", "x")
	if got := As(fmt.Errorf("ctx: %w", nf)); got != nf {
		t.Fatalf("As lost the API error: %+v", got)
	}
	if !Is(nf, NotFound) || Is(nf, BadRequest) {
		t.Fatal("Is misreports the kind")
	}
	if Kind(200).Status() != 500 {
		t.Fatal("an unknown kind must map to ServiceFailure")
	}
}
