// Package shim exposes the Terraform docker provider's SDKv2 provider to the Pulumi bridge.
package shim

import (
	"github.com/hashicorp/terraform-plugin-sdk/v2/helper/schema"

	"github.com/terraform-providers/terraform-provider-docker/internal/provider"
)

// UpstreamVersion is the kreuzwerker/terraform-provider-docker release this module is pinned to (go.mod).
const UpstreamVersion = "4.6.0"

// NewProvider returns the upstream SDKv2 provider (its plugin-framework resources, such as docker_compose, are
// not bridged, as in pulumi-docker).
func NewProvider() *schema.Provider {
	return provider.New(UpstreamVersion)()
}
