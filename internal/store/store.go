// Package store defines what Carillon keeps and the transactions it runs on
// it. Implementations (SQLite by default, PostgreSQL for several replicas)
// live in sub-packages and must pass the contract suite in storetest.
//
// The domain runs its rules inside Write: every check and change in one
// callback is atomic, so invariants such as the attendee ceiling of a
// meeting or one attendee per ExternalUserId hold under any concurrency.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/carillon-dev/carillon/internal/model"
)

// ErrNotFound is returned when a record does not exist (or belongs to another
// account, which callers must not be able to tell apart).
var ErrNotFound = errors.New("store: not found")

// ErrDuplicate is returned when a write would break a uniqueness rule: a
// second active meeting for one ClientRequestToken, or a second attendee for
// one ExternalUserId in a meeting.
var ErrDuplicate = errors.New("store: duplicate")

// Meeting is a stored meeting, active or ended.
type Meeting struct {
	ID                 string
	AccountID          string
	APIRegion          string // region of the request that created it, for the ARN
	ClientRequestToken string
	ParamsHash         string // digest of the creation parameters, for idempotency checks
	ExternalMeetingID  string
	MeetingHostID      string
	MediaRegion        string
	PrimaryMeetingID   string
	MaxAttendees       int
	AttendeeCount      int // maintained by the store as attendees come and go
	Details            MeetingDetails
	Transcription      *model.TranscriptionConfiguration // nil when not running
	CreatedAt          time.Time
	LastActiveAt       time.Time // last moment someone was known to be connected
	EndedAt            time.Time // zero while active
	EndReason          EndReason
}

// MeetingDetails are the creation parameters that are read back but never
// queried on.
type MeetingDetails struct {
	TenantIDs     []string                            `json:"tenantIds,omitempty"`
	Features      *model.MeetingFeaturesConfiguration `json:"features,omitempty"`
	Notifications *model.NotificationsConfiguration   `json:"notifications,omitempty"`
	NetworkType   string                              `json:"networkType,omitempty"`
}

// Active reports whether the meeting has not ended.
func (m *Meeting) Active() bool { return m.EndedAt.IsZero() }

// EndReason says why a meeting ended.
type EndReason string

// The ways a meeting ends.
const (
	EndDeleted       EndReason = "Deleted"
	EndIdle          EndReason = "IdleTimeout"
	EndMaxDuration   EndReason = "MaxDurationReached"
	EndPrimaryEnded  EndReason = "PrimaryMeetingEnded"
	EndAdministrator EndReason = "EndedByAdministrator"
)

// Attendee is a stored attendee of an active meeting. Deleted attendees and
// the attendees of ended meetings are removed.
type Attendee struct {
	Seq            int64 // assigned by the store, increasing; the list order
	ID             string
	MeetingID      string
	AccountID      string
	ExternalUserID string
	Capabilities   model.AttendeeCapabilities
	TokenKeyID     uint32 // which join-token key derived this attendee's token
	TokenSalt      []byte // per-attendee input of the derivation; useless without the key
	CreatedAt      time.Time
}

// Event is one entry of the outbox: a meeting event, already rendered in its
// wire form, written in the transaction of the change it reports.
type Event struct {
	Seq       int64 // assigned by the store, increasing
	ID        string
	MeetingID string
	AccountID string
	Type      string
	Payload   []byte // the JSON that destinations receive
	CreatedAt time.Time
}

// EventTime is the number of an event and when it happened.
type EventTime struct {
	Seq       int64
	CreatedAt time.Time
}

// Delivery is an event on its way to one destination.
type Delivery struct {
	Event       Event
	Destination string
	Attempts    int
	NextAttempt time.Time
	LastError   string
	Dead        bool // given up on; waits for an operator's replay
}

// OutboxStats describes what waits in the outbox.
type OutboxStats struct {
	Pending int
	Dead    int
	// OldestPending is when the event of the lowest-numbered pending
	// delivery happened: the oldest, unless a clock went back (zero when
	// none is pending).
	OldestPending time.Time
}

// Stats counts what is active.
type Stats struct {
	ActiveMeetings  int
	ActiveAttendees int
}

// AttendeeKey names an attendee by its meeting and ExternalUserId.
type AttendeeKey struct {
	MeetingID, ExternalUserID string
}

// Reader reads inside a transaction or a snapshot.
type Reader interface {
	// Meeting returns the meeting with id owned by accountID, active or ended.
	Meeting(accountID, id string) (Meeting, error)
	// MeetingByID returns the meeting with id whoever owns it (for the media
	// plane and administration, never for API callers).
	MeetingByID(id string) (Meeting, error)
	// MeetingByToken returns the active meeting that accountID created in a
	// region with a ClientRequestToken.
	MeetingByToken(accountID, region, token string) (Meeting, error)
	// CountActiveMeetings counts the active meetings of an account in a
	// region, up to upTo: the count stops there (a quota check needs no
	// more).
	CountActiveMeetings(accountID, region string, upTo int) (int, error)
	// ActiveReplicas returns the IDs of the active replicas of a primary.
	ActiveReplicas(primaryID string) ([]string, error)
	// Attendee returns one attendee of a meeting.
	Attendee(meetingID, attendeeID string) (Attendee, error)
	// AttendeesByExternalIDs returns the attendees that the keys name (a
	// meeting and an ExternalUserId each), in no particular order; keys
	// that name no attendee are left out.
	AttendeesByExternalIDs(keys []AttendeeKey) ([]Attendee, error)
	// Attendees returns up to limit attendees of a meeting with Seq > afterSeq, by Seq.
	Attendees(meetingID string, afterSeq int64, limit int) ([]Attendee, error)
	// Tags returns the tags of a meeting sorted by key.
	Tags(meetingID string) ([]model.Tag, error)
	// DueMeetings returns up to limit active meetings created at or before
	// createdBefore, or last active at or before idleBefore (a zero time
	// disables that test), sorted by creation; fewer than limit only when
	// no other is due. Which of more than limit it returns is the store's
	// choice.
	DueMeetings(createdBefore, idleBefore time.Time, limit int) ([]Meeting, error)
	// Meetings lists meetings for administration, newest first.
	Meetings(filter MeetingFilter) ([]Meeting, error)

	// DueDeliveries returns live deliveries of the groups (destination and
	// meeting) whose oldest live delivery is due at now: up to groups such
	// groups, those with the oldest such delivery first, each group's in
	// event order, at most limit in all. Each group gets up to perGroup
	// (0: no bound), or its equal share of limit when that is more.
	DueDeliveries(now time.Time, groups, perGroup, limit int) ([]Delivery, error)
	// DeadDeliveries lists the dead-letter list, oldest event first.
	DeadDeliveries(limit int) ([]Delivery, error)
	// EventsAfter returns up to limit events with Seq > after, in order.
	EventsAfter(after int64, limit int) ([]Event, error)
	// EventsBetween returns the events whose Seq falls in one of the
	// ranges (first and last, both included), in order.
	EventsBetween(ranges [][2]int64) ([]Event, error)
	// EventTimes returns the Seq and CreatedAt of the events with first <=
	// Seq <= last, in order: where numbers are missing, without reading
	// the events.
	EventTimes(first, last int64) ([]EventTime, error)
	// LastEventSeq is the Seq of the newest event, 0 if none.
	LastEventSeq() (int64, error)
	// Outbox describes the pending and dead deliveries.
	Outbox() (OutboxStats, error)
	// Stats counts active meetings and their attendees.
	Stats() (Stats, error)
}

// MeetingFilter selects meetings for administration.
type MeetingFilter struct {
	AccountID     string // empty: every account
	IncludeEnded  bool
	Limit         int
	CreatedBefore time.Time // zero: no bound; for paging newest first
}

// Writer reads and changes inside a read-write transaction.
type Writer interface {
	Reader
	// LockMeeting returns the meeting like Meeting, and keeps other
	// transactions from changing it until this one ends.
	LockMeeting(accountID, id string) (Meeting, error)
	// LockMeetings is LockMeeting for several meetings of any accounts
	// (the caller checks ownership): the ones found, in no particular order.
	LockMeetings(ids []string) ([]Meeting, error)
	// LockAccountMeetings keeps other transactions, on any replica, from
	// creating meetings for the account until this one ends, so that a
	// count of its active meetings stays true until then.
	LockAccountMeetings(accountID string) error
	// InsertMeeting stores a new meeting; ErrDuplicate if an active meeting
	// of the account in its region (APIRegion) already has its
	// ClientRequestToken.
	InsertMeeting(m *Meeting) error
	// EndMeeting marks an active meeting ended and removes its attendees,
	// which it returns.
	EndMeeting(id string, at time.Time, reason EndReason) ([]Attendee, error)
	// TouchMeeting moves LastActiveAt forward to at (never backward).
	TouchMeeting(id string, at time.Time) error
	// SetTranscription records the running transcription (nil: stopped).
	SetTranscription(id string, cfg *model.TranscriptionConfiguration) error
	// InsertAttendees stores new attendees, of one meeting or several, sets
	// their Seq (increasing in the order given), and counts them on their
	// meetings; ErrDuplicate if an ExternalUserId is taken in a meeting.
	InsertAttendees(as []*Attendee) error
	// InsertAttendeesIfFree is InsertAttendees for attendees expected to
	// be new, where the store can try it cheaply: it returns false, having
	// changed nothing, when an ExternalUserId of theirs is taken in its
	// meeting or the store cannot try (then the caller looks them up and
	// uses InsertAttendees); the transaction goes on either way.
	InsertAttendeesIfFree(as []*Attendee) (bool, error)
	// DeleteAttendee removes an attendee; ErrNotFound if there is none.
	DeleteAttendee(meetingID, attendeeID string) error
	// UpdateCapabilities sets one attendee's capabilities.
	UpdateCapabilities(meetingID, attendeeID string, caps model.AttendeeCapabilities) error
	// UpdateCapabilitiesExcept sets the capabilities of every attendee of the
	// meeting but the excluded ones.
	UpdateCapabilitiesExcept(meetingID string, excluded []string, caps model.AttendeeCapabilities) error
	// PutTags adds or replaces tags of a meeting.
	PutTags(meetingID string, tags []model.Tag) error
	// DeleteTags removes tags by key; absent keys are ignored.
	DeleteTags(meetingID string, keys []string) error
	// AppendEvents writes events (setting their Seq, increasing in the order
	// given) and a pending delivery of each to each destination, due at once
	// whatever the clock of the dispatcher (on another replica, perhaps).
	AppendEvents(es []*Event, destinations []string) error
	// CompleteDelivery removes a delivery that arrived.
	CompleteDelivery(eventSeq int64, destination string) error
	// FailDelivery records a failed attempt: the delivery is tried again at
	// next, or goes to the dead-letter list when dead is set.
	FailDelivery(eventSeq int64, destination string, attempts int, next time.Time, lastError string, dead bool) error
	// ReviveDeliveries puts dead deliveries back in line, due at now: those
	// of the given events, or all when eventSeqs is empty. It says how many.
	ReviveDeliveries(eventSeqs []int64, now time.Time) (int, error)
	// PurgeEvents deletes up to limit events created from from (inclusive)
	// until before that have no delivery left, oldest first, and says how
	// many it deleted and when the last of them was created: the from of
	// the next batch, which then passes by what this one kept only once.
	PurgeEvents(from, before time.Time, limit int) (deleted int, last time.Time, err error)
	// PurgeEnded deletes up to limit meetings that ended before the given
	// time, with their tags, and says how many it deleted.
	PurgeEnded(before time.Time, limit int) (int, error)
}

// Store is a transactional store.
type Store interface {
	// View runs fn on a consistent read-only view.
	View(ctx context.Context, fn func(Reader) error) error
	// Write runs fn in a read-write transaction and commits if fn returns
	// nil. It returns only once the commit is durable. fn may run more than
	// once (after a retryable conflict), so it must not change anything
	// outside the transaction.
	Write(ctx context.Context, fn func(Writer) error) error
	// Ping checks that the store is reachable and ready.
	Ping(ctx context.Context) error
	// Close flushes and releases the store.
	Close() error
}

// Leaser is implemented by stores that several replicas share, so that work
// which must happen once at a time (event dispatch) runs on one replica.
// A store without it has one process, which always leads.
type Leaser interface {
	// TryLead takes the named leadership if no one holds it. lost is
	// closed when it is lost (the replica's connection died); release
	// gives it up.
	TryLead(ctx context.Context, name string) (lost <-chan struct{}, release func(), ok bool, err error)
}

// Drain runs step in one write transaction after another until a step
// does fewer than limit things (deletes fewer rows): work in batches, each
// short enough that other writes need not wait long for it, until none is
// left. A step may tell the next where to start (from, zero for the
// first): the next gets what a step returned only once its transaction
// committed, since a store may run a transaction's step again. Drain
// returns how many things the steps did.
func Drain[P any](ctx context.Context, st Store, limit int, step func(w Writer, limit int, from P) (n int, next P, err error)) (int, error) {
	var from P
	total := 0
	for {
		var (
			n    int
			next P
		)
		err := st.Write(ctx, func(w Writer) error {
			var err error
			n, next, err = step(w, limit, from)
			return err
		})
		if err != nil {
			return total, err // the failed step's work rolled back
		}
		total += n
		if n < limit {
			return total, nil
		}
		from = next
	}
}
