package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// statements lists every fixed statement of the store.
func (q *Queries) statements() []string {
	return []string{
		q.meeting, q.meetingByID, q.meetingLocked, q.meetingByToken, q.activeReplicas, q.countActive,
		q.insertMeeting, q.endMeeting, q.touchMeeting, q.setTranscription, q.dueMeetings, q.purgeEnded, q.purgeTags,
		q.attendee, q.attendeeByExternal, q.attendees, q.insertAttendee, q.countAttendee, q.deleteAttendee,
		q.deleteAllAttendees, q.uncountAttendee, q.updateCaps, q.tags, q.putTag, q.deleteTag,
		q.insertEvent, q.insertDelivery, q.completeDelivery, q.failDelivery, q.dueDeliveries, q.deadDeliveries,
		q.eventsAfter, q.eventsAfterMeeting, q.lastEventSeq, q.outbox, q.purgeEvents, q.stats,
	}
}

// PreparedConn is a connection with every statement of the store prepared
// on it, so that none is parsed again: parsing is most of the cost of a
// small SQLite statement. It is a Querier; statements it does not know
// (the few built at run time) run unprepared.
type PreparedConn struct {
	conn  *sql.Conn
	stmts map[string]*sql.Stmt
}

// Prepare prepares the store's statements, and extra ones (BEGIN, COMMIT,
// ...), on conn.
func Prepare(ctx context.Context, conn *sql.Conn, q *Queries, extra ...string) (*PreparedConn, error) {
	p := &PreparedConn{conn: conn, stmts: map[string]*sql.Stmt{}}
	for _, text := range append(q.statements(), extra...) {
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
	return p.conn.Close()
}

func (p *PreparedConn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s, ok := p.stmts[query]; ok {
		return s.ExecContext(ctx, args...)
	}
	return p.conn.ExecContext(ctx, query, args...)
}

func (p *PreparedConn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s, ok := p.stmts[query]; ok {
		return s.QueryContext(ctx, args...)
	}
	return p.conn.QueryContext(ctx, query, args...)
}

func (p *PreparedConn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s, ok := p.stmts[query]; ok {
		return s.QueryRowContext(ctx, args...)
	}
	return p.conn.QueryRowContext(ctx, query, args...)
}
