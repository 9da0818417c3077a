package sqlite

import (
	"context"
	"database/sql"
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

// A database of the schema before delivery heads keeps its pending
// deliveries in line once this version opens it.
func TestMigrationFillsDeliveryHeads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carillon.db")
	dsn, err := dataSource(Options{Path: path, Synchronous: "FULL"}, "", false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	storetest.WriteOlderOutbox(t, db, dialect(), migrationFiles, 5)
	s, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckOlderOutbox(t, s)
}
