// Command pulumi-resource-kubernetes serves the kubernetes provider to the Pulumi engine: upstream's
// provider/cmd/pulumi-resource-kubernetes/main.go, whose embedded files cmd/schemagen writes before the build.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

// Written by cmd/schemagen before this is built (scripts/pulumi-toolchain); not committed.
//
//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

// version.Version is set at build time (-ldflags -X …/pkg/version.Version=…) to @pulumi/kubernetes's version.
func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
