// Package gpuswitch is the Caddy side of the per-host switch (docs/design/blue-green-releases.md, "As built"): a
// table of route -> upstream dial, kept in memory and in a file beside Caddy's autosave.json, and two modules
// that use it:
//
//   - http.reverse_proxy.upstreams.gpu_switch, a dynamic upstream source: `{"source":"gpu_switch","route":"<id>"}`
//     answers the route's current dial on every try of every request (reverseproxy.go proxyLoopIteration asks a
//     dynamic source again on each try, so a request held by load_balancing.try_duration follows the table);
//   - admin.api.gpu_switch, GET and POST /gpu-switch/upstreams on the admin endpoint, to read the table and to
//     set several routes at once.
//
// A release moves a route by a table update, which restarts nothing: Caddy's servers keep their connections (a
// config load would stop them, and net/http's Shutdown closes every idle keep-alive connection).
package gpuswitch

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
	"go.uber.org/zap"
)

func init() {
	caddy.RegisterModule(Upstreams{})
	caddy.RegisterModule(Admin{})
}

// TableFile is the table's file name, in Caddy's config folder (`$XDG_CONFIG_HOME/caddy`: the switch's volume).
const TableFile = "gpu-switch-upstreams.json"

// AdminPath is the admin API route of the table.
const AdminPath = "/gpu-switch/upstreams"

// maxBody bounds a POST to the admin route.
const maxBody = 1 << 20

var routeRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// table is the process's one route table. Caddy makes new module values on every config load (and a new admin
// handler with each), so the table lives here, not in a module.
var table struct {
	mu     sync.RWMutex
	routes map[string]string // route id -> dial (host:port)
	loaded bool
	path   string // where it is persisted; set on the first load
}

// tablePath is where the table is kept: beside autosave.json, so that it is in the switch's volume.
func tablePath() string { return filepath.Join(caddy.AppConfigDir(), TableFile) }

// ensureLoaded reads the table file once per process. A missing file is an empty table. An unreadable one is
// logged and treated as empty (the switch stays up, so the next push can write a good table); it is kept aside
// as <file>.bad.
func ensureLoaded(logger *zap.Logger) {
	table.mu.Lock()
	defer table.mu.Unlock()
	if table.loaded {
		return
	}
	table.loaded = true
	table.path = tablePath()
	table.routes = map[string]string{}
	data, err := os.ReadFile(table.path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var routes map[string]string
	if err == nil {
		err = decodeTable(data, &routes)
	}
	if err != nil {
		logger.Error("gpu_switch: the route table file is unreadable; starting with an empty table",
			zap.String("file", table.path), zap.Error(err))
		os.Rename(table.path, table.path+".bad")
		return
	}
	table.routes = routes
	logger.Info("gpu_switch: route table loaded", zap.String("file", table.path), zap.Int("routes", len(routes)))
}

// document is the table as it is persisted and as GET answers it.
type document struct {
	Routes map[string]string `json:"routes"`
}

func decodeTable(data []byte, routes *map[string]string) error {
	var doc document
	if err := json.Unmarshal(data, &doc); err != nil {
		return err
	}
	if doc.Routes == nil {
		return fmt.Errorf("no \"routes\" object")
	}
	for id, dial := range doc.Routes {
		if err := checkEntry(id, dial); err != nil {
			return err
		}
	}
	*routes = doc.Routes
	return nil
}

// checkEntry: a route id as the agent makes them (`<service>-<port>`), and a dial `host:port`.
func checkEntry(id, dial string) error {
	if !routeRE.MatchString(id) {
		return fmt.Errorf("route %q: not a route id (letters, digits, '_', '.', '-')", id)
	}
	host, port, err := net.SplitHostPort(dial)
	if err != nil {
		return fmt.Errorf("route %q: dial %q is not host:port", id, dial)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
		return fmt.Errorf("route %q: dial %q needs a host and a port 1..65535", id, dial)
	}
	return nil
}

// checkChange: a dial to set, or nil to remove the route.
func checkChange(id string, dial *string) error {
	if dial == nil {
		if !routeRE.MatchString(id) {
			return fmt.Errorf("route %q: not a route id (letters, digits, '_', '.', '-')", id)
		}
		return nil
	}
	return checkEntry(id, *dial)
}

// lookup returns the route's dial, or "" when the table has none.
func lookup(id string) string {
	table.mu.RLock()
	defer table.mu.RUnlock()
	return table.routes[id]
}

// snapshot copies the table.
func snapshot() map[string]string {
	table.mu.RLock()
	defer table.mu.RUnlock()
	out := make(map[string]string, len(table.routes))
	for id, dial := range table.routes {
		out[id] = dial
	}
	return out
}

// update applies changes (a dial sets the route, null removes it) all at once: the new table is written to a
// temporary file, synced and renamed over the old file, and only then swapped in. On any error nothing changes.
func update(changes map[string]*string) (map[string]string, error) {
	table.mu.Lock()
	defer table.mu.Unlock()
	next := make(map[string]string, len(table.routes)+len(changes))
	for id, dial := range table.routes {
		next[id] = dial
	}
	for id, dial := range changes {
		if err := checkChange(id, dial); err != nil {
			return nil, err
		}
		if dial == nil {
			delete(next, id)
		} else {
			next[id] = *dial
		}
	}
	if err := persist(table.path, next); err != nil {
		return nil, err
	}
	table.routes = next
	out := make(map[string]string, len(next))
	for id, dial := range next {
		out[id] = dial
	}
	return out, nil
}

// persist writes the table to path through a temporary file in the same folder and a rename, so that a crash
// leaves either the old or the new file, never a part of one.
func persist(path string, routes map[string]string) error {
	data, err := json.MarshalIndent(document{Routes: routes}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), TableFile+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if dir, err := os.Open(filepath.Dir(path)); err == nil { // the rename itself, on disk
		dir.Sync()
		dir.Close()
	}
	return nil
}

// Upstreams is the dynamic upstream source http.reverse_proxy.upstreams.gpu_switch: the one upstream of a
// route, as the table says now. A route the table does not have yields no upstream, which reverse_proxy
// answers with 503 after its try_duration (and retries meanwhile: errNoUpstream is retried).
type Upstreams struct {
	// Route is the route id whose dial is looked up, e.g. `tts-8055`. Required.
	Route string `json:"route,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Upstreams) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.upstreams.gpu_switch",
		New: func() caddy.Module { return new(Upstreams) },
	}
}

// Provision checks the route id and reads the table file on first use.
func (u *Upstreams) Provision(ctx caddy.Context) error {
	if !routeRE.MatchString(u.Route) {
		return fmt.Errorf("gpu_switch: route %q is not a route id", u.Route)
	}
	ensureLoaded(ctx.Logger())
	return nil
}

// GetUpstreams answers the route's dial (none when the table has no entry for it).
func (u Upstreams) GetUpstreams(*http.Request) ([]*reverseproxy.Upstream, error) {
	dial := lookup(u.Route)
	if dial == "" {
		return []*reverseproxy.Upstream{}, nil
	}
	return []*reverseproxy.Upstream{{Dial: dial}}, nil
}

// Admin is the admin API module admin.api.gpu_switch: the route table on the admin endpoint.
//
//	GET  /gpu-switch/upstreams  200 {"routes":{"<id>":"<dial>",...}}
//	POST /gpu-switch/upstreams  {"routes":{"<id>":"<dial>"|null,...}}: sets (a dial) or removes (null) each route
//	                            named, all or none, persisted before the answer; 200 with the whole new table,
//	                            400 naming the bad entry, 500 when the file could not be written (nothing changed)
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
	return nil
}

// Routes returns the admin route of the table.
func (a Admin) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: AdminPath, Handler: caddy.AdminHandlerFunc(a.handle)}}
}

func (Admin) handle(w http.ResponseWriter, r *http.Request) error {
	var routes map[string]string
	switch r.Method {
	case http.MethodGet:
		routes = snapshot()
	case http.MethodPost:
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
		}
		var changes struct {
			Routes map[string]*string `json:"routes"`
		}
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&changes); err != nil || changes.Routes == nil {
			if err == nil {
				err = fmt.Errorf(`want {"routes":{"<route>":"<host:port>"|null,...}}`)
			}
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("POST %s: %v", AdminPath, err)}
		}
		for id, dial := range changes.Routes {
			if err := checkChange(id, dial); err != nil {
				return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("POST %s: %v", AdminPath, err)}
			}
		}
		routes, err = update(changes.Routes)
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusInternalServerError,
				Err: fmt.Errorf("POST %s: the table was not changed: %v", AdminPath, err)}
		}
		ids := make([]string, 0, len(changes.Routes))
		for id := range changes.Routes {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		caddy.Log().Named("gpu_switch").Info("route table updated", zap.Strings("changed", ids), zap.Int("routes", len(routes)))
	default:
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed", r.Method)}
	}
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(document{Routes: routes})
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Upstreams)(nil)
	_ reverseproxy.UpstreamSource = (*Upstreams)(nil)
	_ caddy.AdminRouter           = (*Admin)(nil)
	_ caddy.Provisioner           = (*Admin)(nil)
)
