package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
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
	// A step that reads a whole table or index: SCAN of a table, not of a
	// virtual table nor of a subquery's rows. (Without ANALYZE, SQLite's
	// plans do not depend on the rows stored.)
	walk := regexp.MustCompile(`^SCAN (\S+)(?: USING (?:COVERING )?INDEX \S+)?$`)
	storetest.CheckPlans(t, statements, func(q string) (walks []string, plan string) {
		steps := explain(t, db, q)
		for _, step := range steps {
			if m := walk.FindStringSubmatch(step); m != nil && !subquery(steps, m[1]) {
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

// subquery reports that name is a subquery of the plan, whose rows a SCAN
// reads once they are made.
func subquery(steps []string, name string) bool {
	for _, s := range steps {
		if s == "CO-ROUTINE "+name || s == "MATERIALIZE "+name {
			return true
		}
	}
	return false
}
