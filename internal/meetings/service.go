// Package meetings is the domain of the Chime SDK Meetings API: one method
// per operation, the rules on capabilities, capacity, idempotency, replicas
// and tags, and the lifecycle that ends meetings. It knows nothing of HTTP or
// SQL: it runs its rules inside store transactions and returns apierr errors.
package meetings

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/carillon-dev/carillon/internal/apierr"
	"github.com/carillon-dev/carillon/internal/events"
	"github.com/carillon-dev/carillon/internal/store"
	"github.com/carillon-dev/carillon/internal/token"
)

// Config holds the limits and timers of the service.
type Config struct {
	// PublicURL is where clients reach this server; MediaPlacement points at it.
	PublicURL *url.URL
	// MaxAttendees is the attendee ceiling of a meeting without
	// MeetingFeatures.Attendee.MaxCount (the real service: 250).
	MaxAttendees int
	// MaxReplicas is how many active replicas one primary may have (4).
	MaxReplicas int
	// MaxActiveMeetings bounds the active meetings of one account; 0: no bound.
	MaxActiveMeetings int
	// IdleTimeout ends a meeting nobody has been connected to for this long
	// (5 minutes); 0 never does.
	IdleTimeout time.Duration
	// MaxDuration ends every meeting this long after it started (24 hours);
	// 0 never does.
	MaxDuration time.Duration
	// EndedRetention is how long an ended meeting stays visible to
	// administrators before it is purged.
	EndedRetention time.Duration
}

// DefaultConfig returns the real service's limits.
func DefaultConfig() Config {
	return Config{
		MaxAttendees:   250,
		MaxReplicas:    4,
		IdleTimeout:    5 * time.Minute,
		MaxDuration:    24 * time.Hour,
		EndedRetention: 7 * 24 * time.Hour,
	}
}

// Caller is the authenticated principal of a request.
type Caller struct {
	AccountID string
	// Region is the region the request was signed for; ARNs carry it.
	Region string
}

// Deps are what the service is built from.
type Deps struct {
	Store    store.Store
	Keys     *token.Keyring
	Presence Presence
	// Routes decides where each meeting's events go.
	Routes events.Routes
	// Notify is called after a commit that wrote events (to wake the
	// dispatcher and the live stream).
	Notify func()
	Now    func() time.Time
	NewID  func() string
	Log    *slog.Logger
}

// Service implements the operations.
type Service struct {
	cfg      Config
	store    store.Store
	keys     *token.Keyring
	presence Presence
	routes   events.Routes
	notify   func()
	now      func() time.Time
	newID    func() string
	log      *slog.Logger
	adder    *adder
}

// NewID returns a time-ordered UUID (version 7): IDs of the same moment sit
// side by side in B-tree indexes, where random ones would scatter writes.
func NewID() string {
	return uuid.Must(uuid.NewV7()).String()
}

// New builds the service.
func New(cfg Config, d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.NewID == nil {
		d.NewID = NewID
	}
	if d.Presence == nil {
		d.Presence = NoPresence{}
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Notify == nil {
		d.Notify = func() {}
	}
	if cfg.PublicURL == nil {
		cfg.PublicURL = &url.URL{Scheme: "http", Host: "127.0.0.1:8080"}
	}
	s := &Service{cfg: cfg, store: d.Store, keys: d.Keys, presence: d.Presence, routes: d.Routes, notify: d.Notify,
		now: d.Now, newID: d.NewID, log: d.Log}
	s.adder = &adder{s: s}
	return s
}

// Config returns the service's configuration.
func (s *Service) Config() Config { return s.cfg }

func (s *Service) nowUTC() time.Time { return s.now().UTC() }

// normalizeID lowercases a GUID: IDs are minted in lower case and the model's
// pattern admits either case.
func normalizeID(id string) string { return strings.ToLower(id) }

// Errors with the messages the real service uses where they are known.

func meetingNotFound(id string) error {
	return apierr.New(apierr.NotFound, "Meeting <%s> not found", id)
}

func attendeeNotFound(id string) error {
	return apierr.New(apierr.NotFound, "Attendee <%s> not found", id)
}

// storeErr turns a store failure that the domain did not expect into an
// opaque ServiceFailure (apierr.As hides its text from the caller).
func (s *Service) storeErr(ctx context.Context, op string, err error) error {
	var ae *apierr.Error
	if err == nil || errors.As(err, &ae) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	s.log.ErrorContext(ctx, "store failure", "op", op, "err", err)
	return err
}

// sees reports whether the caller may act on a meeting: one of its account,
// created through the region it calls, not ended. Control regions are
// independent, as in the service: a meeting is unknown to the others.
func (c Caller) sees(m *store.Meeting) bool {
	return m.Active() && m.AccountID == c.AccountID && m.APIRegion == c.Region
}

// activeMeeting reads a meeting that the caller sees.
func activeMeeting(r store.Reader, c Caller, id string) (store.Meeting, error) {
	m, err := r.Meeting(c.AccountID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !c.sees(&m)) {
		return m, meetingNotFound(id)
	}
	return m, err
}

// lockActiveMeeting is activeMeeting for a transaction that will change the
// meeting or its attendees.
func lockActiveMeeting(w store.Writer, c Caller, id string) (store.Meeting, error) {
	m, err := w.LockMeeting(c.AccountID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !c.sees(&m)) {
		return m, meetingNotFound(id)
	}
	return m, err
}

// emit writes events of a meeting in the transaction of the change they
// report, with a delivery to each of the meeting's destinations.
func (s *Service) emit(w store.Writer, m *store.Meeting, evs ...*store.Event) error {
	return w.AppendEvents(evs, s.routes.For(m))
}

// event renders one event about a meeting (and an attendee) now.
func (s *Service) event(eventType string, m *store.Meeting, a *events.Attendee) *store.Event {
	return events.New(eventType, m, a, s.nowUTC())
}

// attendeeRef names a stored attendee in an event.
func attendeeRef(a *store.Attendee) *events.Attendee {
	caps := a.Capabilities
	return &events.Attendee{ID: a.ID, ExternalUserID: a.ExternalUserID, Capabilities: &caps}
}
