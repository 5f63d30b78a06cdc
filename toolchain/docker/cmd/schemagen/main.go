// Command schemagen writes the Pulumi package schema of our docker provider, with its version written in, to
// the file the provider's main embeds: the same two steps as pulumi-docker's tfgen + `go generate`.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"os"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfgen"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag"
	"github.com/pulumi/pulumi/sdk/v3/go/common/diag/colors"

	"gpu-services/toolchain/docker/info"
)

func main() {
	version := flag.String("version", "", "the provider version to write into the schema (required)")
	out := flag.String("out", "", "where to write the schema (required)")
	upstream := flag.String("upstream", "", "the Terraform provider's source folder, for its docs (optional)")
	flag.Parse()
	if *version == "" || *out == "" {
		log.Fatal("usage: schemagen -version <x.y.z> -out <file>")
	}
	sink := diag.DefaultSink(os.Stderr, os.Stderr, diag.FormatOptions{Color: colors.Never})
	providerInfo := info.Provider(*version)
	// Descriptions come from the upstream module's docs/ folder, as in pulumi-docker (its ./upstream checkout).
	providerInfo.UpstreamRepoPath = *upstream
	spec, err := tfgen.GenerateSchema(providerInfo, sink)
	if err != nil {
		log.Fatalf("generating the schema: %v", err)
	}
	spec.Version = *version
	data, err := json.Marshal(spec)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, data, 0o644); err != nil {
		log.Fatal(err)
	}
}
