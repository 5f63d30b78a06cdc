// Command pulumi-resource-docker serves our bridged docker provider to the Pulumi engine.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"

	"gpu-services/toolchain/docker/info"
)

// schema-embed.json is written by cmd/schemagen before this is built (scripts/pulumi-toolchain); not committed.
//
//go:embed schema-embed.json
var pulumiSchema []byte

// version is set at build time (-ldflags -X main.version=…) to @pulumi/docker's version.
var version = "5.2.0"

func main() {
	tfbridge.Main("docker", version, info.Provider(version), pulumiSchema)
}
