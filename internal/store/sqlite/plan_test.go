package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every statement of the store finds its rows through an index, but for
// a few listed with their reasons: SQLite's planner chose to read every event for
// each range of EventsBetween, and every active meeting to find a
// meeting's replicas, and neither showed in a test with a few rows.
func TestNoStatementWalksATable(t *testing.T) {
	// The statements whose plan may walk a whole table or index, each with
	// the reason it is bounded or rare, by a part of its text on one line.
	walksAllowed := map[string]string{
		"SUM(attendee_count)":              "a gauge of /metrics, once per scrape",
		"SUM(d.dead)":                      "a gauge of /metrics, once per scrape",
		"FROM delivery_heads WHERE due_at": "one row per group of deliveries, oldest first, up to the limit",
		"WHERE d.dead = 1":                 "the dead letters, listed for an operator",
	}
	// A step that reads a whole table or index: SCAN of a table, not of a
	// virtual table nor of a subquery's rows.
	planWalk := regexp.MustCompile(`^SCAN (\S+)(?: USING (?:COVERING )?INDEX \S+)?$`)
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
	used := map[string]bool{}
	for _, q := range statements {
		steps := plan(t, db, q)
		var walks []string
		for _, step := range steps {
			if m := planWalk.FindStringSubmatch(step); m != nil && !subquery(steps, m[1]) {
				walks = append(walks, step)
			}
		}
		if len(walks) == 0 {
			continue
		}
		allowed := false
		for key := range walksAllowed {
			if strings.Contains(oneLine(q), key) {
				allowed, used[key] = true, true
			}
		}
		if !allowed {
			t.Errorf("%s\nwalks %q; plan: %s", oneLine(q), walks, strings.Join(steps, " | "))
		}
	}
	for key, why := range walksAllowed {
		if !used[key] {
			t.Errorf("no statement containing %q walks a table (%s): remove it from walksAllowed", key, why)
		}
	}
}

// plan returns the steps of a statement's query plan, its parameters NULL.
func plan(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+q, make([]any, strings.Count(q, "?"))...)
	if err != nil {
		t.Fatalf("%s: %v", oneLine(q), err)
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

func oneLine(q string) string { return strings.Join(strings.Fields(q), " ") }
