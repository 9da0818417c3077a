package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/carillon-dev/carillon/internal/store/storetest"
)

// SQLite's planner read every event for each range of EventsBetween, and
// every active meeting to find a meeting's replicas.
func TestNoStatementWalksATable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "carillon.db")
	s, err := Open(context.Background(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	statements := s.queries.Statements()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Without ANALYZE, SQLite's plans do not depend on the rows stored.
	storetest.CheckPlans(t, statements, func(q string) (walks []string, plan string) {
		steps := explain(t, db, q)
		for _, step := range steps {
			if whole(step, steps) {
				walks = append(walks, step)
			}
		}
		return walks, strings.Join(steps, " | ")
	})
}

// explain returns the steps of a statement's query plan, its parameters
// NULL.
func explain(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+q, make([]any, strings.Count(q, "?"))...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var steps []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		steps = append(steps, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return steps
}

// whole reports that a step of a plan reads a whole table or index: a SCAN
// of a table (not of a virtual table, of a subquery's rows or of a
// SELECT's one row), or an index or Bloom filter that SQLite builds for the
// statement from every row of a table.
func whole(step string, steps []string) bool {
	if strings.Contains(step, " AUTOMATIC ") || strings.HasPrefix(step, "BLOOM FILTER") {
		return true
	}
	name, ok := strings.CutPrefix(step, "SCAN ")
	if !ok || step == "SCAN CONSTANT ROW" || strings.Contains(step, "VIRTUAL TABLE") {
		return false
	}
	name, _, _ = strings.Cut(strings.TrimPrefix(name, "TABLE "), " ")
	return !slices.Contains(steps, "CO-ROUTINE "+name) && !slices.Contains(steps, "MATERIALIZE "+name)
}
