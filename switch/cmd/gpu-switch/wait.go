package main

import (
	"errors"
	"fmt"
	"sync"
	"time"
)

// minV1Wait bounds the switch's check of a version 1 release that Docker called healthy already: a TCP
// connection, which such a copy accepts at once.
const minV1Wait = 5 * time.Second

// waitReady waits for the armed releases, all at once, until the switch reports every route of a release on its
// new copy and ready, or the release's waitSeconds passed, or its container is gone.
func (a *agent) waitReady(plan *Plan, rels []*release) {
	started := time.Now()
	pending := map[*release]bool{}
	for _, rel := range rels {
		pending[rel] = rel.armed && rel.healthy
	}
	for {
		table, tableErr := a.caddy.Table()
		waiting := false
		for rel, open := range pending {
			if !open {
				continue
			}
			if pending[rel] = !a.doneWaiting(plan, rel, table, tableErr, time.Since(started)); pending[rel] {
				waiting = true
			}
		}
		if !waiting {
			return
		}
		time.Sleep(a.poll)
	}
}

// doneWaiting looks once at a release: ready, gone, or out of time (each said in the log); false: wait on.
func (a *agent) doneWaiting(plan *Plan, rel *release, table map[string]RouteState, tableErr error, took time.Duration) bool {
	s := rel.s
	state, why := "", ""
	if tableErr != nil {
		why = tableErr.Error()
	} else {
		rel.ready = true
		for _, r := range rel.routes {
			got, ok := table[r.id]
			if !ok || got.Dial != r.dial || got.State != stateReady {
				rel.ready = false
				state, why = describeRoute(r, got, ok)
			}
		}
	}
	if rel.ready {
		fmt.Fprintf(a.log, "gpu-switch apply: %s: %s is ready (the switch's readiness check passed, after %.1f s)\n", s.Name, s.Container, took.Seconds())
		return true
	}
	if _, err := a.docker.Inspect(s.Container); errors.Is(err, errNoSuchContainer) {
		// Only the engine creates the plan's containers, before the push runs: one that is gone was removed (by
		// this agent, after a release that never turned ready) and will not come back by waiting.
		fmt.Fprintf(a.log, "gpu-switch apply: %s: %s is gone (removed after a failed release?), not waited for\n", s.Name, s.Container)
		rel.gone = true
		return true
	}
	bound := time.Duration(s.WaitSeconds) * time.Second
	if plan.Version == 1 {
		bound = max(bound, minV1Wait)
	}
	if took < bound {
		return false
	}
	fmt.Fprintf(a.log, "gpu-switch apply: %s: %s not ready after %d s (%s: %s)\n", s.Name, s.Container, int(bound.Seconds()), state, why)
	return true
}

// describeRoute says where a route stands, for the log of a release that did not turn ready.
func describeRoute(r routeRelease, got RouteState, ok bool) (string, string) {
	switch {
	case !ok:
		return "not in the switch's table", ""
	case got.Next != nil && *got.Next == r.dial:
		return fmt.Sprintf("%s: %s, next %s not ready yet", r.id, got.State, r.dial), got.LastFailure
	case got.Dial != r.dial:
		return fmt.Sprintf("%s: serves %s, not %s", r.id, got.Dial, r.dial), got.LastFailure
	default:
		return fmt.Sprintf("%s: %s", r.id, got.State), got.LastFailure
	}
}

// waitHealthy waits for every release's container at once, as Docker reports its health (dockerGated).
func (a *agent) waitHealthy(rels []*release) {
	var wg sync.WaitGroup
	for _, rel := range rels {
		wg.Go(func() { rel.healthy, rel.gone = a.waitHealth(rel.s) })
	}
	wg.Wait()
}

// waitHealth polls the container until it is healthy, for up to waitSeconds (0: one look, no waiting).
func (a *agent) waitHealth(s Service) (healthy, gone bool) {
	until := time.Now().Add(time.Duration(s.WaitSeconds) * time.Second)
	for {
		state, err := a.docker.Inspect(s.Container)
		if err == nil && state.ready() {
			fmt.Fprintf(a.log, "gpu-switch apply: %s: %s is ready (%s)\n", s.Name, s.Container, state)
			return true, false
		}
		if errors.Is(err, errNoSuchContainer) {
			fmt.Fprintf(a.log, "gpu-switch apply: %s: %s is gone (removed after a failed release?), not waited for\n", s.Name, s.Container)
			return false, true
		}
		if time.Now().After(until) {
			what := fmt.Sprint(err)
			if err == nil {
				what = state.String()
			}
			fmt.Fprintf(a.log, "gpu-switch apply: %s: %s not ready after %d s (%s)\n", s.Name, s.Container, s.WaitSeconds, what)
			return false, false
		}
		time.Sleep(a.poll)
	}
}
