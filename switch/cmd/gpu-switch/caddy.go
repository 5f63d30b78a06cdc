package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"time"
)

// The Caddy JSON config the agent loads (field names as Caddy v2.11.9 reads them: modules/caddyhttp,
// modules/caddyhttp/reverseproxy, modules/caddytls, modules/caddypki). Each route's upstream is the dynamic
// source gpu_switch (switch/gpuswitch, compiled into our caddy): the route's dial is in the switch's route
// table, not in the config, so a release changes the table and the config stays the same.
type caddyConfig struct {
	Admin json.RawMessage `json:"admin,omitempty"`
	Apps  caddyApps       `json:"apps"`
}

type caddyApps struct {
	HTTP httpApp `json:"http"`
	TLS  *tlsApp `json:"tls,omitempty"`
	PKI  *pkiApp `json:"pki,omitempty"`
}

type httpApp struct {
	Servers map[string]httpServer `json:"servers"`
}

type httpServer struct {
	Listen                []string         `json:"listen"`
	Routes                []route          `json:"routes"`
	TLSConnectionPolicies []connPolicy     `json:"tls_connection_policies,omitempty"`
	AutomaticHTTPS        automaticHTTPSCf `json:"automatic_https"`
}

// automaticHTTPSCf: off; TLS is asked for explicitly, and no port 80 is needed.
type automaticHTTPSCf struct {
	Disable bool `json:"disable"`
}

// connPolicy: clients that dial an IP send no SNI, and inside the switch container the local address is not the
// host's, so the certificate of tlsHost is the default one.
type connPolicy struct {
	DefaultSNI string `json:"default_sni,omitempty"`
}

type route struct {
	ID       string         `json:"@id"`
	Handle   []reverseProxy `json:"handle"`
	Terminal bool           `json:"terminal"`
}

type reverseProxy struct {
	Handler string `json:"handler"`
	// Upstreams: static upstreams, as the agent wrote them before the route table (read from a live config).
	Upstreams        []upstream     `json:"upstreams,omitempty"`
	DynamicUpstreams *dynamicSource `json:"dynamic_upstreams,omitempty"`
	LoadBalancing    *loadBalancing `json:"load_balancing,omitempty"`
	StreamCloseDelay string         `json:"stream_close_delay,omitempty"`
	Transport        *transport     `json:"transport,omitempty"`
}

type upstream struct {
	Dial string `json:"dial"`
}

// dynamicSource is `{"source":"gpu_switch","route":"<id>"}`: the route's dial, from the route table.
type dynamicSource struct {
	Source string `json:"source"`
	Route  string `json:"route"`
}

type loadBalancing struct {
	TryDuration string `json:"try_duration"`
	TryInterval string `json:"try_interval"`
}

type transport struct {
	Protocol string       `json:"protocol"`
	TLS      transportTLS `json:"tls"`
}

type transportTLS struct {
	InsecureSkipVerify bool `json:"insecure_skip_verify"`
}

type tlsApp struct {
	Certificates map[string][]string `json:"certificates"`
	Automation   automation          `json:"automation"`
}

type automation struct {
	Policies []automationPolicy `json:"policies"`
}

type automationPolicy struct {
	Subjects []string          `json:"subjects"`
	Issuers  []json.RawMessage `json:"issuers"`
}

// pkiApp: the internal CA is not installed into a trust store (there is none in a FROM scratch image).
type pkiApp struct {
	CertificateAuthorities map[string]map[string]bool `json:"certificate_authorities"`
}

// routeID names a service's route on one port: `<service>-<listen>`.
func routeID(service string, listen int) string { return service + "-" + strconv.Itoa(listen) }

// buildConfig makes the whole config: one server per listen port, whose route takes its upstream from the route
// table entry of its id. A route whose id has no dial in `dials` is left out, with its listener (a server
// without routes would answer 200 to everything); the dials themselves are not in the config.
func buildConfig(plan *Plan, admin json.RawMessage, dials map[string]string) caddyConfig {
	cfg := caddyConfig{Admin: admin, Apps: caddyApps{HTTP: httpApp{Servers: map[string]httpServer{}}}}
	https := false
	for _, s := range plan.Services {
		for _, p := range s.Ports {
			id := routeID(s.Name, p.Listen)
			if _, ok := dials[id]; !ok {
				continue
			}
			proxy := reverseProxy{Handler: "reverse_proxy", DynamicUpstreams: &dynamicSource{Source: "gpu_switch", Route: id}}
			if plan.Switch.HoldSeconds > 0 {
				proxy.LoadBalancing = &loadBalancing{
					TryDuration: fmt.Sprintf("%ds", plan.Switch.HoldSeconds),
					TryInterval: "250ms",
				}
			}
			proxy.StreamCloseDelay = plan.Switch.StreamCloseDelay
			if s.Scheme == "https" {
				proxy.Transport = &transport{Protocol: "http", TLS: transportTLS{InsecureSkipVerify: true}}
			}
			server := httpServer{
				Listen:         []string{":" + strconv.Itoa(p.Listen)},
				Routes:         []route{{ID: id, Handle: []reverseProxy{proxy}, Terminal: true}},
				AutomaticHTTPS: automaticHTTPSCf{Disable: true},
			}
			if s.Scheme == "https" {
				https = true
				server.TLSConnectionPolicies = []connPolicy{{DefaultSNI: plan.Switch.TLSHost}}
			}
			cfg.Apps.HTTP.Servers[id] = server
		}
	}
	if https {
		cfg.Apps.TLS = &tlsApp{
			Certificates: map[string][]string{"automate": {plan.Switch.TLSHost}},
			Automation: automation{Policies: []automationPolicy{{
				Subjects: []string{plan.Switch.TLSHost},
				Issuers:  []json.RawMessage{json.RawMessage(`{"module":"internal"}`)},
			}}},
		}
		cfg.Apps.PKI = &pkiApp{CertificateAuthorities: map[string]map[string]bool{"local": {"install_trust": false}}}
	}
	return cfg
}

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
			h := r.Handle[0]
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

// routeTable is the body of GET and POST /gpu-switch/upstreams (admin.api.gpu_switch, switch/gpuswitch).
type routeTable struct {
	Routes map[string]string `json:"routes"`
}

// Table returns the switch's route table: route id -> dial.
func (c *Caddy) Table() (map[string]string, error) {
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
	var t routeTable
	if err := json.Unmarshal(body, &t); err != nil || t.Routes == nil {
		return nil, fmt.Errorf("GET /gpu-switch/upstreams: not a route table: %s", bytes.TrimSpace(body))
	}
	return t.Routes, nil
}

// SetRoutes changes the route table in one request, all or nothing: a dial sets a route, nil removes it. It
// returns the whole table as the switch answers it afterwards.
func (c *Caddy) SetRoutes(changes map[string]*string) (map[string]string, error) {
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
	var t routeTable
	if err := json.Unmarshal(body, &t); err != nil || t.Routes == nil {
		return nil, fmt.Errorf("POST /gpu-switch/upstreams: not a route table: %s", bytes.TrimSpace(body))
	}
	return t.Routes, nil
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
