// Caddy with its standard modules, as the official build's cmd/caddy, plus our route table (switch/gpuswitch:
// the dynamic upstream source gpu_switch and the admin API /gpu-switch/upstreams): the proxy of the per-host
// switch.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "gpu-services/switch/gpuswitch"
)

func main() {
	caddycmd.Main()
}
