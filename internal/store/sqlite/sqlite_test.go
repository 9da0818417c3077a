package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

func TestContractFile(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), Options{Path: filepath.Join(t.TempDir(), "carillon.db")})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestContractMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := Open(context.Background(), Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		s, err := Open(context.Background(), Options{Path: filepath.Join(b.TempDir(), "carillon.db")})
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}
