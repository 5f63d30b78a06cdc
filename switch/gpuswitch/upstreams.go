package gpuswitch

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// Upstreams is the dynamic upstream source http.reverse_proxy.upstreams.gpu_switch: the one upstream of a
// route. Behind the hold handler it is the dial the request's ticket chose (so that the requests in flight are
// counted on the dial that serves them, even across a promotion); without it (a config of an older agent) the
// route's dial while the route is ready, else none, which reverse_proxy retries within its try_duration and
// then answers 503.
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

// GetUpstreams answers the ticket's dial, or the route's dial while it is ready.
func (u Upstreams) GetUpstreams(r *http.Request) ([]*reverseproxy.Upstream, error) {
	if r != nil {
		if dial, ok := r.Context().Value(dialKey{}).(string); ok {
			return []*reverseproxy.Upstream{{Dial: dial}}, nil
		}
	}
	table.mu.Lock()
	defer table.mu.Unlock()
	if rt := lookup(u.Route); rt != nil && rt.state == Ready {
		return []*reverseproxy.Upstream{{Dial: rt.entry.Dial}}, nil
	}
	return []*reverseproxy.Upstream{}, nil
}

// Interface guards.
var (
	_ caddy.Provisioner           = (*Upstreams)(nil)
	_ reverseproxy.UpstreamSource = (*Upstreams)(nil)
)
