package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Plan is /push/plan.json as the program writes it (switch/switchPush.ts; the program and this agent are released
// apart, so a field changes only with the version): version 2 (per service readiness and hold, release key), or
// version 1 (an older program: a Docker health wait, one switch-wide hold).
type Plan struct {
	Version int    `json:"version"`
	Stack   string `json:"stack"`
	Switch  Switch `json:"switch"`
	// Partial (version 2): the plan names only some routes of the host (one copy of a service released on its
	// own): apply sets, waits for and settles those, and leaves the config and every other route alone.
	Partial  bool      `json:"partial,omitempty"`
	Services []Service `json:"services"`
}

// Switch holds what every route of the switch shares.
type Switch struct {
	// HoldSeconds (version 1 only): how long the switch holds a request while the upstream is away (0 = off).
	HoldSeconds *int `json:"holdSeconds,omitempty"`
	// StreamCloseDelay: a Go duration; how long upgraded streams outlive a reload.
	StreamCloseDelay string `json:"streamCloseDelay"`
	// TLSHost: the host's address, the subject of the internal certificate of https listeners.
	TLSHost string `json:"tlsHost"`
}

// Service is one service on this host and the container of its new release.
type Service struct {
	Name string `json:"name"`
	// Copy (version 2) is the index of the copy the container runs: 0, the service's first copy, owns its routes
	// and listeners; a copy i >= 1 has routes of its own that serve copy 0's requests (its pool).
	Copy      int    `json:"copy,omitempty"`
	Container string `json:"container"`
	// Release (version 2) names the release the container runs.
	Release      string `json:"release,omitempty"`
	Strategy     string `json:"strategy"`
	WaitSeconds  int    `json:"waitSeconds"`
	DrainSeconds int    `json:"drainSeconds"`
	Scheme       string `json:"scheme"`
	Ports        []Port `json:"ports"`
	// Readiness and Hold (version 2) go to the switch's route table with each of the service's routes.
	Readiness *Readiness `json:"readiness,omitempty"`
	Hold      *Hold      `json:"hold,omitempty"`
}

// Port maps a host port the switch listens on to the container's port.
type Port struct {
	Listen int `json:"listen"`
	Target int `json:"target"`
}

// Readiness is a service's readiness check, as the switch's table takes it (switch/gpuswitch Readiness).
type Readiness struct {
	Kind         string            `json:"kind"`
	Port         int               `json:"port"`
	Scheme       string            `json:"scheme,omitempty"`
	Method       string            `json:"method,omitempty"`
	Path         string            `json:"path,omitempty"`
	Headers      map[string]string `json:"headers,omitempty"`
	BodyBase64   string            `json:"bodyBase64,omitempty"`
	ExpectStatus []int             `json:"expectStatus,omitempty"`
	TimeoutMs    int               `json:"timeoutMs"`
	IntervalMs   int               `json:"intervalMs"`
	Passes       int               `json:"passes"`
}

// Hold bounds the hold of a service's requests (switch/gpuswitch HoldBudget).
type Hold struct {
	Seconds         int  `json:"seconds"`
	Queue           int  `json:"queue"`
	Replay          bool `json:"replay"`
	ExpectedSeconds int  `json:"expectedSeconds"`
}

const (
	blueGreen     = "blue-green"
	stopThenStart = "stop-then-start"
)

var (
	nameRE  = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)
	methods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true}
)

// readJSON reads a file into v, refusing unknown keys.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	return nil
}

// problemsError lists every problem of a file at once.
func problemsError(path string, problems []string) error {
	return fmt.Errorf("%s:\n  - %s", path, strings.Join(problems, "\n  - "))
}

// readPlan reads and checks a plan file; every problem is reported at once.
func readPlan(path string) (*Plan, error) {
	var plan Plan
	if err := readJSON(path, &plan); err != nil {
		return nil, err
	}
	if problems := plan.check(); len(problems) > 0 {
		return nil, problemsError(path, problems)
	}
	return &plan, nil
}

func (p *Plan) check() []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	switch p.Version {
	case 1:
		if p.Switch.HoldSeconds == nil || *p.Switch.HoldSeconds < 0 || *p.Switch.HoldSeconds > 600 {
			bad("switch.holdSeconds: %s, allowed 0..600", show(p.Switch.HoldSeconds))
		}
	case 2:
		if p.Switch.HoldSeconds != nil {
			bad("switch.holdSeconds: not in version 2 (each service has its hold)")
		}
	default:
		bad("version: %d, only 1 and 2 are understood", p.Version)
	}
	if _, err := time.ParseDuration(p.Switch.StreamCloseDelay); err != nil {
		bad("switch.streamCloseDelay: %q is not a Go duration", p.Switch.StreamCloseDelay)
	}
	if p.Version == 1 && p.Partial {
		bad("partial: a version 2 key")
	}
	listens := map[int]string{} // the copies of a service share its listen ports
	for i, s := range p.Services {
		at := fmt.Sprintf("services[%d]", i)
		problems = append(problems, s.check(at, p.Version, p.Switch.TLSHost)...)
		own := map[int]bool{}
		for j, port := range s.Ports {
			if other, taken := listens[port.Listen]; own[port.Listen] || taken && other != s.Name {
				bad("%s.ports[%d].listen: %d is also %s's", at, j, port.Listen, other)
			}
			listens[port.Listen], own[port.Listen] = s.Name, true
		}
	}
	return append(problems, p.checkCopies()...)
}

// maxCopy is the highest copy index: a service has at most 1000 copies.
const maxCopy = 999

// checkCopies: each copy of a service once; in a full plan, a service's copies beside copy 0 only with copy 0
// (their routes serve its listeners), on its listen ports.
func (p *Plan) checkCopies() []string {
	var problems []string
	first, seen := map[string]int{}, map[string]int{}
	for i, s := range p.Services {
		key := fmt.Sprintf("%s %d", s.Name, s.Copy)
		if j, dup := seen[key]; dup {
			problems = append(problems, fmt.Sprintf("services[%d].copy: copy %d of %s is also services[%d]", i, s.Copy, s.Name, j))
		}
		seen[key] = i
		if s.Copy == 0 {
			first[s.Name] = i
		}
	}
	for i, s := range p.Services {
		if s.Copy == 0 {
			continue
		}
		j, ok := first[s.Name]
		switch {
		case !ok && !p.Partial:
			problems = append(problems, fmt.Sprintf("services[%d]: copy %d of %s, and no copy 0 of %s in a full plan", i, s.Copy, s.Name, s.Name))
		case ok && listensOf(s) != listensOf(p.Services[j]):
			problems = append(problems, fmt.Sprintf("services[%d].ports: copy %d of %s listens on %s, its copy 0 (services[%d]) on %s",
				i, s.Copy, s.Name, listensOf(s), j, listensOf(p.Services[j])))
		}
	}
	return problems
}

// listensOf lists a service's listen ports, sorted.
func listensOf(s Service) string {
	ports := make([]int, len(s.Ports))
	for i, p := range s.Ports {
		ports[i] = p.Listen
	}
	sort.Ints(ports)
	return fmt.Sprint(ports)
}

func show(n *int) string {
	if n == nil {
		return "missing"
	}
	return fmt.Sprint(*n)
}

func (s Service) check(at string, version int, tlsHost string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, at+"."+fmt.Sprintf(format, args...)) }
	if !nameRE.MatchString(s.Name) {
		bad("name: %q is not a service name", s.Name)
	}
	if !nameRE.MatchString(s.Container) {
		bad("container: %q is not a container name", s.Container)
	}
	if s.Copy < 0 || s.Copy > maxCopy {
		bad("copy: %d, allowed 0..%d", s.Copy, maxCopy)
	}
	if s.Strategy != blueGreen && s.Strategy != stopThenStart {
		bad("strategy: %q, allowed %q or %q", s.Strategy, blueGreen, stopThenStart)
	}
	if s.WaitSeconds < 0 {
		bad("waitSeconds: %d, must be 0 or more", s.WaitSeconds)
	}
	if s.DrainSeconds < 0 || s.DrainSeconds > 3600 {
		bad("drainSeconds: %d, allowed 0..3600", s.DrainSeconds)
	}
	if s.Scheme != "http" && s.Scheme != "https" {
		bad("scheme: %q, allowed \"http\" or \"https\"", s.Scheme)
	}
	if s.Scheme == "https" && tlsHost == "" {
		bad("scheme: https needs switch.tlsHost")
	}
	if len(s.Ports) == 0 {
		bad("ports: empty")
	}
	for j, port := range s.Ports {
		if port.Listen < 1 || port.Listen > 65535 || port.Target < 1 || port.Target > 65535 {
			bad("ports[%d]: listen %d, target %d; ports are 1..65535", j, port.Listen, port.Target)
		}
	}
	if version == 1 {
		if s.Readiness != nil || s.Hold != nil || s.Release != "" || s.Copy != 0 {
			bad("readiness, hold, release and copy are version 2 keys")
		}
		return problems
	}
	if s.Release == "" {
		bad("release: empty")
	}
	if s.Readiness == nil {
		bad("readiness: missing")
	} else {
		problems = append(problems, s.Readiness.check(at+".readiness")...)
	}
	if h := s.Hold; h == nil {
		bad("hold: missing")
	} else if h.Seconds < 0 || h.Seconds > 3600 || h.Queue < 0 || h.Queue > 100000 || h.ExpectedSeconds < 0 || h.ExpectedSeconds > 3600 {
		bad("hold: seconds %d (0..3600), queue %d (0..100000), expectedSeconds %d (0..3600)", h.Seconds, h.Queue, h.ExpectedSeconds)
	}
	return problems
}

func (r *Readiness) check(at string) []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, at+"."+fmt.Sprintf(format, args...)) }
	if r.Kind != "http" && r.Kind != "tcp" {
		bad("kind: %q, allowed \"http\" or \"tcp\"", r.Kind)
	}
	if r.Port < 1 || r.Port > 65535 {
		bad("port: %d, allowed 1..65535", r.Port)
	}
	if r.TimeoutMs < 1 || r.IntervalMs < 10 || r.Passes < 1 || r.Passes > 100 {
		bad("timeoutMs %d (1 or more), intervalMs %d (10 or more), passes %d (1..100)", r.TimeoutMs, r.IntervalMs, r.Passes)
	}
	if r.Kind != "http" {
		return problems
	}
	if r.Scheme != "http" && r.Scheme != "https" {
		bad("scheme: %q, allowed \"http\" or \"https\"", r.Scheme)
	}
	if !methods[r.Method] {
		bad("method: %q, allowed GET, HEAD, POST or PUT", r.Method)
	}
	if !strings.HasPrefix(r.Path, "/") {
		bad("path: %q must start with /", r.Path)
	}
	if _, err := base64.StdEncoding.DecodeString(r.BodyBase64); err != nil {
		bad("bodyBase64: not base64")
	}
	return problems
}
