package main

import (
	"encoding/json"
	"fmt"
	"time"
)

// release is one service's release in this push.
type release struct {
	s      Service
	routes []routeRelease
	// armed: its routes were set to the new copy; ready: the switch reports every route on it, ready.
	armed, ready bool
	// healthy: the container turned healthy in Docker's eyes within waitSeconds, where Docker's health gates it
	// (dockerGated); true otherwise.
	healthy bool
	// gone: the container does not exist (removed after an earlier failed release); it is not waited for.
	gone bool
}

// routeRelease is one route of a release: the copy it moves to, and what it served before this push.
type routeRelease struct {
	id   string
	dial string
	// old is the dial the route served (the table's, or an older agent's static one), or "".
	old string
	// prev is the route's table entry before this push, if it had one.
	prev *RouteState
	// pool is the pool the route is a member of (copy 0's route, for a copy i >= 1), or "".
	pool string
}

// apply releases the plan's services:
//  1. wait for Docker to call each new container healthy where its health is the only check there is (a
//     version 1 plan, as the older program expects; a TCP readiness check: dockerGated);
//  2. prepare: routes new to the table get their entry, then the config is loaded if it differs from the live
//     one (the set of routes, ports, TLS or streamCloseDelay changed), so that nothing that serves moves unless
//     Caddy took the config (if it refuses, exit 4 and the old routing serves on);
//  3. arm: the routes that serve get their new copy in one table update: a blue-green copy as the route's next
//     (the old dial serves on), a stop-then-start copy as its dial (the switch checks it before it sends it a
//     request);
//  4. wait, within waitSeconds, until the switch reports each route on its new copy and ready: the switch
//     promotes a next copy itself once it passed its readiness check;
//  5. settle: a blue-green copy that never passed is removed (its GPU memory freed) and the route keeps its old
//     dial; a stop-then-start copy stays the route's dial (nothing else can serve it) and is checked on; a broken
//     first release's listener is left out (a second load) and entries of routes no longer served removed;
//  6. drain: wait until the old blue-green copies have no request in flight (version 1: sleep drainSeconds).
//
// A full plan names every copy of every service on the host: the routes of copies it no longer names (a
// scale-down) are drained, then removed with the routes of services that are gone, before the table is checked.
// A partial plan (copies released one at a time) names some routes: apply arms, waits for and settles those
// only; it never loads a config, and never removes or checks a route it does not name.
func (a *agent) apply(plan *Plan) int {
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
	rels := newReleases(plan, live, table)
	a.waitHealthy(dockerGated(plan, rels))
	arm := armEntries(plan, rels)
	sw := &switchState{live: live}
	if code := a.prepare(plan, sw, table, arm); code != exitOK {
		return code
	}
	a.waitReady(plan, rels)
	summary, sets, expected := a.settle(plan, rels)
	var code int
	if plan.Partial {
		code = a.routePartial(rels, sets, expected)
	} else {
		a.drainRemovedCopies(plan)
		code = a.route(plan, sw, sets, expected)
	}
	if code != exitOK {
		return code
	}
	a.drainOld(plan, rels)
	line, _ := json.Marshal(summary)
	fmt.Fprintln(a.out, string(line))
	if len(summary.Failed) > 0 {
		return exitNotSwitched
	}
	return exitOK
}

// dockerGated is the releases whose copy Docker's health gates before the switch's own check: every one of a
// version 1 plan, and of version 2 those checked by a TCP connect. A TCP check is what a service gets when the
// switch cannot run its check itself (no readiness declared, and a healthcheck that is no HTTP GET, such as an
// exec of a script): the port accepts connections long before such a copy is ready, and one that never turns
// healthy would be promoted. Docker's health is then the only word on readiness, as before the switch checked.
func dockerGated(plan *Plan, rels []*release) []*release {
	var gated []*release
	for _, rel := range rels {
		if plan.Version == 1 || (rel.s.Readiness != nil && rel.s.Readiness.Kind == "tcp") {
			gated = append(gated, rel)
		}
	}
	return gated
}

// newReleases pairs each route of the plan with what it serves now.
func newReleases(plan *Plan, live *liveConfig, table map[string]RouteState) []*release {
	rels := make([]*release, len(plan.Services))
	for i, s := range plan.Services {
		rel := &release{s: s, healthy: plan.Version != 1}
		for _, p := range s.Ports {
			r := routeRelease{id: s.routeOn(p.Listen), dial: fmt.Sprintf("%s:%d", s.Container, p.Target), pool: s.poolOn(p.Listen)}
			if prev, ok := table[r.id]; ok {
				r.prev, r.old = &prev, prev.Dial
			} else if lr, ok := live.routes[r.id]; ok && !lr.dynamic {
				r.old = lr.dial
			}
			rel.routes = append(rel.routes, r)
		}
		rels[i] = rel
	}
	return rels
}

// entryFor is the table entry of a service's route. A version 1 plan has no readiness: the check is a TCP
// connection (Docker's health wait came first), and the hold is the plan's switch-wide holdSeconds, with no
// replay of a request that reached a copy, as the switch before readiness retried only dial errors of a POST.
func entryFor(plan *Plan, s Service) Entry {
	if plan.Version == 1 {
		return Entry{
			Readiness: Readiness{Kind: "tcp", Port: 0, TimeoutMs: 2000, IntervalMs: 250, Passes: 1}, // the dial's port
			Hold:      Hold{Seconds: *plan.Switch.HoldSeconds, Queue: 256, Replay: false},
		}
	}
	return Entry{Release: s.Release, Readiness: *s.Readiness, Hold: *s.Hold}
}

// keptEntry is the entry of a route that stays on its old dial: its entry as it was, or for a route an older
// agent routed statically (no entry), a TCP check of the dial itself (the new release's check may not fit the old
// copy) with the plan's hold.
func keptEntry(plan *Plan, s Service, r routeRelease) Entry {
	e := entryFor(plan, s)
	e.Release = ""
	e.Readiness = Readiness{Kind: "tcp", Port: 0, TimeoutMs: 2000, IntervalMs: 1000, Passes: 1}
	if r.prev != nil {
		e.Release, e.Readiness, e.Hold = r.prev.Release, r.prev.Readiness, r.prev.Hold
	}
	e.Dial, e.Pool = r.old, r.pool
	return e
}

// armEntries sets each route on its new copy: a blue-green copy as next, beside the dial that serves, anything
// else as the dial. A version 1 blue-green copy that Docker never called healthy is not armed (its route keeps
// what it serves); a version 1 stop-then-start copy is armed anyway, as nothing else can serve the route.
func armEntries(plan *Plan, rels []*release) map[string]*Entry {
	arm := map[string]*Entry{}
	for _, rel := range rels {
		if rel.gone || (!rel.healthy && rel.s.Strategy == blueGreen) {
			continue
		}
		rel.armed = true
		for _, r := range rel.routes {
			e := entryFor(plan, rel.s)
			e.Dial, e.Pool = r.dial, r.pool
			if rel.s.Strategy == blueGreen && r.old != "" && r.old != r.dial {
				e.Dial, e.Next = r.old, r.dial
			}
			arm[r.id] = &e
		}
	}
	return arm
}

// settle decides each release's outcome: the summary, the entries to set before the config is loaded (a failed
// blue-green route back on its old dial alone) and the dial each routed route must then have.
func (a *agent) settle(plan *Plan, rels []*release) (Summary, map[string]*Entry, map[string]string) {
	summary := Summary{Switched: []string{}, Failed: []string{}, Kept: []string{}}
	sets, expected := map[string]*Entry{}, map[string]string{}
	for _, rel := range rels {
		s := rel.s
		if rel.ready {
			summary.Switched = append(summary.Switched, s.label())
		} else {
			summary.Failed = append(summary.Failed, s.label())
			a.printLogs(s.Container)
		}
		if rel.ready || s.Strategy == stopThenStart {
			for _, r := range rel.routes {
				expected[r.id] = r.dial
			}
			continue
		}
		// A blue-green release that never passed: free its GPU, keep what serves now (if anything does).
		if err := a.docker.Remove(s.Container); err != nil {
			fmt.Fprintln(a.log, "gpu-switch apply:", err)
		} else {
			fmt.Fprintf(a.log, "gpu-switch apply: %s: removed %s\n", s.label(), s.Container)
		}
		kept := false
		for _, r := range rel.routes {
			if r.old == "" || r.old == r.dial {
				continue
			}
			e := keptEntry(plan, s, r)
			sets[r.id], expected[r.id] = &e, r.old
			kept = true
		}
		if kept {
			summary.Kept = append(summary.Kept, s.label())
		}
	}
	return summary, sets, expected
}

// drainOld waits until the old copies of the blue-green services that switched have no request in flight,
// each within its drainSeconds (version 1: sleeps the longest drainSeconds, as the older program expects).
func (a *agent) drainOld(plan *Plan, rels []*release) {
	longest, started := 0, time.Now()
	pending := map[*release]bool{}
	for _, rel := range rels {
		if rel.ready && rel.s.Strategy == blueGreen {
			longest = max(longest, rel.s.DrainSeconds)
			pending[rel] = true
		}
	}
	if plan.Version == 1 {
		fmt.Fprintf(a.log, "gpu-switch apply: draining %d s\n", longest)
		time.Sleep(time.Duration(longest) * time.Second)
		return
	}
	for len(pending) > 0 {
		table, err := a.caddy.Table()
		for rel := range pending {
			left := 0
			for _, r := range rel.routes {
				if r.old != "" && r.old != r.dial && err == nil {
					left += table[r.id].InflightDials[r.old]
				}
			}
			took := time.Since(started)
			if err == nil && left == 0 || took >= time.Duration(rel.s.DrainSeconds)*time.Second {
				fmt.Fprintf(a.log, "gpu-switch apply: %s: old copy drained: %d requests in flight on it after %.1f s (drainSeconds %d)\n",
					rel.s.label(), left, took.Seconds(), rel.s.DrainSeconds)
				delete(pending, rel)
			}
		}
		if len(pending) > 0 {
			time.Sleep(a.poll)
		}
	}
}
