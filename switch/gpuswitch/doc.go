// Package gpuswitch is the Caddy side of the per-host switch (docs/design/blue-green-releases.md, "As built"): a
// table of route -> upstream dial, kept in memory and in a file beside Caddy's autosave.json, and two modules
// that use it:
//
//   - http.reverse_proxy.upstreams.gpu_switch, a dynamic upstream source: `{"source":"gpu_switch","route":"<id>"}`
//     answers the route's current dial on every try of every request (reverseproxy.go proxyLoopIteration asks a
//     dynamic source again on each try, so a request held by load_balancing.try_duration follows the table);
//   - admin.api.gpu_switch, GET and POST /gpu-switch/upstreams on the admin endpoint, to read the table and to
//     set several routes at once.
//
// A release moves a route by a table update, which restarts nothing: Caddy's servers keep their connections (a
// config load would stop them, and net/http's Shutdown closes every idle keep-alive connection).
package gpuswitch

import "github.com/caddyserver/caddy/v2"

func init() {
	caddy.RegisterModule(Upstreams{})
	caddy.RegisterModule(Admin{})
}
