/**
 * The real-engine benchmark's baseline (bench/engine.bench.ts): per service the docker resources the
 * gpu-services program registers (pull, managed volume, container), registered directly from config values.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

const config = new pulumi.Config();
const count = config.requireNumber("services");
const image = config.require("image");
const firstPort = config.requireNumber("firstPort");
const provider = new docker.Provider("local", { host: "unix:///var/run/docker.sock" });

for (let i = 0; i < count; i++) {
  const pulled = new docker.RemoteImage(`svc${i}-image`, { name: image, keepLocally: true }, { provider });
  const volume = new docker.Volume(
    `svc${i}-volume`,
    { name: `bench-baseline-svc${i}` },
    { provider, protect: false, retainOnDelete: false },
  );
  new docker.Container(
    `svc${i}-container`,
    {
      name: `bench-baseline-svc${i}`,
      image: pulled.imageId,
      restart: "unless-stopped",
      ports: [{ internal: 8000, external: firstPort + i, ip: "127.0.0.1", protocol: "tcp" }],
      mounts: [{ type: "volume", source: volume.name, target: "/data", readOnly: false }],
      envs: ["MODE=bench"],
      labels: [{ label: "bench", value: "baseline" }],
      destroyGraceSeconds: 1,
      mustRun: true,
      wait: false,
    },
    { provider, deleteBeforeReplace: true, dependsOn: [pulled, volume] },
  );
}
