package gpuswitch

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"
)

// TableFile is the table's file name, in Caddy's config folder (`$XDG_CONFIG_HOME/caddy`: the switch's volume).
const TableFile = "gpu-switch-upstreams.json"

// tableVersion is the version of the file this switch writes; a file without a version is the table before
// readiness (`{"routes":{"<id>":"<host:port>"}}`), still read.
const tableVersion = 2

// table is the process's one route table. Caddy makes new module values on every config load (and a new admin
// handler with each), so the table lives here, not in a module. Lock order: write, then mu.
var table struct {
	mu     sync.Mutex
	routes map[string]*route
	loaded bool
	path   string // where it is persisted; set on the first load
	// picks counts the requests the pools gave a member; changed is closed (and forgotten) when a route becomes
	// ready or the table changes, so that requests held for a pool look again (pool.go).
	picks   uint64
	changed chan struct{}
	// write serializes the writers of the file (admin updates and promotions), so that each writes a table that
	// holds the other's last change.
	write sync.Mutex
}

// tablePath is where the table is kept: beside autosave.json, so that it is in the switch's volume.
func tablePath() string { return filepath.Join(caddy.AppConfigDir(), TableFile) }

// ensureLoaded reads the table file once per process. Every route starts loading: after a start of the switch
// (a reboot, a restart of the daemon or of the switch) no copy gets a request before it passed its readiness
// check. A missing file is an empty table. An unreadable one is logged and treated as empty (the switch stays up,
// so the next push can write a good table); it is kept aside as <file>.bad.
func ensureLoaded(logger *zap.Logger) {
	table.mu.Lock()
	defer table.mu.Unlock()
	if table.loaded {
		return
	}
	table.loaded = true
	table.path = tablePath()
	table.routes = map[string]*route{}
	data, err := os.ReadFile(table.path)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	var entries map[string]Entry
	if err == nil {
		entries, err = decodeTable(data)
	}
	if err != nil {
		logger.Error("gpu_switch: the route table file is unreadable; starting with an empty table",
			zap.String("file", table.path), zap.Error(err))
		os.Rename(table.path, table.path+".bad")
		return
	}
	for id, e := range entries {
		addRoute(id, e)
	}
	logger.Info("gpu_switch: route table loaded; every route is checked before it gets traffic",
		zap.String("file", table.path), zap.Int("routes", len(entries)))
}

// document is the table as it is persisted.
type document struct {
	Version int              `json:"version,omitempty"`
	Routes  map[string]Entry `json:"routes"`
}

// decodeTable reads a table file of either version: entries are objects, or `host:port` strings.
func decodeTable(data []byte) (map[string]Entry, error) {
	var doc struct {
		Version int                        `json:"version"`
		Routes  map[string]json.RawMessage `json:"routes"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Routes == nil {
		return nil, fmt.Errorf("no \"routes\" object")
	}
	if doc.Version > tableVersion {
		return nil, fmt.Errorf("version %d; this switch reads up to %d", doc.Version, tableVersion)
	}
	entries := map[string]Entry{}
	for id, raw := range doc.Routes {
		e, err := decodeEntry(id, raw)
		if err != nil {
			return nil, err
		}
		entries[id] = e
	}
	return entries, nil
}

// addRoute puts a new route in the table and starts its prober; table.mu is held.
func addRoute(id string, e Entry) {
	rt := newRoute(id, e)
	table.routes[id] = rt
	go rt.probe()
}

// lookup returns the route, or nil; table.mu is held.
func lookup(id string) *route { return table.routes[id] }

// entries copies every route's entry; table.mu is held.
func entries() map[string]Entry {
	out := make(map[string]Entry, len(table.routes))
	for id, rt := range table.routes {
		out[id] = rt.entry
	}
	return out
}

// update applies changes (an entry sets the route, nil removes it) all at once: the new table is written to a
// temporary file, synced and renamed over the old file, and only then put in place. On any error nothing
// changes. It returns the ids changed, sorted.
func update(changes map[string]*Entry) ([]string, error) {
	table.write.Lock()
	defer table.write.Unlock()
	table.mu.Lock()
	next := entries()
	path := table.path
	table.mu.Unlock()
	ids := make([]string, 0, len(changes))
	for id, e := range changes {
		ids = append(ids, id)
		if e == nil {
			delete(next, id)
		} else {
			next[id] = *e
		}
	}
	sort.Strings(ids)
	if err := persist(path, next); err != nil {
		return nil, err
	}
	table.mu.Lock()
	defer table.mu.Unlock()
	for id, e := range changes {
		rt := table.routes[id]
		switch {
		case e == nil && rt != nil:
			rt.remove()
			delete(table.routes, id)
		case e != nil && rt == nil:
			addRoute(id, *e)
		case e != nil:
			rt.set(*e)
		}
	}
	wakePools()
	return ids, nil
}

// persistNow writes the table as it is in memory (after a promotion); a failure is logged: the file then
// still has the copy as next, and a restarted switch checks and promotes it again.
func persistNow() {
	table.write.Lock()
	defer table.write.Unlock()
	table.mu.Lock()
	now, path := entries(), table.path
	table.mu.Unlock()
	if err := persist(path, now); err != nil {
		logger().Error("the route table file was not written after a promotion", zap.String("file", path), zap.Error(err))
	}
}

// persist writes the table to path through a temporary file in the same folder and a rename, so that a crash
// leaves either the old or the new file, never a part of one.
func persist(path string, routes map[string]Entry) error {
	data, err := json.MarshalIndent(document{Version: tableVersion, Routes: routes}, "", "  ")
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
