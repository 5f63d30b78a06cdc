import * as docker from "@pulumi/docker";
import * as dockerbuild from "@pulumi/docker-build";
import * as pulumi from "@pulumi/pulumi";

/** Registry credentials for pulls on one Docker host. */
export interface DockerHostRegistryAuth {
  /** Registry host, for example `ghcr.io`. */
  readonly address: string;
  /** User name at the registry. */
  readonly username: string;
  /** Token or password; pass a Pulumi secret. */
  readonly password: pulumi.Input<string>;
}

export interface DockerHostArgs {
  /** Docker host URI: `unix:///var/run/docker.sock`, `ssh://user@host`, `tcp://host:2376`. Required. */
  readonly dockerHost: string;
  /** Address clients use to reach ports published on this host. Required. */
  readonly address: string;
  /** Extra ssh options for `ssh://` hosts. Default: none. */
  readonly sshOpts?: readonly string[];
  /** Credentials for pulling images on this host, and for the base images of builds. Default: none (public images only). */
  readonly registryAuth?: readonly DockerHostRegistryAuth[];
  /** Whether services on this host build images, which needs a `docker-build` provider. Default: false. */
  readonly builds?: boolean;
}

/** The host's registry credentials as both providers take them (address, username, password as a secret). */
function registryCredentials(auth: readonly DockerHostRegistryAuth[] | undefined) {
  if (!auth || auth.length === 0) return undefined;
  return auth.map((a) => ({ address: a.address, username: a.username, password: pulumi.secret(a.password) }));
}

/**
 * One Docker host: an explicit `docker` provider (containers, volumes, pulls) and, where services build, a
 * `docker-build` provider (BuildKit builds on the same daemon). Every resource on the host uses these, never a
 * default provider.
 */
export class DockerHost extends pulumi.ComponentResource {
  /** Provider for containers, volumes and registry pulls on this host. */
  public readonly provider: docker.Provider;
  /** Provider for image builds on this host's daemon; only on hosts where a service builds. */
  public readonly buildProvider?: dockerbuild.Provider;
  /** Address clients use to reach this host. */
  public readonly address: string;
  /** The Docker host URI the providers talk to. */
  public readonly dockerHost: string;

  constructor(name: string, args: DockerHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super("gpu-services:index:DockerHost", name, {}, opts);
    this.address = args.address;
    this.dockerHost = args.dockerHost;
    const credentials = registryCredentials(args.registryAuth);
    this.provider = new docker.Provider(
      `${name}-docker`,
      {
        host: args.dockerHost,
        ...(args.sshOpts && args.sshOpts.length > 0 ? { sshOpts: [...args.sshOpts] } : {}),
        ...(credentials ? { registryAuth: credentials } : {}),
      },
      { parent: this },
    );
    if (args.builds) {
      // BuildKit pulls the base images: a private one needs the same credentials as the host's pulls.
      this.buildProvider = new dockerbuild.Provider(
        `${name}-build`,
        { host: args.dockerHost, ...(credentials ? { registries: credentials } : {}) },
        { parent: this },
      );
    }
    this.registerOutputs({ address: this.address });
  }
}
