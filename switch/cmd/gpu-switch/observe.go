package main

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
)

// observe prints what the switch's admin endpoint answers for `gpu-switch metrics` (GET /gpu-switch/metrics:
// Prometheus text) and `gpu-switch history [seconds]` (GET /gpu-switch/history: the counters sampled over the
// last seconds, default 3600, 0 for all that is kept). The CLI runs them with `docker exec` (the switch image has
// no shell and no curl): exit 0, 2 for bad arguments, 4 when the switch did not answer.
func (a *agent) observe(args []string) int {
	path := "/gpu-switch/metrics"
	if args[0] == "history" {
		seconds := "3600"
		if len(args) == 2 {
			if n, err := strconv.Atoi(args[1]); err != nil || n < 0 {
				fmt.Fprintf(a.log, "gpu-switch history: %q is not a whole number of seconds\n", args[1])
				return exitUsage
			}
			seconds = args[1]
		}
		path = "/gpu-switch/history?seconds=" + seconds
	} else if len(args) != 1 {
		fmt.Fprintln(a.log, "usage: gpu-switch metrics")
		return exitUsage
	}
	body, code, err := a.caddy.do("GET", path, nil)
	if err == nil && code != http.StatusOK {
		err = fmt.Errorf("GET %s: %d %s", path, code, bytes.TrimSpace(body))
		if code == http.StatusNotFound {
			err = fmt.Errorf("GET %s: 404: this switch's caddy keeps no metrics (an older switch image?)", path)
		}
	}
	if err != nil {
		fmt.Fprintf(a.log, "gpu-switch %s: %v\n", args[0], err)
		return exitNotLoaded
	}
	a.out.Write(body)
	return exitOK
}
