// Caddy with its standard modules, as the official build's cmd/caddy: the proxy of the per-host switch.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
