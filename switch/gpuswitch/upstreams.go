package gpuswitch

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// Upstreams is the dynamic upstream source http.reverse_proxy.upstreams.gpu_switch: the one upstream of a
// route, as the table says now. A route the table does not have yields no upstream, which reverse_proxy
// answers with 503 after its try_duration (and retries meanwhile: errNoUpstream is retried).
type Upstreams struct {
	// Route is the route id whose dial is looked up, e.g. `tts-8055`. Required.
	Route string `json:"route,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Upstreams) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.reverse_proxy.upstreams.gpu_switch",
		New: func() caddy.Module { return new(Upstreams) },
	}
}

// Provision checks the route id and reads the table file on first use.
func (u *Upstreams) Provision(ctx caddy.Context) error {
	if !routeRE.MatchString(u.Route) {
		return fmt.Errorf("gpu_switch: route %q is not a route id", u.Route)
	}
	ensureLoaded(ctx.Logger())
	return nil
}

// GetUpstreams answers the route's dial (none when the table has no entry for it).
func (u Upstreams) GetUpstreams(*http.Request) ([]*reverseproxy.Upstream, error) {
	dial := lookup(u.Route)
	if dial == "" {
		return []*reverseproxy.Upstream{}, nil
	}
	return []*reverseproxy.Upstream{{Dial: dial}}, nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Upstreams)(nil)
	_ reverseproxy.UpstreamSource = (*Upstreams)(nil)
)
