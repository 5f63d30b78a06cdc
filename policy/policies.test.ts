/**
 * Each policy's validateResource on resource inputs taken from the real stacks under mocks (and from small
 * changes to them): one case that passes and one that must be refused, per policy.
 */
import * as path from "node:path";
import { Secret, type ResourceValidationArgs } from "@pulumi/policy";
import { secretsPreservingProxy } from "@pulumi/policy/secret";
import { describe, expect, it } from "vitest";
import { readStackFile } from "../stackConfig";
import { goodConfig } from "../test/support/badConfigs";
import type { ClusterServiceSpec } from "../model";
import { clusterModel } from "../test/support/models";
import {
  evaluate,
  evaluateModel,
  evaluateStackFile,
  PROJECT_DIR,
  SECRET_SIG,
  SIG_KEY,
  T,
  type Registered,
} from "../test/support/harness";
import {
  POLICIES,
  gpuContainerRestartsAndReportsHealth,
  nonRootUser,
  pinnedImages,
  protectedVolumes,
  secretEnvValues,
  switchOwnsPorts,
} from "./policies";
import { POLICY_VIEW } from "./serviceView";

/**
 * Inputs as the policy analyzer hands them over: secrets as `Secret` values behind a proxy; or, with
 * `unmarked`, as the real engine hands a bridged provider's checked inputs (seen in `npm run e2e`): the secret
 * marks of list elements gone.
 */
function analyzerValues(v: unknown, unmarked = false): unknown {
  if (Array.isArray(v)) return v.map((item) => analyzerValues(item, unmarked));
  if (v !== null && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[SIG_KEY] === SECRET_SIG) {
      return unmarked ? analyzerValues(o.value, unmarked) : new Secret(analyzerValues(o.value));
    }
    return Object.fromEntries(Object.entries(o).map(([k, inner]) => [k, analyzerValues(inner, unmarked)]));
  }
  return v;
}

function argsFor(r: Registered, config: object = {}, unmarked = false): ResourceValidationArgs {
  return {
    type: r.type,
    props: secretsPreservingProxy(analyzerValues(JSON.parse(r.wire), unmarked)),
    urn: `urn:pulumi:prod::gpu-services::${r.type}::${r.name}`,
    name: r.name,
    opts: {
      protect: r.options.protect,
      ignoreChanges: [],
      deleteBeforeReplace: r.options.deleteBeforeReplace,
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
    },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <C extends object>() => config as C,
    notApplicable: () => {
      throw new Error("not applicable");
    },
  };
}

async function violations(
  policy: (typeof POLICIES)[number],
  r: Registered,
  config: object = {},
  unmarked = false,
): Promise<string[]> {
  const found: string[] = [];
  const validate = policy.validateResource;
  if (typeof validate !== "function") throw new Error(`policy ${policy.name} has no single validateResource function`);
  await validate(argsFor(r, config, unmarked), (message: string) => void found.push(message));
  return found;
}

const mutated = (mutate: (c: Record<string, any>) => void, stack = "prod", secretKeys: string[] = []) => {
  const values = goodConfig();
  mutate(values);
  return evaluate({ values, secretKeys: new Set(secretKeys) }, stack);
};

describe("policy pack", async () => {
  const prod = await evaluateStackFile("prod");
  const test = await evaluateStackFile("test");

  it("has the six rules, all mandatory but the non-root advice", () => {
    expect(POLICIES.map((p) => [p.name, p.enforcementLevel])).toEqual([
      ["gpu-container-restart-and-healthcheck", "mandatory"],
      ["no-floating-image-tag", "mandatory"],
      ["data-volumes-protected", "mandatory"],
      ["no-plain-secret-env", "mandatory"],
      ["non-root-user", "advisory"],
      ["no-ports-behind-the-switch", "mandatory"],
    ]);
  });

  it("gpu-container-restart-and-healthcheck: passes the real GPU containers, refuses one without restart or healthcheck", async () => {
    for (const stack of [prod, test]) {
      for (const c of stack.ofType(T.container))
        expect(await violations(gpuContainerRestartsAndReportsHealth, c)).toEqual([]);
    }
    const bad = await mutated((c) => {
      c.services.tts.restart = "no";
      c.services.tts.healthcheck = { test: ["CMD", "curl", "-f", "http://localhost:8000/v1/models"] };
      delete c.services.stt.healthcheck;
    });
    expect(await violations(gpuContainerRestartsAndReportsHealth, bad.get(T.container, "tts-container"))).toEqual([
      'GPU container tts-prod has restart "no": set services.<name>.restart (unless-stopped, always or on-failure) so a crash or reboot does not leave the GPU idle.',
    ]);
    expect((await violations(gpuContainerRestartsAndReportsHealth, bad.get(T.container, "stt-container")))[0]).toMatch(
      /^GPU container stt-prod has no healthcheck/,
    );
  });

  it("no-floating-image-tag: passes prod's pinned tag and a digest, refuses latest where pins are required", async () => {
    expect(await violations(pinnedImages, prod.get(T.remoteImage, "tts-image"), { requirePinnedImages: true })).toEqual(
      [],
    );
    const digest = await mutated(
      (c) =>
        (c.services.tts.image = {
          repository: "ghcr.io/jim0237/tts-v2-api-server",
          digest: `sha256:${"f".repeat(64)}`,
        }),
    );
    expect(
      await violations(pinnedImages, digest.get(T.remoteImage, "tts-image"), { requirePinnedImages: true }),
    ).toEqual([]);
    const latest = await mutated((c) => {
      c.requirePinnedImages = false;
      c.services.tts.image = { repository: "ghcr.io/jim0237/tts-v2-api-server", tag: "latest" };
    }, "test");
    const image = latest.get(T.remoteImage, "tts-image");
    expect(await violations(pinnedImages, image, { requirePinnedImages: true })).toEqual([
      'image ghcr.io/jim0237/tts-v2-api-server:latest uses the floating tag "latest"; this stack requires pinned images: pin a digest with `npm run release -- release <stack> <service> <tag>`.',
    ]);
    // The test stack's policy config (policy/test.json) does not require pins.
    expect(await violations(pinnedImages, image, { requirePinnedImages: false })).toEqual([]);
  });

  it("data-volumes-protected: passes the real volumes, refuses one with protect: false", async () => {
    for (const stack of [prod, test]) {
      for (const v of stack.ofType(T.volume)) expect(await violations(protectedVolumes, v)).toEqual([]);
    }
    const bad = await mutated((c) => (c.services.stt.volumes[0].protect = false));
    expect(await violations(protectedVolumes, bad.get(T.volume, "stt-volume-stt-models"))).toEqual([
      "volume stt-models is not protected: a pulumi destroy would delete it with its data. Remove `protect: false` from its entry in services.<name>.volumes, or mark it external.",
    ]);
  });

  it("no-plain-secret-env: passes a token given as secretEnv and plain TTS_USE_HTTPS, refuses a plain token", async () => {
    expect(await violations(secretEnvValues, test.get(T.container, "tts-container"))).toEqual([]);
    const ok = await mutated(
      (c) => {
        c.secrets = { hf: "hf_secret_value" };
        c.services.tts.secretEnv = { HF_TOKEN: "hf" };
      },
      "prod",
      ["secrets"],
    );
    expect(await violations(secretEnvValues, ok.get(T.container, "tts-container"))).toEqual([]);
    // As the real engine hands them: the value no longer marked, the program's label says it is a secret.
    expect(await violations(secretEnvValues, ok.get(T.container, "tts-container"), {}, true)).toEqual([]);
    const bad = await mutated((c) => (c.services.tts.env.HF_TOKEN = "hf_plain_value"));
    expect(await violations(secretEnvValues, bad.get(T.container, "tts-container"))).toEqual([
      "env HF_TOKEN of container tts-prod is a plain string: move it to services.<name>.secretEnv and set the value with pulumi config set --secret --path 'gpu-services:secrets.<name>' <value>.",
    ]);
  });

  it("no-plain-secret-env: a flag, number or empty value is no secret, whatever its name (the import's rule)", async () => {
    const flags = await mutated((c) => {
      c.services.tts.env.DISABLE_PASSWORD_LOGIN = "false";
      c.services.tts.env.MAX_TOKENS = "4096";
      c.services.tts.env.API_KEY = "";
    });
    expect(await violations(secretEnvValues, flags.get(T.container, "tts-container"))).toEqual([]);
  });

  it("non-root-user (advisory): flags a container on the image's user, passes one with a user", async () => {
    expect((await violations(nonRootUser, prod.get(T.container, "tts-container")))[0]).toMatch(
      /^container tts-prod runs as the image's user/,
    );
    const ok = await mutated((c) => (c.services.tts.user = "1000"));
    expect(await violations(nonRootUser, ok.get(T.container, "tts-container"))).toEqual([]);
    const root = await mutated((c) => (c.services.tts.user = "0:0"));
    expect(await violations(nonRootUser, root.get(T.container, "tts-container"))).toHaveLength(1);
  });

  it("no-ports-behind-the-switch: passes the real containers and a stack behind a switch, refuses a service there that publishes", async () => {
    for (const stack of [prod, test]) {
      for (const c of stack.ofType(T.container)) expect(await violations(switchOwnsPorts, c)).toEqual([]);
    }
    const behind = await mutated(
      (c) => (c.switch = { image: { repository: "ghcr.io/jim0237/gpu-switch", digest: `sha256:${"b".repeat(64)}` } }),
    );
    const containers = behind.ofType(T.container);
    const tts = behind.get(T.container, "tts-container");
    const ttsInputs = JSON.parse(tts.wire);
    // The program puts it on the switch's network with no ports; the switch itself publishes them.
    expect(ttsInputs.networksAdvanced).toEqual([{ name: "gpu-switch-prod" }]);
    expect(ttsInputs.ports ?? []).toEqual([]);
    const switchInputs = containers.map((c) => JSON.parse(c.wire)).find((i) => i.name === "gpu-switch-prod");
    expect(switchInputs?.ports?.length).toBeGreaterThan(0);
    for (const c of containers) expect(await violations(switchOwnsPorts, c)).toEqual([]);
    // A service container there that publishes a port, as a hand edit or a regression of containerInputs would.
    const publishing = {
      ...tts,
      wire: JSON.stringify({
        ...ttsInputs,
        ports: [{ internal: 8000, external: 8055, ip: "0.0.0.0", protocol: "tcp" }],
      }),
    };
    expect(await violations(switchOwnsPorts, publishing)).toEqual([
      "container tts-prod is on the switch network gpu-switch-prod and publishes 8055->8000: the switch gpu-switch-prod owns the host ports (a second copy of a blue/green release could not bind them); keep them in services.<name>.ports, which the switch publishes, and publish nothing from the container.",
    ]);
    // Not behind a switch, publishing is the ordinary way.
    const plain = prod.get(T.container, "tts-container");
    expect(JSON.parse(plain.wire).ports.length).toBeGreaterThan(0);
    expect(await violations(switchOwnsPorts, plain)).toEqual([]);
  });

  it("ships a policy config per stack that matches the stack's own requirePinnedImages", async () => {
    for (const stack of ["prod", "test"]) {
      const config = (await import(path.join(PROJECT_DIR, "policy", `${stack}.json`))).default;
      const values = readStackFile(path.join(PROJECT_DIR, `Pulumi.${stack}.yaml`)).values;
      expect(config["no-floating-image-tag"].requirePinnedImages).toBe(values.requirePinnedImages === true);
    }
  });
});

describe("the policy pack's view of a service", () => {
  it("names every policy of the pack at some key of the spec", () => {
    const named = new Set(Object.values(POLICY_VIEW).flatMap((entry) => ("checkedBy" in entry ? entry.checkedBy : [])));
    expect(POLICIES.filter((policy) => !named.has(policy)).map((policy) => policy.name)).toEqual([]);
  });

  it("sees each copy as a GPU container of its own: its device request names the copy's GPUs", async () => {
    expect(POLICY_VIEW.copies).toMatchObject({ checkedBy: [gpuContainerRestartsAndReportsHealth] });
    // A copy's container as the deploy side registers it: its own name, the copy's device IDs, no healthcheck.
    const copy = {
      type: T.container,
      name: "stt-copy1",
      wire: JSON.stringify({
        name: "stt-prod-copy1",
        restart: "unless-stopped",
        deviceRequests: [{ driver: "nvidia", deviceIds: ["1"], capabilities: [["gpu"]] }],
      }),
      options: { protect: false, deleteBeforeReplace: false },
    } as unknown as Parameters<typeof violations>[1];
    expect(await violations(gpuContainerRestartsAndReportsHealth, copy)).toEqual([
      "GPU container stt-prod-copy1 has no healthcheck: set services.<name>.healthcheck so pulumi up waits for the " +
        "model to load and a broken release fails the deployment.",
    ]);
  });
});

describe("policy pack on a cluster: the Deployment and its claims, as the containers and volumes", async () => {
  const DIGEST = `sha256:${"d".repeat(64)}`;
  const place: Partial<ClusterServiceSpec> = { replicas: 1 };
  const stt = {
    image: { repository: "ghcr.io/example/stt", digest: DIGEST },
    ports: [{ host: 8000, container: 8000 }],
    volumes: [{ name: "stt-models", target: "/models" }],
    secretEnv: { HF_TOKEN: "hfToken" },
    gpus: { count: 1 },
    healthcheck: { test: ["CMD", "curl", "-f", "http://localhost:8000/health"] },
    user: "1000",
  };
  const onCluster = (config: Record<string, unknown>) =>
    evaluateModel(clusterModel({}, { stt: { config, place } }, undefined, { hfToken: "hf_x" }), {
      config: { values: { secrets: { hfToken: "hf_x" } }, secretKeys: new Set(["secrets"]) },
      preview: false,
    });
  const good = await onCluster(stt);
  const deployment = good.get(T.deployment, "stt-deployment");

  it("passes a GPU Deployment with a readiness probe, a digest, its secret from a Secret and a uid", async () => {
    for (const policy of POLICIES)
      expect(await violations(policy, deployment, { requirePinnedImages: true })).toEqual([]);
    expect(await violations(protectedVolumes, good.get(T.claim, "stt-claim-stt-models"))).toEqual([]);
  });

  it("refuses a GPU Deployment without a healthcheck, and leaves one without GPUs alone", async () => {
    const { healthcheck: _, ...noHealthcheck } = stt;
    const bad = await onCluster(noHealthcheck);
    expect(await violations(gpuContainerRestartsAndReportsHealth, bad.get(T.deployment, "stt-deployment"))).toEqual([
      "GPU Deployment stt-dev has no readiness probe on container stt-dev: set services.<name>.healthcheck so pulumi up waits for the model to load and a broken release fails the deployment.",
    ]);
    const { gpus: __, ...noGpu } = noHealthcheck;
    const cpu = await onCluster(noGpu);
    expect(await violations(gpuContainerRestartsAndReportsHealth, cpu.get(T.deployment, "stt-deployment"))).toEqual([]);
  });

  it("refuses a floating tag in a Deployment where pins are required", async () => {
    const latest = await onCluster({ ...stt, image: { repository: "ghcr.io/example/stt", tag: "latest" } });
    const d = latest.get(T.deployment, "stt-deployment");
    expect(await violations(pinnedImages, d, { requirePinnedImages: true })).toEqual([
      'image ghcr.io/example/stt:latest uses the floating tag "latest"; this stack requires pinned images: pin a digest with `npm run release -- release <stack> <service> <tag>`.',
    ]);
    expect(await violations(pinnedImages, d, { requirePinnedImages: false })).toEqual([]);
  });

  it("refuses an unprotected claim", async () => {
    const bad = await onCluster({ ...stt, volumes: [{ name: "stt-models", target: "/models", protect: false }] });
    expect(await violations(protectedVolumes, bad.get(T.claim, "stt-claim-stt-models"))).toEqual([
      "claim stt-models is not protected: a pulumi destroy would delete it with its data. Remove `protect: false` from its entry in services.<name>.volumes, or mark it external.",
    ]);
  });

  it("refuses a secret-looking plain env value in a Deployment, passes the secretKeyRef", async () => {
    expect(await violations(secretEnvValues, deployment, {}, true)).toEqual([]);
    const bad = await onCluster({ ...stt, env: { API_TOKEN: "tok_plain_value" } });
    expect(await violations(secretEnvValues, bad.get(T.deployment, "stt-deployment"))).toEqual([
      "env API_TOKEN of Deployment stt-dev is a plain string: move it to services.<name>.secretEnv and set the value with pulumi config set --secret --path 'gpu-services:secrets.<name>' <value>.",
    ]);
  });

  it("advises a uid for a Deployment on the image's user or uid 0", async () => {
    const { user: _, ...imageUser } = stt;
    const d = (await onCluster(imageUser)).get(T.deployment, "stt-deployment");
    expect(await violations(nonRootUser, d)).toEqual([
      "container stt-dev of Deployment stt-dev runs as the image's user (root unless the image sets one): set services.<name>.user (a numeric uid[:gid] on a cluster) if the service allows it.",
    ]);
    const root = (await onCluster({ ...stt, user: "0" })).get(T.deployment, "stt-deployment");
    expect(await violations(nonRootUser, root)).toHaveLength(1);
  });
});
