// gpu-switch is the agent of the per-host switch (docs/design/blue-green-releases.md §4-6):
//
//	gpu-switch health             exit 0 when Caddy's admin API answers GET /config/ with 200, else 1
//	gpu-switch apply <plan.json>  wait for the plan's containers, route the healthy ones, drain, print a summary
//
// apply exits 0 when every service switched, 3 when one did not, 2 for a bad plan or arguments and 4 when Caddy
// did not take the config. It talks to Docker over /var/run/docker.sock and to Caddy at localhost:2019.
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
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
	admin, err := a.caddy.Admin()
	if err != nil {
		fmt.Fprintln(a.log, "gpu-switch apply: switch not reachable:", err)
		return exitNotLoaded
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
			dial, err := a.caddy.LiveDial(id)
			if err != nil {
				fmt.Fprintln(a.log, "gpu-switch apply: switch not reachable:", err)
				return exitNotLoaded
			}
			if dial != "" {
				dials[id] = dial
				kept = true
			}
		}
		if kept {
			summary.Kept = append(summary.Kept, s.Name)
		}
	}
	if err := a.caddy.Load(buildConfig(plan, admin, dials)); err != nil {
		fmt.Fprintln(a.log, "gpu-switch apply: the switch did not take the config:", err)
		return exitNotLoaded
	}
	fmt.Fprintf(a.log, "gpu-switch apply: config loaded; draining %d s\n", drain)
	time.Sleep(time.Duration(drain) * time.Second)
	line, _ := json.Marshal(summary)
	fmt.Fprintln(a.out, string(line))
	if len(summary.Failed) > 0 {
		return exitNotSwitched
	}
	return exitOK
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
