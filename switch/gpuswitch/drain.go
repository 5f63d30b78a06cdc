package gpuswitch

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// drainRequest is the body of POST /gpu-switch/drain.
type drainRequest struct {
	// Routes to drain.
	Routes []string `json:"routes"`
	// TimeoutSeconds bounds the wait for the requests in flight.
	TimeoutSeconds int `json:"timeoutSeconds"`
	// DrainedSeconds: how long the routes stay drained unless a push sets them again.
	DrainedSeconds int `json:"drainedSeconds"`
}

// drainAnswer is what POST /gpu-switch/drain answers once the routes have no request in flight, or the timeout
// passed: per route, the requests in flight when it was drained and those left; the ids the table does not have
// (a first deploy: nothing to drain).
type drainAnswer struct {
	Routes   map[string]drainedRoute `json:"routes"`
	Unknown  []string                `json:"unknown"`
	WaitedMs int64                   `json:"waitedMs"`
	TimedOut bool                    `json:"timedOut"`
}

type drainedRoute struct {
	InflightBefore int       `json:"inflightBefore"`
	Inflight       int       `json:"inflight"`
	DrainedUntil   time.Time `json:"drainedUntil"`
}

// drainPoll is how often a drain looks at the requests in flight.
const drainPoll = 20 * time.Millisecond

// handleDrain marks the routes drained at once (their new requests are held, nothing is checked), then waits
// until none of them has a request in flight, or the timeout passed, or the caller went away.
func (Admin) handleDrain(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed", r.Method)}
	}
	var req drainRequest
	if err := decodeStrict(w, r, &req); err != nil || req.Routes == nil {
		if err == nil {
			err = fmt.Errorf(`want {"routes":["<route>",...],"timeoutSeconds":30,"drainedSeconds":300}`)
		}
		return badRequest(fmt.Errorf("POST %s: %v", DrainPath, err))
	}
	if req.TimeoutSeconds < 0 || req.TimeoutSeconds > 3600 || req.DrainedSeconds < 0 || req.DrainedSeconds > 86400 {
		return badRequest(fmt.Errorf("POST %s: timeoutSeconds %d (0..3600), drainedSeconds %d (0..86400)",
			DrainPath, req.TimeoutSeconds, req.DrainedSeconds))
	}
	for _, id := range req.Routes {
		if !routeRE.MatchString(id) {
			return badRequest(fmt.Errorf("POST %s: route %q: not a route id (letters, digits, '_', '.', '-')", DrainPath, id))
		}
	}
	answer := drain(r, req)
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(answer)
}

func drain(r *http.Request, req drainRequest) drainAnswer {
	started := time.Now()
	until := started.Add(time.Duration(req.DrainedSeconds) * time.Second)
	answer := drainAnswer{Routes: map[string]drainedRoute{}, Unknown: []string{}}
	drained := map[string]*route{}
	table.mu.Lock()
	for _, id := range req.Routes {
		rt := lookup(id)
		if rt == nil {
			answer.Unknown = append(answer.Unknown, id)
			continue
		}
		rt.drain(until)
		drained[id] = rt
		answer.Routes[id] = drainedRoute{InflightBefore: rt.counters.InFlight, DrainedUntil: until}
	}
	table.mu.Unlock()
	sort.Strings(answer.Unknown)
	deadline := started.Add(time.Duration(req.TimeoutSeconds) * time.Second)
	for {
		left := 0
		table.mu.Lock()
		for id, rt := range drained {
			d := answer.Routes[id]
			d.Inflight = rt.counters.InFlight
			answer.Routes[id] = d
			left += d.Inflight
		}
		table.mu.Unlock()
		if left == 0 || time.Now().After(deadline) || r.Context().Err() != nil {
			answer.TimedOut = left > 0
			break
		}
		time.Sleep(drainPoll)
	}
	answer.WaitedMs = time.Since(started).Milliseconds()
	logger().Info("routes drained", zap.Any("routes", answer.Routes), zap.Strings("unknown", answer.Unknown),
		zap.Int64("waitedMs", answer.WaitedMs), zap.Bool("timedOut", answer.TimedOut))
	return answer
}
