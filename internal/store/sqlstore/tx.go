// Package sqlstore implements the store's reads and writes once, in SQL that
// SQLite and PostgreSQL both accept; a Dialect covers what differs. The
// sqlite and postgres packages own connections, transactions and migrations.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/carillon-dev/carillon/internal/model"
	"github.com/carillon-dev/carillon/internal/store"
)

// Dialect is what differs between the SQL databases.
type Dialect struct {
	// Placeholders turns the `?` placeholders of a query into the database's.
	Placeholders func(query string) string
	// LockRow is appended to a SELECT that must lock the rows it reads.
	LockRow string
	// IsUniqueViolation recognises a unique-constraint error of the driver.
	IsUniqueViolation func(error) bool
	// ConsecutiveIDs says that the rows one multi-row INSERT adds get
	// consecutive, increasing keys in the order written, so that the last
	// one tells them all: true of SQLite, whose single writer is alone in
	// its table; not of PostgreSQL, whose concurrent transactions draw from
	// one sequence. Otherwise the keys are read back with RETURNING.
	ConsecutiveIDs bool
	// StatementRollback says that a statement failing on a constraint
	// undoes only its own changes and leaves the transaction going on: true
	// of SQLite; PostgreSQL fails the whole transaction.
	StatementRollback bool
	// LockAccount is a statement that takes a lock, held to the end of the
	// transaction, on the meetings of the account given as its parameter;
	// empty where writes are serialized anyway (SQLite's single writer).
	LockAccount string
	// JSONRows is a FROM item that turns a JSON array parameter into rows
	// t(value), one per element. Bulk statements take their rows this way,
	// so that one prepared statement serves any number of rows.
	JSONRows string
}

// Querier is what *sql.DB, *sql.Conn and *sql.Tx have in common.
type Querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// Tx runs the store's queries on a Querier. It implements store.Writer; as a
// store.Reader it may run on a plain connection pool.
type Tx struct {
	ctx context.Context
	q   Querier
	d   *Dialect
	sql *Queries
	// changes, when set, hears of every row a write changes. A store with
	// a cache keeps it correct with them.
	changes Changes
	// dirty is set by every method that may change the database.
	dirty bool
	// deferEvents keeps appended events in pending until FlushEvents, so
	// that a batch of transactions writes all its events in one statement.
	deferEvents bool
	pending     []pendingEvent
}

type pendingEvent struct {
	e            *store.Event
	destinations []string
}

// DeferEvents makes AppendEvents keep events until FlushEvents. Nothing in
// a transaction reads the events it wrote, so deferring them changes no
// answer.
func (t *Tx) DeferEvents() { t.deferEvents = true }

// PendingEvents says how many deferred events wait.
func (t *Tx) PendingEvents() int { return len(t.pending) }

// DropEvents forgets the deferred events after the first n (those of a
// transaction that was rolled back).
func (t *Tx) DropEvents(n int) { t.pending = t.pending[:n] }

// FlushEvents writes the deferred events, in the order they were appended,
// in as few statements as their number allows.
func (t *Tx) FlushEvents() error {
	defer func() { t.pending = t.pending[:0] }()
	for start := 0; start < len(t.pending); start += maxRowsPerStatement {
		if err := t.appendEventRows(t.pending[start:min(start+maxRowsPerStatement, len(t.pending))]); err != nil {
			return err
		}
	}
	return nil
}

// All stands for every row of a kind in Tx change reports.
const All = "*"

// Dirty reports whether a method that may change the database ran since
// the last ResetDirty; a transaction that failed while clean changed
// nothing.
func (t *Tx) Dirty() bool { return t.dirty }

// ResetDirty clears what Dirty reports.
func (t *Tx) ResetDirty() { t.dirty = false }

// Changes hears of the rows a Tx changes. A Tx reports a change before it
// reads anything again, so that a cache never serves what it changed.
type Changes interface {
	// Changed reports a changed meeting (attendeeID ""), one attendee, all
	// of a meeting's attendees (attendeeID All), or anything at all
	// (meetingID All).
	Changed(meetingID, attendeeID string)
	// Counted reports that a meeting's attendee count moved by delta, and
	// nothing else of the meeting's row changed: once the statements have
	// run, so that a delta is never reported for a change that failed.
	Counted(meetingID string, delta int)
	// Added reports an attendee inserted, as the database holds it (its
	// Seq set): a cache may keep it once the commit is durable.
	Added(a store.Attendee)
}

// OnChange sets what hears of changed rows.
func (t *Tx) OnChange(c Changes) { t.changes = c }

func (t *Tx) change(meetingID, attendeeID string) {
	if t.changes != nil {
		t.changes.Changed(meetingID, attendeeID)
	}
}

func (t *Tx) count(meetingID string, delta int) {
	if t.changes != nil {
		t.changes.Counted(meetingID, delta)
	}
}

// added reports inserted attendees, with the times the database keeps
// (milliseconds).
func (t *Tx) added(as []*store.Attendee) {
	if t.changes == nil {
		return
	}
	for _, a := range as {
		stored := *a
		stored.CreatedAt = fromMillis(millis(a.CreatedAt))
		stored.TokenSalt = slices.Clone(a.TokenSalt)
		t.changes.Added(stored)
	}
}

// NewTx returns a Tx that runs queries on q.
func NewTx(ctx context.Context, q Querier, qs *Queries) *Tx {
	return &Tx{ctx: ctx, q: q, d: qs.dialect, sql: qs}
}

var _ store.Writer = (*Tx)(nil)

// Queries holds the statements of the store rewritten for one dialect, so
// that nothing is rewritten on the request path, and what every
// transaction of the store shares.
type Queries struct {
	dialect *Dialect
	details *detailsCache
	all     []string // every statement below, for Prepare

	meeting, meetingByID, meetingLocked, meetingByToken, activeReplicas string
	countActive, lockAccount                                            string
	insertMeeting, endMeeting, touchMeeting, setTranscription           string
	dueMeetings, purgeEnded, purgeTags                                  string
	attendee, attendeeByExternal, attendees                             string
	insertAttendee, countAttendee, deleteAttendee, deleteAllAttendees   string
	updateCaps, tags, putTag, deleteTag                                 string
	completeDelivery, failDelivery                                      string
	dueHeads, groupDeliveries, deadDeliveries                           string
	eventsAfter, eventsBetween, eventTimes                              string
	lastEventSeq, outbox, purgeEvents, stats                            string
	bulkFindAttendees, bulkLockMeetings, bulkCount                      string
}

const meetingColumns = `id, account_id, api_region, client_request_token, params_hash, external_meeting_id,
	meeting_host_id, media_region, primary_meeting_id, max_attendees, attendee_count, details,
	transcription, created_at, last_active_at, ended_at, end_reason`

const attendeeColumns = `seq, id, meeting_id, account_id, external_user_id, audio, video, content,
	token_key_id, token_salt, created_at`

// NewQueries prepares the store's statements for a dialect.
func NewQueries(d *Dialect) *Queries {
	// Every statement goes through p, which also lists it for Prepare.
	var all []string
	p := func(q string) string {
		q = d.Placeholders(q)
		all = append(all, q)
		return q
	}
	q := &Queries{
		dialect:        d,
		details:        newDetailsCache(CacheEntries),
		meeting:        p(`SELECT ` + meetingColumns + ` FROM meetings WHERE id = ? AND account_id = ?`),
		meetingByID:    p(`SELECT ` + meetingColumns + ` FROM meetings WHERE id = ?`),
		meetingLocked:  p(`SELECT ` + meetingColumns + ` FROM meetings WHERE id = ? AND account_id = ?` + d.LockRow),
		meetingByToken: p(`SELECT ` + meetingColumns + ` FROM meetings WHERE account_id = ? AND api_region = ? AND client_request_token = ? AND ended_at IS NULL`),
		countActive: p(`SELECT COUNT(*) FROM (SELECT 1 FROM meetings WHERE account_id = ? AND api_region = ? AND ended_at IS NULL
			LIMIT ?) AS active`),
		// The condition repeats the partial index's, which a parameter
		// alone does not imply: without it every active meeting was read.
		activeReplicas: p(`SELECT id FROM meetings WHERE primary_meeting_id = ? AND primary_meeting_id <> '' AND ended_at IS NULL
			ORDER BY created_at, id`),
		insertMeeting: p(`INSERT INTO meetings (` + meetingColumns + `)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, NULL, ?, ?, NULL, '')`),
		endMeeting:       p(`UPDATE meetings SET ended_at = ?, end_reason = ?, attendee_count = 0, transcription = NULL WHERE id = ? AND ended_at IS NULL`),
		touchMeeting:     p(`UPDATE meetings SET last_active_at = ? WHERE id = ? AND last_active_at < ?`),
		setTranscription: p(`UPDATE meetings SET transcription = ? WHERE id = ? AND ended_at IS NULL`),
		// Each test walks its own index over the active meetings, only as
		// far as its deadline and the limit (one condition with OR walked
		// every active meeting at every poll of the lifecycle), and gives
		// whole rows, not IDs to look up again (PostgreSQL's generic plan
		// joined those with every meeting).
		dueMeetings: p(`SELECT * FROM (SELECT ` + meetingColumns + ` FROM meetings
				WHERE ended_at IS NULL AND created_at <= ? ORDER BY created_at LIMIT ?) AS too_long
			UNION
			SELECT * FROM (SELECT ` + meetingColumns + ` FROM meetings
				WHERE ended_at IS NULL AND last_active_at <= ? ORDER BY last_active_at LIMIT ?) AS idle
			ORDER BY created_at, id LIMIT ?`),
		purgeEnded: p(`DELETE FROM meetings WHERE id IN
			(SELECT id FROM meetings WHERE ended_at IS NOT NULL AND ended_at < ? ORDER BY ended_at LIMIT ?) RETURNING id`),
		purgeTags:          p(`DELETE FROM tags WHERE meeting_id IN (SELECT t.value->>0 FROM ` + d.JSONRows + `)`),
		attendee:           p(`SELECT ` + attendeeColumns + ` FROM attendees WHERE meeting_id = ? AND id = ?`),
		attendeeByExternal: p(`SELECT ` + attendeeColumns + ` FROM attendees WHERE meeting_id = ? AND external_user_id = ?`),
		attendees:          p(`SELECT ` + attendeeColumns + ` FROM attendees WHERE meeting_id = ? AND seq > ? ORDER BY seq LIMIT ?`),
		insertAttendee: p(`INSERT INTO attendees (id, meeting_id, account_id, external_user_id, audio, video, content,
			token_key_id, token_salt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`),
		countAttendee:      p(`UPDATE meetings SET attendee_count = attendee_count + ? WHERE id = ?`),
		deleteAttendee:     p(`DELETE FROM attendees WHERE meeting_id = ? AND id = ?`),
		deleteAllAttendees: p(`DELETE FROM attendees WHERE meeting_id = ? RETURNING ` + attendeeColumns),
		updateCaps:         p(`UPDATE attendees SET audio = ?, video = ?, content = ? WHERE meeting_id = ? AND id = ?`),
		tags:               p(`SELECT key, value FROM tags WHERE meeting_id = ? ORDER BY key`),
		putTag: p(`INSERT INTO tags (meeting_id, key, value) VALUES (?, ?, ?)
			ON CONFLICT (meeting_id, key) DO UPDATE SET value = excluded.value`),
		deleteTag: p(`DELETE FROM tags WHERE meeting_id = ? AND key = ?`),

		completeDelivery: p(`DELETE FROM deliveries WHERE event_seq = ? AND destination = ?`),
		failDelivery: p(`UPDATE deliveries SET attempts = ?, next_attempt_at = ?, last_error = ?, dead = ?
			WHERE event_seq = ? AND destination = ?`),
		// The groups whose oldest live delivery (their head, which the
		// database's triggers keep in delivery_heads) is due, oldest first:
		// one row per group. SQLite reads them through an index in this
		// order and stops at the LIMIT; PostgreSQL, whose heads are not
		// indexed (see its migration), sorts them. Later deliveries of a due
		// group come along, in order (groupDeliveries).
		dueHeads: p(`SELECT destination, meeting_id FROM delivery_heads
			WHERE due_at <= ? ORDER BY event_seq, destination LIMIT ?`),
		groupDeliveries: p(`SELECT ` + deliveryColumns + `
			FROM deliveries d JOIN events e ON e.seq = d.event_seq
			WHERE d.dead = 0 AND d.destination = ? AND d.meeting_id = ? ORDER BY d.event_seq LIMIT ?`),
		deadDeliveries: p(`SELECT ` + deliveryColumns + `
			FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE d.dead = 1 ORDER BY d.event_seq, d.destination LIMIT ?`),
		eventsAfter: p(`SELECT ` + eventColumns + ` FROM events e WHERE e.seq > ? ORDER BY e.seq LIMIT ?`),
		// CROSS JOIN: SQLite keeps the ranges as the outer loop, each a
		// walk of the key; as a JOIN it read every event for each range.
		eventsBetween: p(`SELECT ` + eventColumns + ` FROM ` + d.JSONRows + ` CROSS JOIN events e
			WHERE e.seq BETWEEN CAST(t.value->>0 AS BIGINT) AND CAST(t.value->>1 AS BIGINT) ORDER BY e.seq`),
		eventTimes:   p(`SELECT seq, created_at FROM events WHERE seq BETWEEN ? AND ? ORDER BY seq`),
		lastEventSeq: p(`SELECT COALESCE(MAX(seq), 0) FROM events`),
		stats:        p(`SELECT COUNT(*), COALESCE(SUM(attendee_count), 0) FROM meetings WHERE ended_at IS NULL`),

		bulkFindAttendees: p(`SELECT a.seq, a.id, a.meeting_id, a.account_id, a.external_user_id, a.audio, a.video, a.content,
			a.token_key_id, a.token_salt, a.created_at
			FROM ` + d.JSONRows + ` JOIN attendees a ON a.meeting_id = t.value->>0 AND a.external_user_id = t.value->>1`),
		bulkLockMeetings: p(`SELECT ` + meetingColumns + ` FROM meetings WHERE id IN (SELECT t.value->>0 FROM ` + d.JSONRows + `)
			ORDER BY id` + d.LockRow),
		bulkCount: p(`UPDATE meetings SET attendee_count = attendee_count + CAST(t.value->>1 AS INTEGER)
			FROM ` + d.JSONRows + ` WHERE meetings.id = t.value->>0`),
		// Counted without the events: PostgreSQL joined the deliveries with
		// every event by hash. The oldest pending is the oldest head's.
		outbox: p(`SELECT (SELECT COUNT(*) FROM deliveries WHERE dead = 0), (SELECT COUNT(*) FROM deliveries WHERE dead = 1),
			COALESCE((SELECT e.created_at FROM events e WHERE e.seq = (SELECT MIN(h.event_seq) FROM delivery_heads h)), 0)`),
		// Oldest first by time, along the time index, which the deadline
		// ends: in the order of seq, a purge with nothing old enough to
		// delete read every event, in the single writer's time on SQLite.
		purgeEvents: p(`DELETE FROM events WHERE seq IN (SELECT seq FROM events e WHERE e.created_at >= ? AND e.created_at < ?
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq) ORDER BY e.created_at LIMIT ?)
			RETURNING created_at`),
	}
	if d.LockAccount != "" {
		q.lockAccount = p(d.LockAccount)
	}
	q.all = all
	return q
}

const eventColumns = `e.seq, e.id, e.meeting_id, e.account_id, e.type, e.payload, e.created_at`

const deliveryColumns = eventColumns + `, d.destination, d.attempts, d.next_attempt_at, d.last_error, d.dead`

// QuestionToDollar rewrites `?` placeholders as $1, $2, ... for PostgreSQL.
// The store's queries hold no `?` inside string literals.
func QuestionToDollar(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time { return time.UnixMilli(ms).UTC() }

type scanner interface{ Scan(dest ...any) error }

func (t *Tx) scanMeeting(s scanner) (store.Meeting, error) { return scanMeeting(s, t.sql.details) }

func scanMeeting(s scanner, cache *detailsCache) (store.Meeting, error) {
	var (
		m                           store.Meeting
		details                     string
		transcription               sql.NullString
		createdAt, lastActiveAt     int64
		endedAt                     sql.NullInt64
		endReason                   string
		maxAttendees, attendeeCount int64
	)
	err := s.Scan(&m.ID, &m.AccountID, &m.APIRegion, &m.ClientRequestToken, &m.ParamsHash, &m.ExternalMeetingID,
		&m.MeetingHostID, &m.MediaRegion, &m.PrimaryMeetingID, &maxAttendees, &attendeeCount, &details,
		&transcription, &createdAt, &lastActiveAt, &endedAt, &endReason)
	if errors.Is(err, sql.ErrNoRows) {
		return m, store.ErrNotFound
	}
	if err != nil {
		return m, err
	}
	m.MaxAttendees, m.AttendeeCount = int(maxAttendees), int(attendeeCount)
	if d, ok := cache.get(m.ID); ok {
		m.Details = d
	} else {
		if err := json.Unmarshal([]byte(details), &m.Details); err != nil {
			return m, fmt.Errorf("meeting %s: details: %w", m.ID, err)
		}
		cache.put(m.ID, m.Details)
	}
	if transcription.Valid {
		m.Transcription = new(model.TranscriptionConfiguration)
		if err := json.Unmarshal([]byte(transcription.String), m.Transcription); err != nil {
			return m, fmt.Errorf("meeting %s: transcription: %w", m.ID, err)
		}
	}
	m.CreatedAt, m.LastActiveAt = fromMillis(createdAt), fromMillis(lastActiveAt)
	if endedAt.Valid {
		m.EndedAt = fromMillis(endedAt.Int64)
	}
	m.EndReason = store.EndReason(endReason)
	return m, nil
}

func scanAttendee(s scanner) (store.Attendee, error) {
	var (
		a         store.Attendee
		keyID     int64
		createdAt int64
	)
	err := s.Scan(&a.Seq, &a.ID, &a.MeetingID, &a.AccountID, &a.ExternalUserID,
		&a.Capabilities.Audio, &a.Capabilities.Video, &a.Capabilities.Content,
		&keyID, &a.TokenSalt, &createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return a, store.ErrNotFound
	}
	a.TokenKeyID = uint32(keyID)
	a.CreatedAt = fromMillis(createdAt)
	return a, err
}

func (t *Tx) meetings(query string, args ...any) ([]store.Meeting, error) {
	rows, err := t.q.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Meeting
	for rows.Next() {
		m, err := t.scanMeeting(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

func (t *Tx) attendeeRows(query string, args ...any) ([]store.Attendee, error) {
	rows, err := t.q.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Attendee
	for rows.Next() {
		a, err := scanAttendee(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

func (t *Tx) Meeting(accountID, id string) (store.Meeting, error) {
	return t.scanMeeting(t.q.QueryRowContext(t.ctx, t.sql.meeting, id, accountID))
}

func (t *Tx) MeetingByID(id string) (store.Meeting, error) {
	return t.scanMeeting(t.q.QueryRowContext(t.ctx, t.sql.meetingByID, id))
}

func (t *Tx) LockMeeting(accountID, id string) (store.Meeting, error) {
	return t.scanMeeting(t.q.QueryRowContext(t.ctx, t.sql.meetingLocked, id, accountID))
}

func (t *Tx) LockMeetings(ids []string) ([]store.Meeting, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	rows := make([][1]string, len(ids))
	for i, id := range ids {
		rows[i] = [1]string{id}
	}
	// Locked in ID order, the same in every transaction: no deadlock
	// between them.
	return t.meetings(t.sql.bulkLockMeetings, jsonRows(rows))
}

func (t *Tx) MeetingByToken(accountID, region, token string) (store.Meeting, error) {
	return t.scanMeeting(t.q.QueryRowContext(t.ctx, t.sql.meetingByToken, accountID, region, token))
}

func (t *Tx) LockAccountMeetings(accountID string) error {
	if t.sql.lockAccount == "" {
		return nil
	}
	_, err := t.q.ExecContext(t.ctx, t.sql.lockAccount, accountID)
	return err
}

func (t *Tx) CountActiveMeetings(accountID, region string, upTo int) (int, error) {
	var n int
	err := t.q.QueryRowContext(t.ctx, t.sql.countActive, accountID, region, upTo).Scan(&n)
	return n, err
}

func (t *Tx) ActiveReplicas(primaryID string) ([]string, error) {
	return t.ids(t.sql.activeReplicas, primaryID)
}

// ids runs a query of one text column and returns its values.
func (t *Tx) ids(query string, args ...any) ([]string, error) {
	rows, err := t.q.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (t *Tx) DueMeetings(createdBefore, idleBefore time.Time, limit int) ([]store.Meeting, error) {
	c, i := int64(-1), int64(-1) // a zero time disables its test: no timestamp is negative
	if !createdBefore.IsZero() {
		c = millis(createdBefore)
	}
	if !idleBefore.IsZero() {
		i = millis(idleBefore)
	}
	return t.meetings(t.sql.dueMeetings, c, limit, i, limit, limit)
}

func (t *Tx) Meetings(f store.MeetingFilter) ([]store.Meeting, error) {
	var (
		where []string
		args  []any
	)
	if f.AccountID != "" {
		where, args = append(where, "account_id = ?"), append(args, f.AccountID)
	}
	if !f.IncludeEnded {
		where = append(where, "ended_at IS NULL")
	}
	if !f.CreatedBefore.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, millis(f.CreatedBefore))
	}
	q := `SELECT ` + meetingColumns + ` FROM meetings`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY created_at DESC, id DESC LIMIT ?"
	args = append(args, limit)
	return t.meetings(t.d.Placeholders(q), args...)
}

func (t *Tx) InsertMeeting(m *store.Meeting) error {
	t.dirty = true
	t.change(m.ID, "") // new to a cache, but not committed yet
	details, err := json.Marshal(m.Details)
	if err != nil {
		return err
	}
	_, err = t.q.ExecContext(t.ctx, t.sql.insertMeeting, m.ID, m.AccountID, m.APIRegion, m.ClientRequestToken,
		m.ParamsHash, m.ExternalMeetingID, m.MeetingHostID, m.MediaRegion, m.PrimaryMeetingID, m.MaxAttendees,
		string(details), millis(m.CreatedAt), millis(m.LastActiveAt))
	if err != nil && t.d.IsUniqueViolation(err) {
		return store.ErrDuplicate
	}
	m.AttendeeCount = 0
	return err
}

func (t *Tx) EndMeeting(id string, at time.Time, reason store.EndReason) ([]store.Attendee, error) {
	t.dirty = true
	t.change(id, "")
	t.change(id, All)
	res, err := t.q.ExecContext(t.ctx, t.sql.endMeeting, millis(at), string(reason), id)
	if err != nil {
		return nil, err
	}
	if n, err := res.RowsAffected(); err != nil {
		return nil, err
	} else if n == 0 {
		return nil, store.ErrNotFound
	}
	return t.attendeeRows(t.sql.deleteAllAttendees, id)
}

func (t *Tx) TouchMeeting(id string, at time.Time) error {
	t.dirty = true
	t.change(id, "")
	_, err := t.q.ExecContext(t.ctx, t.sql.touchMeeting, millis(at), id, millis(at))
	return err
}

func (t *Tx) SetTranscription(id string, cfg *model.TranscriptionConfiguration) error {
	t.dirty = true
	t.change(id, "")
	var v any
	if cfg != nil {
		b, err := json.Marshal(cfg)
		if err != nil {
			return err
		}
		v = string(b)
	}
	return t.execOne(t.sql.setTranscription, v, id)
}

// execOne runs a statement that must change exactly one row.
func (t *Tx) execOne(query string, args ...any) error {
	res, err := t.q.ExecContext(t.ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

func (t *Tx) PurgeEnded(before time.Time, limit int) (int, error) {
	t.dirty = true
	ids, err := t.ids(t.sql.purgeEnded, millis(before), limit)
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	t.change(All, "") // which ended meetings went is not worth tracking
	// The tags of the meetings deleted, by their key: looking for tags
	// whose meeting is gone read every tag of every meeting.
	gone := make([][1]string, len(ids))
	for i, id := range ids {
		gone[i] = [1]string{id}
	}
	_, err = t.q.ExecContext(t.ctx, t.sql.purgeTags, jsonRows(gone))
	return len(ids), err
}

func (t *Tx) Attendee(meetingID, attendeeID string) (store.Attendee, error) {
	return scanAttendee(t.q.QueryRowContext(t.ctx, t.sql.attendee, meetingID, attendeeID))
}

func (t *Tx) Attendees(meetingID string, afterSeq int64, limit int) ([]store.Attendee, error) {
	return t.attendeeRows(t.sql.attendees, meetingID, afterSeq, limit)
}

// maxRowsPerStatement bounds the rows of one multi-row statement, well
// under the variable limits of SQLite (32766) and PostgreSQL (65535).
const maxRowsPerStatement = 500

func (t *Tx) AttendeesByExternalIDs(keys []store.AttendeeKey) ([]store.Attendee, error) {
	if len(keys) == 1 {
		a, err := scanAttendee(t.q.QueryRowContext(t.ctx, t.sql.attendeeByExternal, keys[0].MeetingID, keys[0].ExternalUserID))
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return []store.Attendee{a}, err
	}
	rows := make([][2]string, len(keys))
	for i, k := range keys {
		rows[i] = [2]string{k.MeetingID, k.ExternalUserID}
	}
	return t.attendeeRows(t.sql.bulkFindAttendees, jsonRows(rows))
}

// jsonRows encodes the rows of a bulk statement (see Dialect.JSONRows).
func jsonRows(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain strings and numbers only
	}
	return string(b)
}

func (t *Tx) InsertAttendees(as []*store.Attendee) error {
	t.dirty = true
	if len(as) == 0 {
		return nil
	}
	if len(as) == 1 {
		a := as[0]
		err := t.q.QueryRowContext(t.ctx, t.sql.insertAttendee, a.ID, a.MeetingID, a.AccountID, a.ExternalUserID,
			a.Capabilities.Audio, a.Capabilities.Video, a.Capabilities.Content,
			int64(a.TokenKeyID), a.TokenSalt, millis(a.CreatedAt)).Scan(&a.Seq)
		if err != nil {
			return t.insertErr(err)
		}
		t.added(as)
		if err := t.execOne(t.sql.countAttendee, 1, a.MeetingID); err != nil {
			return err
		}
		t.count(a.MeetingID, 1)
		return nil
	}
	counts := map[string]int{}
	var meetings []string
	for _, a := range as {
		if counts[a.MeetingID] == 0 {
			meetings = append(meetings, a.MeetingID)
		}
		counts[a.MeetingID]++
	}
	for start := 0; start < len(as); start += maxRowsPerStatement {
		if err := t.insertAttendeeRows(as[start:min(start+maxRowsPerStatement, len(as))]); err != nil {
			return err
		}
	}
	t.added(as)
	deltas := make([][2]any, len(meetings))
	for i, id := range meetings {
		deltas[i] = [2]any{id, counts[id]}
	}
	if _, err := t.q.ExecContext(t.ctx, t.sql.bulkCount, jsonRows(deltas)); err != nil {
		return err
	}
	for _, id := range meetings {
		t.count(id, counts[id])
	}
	return nil
}

// InsertAttendeesIfFree tries the insert where a failed statement undoes
// only itself: one that fails on the ExternalUserId index changed nothing,
// and the transaction goes on. Elsewhere (PostgreSQL fails the whole
// transaction), or when the attendees need more than one statement, it
// tries nothing and reports false: the caller looks up first.
func (t *Tx) InsertAttendeesIfFree(as []*store.Attendee) (bool, error) {
	if !t.d.StatementRollback || len(as) > maxRowsPerStatement {
		return false, nil
	}
	dirty := t.dirty
	err := t.InsertAttendees(as)
	if errors.Is(err, store.ErrDuplicate) {
		// The insert is the first statement InsertAttendees runs, and
		// the only one that can fail this way: nothing changed.
		t.dirty = dirty
		return false, nil
	}
	return err == nil, err
}

// insertAttendeeRows inserts attendees with one multi-row statement, whose
// text depends only on the row count (so the connection keeps it
// prepared), and sets their seqs.
func (t *Tx) insertAttendeeRows(as []*store.Attendee) error {
	args := make([]any, 0, len(as)*10)
	ids := make([]string, len(as))
	for i, a := range as {
		args = append(args, a.ID, a.MeetingID, a.AccountID, a.ExternalUserID, a.Capabilities.Audio, a.Capabilities.Video,
			a.Capabilities.Content, int64(a.TokenKeyID), a.TokenSalt, millis(a.CreatedAt))
		ids[i] = a.ID
	}
	q := `INSERT INTO attendees (id, meeting_id, account_id, external_user_id, audio, video, content, token_key_id, token_salt, created_at)
		VALUES ` + placeholders(len(as), 10)
	return t.insertErr(t.insertRows(q, args, ids, func(i int, seq int64) { as[i].Seq = seq }))
}

// insertRows runs a multi-row INSERT of rows with the given IDs and hands
// each row's new seq to set by its position: from the last key where the
// dialect makes them consecutive, else read back with RETURNING and
// matched by ID (row order is not promised).
func (t *Tx) insertRows(q string, args []any, ids []string, set func(i int, seq int64)) error {
	if t.d.ConsecutiveIDs {
		res, err := t.q.ExecContext(t.ctx, t.d.Placeholders(q), args...)
		if err != nil {
			return err
		}
		last, err := res.LastInsertId()
		if err != nil {
			return err
		}
		for i := range ids {
			set(i, last-int64(len(ids)-1-i))
		}
		return nil
	}
	rows, err := t.q.QueryContext(t.ctx, t.d.Placeholders(q+` RETURNING id, seq`), args...)
	if err != nil {
		return err
	}
	at := make(map[string]int, len(ids))
	for i, id := range ids {
		at[id] = i
	}
	return scanSeqs(rows, func(id string, seq int64) {
		if i, ok := at[id]; ok {
			set(i, seq)
		}
	})
}

// placeholders returns "(?, ?, ?), (?, ?, ?)" for rows of cols values.
func placeholders(rows, cols int) string {
	row := "(?" + strings.Repeat(", ?", cols-1) + ")"
	return row + strings.Repeat(", "+row, rows-1)
}

// scanSeqs reads the (id, seq) rows a bulk insert returns; row order is not
// promised, so each is matched by ID.
func scanSeqs(rows *sql.Rows, set func(id string, seq int64)) error {
	defer rows.Close()
	for rows.Next() {
		var (
			id  string
			seq int64
		)
		if err := rows.Scan(&id, &seq); err != nil {
			return err
		}
		set(id, seq)
	}
	return rows.Err()
}

func (t *Tx) insertErr(err error) error {
	if t.d.IsUniqueViolation(err) {
		return store.ErrDuplicate
	}
	return err
}

func (t *Tx) DeleteAttendee(meetingID, attendeeID string) error {
	t.dirty = true
	t.change(meetingID, attendeeID)
	if err := t.execOne(t.sql.deleteAttendee, meetingID, attendeeID); err != nil {
		return err
	}
	if err := t.execOne(t.sql.countAttendee, -1, meetingID); err != nil {
		return err
	}
	t.count(meetingID, -1)
	return nil
}

func (t *Tx) UpdateCapabilities(meetingID, attendeeID string, c model.AttendeeCapabilities) error {
	t.dirty = true
	t.change(meetingID, attendeeID)
	return t.execOne(t.sql.updateCaps, c.Audio, c.Video, c.Content, meetingID, attendeeID)
}

func (t *Tx) UpdateCapabilitiesExcept(meetingID string, excluded []string, c model.AttendeeCapabilities) error {
	t.dirty = true
	t.change(meetingID, All)
	q := `UPDATE attendees SET audio = ?, video = ?, content = ? WHERE meeting_id = ?`
	args := []any{c.Audio, c.Video, c.Content, meetingID}
	if len(excluded) > 0 {
		q += ` AND id NOT IN (?` + strings.Repeat(", ?", len(excluded)-1) + `)`
		for _, id := range excluded {
			args = append(args, id)
		}
	}
	_, err := t.q.ExecContext(t.ctx, t.d.Placeholders(q), args...)
	return err
}

func (t *Tx) Tags(meetingID string) ([]model.Tag, error) {
	rows, err := t.q.QueryContext(t.ctx, t.sql.tags, meetingID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	tags := []model.Tag{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		tags = append(tags, model.NewTag(k, v))
	}
	return tags, rows.Err()
}

func (t *Tx) PutTags(meetingID string, tags []model.Tag) error {
	t.dirty = true
	for _, tag := range tags {
		if _, err := t.q.ExecContext(t.ctx, t.sql.putTag, meetingID, *tag.Key, *tag.Value); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tx) DeleteTags(meetingID string, keys []string) error {
	t.dirty = true
	for _, k := range keys {
		if _, err := t.q.ExecContext(t.ctx, t.sql.deleteTag, meetingID, k); err != nil {
			return err
		}
	}
	return nil
}

func scanEvent(s scanner, extra ...any) (store.Event, error) {
	var (
		e         store.Event
		payload   string
		createdAt int64
	)
	err := s.Scan(append([]any{&e.Seq, &e.ID, &e.MeetingID, &e.AccountID, &e.Type, &payload, &createdAt}, extra...)...)
	e.Payload = []byte(payload)
	e.CreatedAt = fromMillis(createdAt)
	return e, err
}

func (t *Tx) deliveries(query string, args ...any) ([]store.Delivery, error) {
	rows, err := t.q.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		var (
			d    store.Delivery
			next int64
			dead int64
		)
		d.Event, err = scanEvent(rows, &d.Destination, &d.Attempts, &next, &d.LastError, &dead)
		if err != nil {
			return nil, err
		}
		d.NextAttempt, d.Dead = fromMillis(next), dead != 0
		out = append(out, d)
	}
	return out, rows.Err()
}

func (t *Tx) AppendEvents(es []*store.Event, destinations []string) error {
	t.dirty = true
	for _, e := range es {
		t.pending = append(t.pending, pendingEvent{e, destinations})
	}
	if t.deferEvents {
		return nil
	}
	return t.FlushEvents()
}

// appendEventRows inserts events in one statement, in order (so their seq
// increases in that order), then all their deliveries in one more.
func (t *Tx) appendEventRows(rows []pendingEvent) error {
	args := make([]any, 0, len(rows)*6)
	ids := make([]string, len(rows))
	var deliveries []any
	for i, r := range rows {
		e := r.e
		args = append(args, e.ID, e.MeetingID, e.AccountID, e.Type, string(e.Payload), millis(e.CreatedAt))
		ids[i] = e.ID
	}
	q := `INSERT INTO events (id, meeting_id, account_id, type, payload, created_at) VALUES ` + placeholders(len(rows), 6)
	if err := t.insertRows(q, args, ids, func(i int, seq int64) { rows[i].e.Seq = seq }); err != nil {
		return err
	}
	for _, r := range rows {
		for _, dest := range r.destinations {
			// Due at once by any clock: 0 is before every time a dispatcher reads.
			deliveries = append(deliveries, r.e.Seq, dest, r.e.MeetingID, 0)
		}
	}
	// As many statements as the row bound asks: a batch's events times its
	// destinations may exceed what one statement can bind.
	const cols = 4
	for start := 0; start < len(deliveries); start += maxRowsPerStatement * cols {
		chunk := deliveries[start:min(start+maxRowsPerStatement*cols, len(deliveries))]
		if _, err := t.q.ExecContext(t.ctx, t.d.Placeholders(`INSERT INTO deliveries (event_seq, destination, meeting_id, next_attempt_at) VALUES `+
			placeholders(len(chunk)/cols, cols)), chunk...); err != nil {
			return err
		}
	}
	return nil
}

func (t *Tx) CompleteDelivery(eventSeq int64, destination string) error {
	t.dirty = true
	return t.execOne(t.sql.completeDelivery, eventSeq, destination)
}

func (t *Tx) FailDelivery(eventSeq int64, destination string, attempts int, next time.Time, lastError string, dead bool) error {
	t.dirty = true
	d := 0
	if dead {
		d = 1
	}
	return t.execOne(t.sql.failDelivery, attempts, millis(next), lastError, d, eventSeq, destination)
}

func (t *Tx) ReviveDeliveries(eventSeqs []int64, now time.Time) (int, error) {
	t.dirty = true
	q := `UPDATE deliveries SET dead = 0, attempts = 0, last_error = '', next_attempt_at = ? WHERE dead = 1`
	args := []any{millis(now)}
	if len(eventSeqs) > 0 {
		q += ` AND event_seq IN ` + placeholders(1, len(eventSeqs))
		for _, s := range eventSeqs {
			args = append(args, s)
		}
	}
	res, err := t.q.ExecContext(t.ctx, t.d.Placeholders(q), args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

func (t *Tx) PurgeEvents(from, before time.Time, limit int) (int, time.Time, error) {
	t.dirty = true
	var lower int64 // the zero time: from the first event
	if !from.IsZero() {
		lower = millis(from)
	}
	rows, err := t.q.QueryContext(t.ctx, t.sql.purgeEvents, lower, millis(before), limit)
	if err != nil {
		return 0, time.Time{}, err
	}
	defer rows.Close()
	n, last := 0, int64(0)
	for rows.Next() {
		var at int64
		if err := rows.Scan(&at); err != nil {
			return 0, time.Time{}, err
		}
		n, last = n+1, max(last, at)
	}
	if err := rows.Err(); err != nil || n == 0 {
		return 0, time.Time{}, err
	}
	return n, fromMillis(last), nil
}

func (t *Tx) DueDeliveries(now time.Time, groups, perGroup, limit int) ([]store.Delivery, error) {
	type group struct{ destination, meetingID string }
	var heads []group
	rows, err := t.q.QueryContext(t.ctx, t.sql.dueHeads, millis(now), groups)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var g group
		if err := rows.Scan(&g.destination, &g.meetingID); err != nil {
			rows.Close()
			return nil, err
		}
		heads = append(heads, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(heads) == 0 {
		return nil, err
	}
	// Each group's deliveries through its index, in the read's snapshot:
	// what a poll costs grows with what it returns.
	per := limit
	if perGroup > 0 {
		per = max(perGroup, limit/len(heads))
	}
	var out []store.Delivery
	for _, h := range heads {
		n := min(per, limit-len(out))
		if n <= 0 {
			break
		}
		ds, err := t.deliveries(t.sql.groupDeliveries, h.destination, h.meetingID, n)
		if err != nil {
			return nil, err
		}
		out = append(out, ds...)
	}
	return out, nil
}

func (t *Tx) DeadDeliveries(limit int) ([]store.Delivery, error) {
	return t.deliveries(t.sql.deadDeliveries, limit)
}

func (t *Tx) EventsAfter(after int64, limit int) ([]store.Event, error) {
	return t.events(t.sql.eventsAfter, after, limit)
}

func (t *Tx) EventsBetween(ranges [][2]int64) ([]store.Event, error) {
	if len(ranges) == 0 {
		return nil, nil
	}
	return t.events(t.sql.eventsBetween, jsonRows(ranges))
}

func (t *Tx) events(query string, args ...any) ([]store.Event, error) {
	rows, err := t.q.QueryContext(t.ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

func (t *Tx) EventTimes(first, last int64) ([]store.EventTime, error) {
	rows, err := t.q.QueryContext(t.ctx, t.sql.eventTimes, first, last)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.EventTime
	for rows.Next() {
		var (
			e  store.EventTime
			at int64
		)
		if err := rows.Scan(&e.Seq, &at); err != nil {
			return nil, err
		}
		e.CreatedAt = fromMillis(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

func (t *Tx) LastEventSeq() (int64, error) {
	var n int64
	err := t.q.QueryRowContext(t.ctx, t.sql.lastEventSeq).Scan(&n)
	return n, err
}

func (t *Tx) Outbox() (store.OutboxStats, error) {
	var (
		st     store.OutboxStats
		oldest int64
	)
	if err := t.q.QueryRowContext(t.ctx, t.sql.outbox).Scan(&st.Pending, &st.Dead, &oldest); err != nil {
		return st, err
	}
	if oldest > 0 {
		st.OldestPending = fromMillis(oldest)
	}
	return st, nil
}

func (t *Tx) Stats() (store.Stats, error) {
	var st store.Stats
	err := t.q.QueryRowContext(t.ctx, t.sql.stats).Scan(&st.ActiveMeetings, &st.ActiveAttendees)
	return st, err
}

// detailsCache keeps the parsed details of meetings. A meeting's details
// never change after it is created and IDs are never reused, so an entry
// is never stale, on any replica: only memory bounds it. The values are
// shared and must not be changed.
type detailsCache struct {
	mu  sync.RWMutex
	max int
	m   map[string]store.MeetingDetails
}

func newDetailsCache(max int) *detailsCache {
	return &detailsCache{max: max, m: make(map[string]store.MeetingDetails)}
}

func (c *detailsCache) get(id string) (store.MeetingDetails, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	d, ok := c.m[id]
	return d, ok
}

func (c *detailsCache) put(id string, d store.MeetingDetails) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		EvictHalf(c.m)
	}
	c.m[id] = d
}

// Statements returns the text of the statements prepared ahead: every
// statement of the store but those built at run time (multi-row inserts,
// the operator's listings and the revival of dead letters).
func (q *Queries) Statements() []string { return slices.Clone(q.all) }
