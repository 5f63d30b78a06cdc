package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// switchState is what the agent knows of the switch's config during one push: the live config as read, and
// the JSON of the config it loaded since, if any.
type switchState struct {
	live   *liveConfig
	loaded []byte
}

// current is the switch's config now.
func (sw *switchState) current() []byte {
	if sw.loaded != nil {
		return sw.loaded
	}
	return sw.live.raw
}

// load loads the config for the routes in `include` when it differs from the switch's; a load restarts Caddy's
// servers and closes their idle keep-alive connections, so a release or a rollback of an existing route never
// loads: it is a table update only.
func (a *agent) load(plan *Plan, sw *switchState, include map[string]bool) int {
	cfg := buildConfig(plan, sw.live.admin, include)
	sent, err := json.Marshal(cfg)
	if err == nil && sameJSON(sent, sw.current()) {
		return exitOK
	}
	if err == nil {
		err = a.caddy.Load(cfg)
	}
	if err != nil {
		fmt.Fprintf(a.log, "gpu-switch apply: the switch did not take the config: %v\n", err)
		return exitNotLoaded
	}
	sw.loaded = sent
	fmt.Fprintln(a.log, "gpu-switch apply: config loaded (routes, ports or TLS changed): Caddy's servers restarted, idle keep-alive connections closed")
	return exitOK
}

// prepare sets the entries of routes new to the table (first releases, and routes an older agent routed
// statically: their entry keeps the live dial, beside the new copy as next), loads the config of every route
// that is armed or has an entry, then arms the routes that were in the table. Nothing that serves moves before
// Caddy took the config.
func (a *agent) prepare(plan *Plan, sw *switchState, table map[string]RouteState, arm map[string]*Entry) int {
	if plan.Partial {
		return a.setRoutes(arm)
	}
	first, rest := map[string]*Entry{}, map[string]*Entry{}
	include := map[string]bool{}
	for id, e := range arm {
		include[id] = true
		if _, ok := table[id]; ok {
			rest[id] = e
		} else {
			first[id] = e
		}
	}
	for _, s := range plan.Services {
		for _, p := range s.Ports {
			if _, ok := table[s.routeOn(p.Listen)]; ok {
				include[s.routeOn(p.Listen)] = true
			}
		}
	}
	if code := a.setRoutes(first); code != exitOK {
		return code
	}
	if code := a.load(plan, sw, include); code != exitOK {
		return code
	}
	return a.setRoutes(rest)
}

// setRoutes sends one table update, unless there is nothing to change.
func (a *agent) setRoutes(changes map[string]*Entry) int {
	if len(changes) == 0 {
		return exitOK
	}
	if _, err := a.caddy.SetRoutes(changes); err != nil {
		fmt.Fprintf(a.log, "gpu-switch apply: the switch did not take the route table: %v\n", err)
		return exitNotLoaded
	}
	return exitOK
}

// route makes the switch serve exactly the routes of `expected`, each on its dial:
//  1. `sets` (failed blue-green routes back on their old dial alone);
//  2. a second load, only when a route of the first one is not served after all (a broken first release: its
//     listener is left out, as a server without routes would answer 200 to everything);
//  3. one table update that removes the entries of routes no longer served;
//  4. the table must then answer exactly `expected`, with no next copy left.
func (a *agent) route(plan *Plan, sw *switchState, sets map[string]*Entry, expected map[string]string) int {
	failed := func(what string, err error) int {
		fmt.Fprintf(a.log, "gpu-switch apply: %s: %v\n", what, err)
		return exitNotLoaded
	}
	if code := a.setRoutes(sets); code != exitOK {
		return code
	}
	include := map[string]bool{}
	for id := range expected {
		include[id] = true
	}
	if code := a.load(plan, sw, include); code != exitOK {
		return code
	}
	if sw.loaded == nil {
		fmt.Fprintln(a.log, "gpu-switch apply: config unchanged: no reload")
	}
	table, err := a.caddy.Table()
	if err != nil {
		return failed("the switch's route table is not readable", err)
	}
	removals := map[string]*Entry{}
	for id := range table {
		if !include[id] {
			removals[id] = nil
		}
	}
	if len(removals) > 0 {
		if table, err = a.caddy.SetRoutes(removals); err != nil {
			return failed("the switch did not take the route table", err)
		}
	}
	if got := dialsOf(table); !sameDials(got, expected) {
		return failed("the switch's route table is not what was set", fmt.Errorf("it answers %s, want %s", describe(got), describe(expected)))
	}
	fmt.Fprintf(a.log, "gpu-switch apply: route table set (%d removed): %s\n", len(removals), describe(expected))
	return exitOK
}

// dialsOf is the table as route -> dial, with " next <dial>" added where a next copy is left.
func dialsOf(table map[string]RouteState) map[string]string {
	out := map[string]string{}
	for id, r := range table {
		out[id] = r.Dial
		if r.Next != nil {
			out[id] += " next " + *r.Next
		}
	}
	return out
}

func sameDials(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for id, dial := range a {
		if b[id] != dial {
			return false
		}
	}
	return true
}

// describe lists route -> dial, sorted.
func describe(dials map[string]string) string {
	ids := make([]string, 0, len(dials))
	for id := range dials {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = id + " -> " + dials[id]
	}
	return strings.Join(parts, ", ")
}
