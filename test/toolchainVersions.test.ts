/**
 * toolchain/versions.env is the one place the toolchain's versions are pinned: every stage's go.mod requires
 * what it says (scripts/pulumi-toolchain refuses to build otherwise; this finds it before a build), and the npm
 * packages of the program agree with the plugins built for them.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { PROJECT_DIR } from "./support/harness";

const read = (file: string) => fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
const pins = Object.fromEntries(
  [...read("toolchain/versions.env").matchAll(/^([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1], m[2]]),
);

/** The version a go.mod's require (or replace, with `=>`) line gives a module. */
function required(goMod: string, module: string): string | undefined {
  const escaped = module.replace(/[.]/g, "\\.");
  const replace = new RegExp(`^\\s*${escaped} => \\S+ (v\\S+)`, "m").exec(read(goMod));
  if (replace) return replace[1];
  return new RegExp(`^\\s*(?:require )?${escaped} (v\\S+)`, "m").exec(read(goMod))?.[1];
}

describe("toolchain/versions.env", () => {
  it.each([
    ["toolchain/pulumi/go.mod", "github.com/pulumi/pulumi/pkg/v3", `v${pins.PULUMI_CLI_VERSION}`],
    ["toolchain/docker-build/go.mod", "github.com/pulumi/pulumi-docker-build", `v${pins.DOCKER_BUILD_VERSION}`],
    ["toolchain/docker/go.mod", "github.com/pulumi/pulumi-terraform-bridge/v3", `v${pins.TF_BRIDGE_VERSION}`],
    [
      "toolchain/docker/go.mod",
      "github.com/terraform-providers/terraform-provider-docker",
      pins.TF_DOCKER_PSEUDO_VERSION,
    ],
    ["switch/go.mod", "github.com/caddyserver/caddy/v2", `v${pins.CADDY_VERSION}`],
    ["toolchain/kubernetes/cluster/go.mod", "k8s.io/kubernetes", `v${pins.KUBERNETES_VERSION}`],
    ["toolchain/kubernetes/cluster/go.mod", "go.etcd.io/etcd/server/v3", `v${pins.ETCD_VERSION}`],
    ["toolchain/kubernetes/cluster/go.mod", "sigs.k8s.io/kwok", `v${pins.KWOK_VERSION}`],
    [
      "toolchain/kubernetes/provider/go.mod",
      "github.com/pulumi/pulumi-kubernetes/provider/v4",
      pins.KUBERNETES_PROVIDER_PSEUDO_VERSION,
    ],
    [
      "toolchain/kubernetes/provider/go.mod",
      "github.com/pulumi/pulumi-kubernetes/sdk/v4",
      `v${pins.KUBERNETES_PROVIDER_VERSION}`,
    ],
  ])("%s requires %s at the pinned version", (goMod, module, want) => {
    expect(want).toMatch(/^v\d+\.\d+\.\d+/);
    expect(required(goMod, module)).toBe(want);
  });

  it("agrees with the npm packages the plugins serve", () => {
    const deps = JSON.parse(read("package.json")).dependencies;
    expect(deps["@pulumi/pulumi"]).toBe(pins.PULUMI_SDK_NPM_VERSION);
    expect(deps["@pulumi/docker"]).toBe(pins.DOCKER_PROVIDER_VERSION);
    expect(deps["@pulumi/docker-build"].replace(/^\^/, "")).toBe(pins.DOCKER_BUILD_VERSION);
    expect(deps["@pulumi/kubernetes"]).toBe(pins.KUBERNETES_PROVIDER_VERSION);
  });

  it("replaces each of k8s.io/kubernetes's staging modules with the published one of the same release", () => {
    const replaces = [...read("toolchain/kubernetes/cluster/go.mod").matchAll(/^\s*(k8s\.io\/\S+) => (\S+) (v\S+)$/gm)];
    // k8s.io/kubernetes v1.37.2 has 33 staging modules (its go.mod's `=> ./staging/…` lines).
    expect(replaces.length).toBeGreaterThanOrEqual(33);
    for (const [, from, to, version] of replaces) {
      expect(to).toBe(from);
      expect(version).toBe(`v0.${pins.KUBERNETES_VERSION.replace(/^1\./, "")}`);
    }
  });
});
