/**
 * A service's environment through import and export, as compose-go reads it: env names that are not shell
 * identifiers, and the import's own rules for secrets (what goes to secretEnv, secret names, where a secret came
 * from).
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { buildModel } from "../model";
import { project, imp, modelOf, HOSTS } from "../test/support/composeProjects";
import { exportCompose } from "./export";

describe("env names that are not shell identifiers", () => {
  it("Elasticsearch's and Java's dotted names come over, through the stack schema, as Docker takes them", () => {
    const dir = project({
      "compose.yaml":
        "services:\n  es:\n    image: x/es:8\n    environment:\n      - node.name=es01\n      - discovery.type=single-node\n" +
        "      - cluster.routing.allocation.disk.watermark.low=85%\n      - ES_JAVA_OPTS=-Xms1g\n      - xpack.security.enabled=false\n",
    });
    const spec = modelOf(imp(dir)).services[0];
    expect(spec.env).toEqual({
      ES_JAVA_OPTS: "-Xms1g",
      "cluster.routing.allocation.disk.watermark.low": "85%",
      "discovery.type": "single-node",
      "node.name": "es01",
      "xpack.security.enabled": "false",
    });
  });

  it("what Docker refuses stays refused: an empty name, a name with =, a name with NUL", () => {
    for (const bad of ["", "A=B", "A\0B"]) {
      expect(() =>
        buildModel(
          { hosts: HOSTS, services: { a: { host: "gpu", image: { repository: "x/a" }, env: { [bad]: "1" } } } },
          { stack: "dev" },
        ),
      ).toThrow("is not a valid env name");
    }
  });
});

describe("export-compose with env names that are not shell identifiers", () => {
  it("a secret env value is written as a variable compose can interpolate", () => {
    const model = buildModel(
      {
        hosts: HOSTS,
        services: { es: { host: "gpu", image: { repository: "x/es" }, secretEnv: { "elastic.password": "esPass" } } },
        secrets: { esPass: "s3cret" },
      },
      { stack: "dev", secretKeys: new Set(["secrets"]) },
    );
    const text = [...exportCompose(model).values()][0];
    expect(text).toContain("elastic.password: ${elastic_password}");
  });
});

describe("what goes to secretEnv", () => {
  it("a flag, a number or an empty value stays plain, whatever its name; a credential goes to secretEnv", () => {
    const dir = project({
      "compose.yaml":
        "services:\n  ui:\n    image: x/ui:1\n    environment:\n      DISABLE_PASSWORD_LOGIN: 'false'\n" +
        "      API_KEY_REQUIRED: 'True'\n      MAX_TOKENS: 4096\n      SECRET_KEY: ''\n      TOKEN_TTL: '1.5'\n" +
        "      HF_TOKEN: hf_abc\n      WEBUI_SECRET_KEY: t0p-s3cret\n",
    });
    const r = imp(dir);
    expect(r.services.ui.config.env).toEqual({
      DISABLE_PASSWORD_LOGIN: "false",
      API_KEY_REQUIRED: "True",
      MAX_TOKENS: "4096",
      SECRET_KEY: "",
      TOKEN_TTL: "1.5",
    });
    expect(r.services.ui.config.secretEnv).toEqual({ HF_TOKEN: "hfToken", WEBUI_SECRET_KEY: "webuiSecretKey" });
  });

  it("secret names are unique by construction: each service is bound to its own value, every value listed", () => {
    const dir = project({
      "compose.yaml":
        "services:\n  a: {image: x/a:1, environment: [Y_HF_TOKEN=three]}\n" +
        "  x: {image: x/x:1, environment: [HF_TOKEN=one]}\n  y: {image: x/y:1, environment: [HF_TOKEN=two]}\n" +
        "  z: {image: x/z:1, environment: [HF_TOKEN=one]}\n",
    });
    const r = imp(dir);
    const value = Object.fromEntries(r.secrets.map((s) => [s.name, s.value]));
    const bound = (svc: string) =>
      value[(r.services[svc].config.secretEnv as Record<string, string>)[svc === "a" ? "Y_HF_TOKEN" : "HF_TOKEN"]];
    expect({ a: bound("a"), x: bound("x"), y: bound("y"), z: bound("z") }).toEqual({
      a: "three",
      x: "one",
      y: "two",
      z: "one",
    });
    expect(r.secrets.map((s) => s.value).sort()).toEqual(["one", "three", "two"]);
    expect(new Set(r.secrets.map((s) => s.name)).size).toBe(3);
  });

  it("a secret name can be set with pulumi config --path: no dots from an env name", () => {
    const dir = project({ "compose.yaml": "services:\n  es: {image: x/es:8, environment: [elastic.password=pw]}\n" });
    expect(imp(dir).services.es.config.secretEnv).toEqual({ "elastic.password": "elasticPassword" });
  });

  it("a secret from an env_file is reported with its real source: the file and the key", () => {
    const dir = project({
      "compose.yaml": "services:\n  a:\n    image: x/a:1\n    env_file: [common.env, app.env]\n",
      "common.env": "PLAIN=1\n",
      "app.env": "HF_TOKEN=hf_file\n",
    });
    const [secret] = imp(dir).secrets;
    expect(secret.from).toBe(`HF_TOKEN in ${path.join(dir, "app.env")} (services.a.env_file[1])`);
  });
});

describe("secret names the stack already has, across imports", () => {
  it("are never given to a new value: its printed command cannot overwrite another service's secret", () => {
    const dir = project({ "compose.yaml": "services:\n  b: {image: x/b:1, environment: [HF_TOKEN=two]}\n" });
    const r = imp(dir, { takenSecretNames: ["hfToken"] });
    expect(r.services.b.config.secretEnv).toEqual({ HF_TOKEN: "bHfToken" });
    expect(r.secrets.map((s) => s.name)).toEqual(["bHfToken"]);
  });
});
