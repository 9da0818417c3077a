// Package metrics exposes Carillon's Prometheus metrics on a registry of its
// own: API requests, latency and errors by operation, throttling, requests
// in flight, store transaction latency, active meetings and attendees, the
// event outbox (depth, lag, deliveries) and the media plane.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/carillon-dev/carillon/internal/media"
	"github.com/carillon-dev/carillon/internal/store"
)

// Metrics holds the collectors.
type Metrics struct {
	registry *prometheus.Registry

	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	errors      *prometheus.CounterVec
	throttled   *prometheus.CounterVec
	inFlight    prometheus.Gauge
	storeTx     *prometheus.HistogramVec
	deliveries  *prometheus.CounterVec
	deliveryLag *prometheus.HistogramVec
}

// latencyBuckets suit a server whose requests take well under a millisecond
// to a few hundred.
func latencyBuckets() []float64 {
	return []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}
}

// New builds the metrics; st is read on each scrape for the gauges of
// active meetings, attendees and the outbox.
func New(st store.Store) *Metrics {
	m := &Metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carillon_api_requests_total", Help: "API requests by operation and HTTP status.",
		}, []string{"operation", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "carillon_api_request_duration_seconds", Help: "API request latency by operation.", Buckets: latencyBuckets(),
		}, []string{"operation"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carillon_api_errors_total", Help: "API errors by operation and error shape.",
		}, []string{"operation", "code"}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carillon_api_throttled_total", Help: "Requests refused with ThrottlingException, by account.",
		}, []string{"account"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "carillon_api_in_flight_requests", Help: "API requests being served.",
		}),
		storeTx: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "carillon_store_transaction_duration_seconds", Help: "Store transaction latency (read or write, including the wait for a group commit).",
			Buckets: latencyBuckets(),
		}, []string{"kind"}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "carillon_event_deliveries_total", Help: "Event delivery attempts by destination kind and result.",
		}, []string{"kind", "result"}),
		deliveryLag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "carillon_event_delivery_lag_seconds", Help: "Time from an event to its successful delivery.",
			Buckets: []float64{.001, .005, .01, .05, .1, .5, 1, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"kind"}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.errors, m.throttled, m.inFlight, m.storeTx, m.deliveries, m.deliveryLag,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newStoreCollector(st))
	return m
}

// WatchMedia exports the media plane's state, read once per scrape.
func (m *Metrics) WatchMedia(stats func() media.Stats) {
	m.registry.MustRegister(newMediaCollector(stats))
}

// mediaCollector reads the media plane's gauges and counters on each scrape.
type mediaCollector struct {
	stats                                                      func() media.Stats
	rooms, sessions, connections, sources                      *prometheus.Desc
	joins, refusals, video, audio, messages, messagesThrottled *prometheus.Desc
}

func newMediaCollector(stats func() media.Stats) *mediaCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &mediaCollector{
		stats:             stats,
		rooms:             d("carillon_media_rooms", "Meetings with someone connected to this process."),
		sessions:          d("carillon_media_sessions", "Clients connected to this process."),
		connections:       d("carillon_media_connections", "Signaling connections open on this process, joined or not."),
		sources:           d("carillon_media_video_sources", "Videos published on this process."),
		joins:             d("carillon_media_joins_total", "Clients admitted."),
		refusals:          d("carillon_media_refusals_total", "Clients refused (bad or stale join tokens, ended meetings)."),
		video:             d("carillon_media_video_packets_total", "Video RTP packets forwarded to subscribers."),
		audio:             d("carillon_media_audio_frames_total", "Audio frames sent to listeners."),
		messages:          d("carillon_media_data_messages_total", "Data messages relayed."),
		messagesThrottled: d("carillon_media_data_messages_throttled_total", "Data messages refused by the rate limit."),
	}
}

func (c *mediaCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rooms, c.sessions, c.connections, c.sources, c.joins, c.refusals, c.video, c.audio, c.messages, c.messagesThrottled} {
		ch <- d
	}
}

func (c *mediaCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	gauge := func(d *prometheus.Desc, v int) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v))
	}
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v))
	}
	gauge(c.rooms, st.Rooms)
	gauge(c.sessions, st.Sessions)
	gauge(c.connections, st.Connections)
	gauge(c.sources, st.VideoSources)
	counter(c.joins, st.Joins)
	counter(c.refusals, st.Refusals)
	counter(c.video, st.VideoPackets)
	counter(c.audio, st.AudioFrames)
	counter(c.messages, st.DataMessages)
	counter(c.messagesThrottled, st.DataThrottled)
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{Registry: m.registry})
}

// ObserveRequest records one finished API request.
func (m *Metrics) ObserveRequest(operation string, status int, errorShape string, d time.Duration) {
	m.requests.WithLabelValues(operation, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(operation).Observe(d.Seconds())
	if errorShape != "" {
		m.errors.WithLabelValues(operation, errorShape).Inc()
	}
}

// ObserveThrottled records a request refused by the rate limit.
func (m *Metrics) ObserveThrottled(accountID string) { m.throttled.WithLabelValues(accountID).Inc() }

// AddInFlight moves the gauge of requests being served.
func (m *Metrics) AddInFlight(delta float64) { m.inFlight.Add(delta) }

// ObserveDelivery records one delivery attempt.
func (m *Metrics) ObserveDelivery(kind string, ok bool, lag time.Duration) {
	result := "failure"
	if ok {
		result = "success"
		m.deliveryLag.WithLabelValues(kind).Observe(lag.Seconds())
	}
	m.deliveries.WithLabelValues(kind, result).Inc()
}

// InstrumentStore times every transaction of st.
func (m *Metrics) InstrumentStore(st store.Store) store.Store {
	return &timedStore{Store: st, read: m.storeTx.WithLabelValues("read"), write: m.storeTx.WithLabelValues("write")}
}

type timedStore struct {
	store.Store
	read, write prometheus.Observer
}

func (t *timedStore) View(ctx context.Context, fn func(store.Reader) error) error {
	start := time.Now()
	defer func() { t.read.Observe(time.Since(start).Seconds()) }()
	return t.Store.View(ctx, fn)
}

func (t *timedStore) Write(ctx context.Context, fn func(store.Writer) error) error {
	start := time.Now()
	defer func() { t.write.Observe(time.Since(start).Seconds()) }()
	return t.Store.Write(ctx, fn)
}

// storeCollector reads the gauges that live in the store on each scrape.
type storeCollector struct {
	store                                                                 store.Store
	activeMeetings, activeAttendees, pending, dead, oldest, scrapeFailure *prometheus.Desc
}

func newStoreCollector(st store.Store) *storeCollector {
	d := func(name, help string) *prometheus.Desc { return prometheus.NewDesc(name, help, nil, nil) }
	return &storeCollector{
		store:           st,
		activeMeetings:  d("carillon_active_meetings", "Meetings that have not ended."),
		activeAttendees: d("carillon_active_attendees", "Attendees of meetings that have not ended."),
		pending:         d("carillon_event_outbox_pending", "Event deliveries waiting in the outbox."),
		dead:            d("carillon_event_outbox_dead", "Event deliveries in the dead-letter list."),
		oldest:          d("carillon_event_outbox_oldest_pending_age_seconds", "Age of the oldest pending event delivery (0 when none): the delivery lag."),
		scrapeFailure:   d("carillon_store_scrape_error", "1 if the store could not be read for these metrics."),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.activeMeetings, c.activeAttendees, c.pending, c.dead, c.oldest, c.scrapeFailure} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var (
		st store.Stats
		ob store.OutboxStats
	)
	err := c.store.View(ctx, func(r store.Reader) error {
		var err error
		if st, err = r.Stats(); err != nil {
			return err
		}
		ob, err = r.Outbox()
		return err
	})
	if err != nil {
		ch <- prometheus.MustNewConstMetric(c.scrapeFailure, prometheus.GaugeValue, 1)
		return
	}
	age := 0.0
	if !ob.OldestPending.IsZero() {
		age = time.Since(ob.OldestPending).Seconds()
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	gauge(c.scrapeFailure, 0)
	gauge(c.activeMeetings, float64(st.ActiveMeetings))
	gauge(c.activeAttendees, float64(st.ActiveAttendees))
	gauge(c.pending, float64(ob.Pending))
	gauge(c.dead, float64(ob.Dead))
	gauge(c.oldest, age)
}
