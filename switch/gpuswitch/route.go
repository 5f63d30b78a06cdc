package gpuswitch

import (
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// State is a route's readiness as the switch sees it.
type State string

const (
	// Ready: requests go to the dial.
	Ready State = "ready"
	// Loading: the dial is checked every interval; requests are held until it passes enough checks in a row.
	Loading State = "loading"
	// Drained: requests are held and nothing is checked, until the route is set again or drainedUntil passes.
	Drained State = "drained"
)

// Counters are a route's request counts since the switch started, in one place for an exposition to read.
type Counters struct {
	// Requests counts the answers the clients got, by status class ("2xx", …), sheds included.
	Requests StatusClasses `json:"requests"`
	// Held counts requests that waited for readiness (each once).
	Held uint64 `json:"held"`
	// Shed counts requests answered 503 with Retry-After: past the hold budget, or the queue was full.
	Shed uint64 `json:"shed"`
	// Replayed counts requests sent again after a try that no copy answered.
	Replayed uint64 `json:"replayed"`
	// InFlight is the number of requests at a copy now (any dial of the route, old ones included).
	InFlight int `json:"inflight"`
	// Holding is the number of requests held now.
	Holding int `json:"holding"`
}

// StatusClasses counts answers by the first digit of their status.
type StatusClasses struct {
	C1xx uint64 `json:"1xx"`
	C2xx uint64 `json:"2xx"`
	C3xx uint64 `json:"3xx"`
	C4xx uint64 `json:"4xx"`
	C5xx uint64 `json:"5xx"`
}

func (c *StatusClasses) add(status int) {
	switch {
	case status < 200:
		c.C1xx++
	case status < 300:
		c.C2xx++
	case status < 400:
		c.C3xx++
	case status < 500:
		c.C4xx++
	default:
		c.C5xx++
	}
}

// route is an entry of the table and its live state. Every field is guarded by table.mu.
type route struct {
	id    string
	entry Entry
	state State
	// serving is the release the dial serves ("" when unknown: the dial was set beside a next copy).
	serving string
	// passes and nextPasses count the checks in a row that the dial and the next copy passed.
	passes, nextPasses int
	// since is when the state last changed: the start of a load, for Retry-After.
	since        time.Time
	drainedUntil time.Time
	lastFailure  string
	// ready is closed while the route is ready; held requests wait on it.
	ready chan struct{}
	// inflight counts the requests at each dial now (a promotion leaves the old dial's to finish).
	inflight map[string]int
	counters Counters
	// latency is the histogram of the answers' durations (metrics.go).
	latency Latency
	// picked orders the pool's choices: the number of the last request this route was chosen for (pool.go).
	picked uint64
	// gen changes with every change of the entry or the state, so that a check that started before it is dropped.
	gen uint64
	// wake asks the prober to look again now; stop ends it when the route is removed.
	wake chan struct{}
	stop chan struct{}
}

func newRoute(id string, e Entry) *route {
	rt := &route{
		id: id, entry: e, state: Loading, since: time.Now(), ready: make(chan struct{}),
		inflight: map[string]int{}, wake: make(chan struct{}, 1), stop: make(chan struct{}),
	}
	if e.Next == "" {
		rt.serving = e.Release
	}
	return rt
}

func logger() *zap.Logger { return caddy.Log().Named("gpu_switch") }

// poke wakes the prober.
func (rt *route) poke() {
	select {
	case rt.wake <- struct{}{}:
	default:
	}
}

// setState moves the route to a state, with the reason logged; held requests are let go when it becomes ready.
func (rt *route) setState(s State, reason string) {
	rt.gen++
	if s != Ready {
		rt.passes = 0
		if reason != "" {
			rt.lastFailure = reason
		}
	}
	if s == rt.state {
		return
	}
	if rt.state == Ready {
		rt.ready = make(chan struct{})
	}
	rt.state, rt.since = s, time.Now()
	if s == Ready {
		close(rt.ready)
		wakePools()
		rt.lastFailure = ""
		logger().Info("route ready", zap.String("route", rt.id), zap.String("dial", rt.entry.Dial),
			zap.String("release", rt.entry.Release), zap.Int("holding", rt.counters.Holding))
		return
	}
	logger().Warn("route "+string(s), zap.String("route", rt.id), zap.String("dial", rt.entry.Dial), zap.String("why", reason))
	rt.poke()
}

// set replaces the route's entry. The route is checked again (loading) when it is given another dial, a new
// release on the same dial (a stop-then-start copy), or when it was drained: a push re-arms a drained route with
// its new copy. A new next copy leaves the dial serving as it does.
func (rt *route) set(e Entry) {
	old := rt.entry
	rt.entry = e
	if e.Next != old.Next {
		rt.nextPasses = 0
	}
	switch {
	case rt.state == Drained:
		rt.setState(Loading, "set again after a drain")
	case e.Dial != old.Dial:
		rt.setState(Loading, "a new dial")
	case e.Next == "" && e.Release != rt.serving:
		rt.setState(Loading, "a new release on the same dial")
	default:
		rt.gen++
	}
	switch {
	case e.Next == "":
		rt.serving = e.Release
	case e.Dial != old.Dial:
		rt.serving = ""
	}
	rt.poke()
}

// drain holds the route's new requests until it is set again or `until` passes.
func (rt *route) drain(until time.Time) {
	rt.drainedUntil = until
	rt.setState(Drained, "drained")
}

// promote makes the next copy the dial, at once: the next request goes to it, while the old dial's requests in
// flight finish.
func (rt *route) promote() {
	old := rt.entry.Dial
	rt.entry.Dial, rt.entry.Next = rt.entry.Next, ""
	rt.nextPasses, rt.serving = 0, rt.entry.Release
	logger().Info("next copy promoted", zap.String("route", rt.id), zap.String("from", old), zap.String("to", rt.entry.Dial))
	rt.setState(Ready, "")
	rt.passes = rt.entry.Readiness.Passes
}

// failed marks the route not ready after a passive failure on dial (a try that no copy answered), unless the
// route has moved on to another dial or is not ready already.
func (rt *route) failed(dial, why string) {
	if rt.entry.Dial == dial && rt.state == Ready {
		rt.setState(Loading, why)
	}
}

// retryAfter is the Retry-After of a refused request: the expected load time left, at least 1 s.
func (rt *route) retryAfter(now time.Time) int {
	left := rt.entry.Hold.ExpectedSeconds - int(now.Sub(rt.since).Seconds())
	return max(1, left)
}

// remove ends the prober and lets held requests go (they find no route and are answered 503).
func (rt *route) remove() {
	close(rt.stop)
	if rt.state != Ready {
		close(rt.ready)
	}
}
