// Package java holds the one type the docker-build provider takes from pulumi-java: the Java section of a
// Pulumi package schema's `language` metadata. Field names and JSON keys follow the Pulumi package schema.
package java

// PackageInfo is the `language.java` object of a Pulumi package schema.
type PackageInfo struct {
	BuildFiles                      string            `json:"buildFiles,omitempty"`
	GradleNexusPublishPluginVersion string            `json:"gradleNexusPublishPluginVersion,omitempty"`
	Dependencies                    map[string]string `json:"dependencies,omitempty"`
}
