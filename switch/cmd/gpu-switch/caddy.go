package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"time"
)

// Caddy is a client of Caddy's admin API.
type Caddy struct {
	base string // e.g. http://localhost:2019
	http *http.Client
}

func newCaddy(base string) *Caddy {
	return &Caddy{base: base, http: &http.Client{Timeout: 60 * time.Second}}
}

func (c *Caddy) do(method, path string, body []byte) ([]byte, int, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return out, resp.StatusCode, err
}

// Config returns the live config (`null` for none).
func (c *Caddy) Config() ([]byte, error) {
	body, code, err := c.do("GET", "/config/", nil)
	if err != nil {
		return nil, err
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /config/: %d %s", code, bytes.TrimSpace(body))
	}
	return body, nil
}

// liveConfig is what the agent reads of the live config: its bytes, its admin block (kept as it is) and how
// each route gets its upstream.
type liveConfig struct {
	raw    []byte
	admin  json.RawMessage
	routes map[string]liveRoute
}

// liveRoute: a route that asks the route table (dynamic), or one with a static dial (a config of an agent from
// before the route table).
type liveRoute struct {
	dynamic bool
	dial    string
}

// Live reads the live config.
func (c *Caddy) Live() (*liveConfig, error) {
	body, err := c.Config()
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Admin json.RawMessage `json:"admin"`
		Apps  struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []route `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(body, &cfg); err != nil {
		return nil, fmt.Errorf("GET /config/: %v", err)
	}
	live := &liveConfig{raw: body, admin: cfg.Admin, routes: map[string]liveRoute{}}
	for _, server := range cfg.Apps.HTTP.Servers {
		for _, r := range server.Routes {
			if r.ID == "" || len(r.Handle) == 0 {
				continue
			}
			h := r.Handle[len(r.Handle)-1] // reverse_proxy, after the hold
			switch {
			case h.DynamicUpstreams != nil && h.DynamicUpstreams.Source == "gpu_switch" && h.DynamicUpstreams.Route == r.ID:
				live.routes[r.ID] = liveRoute{dynamic: true}
			case len(h.Upstreams) > 0:
				live.routes[r.ID] = liveRoute{dial: h.Upstreams[0].Dial}
			}
		}
	}
	return live, nil
}

// RouteState is a route as GET /gpu-switch/upstreams answers it (switch/gpuswitch RouteView; the part the agent
// reads).
type RouteState struct {
	Dial          string         `json:"dial"`
	Next          *string        `json:"next"`
	State         string         `json:"state"`
	Release       string         `json:"release"`
	Pool          string         `json:"pool"`
	Requests      map[string]int `json:"requests"`
	InFlight      int            `json:"inflight"`
	InflightDials map[string]int `json:"inflightDials"`
	Holding       int            `json:"holding"`
	Held          uint64         `json:"held"`
	Shed          uint64         `json:"shed"`
	Replayed      uint64         `json:"replayed"`
	LastFailure   string         `json:"lastFailure"`
	Readiness     Readiness      `json:"readiness"`
	Hold          Hold           `json:"hold"`
}

const stateReady = "ready"

// Entry is a route as the agent sets it (POST /gpu-switch/upstreams): the copy that serves, the copy that
// replaces it once ready, the release the route moves to, its readiness check and its hold.
type Entry struct {
	Dial      string    `json:"dial"`
	Next      string    `json:"next,omitempty"`
	Release   string    `json:"release"`
	Readiness Readiness `json:"readiness"`
	Hold      Hold      `json:"hold"`
	// Pool: the route whose requests this copy's route also serves (copy 0's), for a copy i >= 1.
	Pool string `json:"pool,omitempty"`
}

// decodeTable reads the body of GET and POST /gpu-switch/upstreams; a switch without readiness answers plain
// dials, which this agent cannot drive.
func decodeTable(what string, body []byte) (map[string]RouteState, error) {
	var t struct {
		Routes map[string]json.RawMessage `json:"routes"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.Routes == nil {
		return nil, fmt.Errorf("%s: not a route table: %s", what, bytes.TrimSpace(body))
	}
	routes := map[string]RouteState{}
	for id, raw := range t.Routes {
		var r RouteState
		if err := json.Unmarshal(raw, &r); err != nil || r.State == "" {
			return nil, fmt.Errorf("%s: route %s is %s, not a route with a state: this switch's caddy has no readiness (an older switch image?)", what, id, raw)
		}
		routes[id] = r
	}
	return routes, nil
}

// Upstreams returns the body of GET /gpu-switch/upstreams.
func (c *Caddy) Upstreams() ([]byte, error) {
	body, code, err := c.do("GET", "/gpu-switch/upstreams", nil)
	if err != nil {
		return nil, err
	}
	if code == http.StatusNotFound {
		return nil, fmt.Errorf("GET /gpu-switch/upstreams: 404: this switch's caddy has no route table (an older switch image?)")
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("GET /gpu-switch/upstreams: %d %s", code, bytes.TrimSpace(body))
	}
	return body, nil
}

// Table returns the switch's route table.
func (c *Caddy) Table() (map[string]RouteState, error) {
	body, err := c.Upstreams()
	if err != nil {
		return nil, err
	}
	return decodeTable("GET /gpu-switch/upstreams", body)
}

// SetRoutes changes the route table in one request, all or nothing: an entry sets a route, nil removes it. It
// returns the whole table as the switch answers it afterwards.
func (c *Caddy) SetRoutes(changes map[string]*Entry) (map[string]RouteState, error) {
	sent, err := json.Marshal(map[string]any{"routes": changes})
	if err != nil {
		return nil, err
	}
	body, code, err := c.do("POST", "/gpu-switch/upstreams", sent)
	if err != nil {
		return nil, fmt.Errorf("POST /gpu-switch/upstreams: %v", err)
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("POST /gpu-switch/upstreams: %d %s", code, bytes.TrimSpace(body))
	}
	return decodeTable("POST /gpu-switch/upstreams", body)
}

// DrainAnswer is what POST /gpu-switch/drain answers (switch/gpuswitch drainAnswer).
type DrainAnswer struct {
	Routes map[string]struct {
		InflightBefore int `json:"inflightBefore"`
		Inflight       int `json:"inflight"`
	} `json:"routes"`
	Unknown  []string `json:"unknown"`
	WaitedMs int64    `json:"waitedMs"`
	TimedOut bool     `json:"timedOut"`
}

// Drain drains routes: the switch holds their new requests and answers once their requests in flight are done
// (or timeoutSeconds passed); they stay drained for drainedSeconds unless a push sets them.
func (c *Caddy) Drain(routes []string, timeoutSeconds, drainedSeconds int) (*DrainAnswer, error) {
	sent, _ := json.Marshal(map[string]any{"routes": routes, "timeoutSeconds": timeoutSeconds, "drainedSeconds": drainedSeconds})
	// The switch answers after up to timeoutSeconds.
	long := &Caddy{base: c.base, http: &http.Client{Timeout: time.Duration(timeoutSeconds+30) * time.Second}}
	body, code, err := long.do("POST", "/gpu-switch/drain", sent)
	if err != nil {
		return nil, fmt.Errorf("POST /gpu-switch/drain: %v", err)
	}
	if code != http.StatusOK {
		return nil, fmt.Errorf("POST /gpu-switch/drain: %d %s", code, bytes.TrimSpace(body))
	}
	var answer DrainAnswer
	if err := json.Unmarshal(body, &answer); err != nil || answer.Routes == nil {
		return nil, fmt.Errorf("POST /gpu-switch/drain: not a drain answer: %s", bytes.TrimSpace(body))
	}
	return &answer, nil
}

// Load posts the config to /load (atomic: Caddy keeps the old one if the new one fails), then checks that
// GET /config/ answers what was sent.
func (c *Caddy) Load(cfg caddyConfig) error {
	sent, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	body, code, err := c.do("POST", "/load", sent)
	if err != nil {
		return fmt.Errorf("POST /load: %v", err)
	}
	if code != http.StatusOK {
		return fmt.Errorf("POST /load: %d %s", code, bytes.TrimSpace(body))
	}
	live, err := c.Config()
	if err != nil {
		return err
	}
	if !sameJSON(sent, live) {
		return fmt.Errorf("GET /config/ does not answer the config sent:\nsent %s\nlive %s", sent, bytes.TrimSpace(live))
	}
	return nil
}

func sameJSON(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
