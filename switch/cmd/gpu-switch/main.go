// gpu-switch is the agent of the per-host switch (docs/design/blue-green-releases.md §4-6):
//
//	gpu-switch health             exit 0 when Caddy's admin API answers GET /config/ with 200, else 1
//	gpu-switch apply <plan.json>  wait for the plan's containers, route the healthy ones, drain, print a summary
//
// apply exits 0 when every service switched, 3 when one did not, 2 for a bad plan or arguments and 4 when Caddy
// did not take the config or the route table. It talks to Docker over /var/run/docker.sock and to Caddy at
// localhost:2019: the config (/load, only when routes, ports or TLS change) and the route table
// (/gpu-switch/upstreams, our module in switch/gpuswitch), which moves a route without a reload.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"
)

const (
	exitOK          = 0
	exitUsage       = 2
	exitNotSwitched = 3
	exitNotLoaded   = 4
	logLines        = 200
)

// agent holds where the agent reaches Docker and Caddy, and how often it polls (tests change them).
type agent struct {
	docker *Docker
	caddy  *Caddy
	poll   time.Duration
	out    io.Writer // the summary line
	log    io.Writer // progress and container logs
}

func main() {
	a := &agent{
		docker: newDocker("/var/run/docker.sock"),
		caddy:  newCaddy("http://localhost:2019"),
		poll:   500 * time.Millisecond,
		out:    os.Stdout,
		log:    os.Stderr,
	}
	os.Exit(a.run(os.Args[1:]))
}

func (a *agent) run(args []string) int {
	switch {
	case len(args) == 1 && args[0] == "health":
		if _, err := a.caddy.Config(); err != nil {
			fmt.Fprintln(a.log, "gpu-switch health:", err)
			return 1
		}
		return exitOK
	case len(args) == 2 && args[0] == "apply":
		plan, err := readPlan(args[1])
		if err != nil {
			fmt.Fprintln(a.log, "gpu-switch apply: bad plan:", err)
			return exitUsage
		}
		return a.apply(plan)
	default:
		fmt.Fprintln(a.log, "usage: gpu-switch health | gpu-switch apply <plan.json>")
		return exitUsage
	}
}

// Summary is the one JSON line apply prints: services routed to their new container, services whose new
// container did not turn healthy in time, and (among those) the services that keep their previous upstream.
type Summary struct {
	Switched []string `json:"switched"`
	Failed   []string `json:"failed"`
	Kept     []string `json:"kept"`
}

func (a *agent) apply(plan *Plan) int {
	ready := a.waitAll(plan)
	live, err := a.caddy.Live()
	if err != nil {
		fmt.Fprintln(a.log, "gpu-switch apply: switch not reachable:", err)
		return exitNotLoaded
	}
	table, err := a.caddy.Table()
	if err != nil {
		fmt.Fprintln(a.log, "gpu-switch apply: switch not reachable:", err)
		return exitNotLoaded
	}
	// What a route serves now: the table's dial for a route that asks the table, else its static dial.
	current := func(id string) string {
		r, ok := live.routes[id]
		if !ok {
			return ""
		}
		if r.dynamic {
			return table[id]
		}
		return r.dial
	}
	summary := Summary{Switched: []string{}, Failed: []string{}, Kept: []string{}}
	dials := map[string]string{}
	drain := 0
	for i, s := range plan.Services {
		if ready[i] {
			summary.Switched = append(summary.Switched, s.Name)
			if s.Strategy == blueGreen {
				drain = max(drain, s.DrainSeconds)
			}
		} else {
			summary.Failed = append(summary.Failed, s.Name)
			a.printLogs(s.Container)
		}
		if ready[i] || s.Strategy == stopThenStart {
			for _, p := range s.Ports {
				dials[routeID(s.Name, p.Listen)] = fmt.Sprintf("%s:%d", s.Container, p.Target)
			}
			continue
		}
		// A blue-green release that is not healthy: free its GPU, keep what serves now (if anything does).
		if err := a.docker.Remove(s.Container); err != nil {
			fmt.Fprintln(a.log, "gpu-switch apply:", err)
		} else {
			fmt.Fprintf(a.log, "gpu-switch apply: %s: removed %s\n", s.Name, s.Container)
		}
		kept := false
		for _, p := range s.Ports {
			id := routeID(s.Name, p.Listen)
			if dial := current(id); dial != "" {
				dials[id] = dial
				kept = true
			}
		}
		if kept {
			summary.Kept = append(summary.Kept, s.Name)
		}
	}
	if code := a.route(plan, live, table, dials); code != exitOK {
		return code
	}
	fmt.Fprintf(a.log, "gpu-switch apply: draining %d s\n", drain)
	time.Sleep(time.Duration(drain) * time.Second)
	line, _ := json.Marshal(summary)
	fmt.Fprintln(a.out, string(line))
	if len(summary.Failed) > 0 {
		return exitNotSwitched
	}
	return exitOK
}

// route makes the switch send each route to dials[route]. The config changes only when the set of routes, the
// ports, TLS or the switch's options do (or on the first push, or over a config of an older agent); then it is
// loaded, which restarts Caddy's servers and closes their idle keep-alive connections. A release or rollback of
// an existing route is a route table update only. In order:
//  1. before a load, routes new to the table get an entry: a route that already serves keeps its live dial
//     (an older agent's static one), a new route its new dial; nothing that serves changes yet;
//  2. the load, when the config differs from the live one (if Caddy refuses it, the table still routes as
//     before: exit 4);
//  3. one table update, all or nothing: every route to its dial, and entries of routes no longer there removed;
//  4. the table must then answer exactly dials.
func (a *agent) route(plan *Plan, live *liveConfig, table map[string]string, dials map[string]string) int {
	failed := func(what string, err error) int {
		fmt.Fprintf(a.log, "gpu-switch apply: %s: %v\n", what, err)
		return exitNotLoaded
	}
	cfg := buildConfig(plan, live.admin, dials)
	sent, err := json.Marshal(cfg)
	if err != nil {
		return failed("the switch did not take the config", err)
	}
	load := !sameJSON(sent, live.raw)
	if load {
		first := map[string]*string{}
		for id, dial := range dials {
			if _, ok := table[id]; ok {
				continue
			}
			if r, ok := live.routes[id]; ok && !r.dynamic && r.dial != "" {
				dial = r.dial
			}
			first[id] = &dial
		}
		if len(first) > 0 {
			if table, err = a.caddy.SetRoutes(first); err != nil {
				return failed("the switch did not take the route table", err)
			}
		}
		if err := a.caddy.Load(cfg); err != nil {
			return failed("the switch did not take the config", err)
		}
		fmt.Fprintln(a.log, "gpu-switch apply: config loaded (routes, ports or TLS changed): Caddy's servers restarted, idle keep-alive connections closed")
	} else {
		fmt.Fprintln(a.log, "gpu-switch apply: config unchanged: no reload")
	}
	changes := map[string]*string{}
	for id, dial := range dials {
		if table[id] != dial {
			changes[id] = &dial
		}
	}
	for id := range table {
		if _, ok := dials[id]; !ok {
			changes[id] = nil
		}
	}
	if len(changes) > 0 {
		if table, err = a.caddy.SetRoutes(changes); err != nil {
			return failed("the switch did not take the route table", err)
		}
	}
	if got, err := a.caddy.Table(); err != nil || !reflect.DeepEqual(got, dials) {
		if err == nil {
			err = fmt.Errorf("it answers %v, want %v", got, dials)
		}
		return failed("the switch's route table is not what was set", err)
	}
	fmt.Fprintf(a.log, "gpu-switch apply: route table set (%d changed): %s\n", len(changes), describe(dials))
	return exitOK
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

// waitAll waits for every service's container at once; ready[i] says whether services[i] became ready in time.
func (a *agent) waitAll(plan *Plan) []bool {
	ready := make([]bool, len(plan.Services))
	var wg sync.WaitGroup
	for i, s := range plan.Services {
		wg.Go(func() { ready[i] = a.wait(s) })
	}
	wg.Wait()
	return ready
}

// wait polls the container until it is ready, for up to waitSeconds (0: one look, no waiting).
func (a *agent) wait(s Service) bool {
	until := time.Now().Add(time.Duration(s.WaitSeconds) * time.Second)
	for {
		state, err := a.docker.Inspect(s.Container)
		if err == nil && state.ready() {
			fmt.Fprintf(a.log, "gpu-switch apply: %s: %s is ready (%s)\n", s.Name, s.Container, state)
			return true
		}
		// Only the engine creates the plan's containers, before the push runs: one that is gone was removed (by
		// this agent, after a release that never turned healthy) and will not come back by waiting.
		if errors.Is(err, errNoSuchContainer) {
			fmt.Fprintf(a.log, "gpu-switch apply: %s: %s is gone (removed after a failed release?), not waited for\n", s.Name, s.Container)
			return false
		}
		if time.Now().After(until) {
			what := fmt.Sprint(err)
			if err == nil {
				what = state.String()
			}
			fmt.Fprintf(a.log, "gpu-switch apply: %s: %s not ready after %d s (%s)\n", s.Name, s.Container, s.WaitSeconds, what)
			return false
		}
		time.Sleep(a.poll)
	}
}

func (a *agent) printLogs(container string) {
	logs, err := a.docker.Logs(container, logLines)
	if err != nil {
		fmt.Fprintln(a.log, "gpu-switch apply:", err)
		return
	}
	fmt.Fprintf(a.log, "--- last %d log lines of %s ---\n%s--- end of %s's logs ---\n", logLines, container, logs, container)
}
