// Command schemagen writes the two files the provider's main embeds, as upstream's `go generate`
// (provider/cmd/pulumi-resource-kubernetes/generate.go) does: the package schema with the version written in,
// and the Terraform mapping, both compacted, from the schema.json and terraform-mapping.json of the provider
// module's source folder.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

func main() {
	version := flag.String("version", "", "the provider version to write into the schema (required)")
	src := flag.String("src", "", "upstream's cmd/pulumi-resource-kubernetes folder, with schema.json (required)")
	out := flag.String("out", "", "the folder to write schema-embed.json and terraform-mapping-embed.json to (required)")
	flag.Parse()
	if *version == "" || *src == "" || *out == "" {
		log.Fatal("usage: schemagen -version <x.y.z> -src <dir> -out <dir>")
	}

	var spec schema.PackageSpec
	readJSON(filepath.Join(*src, "schema.json"), &spec)
	spec.Version = *version
	writeJSON(filepath.Join(*out, "schema-embed.json"), spec)

	var mapping any
	readJSON(filepath.Join(*src, "terraform-mapping.json"), &mapping)
	writeJSON(filepath.Join(*out, "terraform-mapping-embed.json"), mapping)
}

func readJSON(file string, into any) {
	data, err := os.ReadFile(file)
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(data, into); err != nil {
		log.Fatalf("%s: %v", file, err)
	}
}

func writeJSON(file string, value any) {
	data, err := json.Marshal(value)
	if err != nil {
		log.Fatalf("%s: %v", file, err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		log.Fatal(err)
	}
}
