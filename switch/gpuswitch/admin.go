package gpuswitch

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// AdminPath is the admin API route of the table; DrainPath drains routes.
const (
	AdminPath = "/gpu-switch/upstreams"
	DrainPath = "/gpu-switch/drain"
)

// maxBody bounds a POST to the admin routes (readiness bodies, base64, are up to 1 MiB each).
const maxBody = 16 << 20

// Admin is the admin API module admin.api.gpu_switch: the route table on the admin endpoint.
//
//	GET  /gpu-switch/upstreams  200 {"routes":{"<id>":<RouteView>,...}}
//	POST /gpu-switch/upstreams  {"routes":{"<id>":<Entry>|"<host:port>"|null,...}}: sets (an entry; a plain dial
//	                            is an entry with a TCP check and the old hold) or removes (null) each route named,
//	                            all or none, persisted before the answer; 200 with the whole table as GET answers
//	                            it, 400 naming the bad entry, 500 when the file could not be written (no change)
//	POST /gpu-switch/drain      {"routes":["<id>",...],"timeoutSeconds":30,"drainedSeconds":300}: see drain
//	GET  /gpu-switch/metrics    the routes' state and counters in Prometheus text format (metrics.go)
//	GET  /gpu-switch/history    the counters sampled every interval, kept in the volume (history.go)
type Admin struct{}

// CaddyModule returns the Caddy module information.
func (Admin) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.gpu_switch",
		New: func() caddy.Module { return new(Admin) },
	}
}

// Provision reads the table file on first use (the admin endpoint starts before the apps of a resumed config).
func (a *Admin) Provision(ctx caddy.Context) error {
	ensureLoaded(ctx.Logger())
	startHistory(ctx.Logger())
	return nil
}

// Routes returns the admin routes of the table.
func (a Admin) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: AdminPath, Handler: caddy.AdminHandlerFunc(a.handle)},
		{Pattern: DrainPath, Handler: caddy.AdminHandlerFunc(a.handleDrain)},
		{Pattern: MetricsPath, Handler: caddy.AdminHandlerFunc(a.handleMetrics)},
		{Pattern: HistoryPath, Handler: caddy.AdminHandlerFunc(a.handleHistory)},
	}
}

// RouteView is a route as GET /gpu-switch/upstreams answers it: its entry and its live state.
type RouteView struct {
	Dial    string  `json:"dial"`
	Next    *string `json:"next"`
	State   State   `json:"state"`
	Release string  `json:"release"`
	// Pool: the route whose requests this one also serves (a copy of a service beside its first copy).
	Pool string `json:"pool,omitempty"`
	Counters
	// InflightDials counts the requests in flight per dial (an old dial's finish after a promotion).
	InflightDials map[string]int `json:"inflightDials"`
	// Passes and NextPasses: checks passed in a row by the dial (while loading) and the next copy.
	Passes     int `json:"passes"`
	NextPasses int `json:"nextPasses"`
	// Since: when the state last changed.
	Since        time.Time  `json:"since"`
	DrainedUntil *time.Time `json:"drainedUntil,omitempty"`
	// LastFailure: the last failed check or passive failure since the route was last ready.
	LastFailure string     `json:"lastFailure,omitempty"`
	Readiness   Readiness  `json:"readiness"`
	Hold        HoldBudget `json:"hold"`
}

// tableView is the body GET and POST /gpu-switch/upstreams answer.
type tableView struct {
	Routes map[string]RouteView `json:"routes"`
}

// view copies every route's entry and state.
func view() tableView {
	table.mu.Lock()
	defer table.mu.Unlock()
	out := tableView{Routes: make(map[string]RouteView, len(table.routes))}
	for id, rt := range table.routes {
		v := RouteView{
			Dial: rt.entry.Dial, State: rt.state, Release: rt.entry.Release, Pool: rt.entry.Pool, Counters: rt.counters,
			InflightDials: make(map[string]int, len(rt.inflight)), Passes: rt.passes, NextPasses: rt.nextPasses,
			Since: rt.since, LastFailure: rt.lastFailure, Readiness: rt.entry.Readiness, Hold: rt.entry.Hold,
		}
		if rt.entry.Next != "" {
			next := rt.entry.Next
			v.Next = &next
		}
		for dial, n := range rt.inflight {
			v.InflightDials[dial] = n
		}
		if rt.state == Drained {
			until := rt.drainedUntil
			v.DrainedUntil = &until
		}
		out.Routes[id] = v
	}
	return out
}

func badRequest(err error) error {
	return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
}

// decodeStrict reads a POST body of at most maxBody into v, refusing unknown fields.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (Admin) handle(w http.ResponseWriter, r *http.Request) error {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		var changes struct {
			Routes map[string]json.RawMessage `json:"routes"`
		}
		if err := decodeStrict(w, r, &changes); err != nil || changes.Routes == nil {
			if err == nil {
				err = fmt.Errorf(`want {"routes":{"<route>":{"dial":"<host:port>",...}|"<host:port>"|null,...}}`)
			}
			return badRequest(fmt.Errorf("POST %s: %v", AdminPath, err))
		}
		entries := map[string]*Entry{}
		for id, raw := range changes.Routes {
			if string(bytes.TrimSpace(raw)) == "null" {
				if !routeRE.MatchString(id) {
					return badRequest(fmt.Errorf("POST %s: route %q: not a route id (letters, digits, '_', '.', '-')", AdminPath, id))
				}
				entries[id] = nil
				continue
			}
			e, err := decodeEntry(id, raw)
			if err != nil {
				return badRequest(fmt.Errorf("POST %s: %v", AdminPath, err))
			}
			entries[id] = &e
		}
		ids, err := update(entries)
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusInternalServerError,
				Err: fmt.Errorf("POST %s: the table was not changed: %v", AdminPath, err)}
		}
		logger().Info("route table updated", zap.Strings("changed", ids))
	default:
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed", r.Method)}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(view())
}

// Interface guards.
var (
	_ caddy.AdminRouter = (*Admin)(nil)
	_ caddy.Provisioner = (*Admin)(nil)
)
