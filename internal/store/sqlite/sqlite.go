// Package sqlite is the embedded store: one SQLite database in WAL mode,
// written by a single goroutine that commits concurrent transactions
// together (group commit), so that each fsync acknowledges many writes.
package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// FileIn is the path of the database in a data directory.
func FileIn(dataDir string) string { return filepath.Join(dataDir, "carillon.db") }

// Options configure the store.
type Options struct {
	// Path is the database file. Empty means a private in-memory database
	// that disappears with the store.
	Path string
	// Synchronous is SQLite's synchronous setting: "FULL" (default) makes
	// every acknowledged write survive power loss; "NORMAL" survives a crash
	// of the process but not of the machine.
	Synchronous string
	// MaxBatch bounds how many transactions one commit carries.
	MaxBatch int
	// Readers is the number of reading connections.
	Readers int
	// CacheEntries bounds the meetings, and the attendees, the read cache
	// holds.
	CacheEntries int
}

// Store is the SQLite store.
type Store struct {
	read    *sql.DB
	write   *sql.DB
	queries *sqlstore.Queries
	// w is the writer's connection; readers is a pool of reading
	// connections. Each has every statement prepared once.
	w        *sqlstore.PreparedConn
	readers  chan *sqlstore.PreparedConn
	cache    *readCache // nil when opened read-only beside another process
	batches  chan *request
	done     chan struct{}
	stopped  chan struct{}
	maxBatch int
}

// The statements that frame transactions, prepared with the others.
const (
	beginWrite  = "BEGIN IMMEDIATE"
	beginRead   = "BEGIN"
	commitTx    = "COMMIT"
	rollbackTx  = "ROLLBACK"
	savepoint   = "SAVEPOINT carillon"
	release     = "RELEASE carillon"
	rollbackSav = "ROLLBACK TO carillon"
)

var _ store.Store = (*Store)(nil)

type request struct {
	ctx    context.Context
	fn     func(store.Writer) error
	result chan error
}

func dialect() *sqlstore.Dialect {
	return &sqlstore.Dialect{
		Placeholders:      func(q string) string { return q },
		IsUniqueViolation: isUniqueViolation,
		ConsecutiveIDs:    true,
		StatementRollback: true,
		JSONRows:          "json_each(?) AS t",
	}
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

// Open opens (creating if needed) the database and brings its schema up to
// date.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Synchronous == "" {
		opts.Synchronous = "FULL"
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 256
	}
	if opts.Readers <= 0 {
		opts.Readers = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if opts.CacheEntries <= 0 {
		opts.CacheEntries = sqlstore.CacheEntries
	}
	// Commit with fdatasync(2), as SQLite builds for Linux do: as durable as
	// fsync, without also flushing the file's timestamps through the
	// journal, which can double a commit's wait. (A setting of the driver
	// for the whole process; a no-op where unsupported.)
	sqlite.Fdatasync(true) //nolint:errcheck // unsupported platforms keep fsync
	var memName string
	if opts.Path == "" {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		memName = "carillon-" + hex.EncodeToString(b)
	}
	dsn, err := dataSource(opts, memName, false)
	if err != nil {
		return nil, err
	}
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	// One writing connection: SQLite has one writer at a time anyway, and
	// the group commit below needs it to itself.
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	if err := write.PingContext(ctx); err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", opts.Path, err)
	}
	migrations, err := sqlstore.LoadMigrations(migrationFiles, "migrations")
	if err != nil {
		write.Close()
		return nil, err
	}
	d := dialect()
	if err := sqlstore.Migrate(ctx, write, d, migrations); err != nil {
		write.Close()
		return nil, err
	}

	readDSN, err := dataSource(opts, memName, true)
	if err != nil {
		write.Close()
		return nil, err
	}
	read, err := sql.Open("sqlite", readDSN)
	if err != nil {
		write.Close()
		return nil, err
	}
	read.SetMaxOpenConns(opts.Readers)
	read.SetMaxIdleConns(opts.Readers)
	read.SetConnMaxLifetime(0)

	s := &Store{
		read:     read,
		write:    write,
		queries:  sqlstore.NewQueries(d),
		batches:  make(chan *request, opts.MaxBatch),
		done:     make(chan struct{}),
		stopped:  make(chan struct{}),
		maxBatch: opts.MaxBatch,
		cache:    newReadCache(opts.CacheEntries),
	}
	wconn, err := write.Conn(ctx)
	if err == nil {
		s.w, err = sqlstore.Prepare(ctx, wconn, s.queries, beginWrite, commitTx, rollbackTx, savepoint, release, rollbackSav)
	}
	if err == nil {
		err = s.openReaders(ctx, opts.Readers)
	}
	if err != nil {
		s.closeConns()
		read.Close()
		write.Close()
		return nil, err
	}
	go s.writer()
	return s, nil
}

// openReaders fills the pool of prepared reading connections.
func (s *Store) openReaders(ctx context.Context, n int) error {
	s.readers = make(chan *sqlstore.PreparedConn, n)
	for i := 0; i < n; i++ {
		conn, err := s.read.Conn(ctx)
		if err != nil {
			return err
		}
		p, err := sqlstore.Prepare(ctx, conn, s.queries, beginRead, rollbackTx)
		if err != nil {
			return err
		}
		s.readers <- p
	}
	return nil
}

// closeConns closes the prepared connections, waiting a little for readers
// that are in use.
func (s *Store) closeConns() {
	if s.w != nil {
		s.w.Close()
	}
	if s.readers == nil {
		return
	}
	timeout := time.After(5 * time.Second)
	for i := 0; i < cap(s.readers); i++ {
		select {
		case p := <-s.readers:
			p.Close()
		case <-timeout:
			return
		}
	}
}

// dataSource builds the driver's DSN; readOnly connections refuse writes.
func dataSource(opts Options, memName string, readOnly bool) (string, error) {
	params := url.Values{}
	params.Add("_pragma", "busy_timeout(10000)")
	params.Add("_pragma", "foreign_keys(1)")
	if readOnly {
		params.Add("_pragma", "query_only(1)")
	}
	if opts.Path == "" {
		// memdb lets several connections share one private in-memory database.
		params.Set("vfs", "memdb")
		return "file:/" + memName + "?" + params.Encode(), nil
	}
	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return "", err
	}
	params.Add("_pragma", "journal_mode(WAL)")
	params.Add("_pragma", "synchronous("+opts.Synchronous+")")
	// Statement journals and sorts stay in memory.
	params.Add("_pragma", "temp_store(MEMORY)")
	params.Add("_pragma", "cache_size(-16384)")
	return "file:" + opts.Path + "?" + params.Encode(), nil
}

// OpenReadOnly opens an existing database for reading only, beside a server
// that may be running on it (WAL lets readers in other processes see its
// committed state). Write fails.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("no database at %s: %w", path, err)
	}
	dsn, err := dataSource(Options{Path: path, Synchronous: "NORMAL"}, "", true)
	if err != nil {
		return nil, err
	}
	read, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	if err := read.PingContext(ctx); err != nil {
		read.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	s := &Store{read: read, queries: sqlstore.NewQueries(dialect())}
	if err := s.openReaders(ctx, 2); err != nil {
		s.closeConns()
		read.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}

// View runs fn on a read transaction, which in WAL mode sees one snapshot
// and never waits for the writer. The transaction (and its connection) is
// taken only when fn first reads something the cache does not have.
func (s *Store) View(ctx context.Context, fn func(store.Reader) error) error {
	l := &lazyRead{s: s, ctx: ctx}
	defer l.release()
	var epoch uint64
	if s.cache != nil {
		epoch = s.cache.epoch.Load() // before any snapshot begins
	}
	var r store.Reader = sqlstore.NewTx(ctx, l, s.queries)
	if s.cache != nil {
		r = &cachedReader{Reader: r, cache: s.cache, epoch: epoch}
	}
	return fn(r)
}

// lazyRead is a Querier that takes a reading connection and begins its
// transaction on first use.
type lazyRead struct {
	s   *Store
	ctx context.Context
	p   *sqlstore.PreparedConn
}

// conn returns the transaction's connection, or nil if none could be had,
// in which case the statement runs on the pool, outside a transaction,
// and reports the same failure (a canceled context, say).
func (l *lazyRead) conn() *sqlstore.PreparedConn {
	if l.p != nil {
		return l.p
	}
	select {
	case p := <-l.s.readers:
		if _, err := p.ExecContext(l.ctx, beginRead); err != nil {
			l.s.readers <- p
			return nil
		}
		l.p = p
	case <-l.ctx.Done():
	}
	return l.p
}

func (l *lazyRead) release() {
	if l.p == nil {
		return
	}
	// Read-only: nothing to keep. The rollback runs even if ctx ended.
	l.p.ExecContext(context.WithoutCancel(l.ctx), rollbackTx) //nolint:errcheck // see above
	l.s.readers <- l.p
	l.p = nil
}

func (l *lazyRead) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if p := l.conn(); p != nil {
		return p.ExecContext(ctx, query, args...)
	}
	return l.s.read.ExecContext(ctx, query, args...)
}

func (l *lazyRead) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if p := l.conn(); p != nil {
		return p.QueryContext(ctx, query, args...)
	}
	return l.s.read.QueryContext(ctx, query, args...)
}

func (l *lazyRead) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if p := l.conn(); p != nil {
		return p.QueryRowContext(ctx, query, args...)
	}
	return l.s.read.QueryRowContext(ctx, query, args...)
}

// errClosed is returned for writes submitted after Close.
var errClosed = errors.New("sqlite store: closed")

// Write queues fn for the writer goroutine and waits until the commit that
// carries it is durable.
func (s *Store) Write(ctx context.Context, fn func(store.Writer) error) error {
	if s.write == nil {
		return errors.New("sqlite store: opened read-only")
	}
	req := &request{ctx: ctx, fn: fn, result: make(chan error, 1)}
	select {
	case s.batches <- req:
	case <-s.done:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, the outcome is awaited even if ctx ends: the caller must
	// not report failure for a write that commits. The writer answers every
	// request it takes before it stops, so a request it never took fails.
	select {
	case err := <-req.result:
		return err
	case <-s.stopped:
		select {
		case err := <-req.result:
			return err
		default:
			return errClosed
		}
	}
}

// writer commits queued transactions in batches: each runs inside its own
// savepoint of one SQLite transaction, so one failing callback rolls back
// only its own changes, and one fsync acknowledges the whole batch.
func (s *Store) writer() {
	defer close(s.stopped)
	batch := make([]*request, 0, s.maxBatch)
	for {
		var first *request
		select {
		case first = <-s.batches:
		case <-s.done:
			s.drain()
			return
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.maxBatch {
			select {
			case r := <-s.batches:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

// drain fails the writes still queued at Close.
func (s *Store) drain() {
	for {
		select {
		case r := <-s.batches:
			r.result <- errClosed
		default:
			return
		}
	}
}

func (s *Store) commit(batch []*request) {
	// Statements run with a context of their own: cancelling one caller
	// must not interrupt a transaction that carries others. It is one that
	// cannot end: for a context that can, the driver starts a goroutine to
	// watch it and installs a progress handler at every statement (a fifth
	// of the writer's CPU for single additions). The writer's statements
	// are bounded by their indexes and limits, and a wait for a lock by the
	// busy timeout, so a deadline had nothing to cut short.
	ctx := context.Background()
	tx := sqlstore.NewTx(ctx, s.w, s.queries)
	var ch changed
	tx.OnChange(&ch)
	tx.DeferEvents()
	w := &cachedWriter{Tx: tx, cache: s.cache, ch: &ch}
	// Whatever happens to the batch, the read cache learns what it changed
	// (all of it, should any part roll back) before any caller hears of the
	// outcome, so that no one reads their own write stale.
	var outcomes []outcome
	defer func() {
		s.cache.endCommit(&ch)
		for _, o := range outcomes {
			o.r.result <- o.err
		}
	}()
	rest, err := s.commitTogether(ctx, w, batch, &outcomes)
	if err != nil {
		ch.undone = true
	}
	if err == errPoisoned {
		err = s.commitIsolated(ctx, w, rest, &outcomes)
	}
	if err != nil {
		for _, r := range rest {
			outcomes = append(outcomes, outcome{r, err})
		}
	}
}

// outcome is a request's answer, sent once the read cache is up to date.
type outcome struct {
	r   *request
	err error
}

// errPoisoned reports a batch whose transaction a failing callback left
// with changes of its own.
var errPoisoned = errors.New("sqlite store: a failed transaction changed the batch")

func (s *Store) exec(ctx context.Context, q string) error {
	_, err := s.w.ExecContext(ctx, q)
	return err
}

// commitTogether runs the batch in one transaction without savepoints: a
// callback that fails before changing anything (nearly every failure: the
// domain checks before it writes) just gets its error. One that fails
// after changing something poisons the transaction: it is rolled back and
// the requests still unanswered are returned with errPoisoned. On any
// other error, the unanswered requests are returned with it.
func (s *Store) commitTogether(ctx context.Context, w *cachedWriter, batch []*request, outcomes *[]outcome) ([]*request, error) {
	if err := s.exec(ctx, beginWrite); err != nil {
		return batch, err
	}
	committed := batch[:0:0]
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			*outcomes = append(*outcomes, outcome{r, err})
			continue
		}
		w.ResetDirty()
		err := sqlstore.Run(r.fn, w)
		switch {
		case err == nil:
			committed = append(committed, r)
		case !w.Dirty():
			*outcomes = append(*outcomes, outcome{r, err})
		default:
			s.exec(ctx, rollbackTx) //nolint:errcheck // the batch runs again
			w.DropEvents(0)
			return append(committed, batch[i:]...), errPoisoned
		}
	}
	if len(committed) == 0 {
		s.exec(ctx, rollbackTx) //nolint:errcheck // nothing to keep
		return nil, nil
	}
	if err := s.finish(ctx, w); err != nil {
		return committed, err
	}
	for _, r := range committed {
		*outcomes = append(*outcomes, outcome{r, nil})
	}
	return nil, nil
}

// commitIsolated runs the batch in one transaction with each request in a
// savepoint of its own, so that a failing one rolls back only itself.
func (s *Store) commitIsolated(ctx context.Context, w *cachedWriter, batch []*request, outcomes *[]outcome) error {
	if err := s.exec(ctx, beginWrite); err != nil {
		return err
	}
	var committed []*request
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			*outcomes = append(*outcomes, outcome{r, err})
			continue
		}
		if err := s.exec(ctx, savepoint); err != nil {
			*outcomes = append(*outcomes, outcome{r, err})
			continue
		}
		events := w.PendingEvents()
		if err := sqlstore.Run(r.fn, w); err != nil {
			w.DropEvents(events)
			if rbErr := s.exec(ctx, rollbackSav); rbErr != nil {
				err = errors.Join(err, rbErr)
			}
			s.exec(ctx, release) //nolint:errcheck // the savepoint is empty now
			*outcomes = append(*outcomes, outcome{r, err})
			continue
		}
		if err := s.exec(ctx, release); err != nil {
			*outcomes = append(*outcomes, outcome{r, err})
			continue
		}
		committed = append(committed, r)
	}
	err := s.finish(ctx, w)
	for _, r := range committed {
		*outcomes = append(*outcomes, outcome{r, err})
	}
	return nil
}

// finish writes a batch's deferred events and commits; on failure it rolls
// back, leaving no transaction open. It is the only place that commits:
// readers fill the read cache until retire, so no commit may come without
// it.
func (s *Store) finish(ctx context.Context, w *cachedWriter) error {
	err := w.FlushEvents()
	if err == nil {
		w.cache.retire(w.ch)
		err = s.exec(ctx, commitTx)
	}
	if err != nil {
		w.ch.undone = true
		s.exec(ctx, rollbackTx) //nolint:errcheck // the batch fails either way
	}
	return err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.View(ctx, func(r store.Reader) error {
		_, err := r.LastEventSeq()
		return err
	})
}

// Close stops the writer after the commits under way and closes the database.
func (s *Store) Close() error {
	if s.write == nil { // read-only
		s.closeConns()
		return s.read.Close()
	}
	select {
	case <-s.done:
		return nil
	default:
	}
	close(s.done)
	<-s.stopped
	s.closeConns()
	return errors.Join(s.read.Close(), s.write.Close())
}
