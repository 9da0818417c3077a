package postgres

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/postgres/pgtest"
	"github.com/carillon-dev/carillon/internal/store/sqlstore"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		url, schema := pgtest.Schema(t)
		s, err := Open(context.Background(), Options{URL: url, Schema: schema, MaxConns: 10})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestConcurrentMigrations opens several stores on one new schema at once:
// each migration is applied once and every store opens.
func TestConcurrentMigrations(t *testing.T) {
	url, schema := pgtest.Schema(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			s, err := Open(context.Background(), Options{URL: url, Schema: schema, MaxConns: 2})
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}(i)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestLeadership(t *testing.T) {
	url, schema := pgtest.Schema(t)
	a, err := Open(context.Background(), Options{URL: url, Schema: schema, MaxConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(context.Background(), Options{URL: url, Schema: schema, MaxConns: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	_, releaseA, ok, err := a.TryLead(ctx, "dispatch")
	if err != nil || !ok {
		t.Fatalf("first leader: %v %v", ok, err)
	}
	if _, _, ok, err := b.TryLead(ctx, "dispatch"); err != nil || ok {
		t.Fatalf("a second leader was allowed: %v %v", ok, err)
	}
	if _, release, ok, err := b.TryLead(ctx, "other-work"); err != nil || !ok {
		t.Fatalf("another name: %v %v", ok, err)
	} else {
		release()
	}
	releaseA()
	lost, releaseB, ok, err := b.TryLead(ctx, "dispatch")
	if err != nil || !ok {
		t.Fatalf("takeover after release: %v %v", ok, err)
	}
	releaseB()
	<-lost
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		url, schema := pgtest.Schema(b)
		s, err := Open(context.Background(), Options{URL: url, Schema: schema, MaxConns: 20})
		if err != nil {
			b.Fatal(err)
		}
		return s
	})
}

// TestAccountLocksAreApart: the lock on one account's meetings leaves
// other accounts, and the same account in another schema, free.
func TestAccountLocksAreApart(t *testing.T) {
	open := func() *Store {
		url, schema := pgtest.Schema(t)
		s, err := Open(context.Background(), Options{URL: url, Schema: schema, MaxConns: 4})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s, other := open(), open()
	release := storetest.HoldAccountLock(t, s, "111111111111", nil)
	defer func() {
		if err := release(); err != nil {
			t.Error(err)
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for name, try := range map[string]func() error{
		"another account": func() error {
			return s.Write(ctx, func(w store.Writer) error { return w.LockAccountMeetings("222222222222") })
		},
		"another schema": func() error {
			return other.Write(ctx, func(w store.Writer) error { return w.LockAccountMeetings("111111111111") })
		},
	} {
		if err := try(); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// emptySchema makes a schema of its own for a test to build an older
// database in, and a connection configuration that works in it.
func emptySchema(t *testing.T) (url, schema string, cfg *pgx.ConnConfig) {
	t.Helper()
	url, schema = pgtest.Schema(t)
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	if err := createSchema(context.Background(), *cfg, schema); err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["search_path"] = schema
	return url, schema, cfg
}

// A database of the schema before delivery heads keeps its pending
// deliveries in line once this version opens it.
func TestMigrationFillsDeliveryHeads(t *testing.T) {
	ctx := context.Background()
	url, schema, cfg := emptySchema(t)
	storetest.WriteOlderOutbox(t, stdlib.OpenDB(*cfg), dialect(), migrationFiles, 3)
	s, err := Open(ctx, Options{URL: url, Schema: schema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckOlderOutbox(t, s)
}

// A database whose 0003 was applied before that migration dropped the
// index of a meeting's events loses the index once this version opens it.
func TestMigrationDropsEventsMeeting(t *testing.T) {
	ctx := context.Background()
	url, schema, cfg := emptySchema(t)
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	migrations, err := sqlstore.LoadMigrations(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	older := slices.DeleteFunc(migrations, func(m sqlstore.Migration) bool { return m.Version > 3 })
	if err := sqlstore.Migrate(ctx, db, dialect(), older); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `CREATE INDEX events_meeting ON events (meeting_id, seq)`); err != nil {
		t.Fatal(err) // as the first 0003 left it
	}
	s, err := Open(ctx, Options{URL: url, Schema: schema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = $1 AND indexname = 'events_meeting'`,
		schema).Scan(&n); err != nil || n != 0 {
		t.Errorf("events_meeting indexes after opening: %d, %v", n, err)
	}
}
