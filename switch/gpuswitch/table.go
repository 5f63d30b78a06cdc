package gpuswitch

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// TableFile is the table's file name, in Caddy's config folder (`$XDG_CONFIG_HOME/caddy`: the switch's volume).
const TableFile = "gpu-switch-upstreams.json"

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
