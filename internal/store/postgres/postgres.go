// Package postgres is the store for several replicas on one PostgreSQL
// database. Invariants hold across replicas through the database alone: row
// locks on the meeting (SELECT ... FOR UPDATE) serialize the changes to one
// meeting, unique indexes back them up, and transactions that meet a
// serialization failure or a deadlock are run again.
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Options configure the store.
type Options struct {
	// URL is a PostgreSQL connection string (postgres://user@host:5432/db?...).
	URL string
	// MaxConns bounds the connection pool.
	MaxConns int
	// StatementTimeout aborts any statement that runs longer.
	StatementTimeout time.Duration
	// Schema, when set, is created if needed and used (search_path); tests
	// give each run its own.
	Schema string
}

// Store is the PostgreSQL store.
type Store struct {
	db      *sql.DB
	queries *sqlstore.Queries
}

var (
	_ store.Store  = (*Store)(nil)
	_ store.Leaser = (*Store)(nil)
)

// advisoryKey is the key of a named advisory lock, per schema, so that
// deployments sharing a database in different schemas do not contend.
const advisoryKey = "hashtext(current_schema() || ':' || $1)"

func isUniqueViolation(err error) bool { return pgCode(err) == "23505" }

func dialect() *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Placeholders:      sqlstore.QuestionToDollar,
		LockRow:           " FOR UPDATE",
		IsUniqueViolation: isUniqueViolation,
		JSONRows:          "carillon_json_rows(CAST(? AS jsonb)) AS t(value)", // see migration 0006

		// Two 32-bit keys: a space apart from advisoryKey's single keys.
		LockAccount: "SELECT pg_advisory_xact_lock(hashtext(current_schema()), hashtext('meetings:' || ?))",
	}
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// retryable reports a failure that running the transaction again can cure:
// serialization failures and deadlocks.
func retryable(err error) bool {
	switch pgCode(err) {
	case "40001", "40P01":
		return true
	}
	return false
}

// Open connects, and brings the schema up to date under an advisory lock so
// that replicas starting together apply each migration once.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.MaxConns <= 0 {
		opts.MaxConns = 20
	}
	cfg, err := pgx.ParseConfig(opts.URL)
	if err != nil {
		return nil, fmt.Errorf("postgres URL: %w", err)
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	if opts.StatementTimeout > 0 {
		cfg.RuntimeParams["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	}
	// A connection left in a transaction by a crashed request must not hold
	// its row locks for long.
	cfg.RuntimeParams["idle_in_transaction_session_timeout"] = "60000"
	if opts.Schema != "" {
		if err := createSchema(ctx, *cfg, opts.Schema); err != nil {
			return nil, err
		}
		cfg.RuntimeParams["search_path"] = opts.Schema
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(opts.MaxConns)
	db.SetMaxIdleConns(opts.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	d := dialect()
	if err := migrate(ctx, db, d); err != nil {
		db.Close()
		return nil, err
	}
	return &Store{db: db, queries: sqlstore.NewQueries(d)}, nil
}

func createSchema(ctx context.Context, cfg pgx.ConnConfig, schema string) error {
	conn, err := pgx.ConnectConfig(ctx, &cfg)
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{schema}.Sanitize())
	if err != nil && !isUniqueViolation(err) { // two replicas racing to create it
		return fmt.Errorf("create schema %s: %w", schema, err)
	}
	return nil
}

func migrate(ctx context.Context, db *sql.DB, d *sqlstore.Dialect) error {
	migrations, err := sqlstore.LoadMigrations(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	// An advisory lock per schema serializes the migrations of replicas
	// that start at once.
	if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock("+advisoryKey+")", "carillon-migrations"); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock("+advisoryKey+")", "carillon-migrations") //nolint:errcheck // closing the session releases it anyway
	// A migration may fill a table from a large one: no statement timeout.
	// Each lock it takes waits for the replicas' transactions in progress,
	// while theirs queue behind it: a bounded wait, and the start fails if
	// it runs out. READ COMMITTED whatever the server's default, so that a
	// statement after a LOCK sees what committed before the lock was had.
	// The connection goes back to the pool as it was.
	if _, err := conn.ExecContext(ctx, `SET statement_timeout = 0; SET lock_timeout = '30s';
		SET default_transaction_isolation = 'read committed'`); err != nil {
		return err
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), //nolint:errcheck // a failed reset leaves a session without timeouts
		"RESET statement_timeout; RESET lock_timeout; RESET default_transaction_isolation")
	return sqlstore.Migrate(ctx, conn, d, migrations)
}

// View runs fn in a read-only REPEATABLE READ transaction: one snapshot for
// every query fn makes.
func (s *Store) View(ctx context.Context, fn func(store.Reader) error) error {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	return fn(sqlstore.NewTx(ctx, tx, s.queries))
}

// maxAttempts bounds how often a transaction is run again after a
// serialization failure or deadlock.
const maxAttempts = 8

// Write runs fn in a READ COMMITTED transaction and commits it; the domain
// locks what it changes. A serialization failure or deadlock runs fn again
// after a short random pause.
func (s *Store) Write(ctx context.Context, fn func(store.Writer) error) error {
	for attempt := 1; ; attempt++ {
		err := s.writeOnce(ctx, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		pause := time.Duration(rand.Int64N(int64(attempt) * int64(5*time.Millisecond)))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

func (s *Store) writeOnce(ctx context.Context, fn func(store.Writer) error) error {
	// READ COMMITTED whatever the server's default: a statement after a
	// lock (LockAccountMeetings) must see what the lock's holder committed.
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
	if err != nil {
		return err
	}
	if err := sqlstore.Run(fn, sqlstore.NewTx(ctx, tx, s.queries)); err != nil {
		tx.Rollback() //nolint:errcheck // the callback's error is what matters
		return err
	}
	return tx.Commit()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	var n int
	return s.db.QueryRowContext(ctx, "SELECT 1").Scan(&n)
}

// Close closes the pool.
func (s *Store) Close() error { return s.db.Close() }

// TryLead takes the named leadership if no other replica holds it: a
// session advisory lock on a connection of its own, so that a replica that
// dies (or loses its connection) lets another take over. lost is closed
// when the leadership is lost; release gives it up.
func (s *Store) TryLead(ctx context.Context, name string) (lost <-chan struct{}, release func(), ok bool, err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, nil, false, err
	}
	// Keyed by schema too: deployments that share a database in different
	// schemas must not wait for each other.
	if err := conn.QueryRowContext(ctx, "SELECT pg_try_advisory_lock("+advisoryKey+")", name).Scan(&ok); err != nil || !ok {
		conn.Close()
		return nil, nil, false, err
	}
	lostc := make(chan struct{})
	stop := make(chan struct{})
	go func() {
		defer close(lostc)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				pctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				err := conn.PingContext(pctx)
				cancel()
				if err != nil {
					return
				}
			}
		}
	}()
	var once bool
	release = func() {
		if once {
			return
		}
		once = true
		close(stop)
		<-lostc
		conn.ExecContext(context.Background(), "SELECT pg_advisory_unlock("+advisoryKey+")", name) //nolint:errcheck // ending the session releases it too
		// End the session rather than return it to the pool, so that no
		// lock can outlive the leadership.
		conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // the point is the error
		conn.Close()
	}
	return lostc, release, true, nil
}
