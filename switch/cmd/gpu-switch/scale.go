package main

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// drainRemovedCopies drains the routes of the copies a full plan no longer names (a scale-down) before route
// removes them: the switch sends them no new request at once, and answers once their requests in flight are
// done or the drainSeconds of their service's copy 0 passed. A pool whose copy 0 is gone too (the service was
// removed) is left to route, which removes its routes as those of any service that is gone.
func (a *agent) drainRemovedCopies(plan *Plan) {
	heads, named := map[string]Service{}, map[string]bool{}
	for _, s := range plan.Services {
		for _, p := range s.Ports {
			named[s.routeOn(p.Listen)] = true
			if s.Copy == 0 {
				heads[s.routeOn(p.Listen)] = s
			}
		}
	}
	table, err := a.caddy.Table()
	if err != nil {
		fmt.Fprintln(a.log, "gpu-switch apply: the switch's route table is not readable, no copy drained:", err)
		return
	}
	gone := map[string][]string{}
	for id, r := range table {
		if _, ok := heads[r.Pool]; ok && !named[id] {
			gone[heads[r.Pool].Name] = append(gone[heads[r.Pool].Name], id)
		}
	}
	var wg sync.WaitGroup
	for _, s := range heads {
		routes := gone[s.Name]
		if len(routes) == 0 {
			continue
		}
		delete(gone, s.Name) // a service with several ports: once
		sort.Strings(routes)
		wg.Go(func() {
			answer, err := a.caddy.Drain(routes, s.DrainSeconds, s.DrainSeconds+60)
			if err != nil {
				fmt.Fprintf(a.log, "gpu-switch apply: %s: the copies no longer in the plan were not drained: %v\n", s.Name, err)
				return
			}
			left := 0
			for _, r := range answer.Routes {
				left += r.Inflight
			}
			fmt.Fprintf(a.log, "gpu-switch apply: %s: copies no longer in the plan drained (%s): %d requests in flight left after %.1f s (drainSeconds %d); removing them\n",
				s.Name, strings.Join(routes, ", "), left, float64(answer.WaitedMs)/1000, s.DrainSeconds)
		})
	}
	wg.Wait()
}

// routePartial settles a partial plan's routes only: `sets` (failed blue-green routes back on their old dial),
// then the removal of the plan's routes that serve nothing (a first release that never passed), then the check
// that each of the plan's routes is on its dial in `expected`. Other routes and the config are left alone.
func (a *agent) routePartial(rels []*release, sets map[string]*Entry, expected map[string]string) int {
	failed := func(what string, err error) int {
		fmt.Fprintf(a.log, "gpu-switch apply: %s: %v\n", what, err)
		return exitNotLoaded
	}
	if code := a.setRoutes(sets); code != exitOK {
		return code
	}
	table, err := a.caddy.Table()
	if err != nil {
		return failed("the switch's route table is not readable", err)
	}
	named := map[string]bool{}
	for _, rel := range rels {
		for _, r := range rel.routes {
			named[r.id] = true
		}
	}
	removals := map[string]*Entry{}
	for id := range named {
		if _, want := expected[id]; !want && table[id].State != "" {
			removals[id] = nil
		}
	}
	if len(removals) > 0 {
		if table, err = a.caddy.SetRoutes(removals); err != nil {
			return failed("the switch did not take the route table", err)
		}
	}
	got := map[string]string{}
	for id, dial := range dialsOf(table) {
		if named[id] {
			got[id] = dial
		}
	}
	if !sameDials(got, expected) {
		return failed("the switch's route table is not what was set", fmt.Errorf("its routes of the plan are %s, want %s", describe(got), describe(expected)))
	}
	fmt.Fprintf(a.log, "gpu-switch apply: partial plan: routes set (%d removed), config and other routes left alone: %s\n", len(removals), describe(expected))
	return exitOK
}
