// Build-only stand-in: the proxy here does not serve github.com/pulumi/pulumi-java, and the docker-build
// provider uses it for one struct type only (the `java` entry of its schema's language metadata).
module github.com/pulumi/pulumi-java

go 1.22
