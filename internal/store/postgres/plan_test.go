package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/carillon-dev/carillon/internal/store/postgres/pgtest"
	"github.com/carillon-dev/carillon/internal/store/storetest"
)

// After five runs of a prepared statement PostgreSQL may settle on one plan
// for any parameter (a generic plan), where a condition on a parameter
// cannot prove a partial index's: finding a meeting's replicas read every
// active meeting. Sequential scans are priced out, so that a walk here
// means that no index can serve the statement.
func TestNoStatementWalksATable(t *testing.T) {
	url, schema := pgtest.Schema(t)
	ctx := context.Background()
	s, err := Open(ctx, Options{URL: url, Schema: schema, MaxConns: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.FillForPlans(t, s)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, set := range []string{
		"SET search_path = " + pgx.Identifier{schema}.Sanitize(),
		"ANALYZE meetings, attendees, tags, events, deliveries, delivery_heads", // not other tests' schemas
		"SET plan_cache_mode = force_generic_plan",
		"SET enable_seqscan = off",
	} {
		if _, err := conn.Exec(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	param := regexp.MustCompile(`\$(\d+)`)
	n := 0
	storetest.CheckPlans(t, s.queries.Statements(), func(q string) (walks []string, plan string) {
		n++
		params := 0
		for _, m := range param.FindAllStringSubmatch(q, -1) {
			k, _ := strconv.Atoi(m[1])
			params = max(params, k)
		}
		name := fmt.Sprintf("plan_%d", n)
		if _, err := conn.Exec(ctx, "PREPARE "+name+" AS "+q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if params > 0 {
			name += "(" + strings.TrimSuffix(strings.Repeat("NULL, ", params), ", ") + ")"
		}
		var out []byte
		if err := conn.QueryRow(ctx, "EXPLAIN (FORMAT JSON) EXECUTE "+name).Scan(&out); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
			t.Fatalf("%s: plan %s: %v", q, out, err)
		}
		var steps []string
		plans[0].Plan.walk(func(p *planNode) {
			steps = append(steps, p.String())
			if p.whole() {
				walks = append(walks, p.String())
			}
		})
		return walks, strings.Join(steps, " | ")
	})
}

// planNode is a step of a plan in EXPLAIN's JSON.
type planNode struct {
	Type      string     `json:"Node Type"`
	Relation  string     `json:"Relation Name"`
	Index     string     `json:"Index Name"`
	IndexCond string     `json:"Index Cond"`
	Filter    string     `json:"Filter"`
	Plans     []planNode `json:"Plans"`
}

func (p *planNode) walk(fn func(*planNode)) {
	fn(p)
	for i := range p.Plans {
		p.Plans[i].walk(fn)
	}
}

// whole reports that the step reads a whole table, or a whole index.
func (p *planNode) whole() bool {
	switch p.Type {
	case "Seq Scan":
		return true
	case "Index Scan", "Index Only Scan", "Bitmap Index Scan":
		return p.IndexCond == ""
	}
	return false
}

func (p *planNode) String() string {
	s := p.Type
	if p.Relation != "" {
		s += " on " + p.Relation
	}
	if p.Index != "" {
		s += " using " + p.Index
	}
	if p.IndexCond != "" {
		s += " (" + p.IndexCond + ")"
	}
	if p.Filter != "" {
		s += " filter " + p.Filter
	}
	return s
}
