package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"time"
)

// Plan is /push/plan.json, version 1, as the program writes it (switch/switchPush.ts): the program and this agent
// are released apart, so a field changes only with the version.
type Plan struct {
	Version  int       `json:"version"`
	Stack    string    `json:"stack"`
	Switch   Switch    `json:"switch"`
	Services []Service `json:"services"`
}

// Switch holds what every route of the switch shares.
type Switch struct {
	// HoldSeconds: how long Caddy holds and retries a request while the upstream is away (0 = off).
	HoldSeconds int `json:"holdSeconds"`
	// StreamCloseDelay: a Go duration; how long upgraded streams outlive a reload.
	StreamCloseDelay string `json:"streamCloseDelay"`
	// TLSHost: the host's address, the subject of the internal certificate of https listeners.
	TLSHost string `json:"tlsHost"`
}

// Service is one service on this host and the container of its new release.
type Service struct {
	Name         string `json:"name"`
	Container    string `json:"container"`
	Strategy     string `json:"strategy"`
	WaitSeconds  int    `json:"waitSeconds"`
	DrainSeconds int    `json:"drainSeconds"`
	Scheme       string `json:"scheme"`
	Ports        []Port `json:"ports"`
}

// Port maps a host port the switch listens on to the container's port.
type Port struct {
	Listen int `json:"listen"`
	Target int `json:"target"`
}

const (
	blueGreen     = "blue-green"
	stopThenStart = "stop-then-start"
)

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`)

// readPlan reads and checks a plan file; every problem is reported at once.
func readPlan(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var plan Plan
	if err := dec.Decode(&plan); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if problems := plan.check(); len(problems) > 0 {
		msg := path + ":"
		for _, p := range problems {
			msg += "\n  - " + p
		}
		return nil, fmt.Errorf("%s", msg)
	}
	return &plan, nil
}

func (p *Plan) check() []string {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if p.Version != 1 {
		bad("version: %d, only 1 is understood", p.Version)
	}
	if p.Switch.HoldSeconds < 0 || p.Switch.HoldSeconds > 600 {
		bad("switch.holdSeconds: %d, allowed 0..600", p.Switch.HoldSeconds)
	}
	if _, err := time.ParseDuration(p.Switch.StreamCloseDelay); err != nil {
		bad("switch.streamCloseDelay: %q is not a Go duration", p.Switch.StreamCloseDelay)
	}
	listens := map[int]string{}
	for i, s := range p.Services {
		at := fmt.Sprintf("services[%d]", i)
		if !nameRE.MatchString(s.Name) {
			bad("%s.name: %q is not a service name", at, s.Name)
		}
		if !nameRE.MatchString(s.Container) {
			bad("%s.container: %q is not a container name", at, s.Container)
		}
		if s.Strategy != blueGreen && s.Strategy != stopThenStart {
			bad("%s.strategy: %q, allowed %q or %q", at, s.Strategy, blueGreen, stopThenStart)
		}
		if s.WaitSeconds < 0 {
			bad("%s.waitSeconds: %d, must be 0 or more", at, s.WaitSeconds)
		}
		if s.DrainSeconds < 0 || s.DrainSeconds > 3600 {
			bad("%s.drainSeconds: %d, allowed 0..3600", at, s.DrainSeconds)
		}
		if s.Scheme != "http" && s.Scheme != "https" {
			bad("%s.scheme: %q, allowed \"http\" or \"https\"", at, s.Scheme)
		}
		if s.Scheme == "https" && p.Switch.TLSHost == "" {
			bad("%s.scheme: https needs switch.tlsHost", at)
		}
		if len(s.Ports) == 0 {
			bad("%s.ports: empty", at)
		}
		for j, port := range s.Ports {
			if port.Listen < 1 || port.Listen > 65535 || port.Target < 1 || port.Target > 65535 {
				bad("%s.ports[%d]: listen %d, target %d; ports are 1..65535", at, j, port.Listen, port.Target)
			}
			if other, taken := listens[port.Listen]; taken {
				bad("%s.ports[%d].listen: %d is also %s's", at, j, port.Listen, other)
			}
			listens[port.Listen] = s.Name
		}
	}
	return problems
}
