// Package metrics exposes the data plane in Prometheus format: connections by hub, opens and closes by
// Azure's close categories, messages and bytes in and out, slow-consumer disconnects, upstream event
// latency and failures, REST latency by operation, config reloads, and the backplane's counters.
//
// Hot-path counters are resolved once per hub and cached, so counting a message costs an atomic add,
// not a label lookup. Label values are bounded: hubs are authenticated, user event names (chosen by
// clients) are reported as "user".
package metrics

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kwps/kwps/dataplane/backplane"
	"github.com/kwps/kwps/dataplane/upstream"
)

const namespace = "kwps"

// Metrics implements gateway.Observer and upstream.Observer and records REST calls. Create it with New.
type Metrics struct {
	connections   *prometheus.GaugeVec
	opened        *prometheus.CounterVec
	closed        *prometheus.CounterVec
	messagesIn    *prometheus.CounterVec
	bytesIn       *prometheus.CounterVec
	messagesOut   *prometheus.CounterVec
	bytesOut      *prometheus.CounterVec
	slowConsumers *prometheus.CounterVec
	upstreamTime  *prometheus.HistogramVec
	upstreamFail  *prometheus.CounterVec
	upstreamDrop  *prometheus.CounterVec
	restTime      *prometheus.HistogramVec
	reloads       prometheus.Counter

	hubs sync.Map // hub name -> *hubCounters
}

// hubCounters are one hub's hot-path counters.
type hubCounters struct {
	connections           prometheus.Gauge
	messagesIn, bytesIn   prometheus.Counter
	messagesOut, bytesOut prometheus.Counter
	slowConsumers         prometheus.Counter
}

// New creates the metrics and registers them with reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: "connections",
			Help: "Client connections held by this process, by hub."}, []string{"hub"}),
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "connections_opened_total",
			Help: "Client connections opened, by hub and protocol."}, []string{"hub", "protocol"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "connections_closed_total",
			Help: "Client connections closed, by hub, protocol and close category (Normal, Throttled, PingTimeout, NotAllowed, InternalServerError, UserError)."},
			[]string{"hub", "protocol", "category"}),
		messagesIn: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "inbound_messages_total",
			Help: "Messages received from clients, by hub."}, []string{"hub"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "inbound_bytes_total",
			Help: "Message bytes received from clients, by hub."}, []string{"hub"}),
		messagesOut: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "outbound_messages_total",
			Help: "Frames written to clients, by hub."}, []string{"hub"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "outbound_bytes_total",
			Help: "Bytes written to clients, by hub."}, []string{"hub"}),
		slowConsumers: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "slow_consumer_disconnects_total",
			Help: "Connections dropped because they could not keep up with their messages, by hub."}, []string{"hub"}),
		upstreamTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "upstream_event_duration_seconds",
			Help:    "Time to deliver an event to the upstream event handler (retries included), by event and outcome.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12)}, []string{"event", "outcome"}),
		upstreamFail: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "upstream_event_failures_total",
			Help: "Events the upstream event handler failed (non-2xx, timeout, network), by event and status."}, []string{"event", "status"}),
		upstreamDrop: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "upstream_events_dropped_total",
			Help: "Connected and disconnected events never sent (queue full, hub not ready, shutting down), by event."}, []string{"event"}),
		restTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "rest_request_duration_seconds",
			Help:    "Data-plane REST API latency, by operation and status code.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)}, []string{"operation", "code"}),
		reloads: prometheus.NewCounter(prometheus.CounterOpts{Namespace: namespace, Name: "config_reloads_total",
			Help: "Hub configuration changes applied."}),
	}
	reg.MustRegister(m.connections, m.opened, m.closed, m.messagesIn, m.bytesIn, m.messagesOut, m.bytesOut,
		m.slowConsumers, m.upstreamTime, m.upstreamFail, m.upstreamDrop, m.restTime, m.reloads)
	return m
}

func (m *Metrics) hub(name string) *hubCounters {
	if c, ok := m.hubs.Load(name); ok {
		return c.(*hubCounters)
	}
	c := &hubCounters{
		connections:   m.connections.WithLabelValues(name),
		messagesIn:    m.messagesIn.WithLabelValues(name),
		bytesIn:       m.bytesIn.WithLabelValues(name),
		messagesOut:   m.messagesOut.WithLabelValues(name),
		bytesOut:      m.bytesOut.WithLabelValues(name),
		slowConsumers: m.slowConsumers.WithLabelValues(name),
	}
	actual, _ := m.hubs.LoadOrStore(name, c)
	return actual.(*hubCounters)
}

// ConnectionOpened implements gateway.Observer.
func (m *Metrics) ConnectionOpened(hub, protocol string) {
	m.hub(hub).connections.Inc()
	m.opened.WithLabelValues(hub, protocol).Inc()
}

// ConnectionClosed implements gateway.Observer.
func (m *Metrics) ConnectionClosed(hub, protocol, category string) {
	m.hub(hub).connections.Dec()
	m.closed.WithLabelValues(hub, protocol, category).Inc()
}

// MessagesIn implements gateway.Observer.
func (m *Metrics) MessagesIn(hub string, messages, bytes int) {
	c := m.hub(hub)
	c.messagesIn.Add(float64(messages))
	c.bytesIn.Add(float64(bytes))
}

// MessagesOut implements gateway.Observer.
func (m *Metrics) MessagesOut(hub string, messages int, bytes int64) {
	c := m.hub(hub)
	c.messagesOut.Add(float64(messages))
	c.bytesOut.Add(float64(bytes))
}

// SlowConsumer implements gateway.Observer.
func (m *Metrics) SlowConsumer(hub string) { m.hub(hub).slowConsumers.Inc() }

func eventLabel(event string, system bool) string {
	if system {
		return event
	}
	return "user"
}

// EventDone implements upstream.Observer.
func (m *Metrics) EventDone(r upstream.EventRecord) {
	event := eventLabel(r.Event, r.System)
	outcome := "success"
	if r.Err != nil {
		outcome = "failure"
		status := "none"
		if r.Status != 0 {
			status = strconv.Itoa(r.Status)
		}
		m.upstreamFail.WithLabelValues(event, status).Inc()
	}
	m.upstreamTime.WithLabelValues(event, outcome).Observe(r.Duration.Seconds())
}

// EventDropped implements upstream.Observer.
func (m *Metrics) EventDropped(_, event string) {
	m.upstreamDrop.WithLabelValues(eventLabel(event, event == "connected" || event == "disconnected")).Inc()
}

// ObserveREST records one REST call; it has the shape of rest.Options.Observe.
func (m *Metrics) ObserveREST(op string, status int, d time.Duration) {
	m.restTime.WithLabelValues(op, strconv.Itoa(status)).Observe(d.Seconds())
}

// ConfigReloaded counts a hub configuration change.
func (m *Metrics) ConfigReloaded() { m.reloads.Inc() }

// RegisterBackplane exports a backplane's counters, read from its Stats at scrape time.
func RegisterBackplane(reg prometheus.Registerer, bp backplane.Backplane) {
	stat := func(name, help string, f func(backplane.Stats) float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: namespace, Subsystem: "backplane", Name: name, Help: help},
			func() float64 { return f(bp.Stats()) })
	}
	reg.MustRegister(
		stat("published_total", "Messages published to other processes.", func(s backplane.Stats) float64 { return float64(s.Published) }),
		stat("received_total", "Messages received from other processes.", func(s backplane.Stats) float64 { return float64(s.Received) }),
		stat("dropped_outbound_total", "Messages not published: queue full or backplane down.", func(s backplane.Stats) float64 { return float64(s.DroppedOut) }),
		stat("dropped_inbound_total", "Messages received but dropped: ingress queue full.", func(s backplane.Stats) float64 { return float64(s.DroppedIn) }),
		stat("reconnects_total", "Times the backplane reconnected.", func(s backplane.Stats) float64 { return float64(s.Reconnects) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Subsystem: "backplane", Name: "connected",
			Help: "1 when the backplane is connected."}, func() float64 {
			if bp.Stats().Connected {
				return 1
			}
			return 0
		}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Subsystem: "backplane", Name: "subscriptions",
			Help: "Channels this process is subscribed to."}, func() float64 { return float64(bp.Stats().Subscriptions) }),
	)
}
