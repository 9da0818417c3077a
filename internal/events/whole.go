package events

import (
	"context"

	"github.com/carillon-dev/carillon/internal/store"
)

// Whole wraps a store so that the events written through it are kept whole
// (the rendered envelope) instead of compact. PostgreSQL is shared by
// replicas, and during a rolling upgrade some of them run a version that
// delivers what the outbox holds as it is; a single process on its own
// SQLite file has no such neighbour (and its migrations keep older
// binaries off a newer file).
func Whole(st store.Store) store.Store { return wholeStore{st} }

type wholeStore struct{ store.Store }

func (s wholeStore) Write(ctx context.Context, fn func(store.Writer) error) error {
	return s.Store.Write(ctx, func(w store.Writer) error { return fn(wholeWriter{w}) })
}

type wholeWriter struct{ store.Writer }

// AppendEvents renders the events before they are written; an event
// already whole (fn running again) stays as it is.
func (w wholeWriter) AppendEvents(es []*store.Event, destinations []string) error {
	for _, e := range es {
		p, err := Payload(e)
		if err != nil {
			return err
		}
		e.Payload = p
	}
	return w.Writer.AppendEvents(es, destinations)
}
