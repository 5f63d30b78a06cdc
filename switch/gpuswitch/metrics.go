package gpuswitch

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// MetricsPath serves the route table's state and counters in Prometheus text format, on the admin endpoint
// (localhost in the switch's network namespace: nothing is published on a host port unless the operator does it).
const MetricsPath = "/gpu-switch/metrics"

// LatencyBuckets are the upper bounds, in seconds, of the request duration histogram: from a health check's
// milliseconds to a long transcription's minutes.
var LatencyBuckets = [...]float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}

// Latency counts requests by how long the switch took to answer them, from their arrival (the hold included) to
// the end of the answer.
type Latency struct {
	// Counts per bucket of LatencyBuckets (not cumulative), and a last one for the slower requests.
	Counts [len(LatencyBuckets) + 1]uint64 `json:"counts"`
	// Sum of the durations, in seconds.
	Sum float64 `json:"sum"`
}

func (l *Latency) observe(seconds float64) {
	i := sort.SearchFloat64s(LatencyBuckets[:], seconds)
	l.Counts[i]++
	l.Sum += seconds
}

// observeLatency adds a request's time to its route's histogram (a route removed meanwhile: nothing).
func observeLatency(id string, started time.Time) {
	seconds := time.Since(started).Seconds()
	table.mu.Lock()
	defer table.mu.Unlock()
	if rt := lookup(id); rt != nil {
		rt.latency.observe(seconds)
	}
}

// RouteSnapshot is a route's state and counters at one moment, as the exposition and the history read them.
type RouteSnapshot struct {
	State State `json:"state"`
	// Dial and Next: the copies (Next empty when there is none).
	Dial string `json:"dial"`
	Next string `json:"next,omitempty"`
	// Release names the release the route serves or moves to; Serving the dial's ("" when not known yet).
	Release string `json:"release"`
	Serving string `json:"serving,omitempty"`
	// Pool: the route whose requests this one also serves, if any.
	Pool string `json:"pool,omitempty"`
	// Passes and NextPasses: checks passed in a row; Needed: how many make a copy ready.
	Passes     int       `json:"passes"`
	NextPasses int       `json:"nextPasses"`
	Needed     int       `json:"needed"`
	Since      time.Time `json:"since"`
	Counters
	Latency Latency `json:"latency"`
}

// snapshot copies every route's state and counters at once.
func snapshot() map[string]RouteSnapshot {
	table.mu.Lock()
	defer table.mu.Unlock()
	out := make(map[string]RouteSnapshot, len(table.routes))
	for id, rt := range table.routes {
		out[id] = RouteSnapshot{
			State: rt.state, Dial: rt.entry.Dial, Next: rt.entry.Next, Release: rt.entry.Release, Serving: rt.serving, Pool: rt.entry.Pool,
			Passes: rt.passes, NextPasses: rt.nextPasses, Needed: rt.entry.Readiness.Passes, Since: rt.since,
			Counters: rt.counters, Latency: rt.latency,
		}
	}
	return out
}

// ServiceOf is the service a route id names: the agent names routes `<service>-<listen port>`, and those of a
// service's further copies `<service>-<listen port>.<copy>`.
func ServiceOf(id string) string {
	if i := strings.LastIndexByte(id, '.'); i > 0 {
		if _, err := strconv.Atoi(id[i+1:]); err == nil {
			if head := id[:i]; ServiceOf(head) != head {
				return ServiceOf(head)
			}
		}
	}
	i := strings.LastIndexByte(id, '-')
	if i <= 0 {
		return id
	}
	if _, err := strconv.Atoi(id[i+1:]); err != nil {
		return id
	}
	return id[:i]
}

const ns = "gpu_switch"

var (
	routeLabels = []string{"service", "route"}
	descs       = struct {
		requests, duration, inflight, holding, held, shed, replayed *prometheus.Desc
		ready, passes, state, since, release                        *prometheus.Desc
		poolMembers, poolReady                                      *prometheus.Desc
	}{
		requests: prometheus.NewDesc(ns+"_requests_total",
			"Answers the clients got, by status class (sheds included), since the switch started.",
			append(routeLabels, "class"), nil),
		duration: prometheus.NewDesc(ns+"_request_duration_seconds",
			"Time from a request's arrival (its hold included) to the end of its answer.", routeLabels, nil),
		inflight: prometheus.NewDesc(ns+"_requests_in_flight", "Requests at a copy now (old dials included).", routeLabels, nil),
		holding:  prometheus.NewDesc(ns+"_requests_holding", "Requests held now, waiting for the route to be ready.", routeLabels, nil),
		held:     prometheus.NewDesc(ns+"_requests_held_total", "Requests that waited for readiness (each once).", routeLabels, nil),
		shed: prometheus.NewDesc(ns+"_requests_shed_total",
			"Requests answered 503 with Retry-After: past the hold budget, or the hold queue was full.", routeLabels, nil),
		replayed: prometheus.NewDesc(ns+"_requests_replayed_total",
			"Requests sent again after a try that no copy answered.", routeLabels, nil),
		ready: prometheus.NewDesc(ns+"_upstream_ready",
			"1 when the copy gets requests: the dial of a ready route, or a next copy that passed its checks.",
			append(routeLabels, "upstream", "role"), nil),
		passes: prometheus.NewDesc(ns+"_upstream_checks_passed",
			"Readiness checks the copy passed in a row (it is ready at the route's passes).",
			append(routeLabels, "upstream", "role"), nil),
		state: prometheus.NewDesc(ns+"_route_state", "1 for the route's state: ready, loading or drained.",
			append(routeLabels, "state"), nil),
		since: prometheus.NewDesc(ns+"_route_state_since_timestamp_seconds",
			"When the route's state last changed (the start of a load), Unix time.", routeLabels, nil),
		release: prometheus.NewDesc(ns+"_release_info",
			"1 for each release the route has: the one its dial serves, and the one a next copy brings.",
			append(routeLabels, "release", "role"), nil),
		poolMembers: prometheus.NewDesc(ns+"_pool_members",
			"Routes that serve the requests of the route: itself and the copies of its service beside it.", routeLabels, nil),
		poolReady: prometheus.NewDesc(ns+"_pool_members_ready",
			"Members of the route's pool that are ready now: requests are held when it is 0.", routeLabels, nil),
	}
	allDescs = []*prometheus.Desc{descs.requests, descs.duration, descs.inflight, descs.holding, descs.held, descs.shed,
		descs.replayed, descs.ready, descs.passes, descs.state, descs.since, descs.release, descs.poolMembers, descs.poolReady}
)

// collector exposes the table, read at once at each scrape (counters and histogram of one moment).
type collector struct{}

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

func (collector) Collect(ch chan<- prometheus.Metric) {
	routes := snapshot()
	for id, s := range routes {
		collectRoute(ch, id, s)
	}
	members, ready := poolCounts(routes)
	for pool, n := range members {
		lv := []string{ServiceOf(pool), pool}
		ch <- prometheus.MustNewConstMetric(descs.poolMembers, prometheus.GaugeValue, float64(n), lv...)
		ch <- prometheus.MustNewConstMetric(descs.poolReady, prometheus.GaugeValue, float64(ready[pool]), lv...)
	}
}

func collectRoute(ch chan<- prometheus.Metric, id string, s RouteSnapshot) {
	lv := []string{ServiceOf(id), id}
	with := func(extra ...string) []string { return append(append([]string{}, lv...), extra...) }
	counter := func(d *prometheus.Desc, v uint64) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), lv...)
	}
	gauge := func(d *prometheus.Desc, v float64, extra ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, with(extra...)...)
	}
	r := s.Requests
	for class, v := range map[string]uint64{"1xx": r.C1xx, "2xx": r.C2xx, "3xx": r.C3xx, "4xx": r.C4xx, "5xx": r.C5xx} {
		ch <- prometheus.MustNewConstMetric(descs.requests, prometheus.CounterValue, float64(v), with(class)...)
	}
	count, buckets := s.Latency.cumulative()
	ch <- prometheus.MustNewConstHistogram(descs.duration, count, s.Latency.Sum, buckets, lv...)
	gauge(descs.inflight, float64(s.InFlight))
	gauge(descs.holding, float64(s.Holding))
	counter(descs.held, s.Held)
	counter(descs.shed, s.Shed)
	counter(descs.replayed, s.Replayed)
	gauge(descs.ready, bool01(s.State == Ready), s.Dial, "dial")
	gauge(descs.passes, float64(s.Passes), s.Dial, "dial")
	if s.Next != "" {
		gauge(descs.ready, bool01(s.NextPasses >= s.Needed), s.Next, "next")
		gauge(descs.passes, float64(s.NextPasses), s.Next, "next")
		gauge(descs.release, 1, s.Release, "next")
	}
	if s.Serving != "" {
		gauge(descs.release, 1, s.Serving, "serving")
	}
	for _, st := range []State{Ready, Loading, Drained} {
		gauge(descs.state, bool01(s.State == st), string(st))
	}
	gauge(descs.since, float64(s.Since.UnixMilli())/1000)
}

// cumulative is the histogram as Prometheus counts it: the requests at or under each bound, and in all.
func (l Latency) cumulative() (uint64, map[float64]uint64) {
	buckets := make(map[float64]uint64, len(LatencyBuckets))
	var n uint64
	for i, bound := range LatencyBuckets {
		n += l.Counts[i]
		buckets[bound] = n
	}
	return n + l.Counts[len(LatencyBuckets)], buckets
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var metrics = sync.OnceValue(func() http.Handler {
	registry := prometheus.NewRegistry()
	registry.MustRegister(collector{})
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError})
})

// handleMetrics answers GET /gpu-switch/metrics.
func (Admin) handleMetrics(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errMethod(r.Method)}
	}
	metrics().ServeHTTP(w, r)
	return nil
}
