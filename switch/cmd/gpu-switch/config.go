package main

import (
	"encoding/json"
	"strconv"
)

// The Caddy JSON config the agent loads (field names as Caddy v2.11.9 reads them: modules/caddyhttp,
// modules/caddyhttp/reverseproxy, modules/caddytls, modules/caddypki). Each route's handlers are the hold
// (http.handlers.gpu_switch_hold) and reverse_proxy, whose upstream is the dynamic source gpu_switch (both in
// switch/gpuswitch, compiled into our caddy): the route's dial, readiness and hold are in the switch's route
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
	ID       string    `json:"@id"`
	Handle   []handler `json:"handle"`
	Terminal bool      `json:"terminal"`
}

// handler is a route's handler: the hold `{"handler":"gpu_switch_hold","route":"<id>"}`, or reverse_proxy.
type handler struct {
	Handler string `json:"handler"`
	// Route is the hold's route id.
	Route string `json:"route,omitempty"`
	// Upstreams: static upstreams, as the agent wrote them before the route table (read from a live config).
	Upstreams        []upstream     `json:"upstreams,omitempty"`
	DynamicUpstreams *dynamicSource `json:"dynamic_upstreams,omitempty"`
	// LoadBalancing: an older agent's try_duration (read from a live config); this agent sets none.
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

// copyRouteID names the route of a service's copy on one port: copy 0's is the service's route, the pool;
// copy i's is `<service>-<listen>.<i>`, a member of that pool (the switch sends it the pool's requests).
func copyRouteID(service string, listen, copy int) string {
	if copy == 0 {
		return routeID(service, listen)
	}
	return routeID(service, listen) + "." + strconv.Itoa(copy)
}

// routeOn is the route of the service's copy on a listen port.
func (s Service) routeOn(listen int) string { return copyRouteID(s.Name, listen, s.Copy) }

// poolOn is the pool the copy's route on a listen port is a member of: copy 0's route ("" for copy 0 itself).
func (s Service) poolOn(listen int) string {
	if s.Copy == 0 {
		return ""
	}
	return routeID(s.Name, listen)
}

// copyLabel names a copy in the summary and the log: the service's name for copy 0, `<service>-copy<i>` for the
// others (as their Pulumi components are named).
func copyLabel(service string, copy int) string {
	if copy == 0 {
		return service
	}
	return service + "-copy" + strconv.Itoa(copy)
}

func (s Service) label() string { return copyLabel(s.Name, s.Copy) }

// buildConfig makes the whole config: one server per listen port, whose route holds a request until the route
// table says a member of the route's pool is ready, then proxies it to the dial the hold chose. Only a service's
// copy 0 has listeners: its copies' routes are members of its routes' pools, in the table alone. A route not in
// `routes` is left out, with its listener (a server without routes would answer 200 to everything); dials,
// readiness and holds are not in the config.
//
// reverse_proxy gets no load_balancing (try_duration 0: one try). The hold handler owns the hold: a try that
// fails comes back to it at once, so it marks the route not ready and the next requests wait for the prober
// instead of each retrying a dead copy every 250 ms; it can answer 503 with Retry-After at the end of the
// budget (reverse_proxy answers a bare 502 or 503); and it decides which request may be sent again, where
// reverse_proxy would retry only dial errors and GETs.
func buildConfig(plan *Plan, admin json.RawMessage, routes map[string]bool) caddyConfig {
	cfg := caddyConfig{Admin: admin, Apps: caddyApps{HTTP: httpApp{Servers: map[string]httpServer{}}}}
	https := false
	for _, s := range plan.Services {
		for _, p := range s.Ports {
			id := routeID(s.Name, p.Listen)
			if s.Copy != 0 || !routes[id] {
				continue
			}
			hold := handler{Handler: "gpu_switch_hold", Route: id}
			proxy := handler{Handler: "reverse_proxy", DynamicUpstreams: &dynamicSource{Source: "gpu_switch", Route: id}}
			proxy.StreamCloseDelay = plan.Switch.StreamCloseDelay
			if s.Scheme == "https" {
				proxy.Transport = &transport{Protocol: "http", TLS: transportTLS{InsecureSkipVerify: true}}
			}
			server := httpServer{
				Listen:         []string{":" + strconv.Itoa(p.Listen)},
				Routes:         []route{{ID: id, Handle: []handler{hold, proxy}, Terminal: true}},
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
