// Package codegen holds the one type the docker-build provider takes from pulumi-language-dotnet: the C#
// section of a Pulumi package schema's `language` metadata. JSON keys follow the Pulumi package schema.
package codegen

// CSharpPackageInfo is the `language.csharp` object of a Pulumi package schema.
type CSharpPackageInfo struct {
	RespectSchemaVersion bool              `json:"respectSchemaVersion,omitempty"`
	PackageReferences    map[string]string `json:"packageReferences,omitempty"`
}
