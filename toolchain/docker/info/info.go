// Package info maps the Terraform docker provider onto Pulumi's `docker` package: the names @pulumi/docker's
// SDK sends. Tokens and property names are the bridge's automatic ones (docker_container -> docker:index/
// container:Container, snake_case -> camelCase with list blocks pluralized), plus the few places where
// @pulumi/docker's schema names things differently, checked against its published SDK.
package info

import (
	"strings"

	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge"
	"github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfbridge/tokens"
	shimv2 "github.com/pulumi/pulumi-terraform-bridge/v3/pkg/tfshim/sdk-v2"
	ptokens "github.com/pulumi/pulumi/sdk/v3/go/common/tokens"

	"github.com/terraform-providers/terraform-provider-docker/shim"
)

const (
	pkg = "docker"
	mod = "index"
)

// member is the token of a resource or function: docker:index/remoteImage:RemoteImage.
func member(name string) string {
	return pkg + ":" + mod + "/" + strings.ToLower(name[:1]) + name[1:] + ":" + name
}

func resource(name string) tfbridge.ResourceInfo {
	return tfbridge.ResourceInfo{Tok: ptokens.Type(member(name))}
}

// Provider returns the bridge's description of the docker provider at the given version.
func Provider(version string) tfbridge.ProviderInfo {
	container := resource("Container")
	// Replacing a container with a fixed name or host port can only work delete-first.
	container.DeleteBeforeReplace = true
	container.Fields = map[string]*tfbridge.SchemaInfo{
		// One command, not a list of commands: not pluralized.
		"command": {Name: "command"},
		// Several networks, yet singular in @pulumi/docker.
		"networks_advanced": {Name: "networksAdvanced"},
	}
	remoteImage := resource("RemoteImage")
	remoteImage.Fields = map[string]*tfbridge.SchemaInfo{"name": {Name: "name"}}
	serviceConfig := resource("ServiceConfig")

	info := tfbridge.ProviderInfo{
		P:           shimv2.NewProvider(shim.NewProvider()),
		Name:        pkg,
		Version:     version,
		Description: "A Pulumi package for interacting with Docker in Pulumi programs",
		Keywords:    []string{"pulumi", "docker"},
		License:     "Apache-2.0",
		Homepage:    "https://pulumi.io",
		Repository:  "https://github.com/pulumi/pulumi-docker",
		GitHubOrg:   "kreuzwerker",
		Config: map[string]*tfbridge.SchemaInfo{
			"registry_auth": {Name: "registryAuth", MaxItemsOne: tfbridge.False()},
		},
		Resources: map[string]*tfbridge.ResourceInfo{
			"docker_container": &container,
			"docker_image":     &remoteImage,
			"docker_config":    &serviceConfig,
		},
		DataSources: map[string]*tfbridge.DataSourceInfo{
			"docker_image": {Tok: ptokens.ModuleMember(member("getRemoteImage"))},
		},
		JavaScript: &tfbridge.JavaScriptInfo{RespectSchemaVersion: true},
	}
	info.MustComputeTokens(tokens.SingleModule("docker_", mod, tokens.MakeStandard(pkg)))
	info.SetAutonaming(255, "-")
	return info
}
