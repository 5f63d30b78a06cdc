// Build-only stand-in: the proxy here does not serve github.com/pulumi/pulumi-dotnet, and the docker-build
// provider uses it for one struct type only (the `csharp` entry of its schema's language metadata).
module github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3

go 1.22
