package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/carillon-dev/carillon/internal/periodic"
	"github.com/carillon-dev/carillon/internal/store"
)

// Destination kinds, the prefix of a delivery's destination.
const (
	KindWebhook = "webhook"
	KindSQS     = "sqs"
	KindSNS     = "sns"
	// KindEventBridge's targets are a bus ARN, or region/name.
	KindEventBridge = "eventbridge"
)

// Routes decides where a meeting's events go: every configured webhook,
// the meeting's own SQS queue and SNS topic when notifications are on, and
// the EventBridge bus, if one is named.
type Routes struct {
	Webhooks      []string
	Notifications bool
	// EventBus is a bus name, put in each meeting's own region, or a bus
	// ARN (see CheckEventBus); empty: none.
	EventBus string
}

// Active reports whether any event can have a destination; when none can,
// nothing needs to wake the dispatcher.
func (r Routes) Active() bool { return len(r.Webhooks) > 0 || r.Notifications || r.EventBus != "" }

// For returns the destinations of a meeting's events.
func (r Routes) For(m *store.Meeting) []string {
	dest := make([]string, 0, len(r.Webhooks)+3)
	for _, u := range r.Webhooks {
		dest = append(dest, KindWebhook+":"+u)
	}
	if n := m.Details.Notifications; r.Notifications && n != nil {
		if n.SqsQueueArn != "" {
			dest = append(dest, KindSQS+":"+n.SqsQueueArn)
		}
		if n.SnsTopicArn != "" {
			dest = append(dest, KindSNS+":"+n.SnsTopicArn)
		}
	}
	if r.EventBus != "" {
		dest = append(dest, KindEventBridge+":"+eventBusTarget(r.EventBus, m.APIRegion))
	}
	return dest
}

// Sink delivers events to destinations of one kind. target is the
// destination without its kind prefix (a URL, an ARN).
type Sink interface {
	Deliver(ctx context.Context, target string, e store.Event) error
}

// DispatchConfig tunes delivery.
type DispatchConfig struct {
	// MaxAttempts is how many failed attempts send a delivery to the
	// dead-letter list.
	MaxAttempts int
	// BaseBackoff is the wait after the first failure; it doubles with each
	// further failure up to MaxBackoff.
	BaseBackoff, MaxBackoff time.Duration
	// Concurrency bounds how many groups (destination and meeting) are
	// delivered to at once.
	Concurrency int
	// Retention keeps delivered events readable (live stream, inspection).
	Retention time.Duration
	// Poll is the longest the dispatcher sleeps without being notified.
	Poll time.Duration
}

// DefaultDispatchConfig returns the defaults.
func DefaultDispatchConfig() DispatchConfig {
	return DispatchConfig{MaxAttempts: 10, BaseBackoff: time.Second, MaxBackoff: 5 * time.Minute,
		Concurrency: 16, Retention: 24 * time.Hour, Poll: time.Second}
}

// Observer is told about deliveries (for metrics).
type Observer interface {
	ObserveDelivery(kind string, ok bool, lag time.Duration)
}

// Dispatcher delivers the outbox: at least once, in order per destination
// and meeting, retrying with exponential back-off, and dead-lettering what
// keeps failing. A crash loses nothing: what was not confirmed delivered is
// delivered again after a restart.
type Dispatcher struct {
	store    store.Store
	sinks    map[string]Sink
	cfg      DispatchConfig
	now      func() time.Time
	log      *slog.Logger
	observer Observer
	wake     chan struct{}

	// leaser, when set, makes one replica at a time the dispatcher.
	leaser store.Leaser

	// retryAt is the earliest retry scheduled by the last round, so that
	// short back-offs are not stretched to the poll interval.
	mu      sync.Mutex
	retryAt time.Time
}

// NewDispatcher builds a dispatcher with a sink per destination kind.
func NewDispatcher(st store.Store, sinks map[string]Sink, cfg DispatchConfig, log *slog.Logger, observer Observer) *Dispatcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{store: st, sinks: sinks, cfg: cfg, now: time.Now, log: log, observer: observer, wake: make(chan struct{}, 1)}
}

// Notify tells the dispatcher that new events may be waiting.
func (d *Dispatcher) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// LeadWith makes the dispatcher deliver only while it holds the store's
// "event-dispatch" leadership, so that several replicas deliver each event
// once, in order; when the leader dies another replica takes over.
func (d *Dispatcher) LeadWith(l store.Leaser) { d.leaser = l }

// leaderRetry is how often a replica that is not the leader tries to become it.
const leaderRetry = 2 * time.Second

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	if d.leaser == nil {
		d.run(ctx, nil)
		return
	}
	for ctx.Err() == nil {
		lost, release, ok, err := d.leaser.TryLead(ctx, "event-dispatch")
		if err != nil && ctx.Err() == nil {
			d.log.WarnContext(ctx, "event dispatch: leadership", "err", err)
		}
		if ok {
			d.log.InfoContext(ctx, "this replica now dispatches events")
			d.run(ctx, lost)
			release()
			continue
		}
		select {
		case <-ctx.Done():
		case <-time.After(leaderRetry):
		}
	}
}

// run delivers until ctx ends or lost is closed.
func (d *Dispatcher) run(ctx context.Context, lost <-chan struct{}) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if lost != nil {
		go func() {
			select {
			case <-lost:
				d.log.WarnContext(ctx, "event dispatch leadership lost")
				cancel()
			case <-ctx.Done():
			}
		}()
	}
	// The purge runs beside the deliveries, which a long one (a day of
	// events to delete after a pause) must not hold up; it ends with them.
	var purging sync.WaitGroup
	defer func() {
		cancel()
		purging.Wait()
	}()
	purging.Go(func() {
		periodic.Every(ctx, time.Minute, func(ctx context.Context) {
			if _, err := d.purge(ctx); err != nil && ctx.Err() == nil {
				d.log.ErrorContext(ctx, "purging delivered events", "err", err)
			}
		})
	})
	for ctx.Err() == nil {
		n, err := d.DispatchOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.ErrorContext(ctx, "event dispatch", "err", err)
		}
		if n > 0 && err == nil {
			continue // there may be more right away
		}
		wait := d.cfg.Poll
		d.mu.Lock()
		if !d.retryAt.IsZero() {
			wait = min(wait, max(time.Until(d.retryAt), time.Millisecond))
			d.retryAt = time.Time{}
		}
		d.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-d.wake:
		case <-t.C:
		}
		t.Stop()
	}
}

// purgeBatch is how many events one purge transaction deletes at most: on
// SQLite every write waits while it runs.
const purgeBatch = 1000

// purge deletes the delivered events past their retention, batch after
// batch until one comes short (one batch a minute would fall ever further
// behind any rate above a batch a minute), and says how many.
func (d *Dispatcher) purge(ctx context.Context) (int, error) {
	if d.cfg.Retention <= 0 {
		return 0, nil
	}
	before := d.now().Add(-d.cfg.Retention)
	// Each batch starts at the last one's newest, past what that one kept.
	return store.Drain(ctx, d.store, purgeBatch, func(w store.Writer, limit int, from time.Time) (int, time.Time, error) {
		return w.PurgeEvents(from, before, limit)
	})
}

// DispatchOnce attempts every delivery that is due now and says how many it
// attempted.
func (d *Dispatcher) DispatchOnce(ctx context.Context) (int, error) {
	var due []store.Delivery
	if err := d.store.View(ctx, func(r store.Reader) error {
		var err error
		// Twice the groups that are delivered to at once: enough to keep
		// every worker busy, few enough that a backlog costs the query little.
		groups := 2 * max(1, d.cfg.Concurrency)
		due, err = r.DueDeliveries(d.now(), groups, perGroup, groups*perGroup)
		return err
	}); err != nil {
		return 0, err
	}
	if len(due) == 0 {
		return 0, nil
	}
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, max(1, d.cfg.Concurrency))
		mu   sync.Mutex
		errs []error
	)
	for start := 0; start < len(due); {
		end := start + 1
		for end < len(due) && due[end].Destination == due[start].Destination && due[end].Event.MeetingID == due[start].Event.MeetingID {
			end++
		}
		group := due[start:end]
		start = end
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := d.deliverGroup(ctx, group); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return len(due), errors.Join(errs...)
}

// perGroup is how many deliveries of a group one pass takes, at least.
const perGroup = 50

// deliverGroup delivers one group's deliveries in order and stops at the
// first failure that will be retried, so that nothing overtakes it. What
// the pass delivered, and what failed, is recorded at its end in one
// write: a crash before that write sends those deliveries again, which
// at-least-once delivery allows, and a pass costs one commit, not one per
// event. A dead letter is recorded before the next event goes: were it
// retried after a crash, it would arrive after that one.
func (d *Dispatcher) deliverGroup(ctx context.Context, group []store.Delivery) error {
	var outcomes []outcome
	for _, dl := range group {
		kind, target, _ := strings.Cut(dl.Destination, ":")
		sink := d.sinks[kind]
		e := dl.Event
		payload, err := Payload(&e)
		e.Payload = payload // sinks send the envelope as the service renders it
		switch {
		case err != nil: // a damaged row: it goes the way of failed deliveries
		case sink == nil:
			err = fmt.Errorf("no %s destination is configured on this server", kind)
		default:
			err = sink.Deliver(ctx, target, e)
		}
		if ctx.Err() != nil {
			break // shutting down: this one stays pending
		}
		if d.observer != nil {
			d.observer.ObserveDelivery(kind, err == nil, d.now().Sub(dl.Event.CreatedAt))
		}
		if err == nil {
			outcomes = append(outcomes, outcome{d: dl})
			continue
		}
		o := outcome{d: dl, failed: true, attempts: dl.Attempts + 1, msg: err.Error()}
		o.dead = o.attempts >= d.cfg.MaxAttempts
		o.next = d.now().Add(d.backoff(o.attempts))
		if len(o.msg) > 500 {
			o.msg = o.msg[:500]
		}
		outcomes = append(outcomes, o)
		if o.dead {
			d.log.WarnContext(ctx, "event delivery dead-lettered", "event", dl.Event.ID, "type", dl.Event.Type,
				"meeting", dl.Event.MeetingID, "destination", dl.Destination, "attempts", o.attempts, "err", o.msg)
			if err := d.record(ctx, outcomes); err != nil {
				return err
			}
			outcomes = outcomes[:0]
			continue
		}
		d.log.InfoContext(ctx, "event delivery failed; will retry", "event", dl.Event.ID, "destination", dl.Destination,
			"attempts", o.attempts, "retry_at", o.next, "err", o.msg)
		d.mu.Lock()
		if d.retryAt.IsZero() || o.next.Before(d.retryAt) {
			d.retryAt = o.next
		}
		d.mu.Unlock()
		break // later events of the group wait for this one
	}
	return d.record(ctx, outcomes)
}

// outcome is what became of one delivery in a pass.
type outcome struct {
	d        store.Delivery
	failed   bool
	attempts int
	next     time.Time
	msg      string
	dead     bool
}

// record writes a pass's outcomes in one transaction. Deliveries are
// recorded even while stopping (what arrived should not be sent again), but
// failures are not: a replica that lost the lead must not rewrite the
// attempts of a delivery its successor now owns. A delivery already gone
// (another replica recorded it) is skipped.
func (d *Dispatcher) record(ctx context.Context, outcomes []outcome) error {
	if len(outcomes) == 0 {
		return nil
	}
	stopping := ctx.Err() != nil
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return d.store.Write(wctx, func(w store.Writer) error {
		for _, o := range outcomes {
			var err error
			switch {
			case o.failed && stopping:
				continue
			case o.failed:
				err = w.FailDelivery(o.d.Event.Seq, o.d.Destination, o.attempts, o.next, o.msg, o.dead)
			default:
				err = w.CompleteDelivery(o.d.Event.Seq, o.d.Destination)
			}
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return err
			}
		}
		return nil
	})
}

// backoff is the wait after the given number of failed attempts:
// exponential, capped, with ±20% jitter so that receivers coming back are
// not hit by every sender at once.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	b := d.cfg.BaseBackoff
	for i := 1; i < attempts && b < d.cfg.MaxBackoff; i++ {
		b *= 2
	}
	b = min(b, d.cfg.MaxBackoff)
	jitter := time.Duration(rand.Int64N(int64(b)/5+1)) - b/10
	return b + jitter
}
