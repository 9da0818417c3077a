package storetest

import (
	"context"
	"sync/atomic"

	"github.com/carillon-dev/carillon/internal/store"
)

// WriteCounter is a store that counts its write transactions, for tests
// of how many a piece of work takes.
type WriteCounter struct {
	store.Store
	writes atomic.Int32
}

// Write counts the transaction and runs it.
func (c *WriteCounter) Write(ctx context.Context, fn func(store.Writer) error) error {
	c.writes.Add(1)
	return c.Store.Write(ctx, fn)
}

// Writes is how many write transactions have begun.
func (c *WriteCounter) Writes() int { return int(c.writes.Load()) }
