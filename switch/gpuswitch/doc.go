// Package gpuswitch is the Caddy side of the per-host switch (docs/design/blue-green-releases.md, "As built" and
// "Readiness and the hold"): a table of routes, kept in memory and in a file beside Caddy's autosave.json, each
// with the copy that serves it (dial), the copy that replaces it once ready (next), its readiness check and its
// hold budget, and the live state the switch keeps of it (ready, loading or drained; counters). Three modules use
// it:
//
//   - http.handlers.gpu_switch_hold, before reverse_proxy in each route: holds a request until its route is
//     ready, within the route's budget and queue cap, and sends again a request that no copy answered;
//   - http.reverse_proxy.upstreams.gpu_switch, a dynamic upstream source: `{"source":"gpu_switch","route":"<id>"}`
//     answers the dial the hold chose for the request;
//   - admin.api.gpu_switch: GET and POST /gpu-switch/upstreams on the admin endpoint, to read the table and to
//     set several routes at once, and POST /gpu-switch/drain.
//
// Each route has a prober (prober.go) that checks its copies while they need it, and promotes a next copy that
// passed. A release moves a route by a table update, which restarts nothing: Caddy's servers keep their
// connections (a config load would stop them, and net/http's Shutdown closes every idle keep-alive connection).
package gpuswitch

import "github.com/caddyserver/caddy/v2"

func init() {
	caddy.RegisterModule(Upstreams{})
	caddy.RegisterModule(Admin{})
	caddy.RegisterModule(HoldHandler{})
}
