package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlstore"
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
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "carillon.db")
	dsn, err := dataSource(Options{Path: path, Synchronous: "FULL"}, "", false)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		t.Fatal(err)
	}
	migrations, err := sqlstore.LoadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	const heads = 5 // the migration that adds delivery_heads
	older := slices.DeleteFunc(migrations, func(m sqlstore.Migration) bool { return m.Version >= heads })
	t.Cleanup(func() { db.Close() }) // should the test stop before it is closed
	if err := sqlstore.Migrate(ctx, db, dialect(), older); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, storetest.OlderOutbox); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := Open(ctx, Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckOlderOutbox(t, s)
}
