package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

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

// SQLite tries an addition of new attendees: it inserts them at once, and
// one that finds an ExternalUserId taken leaves the transaction as clean as
// it was, so that a request failing after it does not make the batch run
// again.
func TestInsertAttendeesIfFreeTries(t *testing.T) {
	ctx := context.Background()
	s := filledStore(t, filepath.Join(t.TempDir(), "carillon.db"), 1, 1) // user-0 in meeting 0
	now := time.Now().UTC()
	attendee := func(id, external string) *store.Attendee {
		return &store.Attendee{ID: id, MeetingID: "00000000-0000-7000-8000-000000000000", AccountID: "000000000000",
			ExternalUserID: external, TokenKeyID: 1, TokenSalt: make([]byte, 16), CreatedAt: now}
	}
	err := s.Write(ctx, func(w store.Writer) error {
		tx := w.(*cachedWriter).Tx
		tx.ResetDirty()
		free, err := w.InsertAttendeesIfFree([]*store.Attendee{attendee("00000000-0000-7000-9000-100000000002", "user-0")})
		if free || err != nil || tx.Dirty() {
			return fmt.Errorf("user-0 again: free %v, %v, dirty %v", free, err, tx.Dirty())
		}
		bob := attendee("00000000-0000-7000-9000-100000000003", "bob")
		if free, err := w.InsertAttendeesIfFree([]*store.Attendee{bob}); !free || err != nil || bob.Seq == 0 {
			return fmt.Errorf("bob: free %v, %v, seq %d", free, err, bob.Seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
