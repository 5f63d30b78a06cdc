/**
 * The program on a real stack file with a Docker host and a cluster side by side
 * (test/fixtures/cluster/Pulumi.mixed.yaml), as `pulumi preview` runs it, the providers mocked: the Docker service
 * becomes a container on its host's docker provider, each cluster service a Deployment, Service, claims and Secret
 * on the cluster's kubernetes provider, and nothing of one kind lands on the other. Evaluated as an up: in a preview
 * a Service's status is unknown, so its endpoint output never resolves under mocks.
 */
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { readStackFile } from "../stackConfig";
import { evaluate, PROJECT_DIR, T, type Evaluation } from "./support/harness";

const FIXTURE = path.join(PROJECT_DIR, "test", "fixtures", "cluster", "Pulumi.mixed.yaml");

describe("a stack with a Docker host and a cluster (the mixed fixture)", () => {
  let run: Evaluation;
  const providerName = (urn: string | undefined) => urn?.split("::").slice(0, -1).join("::").split("::").pop();

  it("evaluates, with one kubernetes provider for the cluster and one docker provider for the host", async () => {
    run = await evaluate(readStackFile(FIXTURE), "mixed", undefined, false);
    expect(run.ofType(T.kubeProvider).map((p) => [p.name, p.inputs.namespace, p.inputs.context])).toEqual([
      ["cluster-a", "speech", "prod"],
    ]);
    expect(run.ofType(T.dockerProvider).map((p) => p.name)).toEqual(["gpu-box-docker"]);
  });

  it("puts the Docker service in a container on its host, and only there", () => {
    const containers = run.ofType(T.container);
    expect(containers.map((c) => c.inputs.name)).toEqual(["asr-mixed"]);
    expect(run.providerHost(containers[0])).toBe("ssh://ops@10.0.0.5");
  });

  it("makes each cluster service a Deployment and a Service on the cluster's provider", () => {
    const deployments = run.ofType(T.deployment);
    expect(deployments.map((d) => d.inputs.metadata.name).sort()).toEqual([
      "stt-mixed",
      "tts-mixed",
      "vad-mixed",
      "web-mixed",
    ]);
    for (const r of [...deployments, ...run.ofType(T.kubeServiceObject)]) {
      expect(providerName(r.provider), `${r.type} ${r.name}`).toBe("cluster-a");
      expect(r.inputs.metadata.namespace ?? "speech", r.name).toBe("speech");
    }
    const stt = deployments.find((d) => d.inputs.metadata.name === "stt-mixed")!;
    expect(stt.inputs.spec.replicas).toBe(2);
    const pod = stt.inputs.spec.template.spec;
    expect(pod.containers[0].resources.limits["nvidia.com/gpu"]).toBe("1");
    expect(pod.nodeSelector).toEqual({
      "kubernetes.io/arch": "amd64",
      "nvidia.com/gpu.product": "NVIDIA-H100-80GB-HBM3",
    });
    expect(pod.runtimeClassName).toBe("nvidia");
    expect(pod.hostIPC).toBe(true);
  });
});
