// gpu-switch is the agent of the per-host switch (docs/design/blue-green-releases.md §4-6, "As built" and
// "Readiness and the hold"):
//
//	gpu-switch health              exit 0 when Caddy's admin API answers GET /config/ with 200, else 1
//	gpu-switch apply <plan.json>   set the plan's routes in the switch's table, wait until the switch reports
//	                               each new copy ready (a blue-green copy promoted), drain, print a summary; a
//	                               partial plan touches only its own routes, a full one drains and removes the
//	                               routes of copies it no longer names
//	gpu-switch drain <drain.json>  before a stop-then-start: the switch holds the routes' new requests, and the
//	                               agent waits until their requests in flight are done
//	gpu-switch upstreams           print the switch's route table and its counters (GET /gpu-switch/upstreams)
//	gpu-switch metrics             print the routes' counters in Prometheus text format (GET /gpu-switch/metrics)
//	gpu-switch history [seconds]   print the counters the switch sampled over the last seconds (default 3600)
//
// apply exits 0 when every service switched, 3 when one did not, 2 for a bad plan or arguments and 4 when Caddy
// did not take the config or the route table. drain exits 0 when drained (or its time ran out), 2 for a bad
// file and 4 when the switch did not answer. The agent talks to Docker over /var/run/docker.sock and to Caddy at
// localhost:2019: the config (/load, only when routes, ports or TLS change) and the route table
// (/gpu-switch/upstreams and /gpu-switch/drain, our module in switch/gpuswitch), which moves a route without a
// reload.
package main

import (
	"fmt"
	"io"
	"os"
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
	case len(args) == 1 && args[0] == "upstreams":
		body, err := a.caddy.Upstreams()
		if err != nil {
			fmt.Fprintln(a.log, "gpu-switch upstreams:", err)
			return exitNotLoaded
		}
		a.out.Write(body)
		return exitOK
	case len(args) == 2 && args[0] == "drain":
		file, err := readDrainFile(args[1])
		if err != nil {
			fmt.Fprintln(a.log, "gpu-switch drain: bad file:", err)
			return exitUsage
		}
		return a.drain(file)
	case len(args) >= 1 && len(args) <= 2 && (args[0] == "metrics" || args[0] == "history"):
		return a.observe(args)
	default:
		fmt.Fprintln(a.log, "usage: gpu-switch health | gpu-switch apply <plan.json> | gpu-switch drain <drain.json> | gpu-switch upstreams"+
			" | gpu-switch metrics | gpu-switch history [seconds]")
		return exitUsage
	}
}

// Summary is the one JSON line apply prints: services routed to their new container, services whose new
// container did not turn ready in time, and (among those) the services that keep their previous upstream.
type Summary struct {
	Switched []string `json:"switched"`
	Failed   []string `json:"failed"`
	Kept     []string `json:"kept"`
}

func (a *agent) printLogs(container string) {
	logs, err := a.docker.Logs(container, logLines)
	if err != nil {
		fmt.Fprintln(a.log, "gpu-switch apply:", err)
		return
	}
	fmt.Fprintf(a.log, "--- last %d log lines of %s ---\n%s--- end of %s's logs ---\n", logLines, container, logs, container)
}
