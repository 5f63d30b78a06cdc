/**
 * Secret values (registry token, secret env) reach the providers and containers only as Pulumi secrets.
 */
import { expect, it } from "vitest";
import { goodConfig } from "./support/badConfigs";
import { evaluate, SECRET_SIG, SIG_KEY, T } from "./support/harness";

const isSecret = (v: unknown): v is { value: unknown } =>
  v !== null && typeof v === "object" && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;

/** The value with every secret-wrapped part removed: what would be stored or shown in plain text. */
function plainParts(v: unknown): unknown {
  if (isSecret(v)) return "[secret]";
  if (Array.isArray(v)) return v.map(plainParts);
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, inner]) => [k, plainParts(inner)]));
  }
  return v;
}

it("passes secret env and registry tokens (to the docker and docker-build providers) as secrets, never as plain inputs", async () => {
  const values = goodConfig();
  values.secrets = { hfToken: "hf_abcdef123456", ghcrToken: "ghp_zyxw98765" };
  values.services.tts.secretEnv = { HF_TOKEN: "hfToken" };
  values.hosts.gpu1.registryAuth = [{ address: "ghcr.io", username: "jim0237", passwordSecret: "ghcrToken" }];
  const e = await evaluate({ values, secretKeys: new Set(["secrets"]) }, "prod");

  const tts = JSON.parse(e.get(T.container, "tts-container").wire);
  expect(plainParts(tts.envs)).toEqual(["TTS_USE_HTTPS=true", "[secret]"]);
  expect(tts.envs[1]).toEqual({ [SIG_KEY]: SECRET_SIG, value: "HF_TOKEN=hf_abcdef123456" });

  const provider = JSON.parse(e.get(T.dockerProvider, "gpu1-docker").wire);
  expect(isSecret(provider.registryAuth)).toBe(true);
  expect(JSON.parse(provider.registryAuth.value)).toEqual([
    { address: "ghcr.io", username: "jim0237", password: "ghp_zyxw98765" },
  ]);

  // stt builds on gpu1: a private base image is pulled by BuildKit with the same credentials, as a secret.
  const buildProvider = JSON.parse(e.get(T.buildProvider, "gpu1-build").wire);
  expect(isSecret(buildProvider.registries)).toBe(true);
  expect(JSON.parse(buildProvider.registries.value)).toEqual([
    { address: "ghcr.io", username: "jim0237", password: "ghp_zyxw98765" },
  ]);

  for (const r of e.resources) {
    const plain = JSON.stringify(plainParts(JSON.parse(r.wire)));
    expect(plain, `${r.type} ${r.name}`).not.toContain("hf_abcdef123456");
    expect(plain, `${r.type} ${r.name}`).not.toContain("ghp_zyxw98765");
  }
  expect(JSON.stringify(e.outputs)).not.toContain("hf_abcdef123456");
});
