// The bridge needs kreuzwerker's provider.New, which lives in an internal package. Go allows an internal
// package to be imported from anywhere under its parent's import path, so this small module of ours takes the
// path github.com/terraform-providers/terraform-provider-docker/shim (pulumi-docker once kept the same shim as
// a nested module; today it adds it to the upstream checkout by a patch).
module github.com/terraform-providers/terraform-provider-docker/shim

go 1.25.8

require (
	github.com/hashicorp/terraform-plugin-sdk/v2 v2.40.1
	github.com/terraform-providers/terraform-provider-docker v0.0.0
)
