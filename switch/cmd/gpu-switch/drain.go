package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"
)

// DrainFile is /push/drain.json, the upload of a stop-then-start service's drain container, which runs before
// the engine stops the old container (the program writes it).
type DrainFile struct {
	Version  int            `json:"version"`
	Stack    string         `json:"stack"`
	Services []DrainService `json:"services"`
}

// DrainService is one service whose routes are drained.
type DrainService struct {
	Name string `json:"name"`
	// Copy is the copy whose routes are drained: 0, the service's own routes, or i, its routes `<name>-<port>.<i>`.
	Copy int `json:"copy,omitempty"`
	// Release is the release about to be deployed (it makes the drain run again for each new release).
	Release string `json:"release"`
	// DrainSeconds bounds the wait for the requests in flight.
	DrainSeconds int `json:"drainSeconds"`
	// DrainedSeconds: how long the routes stay drained (held, not checked) unless a push sets them again.
	DrainedSeconds int `json:"drainedSeconds"`
	// Ports are the switch's listen ports of the service: its routes are `<name>-<port>` (copy 0) or
	// `<name>-<port>.<copy>`.
	Ports []int `json:"ports"`
}

// readDrainFile reads and checks a drain file; every problem is reported at once.
func readDrainFile(path string) (*DrainFile, error) {
	var f DrainFile
	if err := readJSON(path, &f); err != nil {
		return nil, err
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if f.Version != 1 {
		bad("version: %d, only 1 is understood", f.Version)
	}
	for i, s := range f.Services {
		at := fmt.Sprintf("services[%d]", i)
		if !nameRE.MatchString(s.Name) {
			bad("%s.name: %q is not a service name", at, s.Name)
		}
		if s.Copy < 0 || s.Copy > maxCopy {
			bad("%s.copy: %d, allowed 0..%d", at, s.Copy, maxCopy)
		}
		if s.DrainSeconds < 0 || s.DrainSeconds > 3600 || s.DrainedSeconds < 0 || s.DrainedSeconds > 86400 {
			bad("%s: drainSeconds %d (0..3600), drainedSeconds %d (0..86400)", at, s.DrainSeconds, s.DrainedSeconds)
		}
		if len(s.Ports) == 0 {
			bad("%s.ports: empty", at)
		}
		for j, p := range s.Ports {
			if p < 1 || p > 65535 {
				bad("%s.ports[%d]: %d, ports are 1..65535", at, j, p)
			}
		}
	}
	if len(problems) > 0 {
		return nil, problemsError(path, problems)
	}
	return &f, nil
}

// DrainSummary is the one JSON line drain prints: per route, the requests in flight when it was drained and
// those left when the drain ended; the routes the switch does not have (a first deploy: nothing to drain); the
// routes that already serve the release listed (not drained: this up does not replace their container).
type DrainSummary struct {
	Routes    map[string]DrainCounts `json:"routes"`
	Unknown   []string               `json:"unknown"`
	Unchanged []string               `json:"unchanged"`
}

// DrainCounts are one route's requests in flight, when drained and at the end.
type DrainCounts struct {
	InflightBefore int `json:"inflightBefore"`
	Inflight       int `json:"inflight"`
}

// drain drains every service's routes at once, each within its drainSeconds. The file lists every stop-then-start
// service of the host (it runs again when any of them gets a new release); a route that already serves the
// release listed is left alone, since its container is not replaced and nothing would re-arm it but the push.
func (a *agent) drain(f *DrainFile) int {
	table, err := a.caddy.Table()
	if err != nil {
		fmt.Fprintf(a.log, "gpu-switch drain: the switch did not answer: %v\n", err)
		return exitNotLoaded
	}
	summary := DrainSummary{Routes: map[string]DrainCounts{}, Unknown: []string{}, Unchanged: []string{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	code := exitOK
	for _, s := range f.Services {
		var routes []string
		for _, p := range s.Ports {
			id := copyRouteID(s.Name, p, s.Copy)
			if r, ok := table[id]; ok && r.Release == s.Release {
				fmt.Fprintf(a.log, "gpu-switch drain: %s: serves release %s already: not drained\n", id, s.Release)
				summary.Unchanged = append(summary.Unchanged, id)
				continue
			}
			routes = append(routes, id)
		}
		if len(routes) == 0 {
			continue
		}
		wg.Go(func() {
			answer, err := a.caddy.Drain(routes, s.DrainSeconds, s.DrainedSeconds)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				fmt.Fprintf(a.log, "gpu-switch drain: %s: the switch did not answer: %v\n", copyLabel(s.Name, s.Copy), err)
				code = exitNotLoaded
				return
			}
			a.reportDrain(s, answer, &summary)
		})
	}
	wg.Wait()
	sort.Strings(summary.Unknown)
	sort.Strings(summary.Unchanged)
	line, _ := json.Marshal(summary)
	fmt.Fprintln(a.out, string(line))
	return code
}

func (a *agent) reportDrain(s DrainService, answer *DrainAnswer, summary *DrainSummary) {
	for _, id := range answer.Unknown {
		fmt.Fprintf(a.log, "gpu-switch drain: %s: not in the switch's table (a first deploy?): nothing to drain\n", id)
		summary.Unknown = append(summary.Unknown, id)
	}
	for id, r := range answer.Routes {
		how := "none left"
		if answer.TimedOut {
			how = fmt.Sprintf("%d still in flight when drainSeconds (%d) ran out", r.Inflight, s.DrainSeconds)
		}
		fmt.Fprintf(a.log, "gpu-switch drain: %s: drained for release %s: %d requests in flight at the start, %s, after %.1f s; new requests are held\n",
			id, s.Release, r.InflightBefore, how, float64(answer.WaitedMs)/1000)
		summary.Routes[id] = DrainCounts{InflightBefore: r.InflightBefore, Inflight: r.Inflight}
	}
}
