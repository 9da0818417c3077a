package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
)

// PreparedConn is a connection with every statement of the store prepared
// on it, so that none is parsed again: parsing is most of the cost of a
// small SQLite statement. It is a Querier. Statements built at run time
// (multi-row inserts, whose text depends on the row count) are prepared on
// first use and kept, up to a bound.
type PreparedConn struct {
	conn    *sql.Conn
	stmts   map[string]*sql.Stmt
	dynamic map[string]*sql.Stmt
}

// maxDynamic bounds the statements built at run time that a connection
// keeps prepared.
const maxDynamic = 256

// Prepare prepares the store's statements, and extra ones (BEGIN, COMMIT,
// ...), on conn.
func Prepare(ctx context.Context, conn *sql.Conn, q *Queries, extra ...string) (*PreparedConn, error) {
	p := &PreparedConn{conn: conn, stmts: map[string]*sql.Stmt{}, dynamic: map[string]*sql.Stmt{}}
	for _, text := range slices.Concat(q.all, extra) {
		if _, done := p.stmts[text]; done {
			continue
		}
		s, err := conn.PrepareContext(ctx, text)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("prepare %q: %w", text, err)
		}
		p.stmts[text] = s
	}
	return p, nil
}

// Close releases the statements and the connection.
func (p *PreparedConn) Close() error {
	for _, s := range p.stmts {
		s.Close()
	}
	for _, s := range p.dynamic {
		s.Close()
	}
	return p.conn.Close()
}

// stmt returns the prepared statement of a query, preparing and keeping a
// run-time one on first use. A PreparedConn serves one goroutine at a time.
func (p *PreparedConn) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s, ok := p.stmts[query]; ok {
		return s, nil
	}
	if s, ok := p.dynamic[query]; ok {
		return s, nil
	}
	s, err := p.conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if len(p.dynamic) >= maxDynamic {
		for q, old := range p.dynamic { // drop one at random: rare shapes go first, on average
			old.Close()
			delete(p.dynamic, q)
			break
		}
	}
	p.dynamic[query] = s
	return s, nil
}

func (p *PreparedConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (p *PreparedConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := p.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (p *PreparedConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := p.stmt(ctx, query)
	if err != nil {
		return p.conn.QueryRowContext(ctx, query, args...) // reports the same error through the Row
	}
	return s.QueryRowContext(ctx, args...)
}
