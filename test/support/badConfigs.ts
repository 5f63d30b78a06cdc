/**
 * A corpus of bad stack configs: each a small change to a good config, the key path the error must name and
 * a fragment of what it must say is allowed. Used by the schema tests (no Pulumi runtime) and by the program
 * tests (under mocks, where nothing may be registered).
 */

const COMMIT = "cf2f45fd9df5a67ce52ebf996c8163cd94202952";

/** A pinned switch, for the cases about gpu-services:switch and the release strategies behind it. */
const SWITCH = { image: { repository: "ghcr.io/jim0237/gpu-switch", digest: `sha256:${"b".repeat(64)}` } };

/** A cluster host, for the cases about Kubernetes clusters (hosts.<h>.kubernetes). */
const CLUSTER = { kubernetes: { namespace: "speech" } };

/** A good config in the shape of production, small enough to mutate. */
export function goodConfig(): Record<string, any> {
  return {
    requirePinnedImages: true,
    hosts: {
      gpu1: { dockerHost: "ssh://agnes@10.30.11.45", gpus: 2 },
      lab: { dockerHost: "unix:///var/run/docker.sock" },
    },
    services: {
      stt: {
        host: "gpu1",
        build: { context: "https://github.com/jim0237/STT-API-Server.git", ref: COMMIT },
        ports: [{ host: 8060, container: 8000 }],
        volumes: [{ name: "stt-models", target: "/app/models" }],
        binds: [{ source: "/home/agnes/voice-notes", target: "/app/vnotes" }],
        gpus: { count: 1 },
        healthcheck: { test: ["CMD", "curl", "-f", "http://localhost:8000/health"], startPeriod: "60s" },
      },
      tts: {
        host: "gpu1",
        image: { repository: "ghcr.io/jim0237/tts-v2-api-server", tag: `sha-${COMMIT}` },
        ports: [{ host: 8055, container: 8000 }],
        env: { TTS_USE_HTTPS: "true" },
        gpus: { count: 1 },
      },
    },
  };
}

export interface BadCase {
  readonly name: string;
  readonly mutate: (c: Record<string, any>) => void;
  /** Full key paths that must each appear in the error, as `<path>: `. */
  readonly paths: readonly string[];
  /** Text the error must contain (what is allowed, or what conflicts). */
  readonly says: string;
  /** Keys that were set with --secret (default: none). */
  readonly secretKeys?: readonly string[];
}

export const BAD_CASES: readonly BadCase[] = [
  {
    name: "host port above 65535",
    mutate: (c) => (c.services.stt.ports[0].host = 70000),
    paths: ["services.stt.ports[0].host"],
    says: "must be a whole number from 1 to 65535 (the port published on the host) (got 70000)",
  },
  {
    name: "container port 0",
    mutate: (c) => (c.services.stt.ports[0].container = 0),
    paths: ["services.stt.ports[0].container"],
    says: "from 1 to 65535 (the port inside the container)",
  },
  {
    name: "port given as a string",
    mutate: (c) => (c.services.tts.ports[0].host = "8055"),
    paths: ["services.tts.ports[0].host"],
    says: "from 1 to 65535",
  },
  {
    name: "same host port in two services on one host",
    mutate: (c) => (c.services.tts.ports[0].host = 8060),
    paths: ["services.tts.ports[0].host"],
    says: 'host port 8060/tcp on host "gpu1" (ssh://agnes@10.30.11.45) is already published by services.stt.ports[0]',
  },
  {
    name: "same host port twice in one service",
    mutate: (c) => c.services.stt.ports.push({ host: 8060, container: 9000 }),
    paths: ["services.stt.ports[1].host"],
    says: "host port 8060/tcp is also published by ports[0]",
  },
  {
    name: "bind source not absolute",
    mutate: (c) => (c.services.stt.binds[0].source = "voice-notes"),
    paths: ["services.stt.binds[0].source"],
    says: 'must be an absolute path on the host (got "voice-notes")',
  },
  {
    name: "volume target not absolute",
    mutate: (c) => (c.services.stt.volumes[0].target = "app/models"),
    paths: ["services.stt.volumes[0].target"],
    says: "must be an absolute path inside the container",
  },
  {
    name: "image and build both",
    mutate: (c) => (c.services.stt.image = { repository: "ghcr.io/jim0237/stt-api-server", tag: "v1" }),
    paths: ["services.stt"],
    says: "has both image and build; give exactly one",
  },
  {
    name: "neither image nor build",
    mutate: (c) => delete c.services.tts.image,
    paths: ["services.tts"],
    says: "has neither image nor build; give exactly one",
  },
  {
    name: "gpus count and deviceIds both",
    mutate: (c) => (c.services.stt.gpus = { count: 1, deviceIds: ["0"] }),
    paths: ["services.stt.gpus"],
    says: "give either count or deviceIds, not both",
  },
  {
    name: "service on an unknown host",
    mutate: (c) => (c.services.tts.host = "gpu9"),
    paths: ["services.tts.host"],
    says: 'unknown host "gpu9"; hosts in this stack: gpu1, lab',
  },
  {
    name: "latest tag where pins are required",
    mutate: (c) => (c.services.tts.image.tag = "latest"),
    paths: ["services.tts.image.tag"],
    says: '"latest" is a floating tag and this stack requires pinned images',
  },
  {
    name: "branch tag where pins are required",
    mutate: (c) => (c.services.tts.image.tag = "main"),
    paths: ["services.tts.image.tag"],
    says: '"main" is a floating tag',
  },
  {
    name: "no tag where pins are required",
    mutate: (c) => delete c.services.tts.image.tag,
    paths: ["services.tts.image.tag"],
    says: "no tag means latest",
  },
  {
    name: "git build from a branch where pins are required",
    mutate: (c) => (c.services.stt.build.ref = "main"),
    paths: ["services.stt.build.ref"],
    says: 'a git build needs ref set to a full 40-hex commit (got "main")',
  },
  {
    name: "local build where pins are required",
    mutate: (c) => (c.services.stt.build = { context: "../STT-API-Server" }),
    paths: ["services.stt.build.context"],
    says: "build from a git URL with ref set to a full commit, not from a local folder",
  },
  {
    name: "invalid env name (Docker takes any name but one with = or NUL)",
    mutate: (c) => (c.services.tts.env["BAD=NAME"] = "x"),
    paths: ['services.tts.env["BAD=NAME"]'],
    says: "is not a valid env name",
  },
  {
    name: "env name both plain and secret",
    mutate: (c) => {
      c.secrets = { hf: "[secret]" };
      c.services.tts.secretEnv = { TTS_USE_HTTPS: "hf" };
    },
    secretKeys: ["secrets"],
    paths: ["services.tts.secretEnv.TTS_USE_HTTPS"],
    says: "is also set in env",
  },
  {
    name: "secretEnv naming a secret that is not set",
    mutate: (c) => (c.services.tts.secretEnv = { HF_TOKEN: "hfToken" }),
    paths: ["services.tts.secretEnv.HF_TOKEN"],
    says: "no secret \"hfToken\" in secrets; set it with: pulumi config set --secret --path 'secrets.hfToken'",
  },
  {
    name: "secrets set in plain text",
    mutate: (c) => {
      c.secrets = { ghcrToken: "ghp_plain" };
      c.hosts.gpu1.registryAuth = [{ address: "ghcr.io", username: "jim0237", passwordSecret: "ghcrToken" }];
    },
    paths: ["secrets"],
    says: "must be set with --secret",
  },
  {
    name: "registry credentials naming a missing secret",
    mutate: (c) => (c.hosts.gpu1.registryAuth = [{ address: "ghcr.io", username: "jim0237", passwordSecret: "ghcr" }]),
    paths: ["hosts.gpu1.registryAuth[0].passwordSecret"],
    says: 'no secret "ghcr" in secrets',
  },
  {
    name: "unknown key in a service (typo)",
    mutate: (c) => (c.services.tts.restartPolicy = "always"),
    paths: ["services.tts.restartPolicy"],
    says: "unknown key; allowed here: host, containerName, image, build, ports",
  },
  {
    name: "unknown key in a port (compose spelling)",
    mutate: (c) => (c.services.stt.ports[0] = { published: 8060, target: 8000 }),
    paths: ["services.stt.ports[0].published", "services.stt.ports[0].target", "services.stt.ports[0].host"],
    says: "allowed here: host, container, protocol, hostIp",
  },
  {
    name: "unknown top-level key",
    mutate: (c) => (c.servcies = {}),
    paths: ["servcies"],
    says: "unknown key; allowed here: requirePinnedImages, hosts, services, sharesHostsWith, secrets",
  },
  {
    name: "Docker host that is not a URI",
    mutate: (c) => (c.hosts.gpu1.dockerHost = "10.30.11.45"),
    paths: ["hosts.gpu1.dockerHost"],
    says: "must be a Docker host URI: unix:///var/run/docker.sock, ssh://user@host[:port] or tcp://host:port",
  },
  {
    name: "restart policy not known to Docker",
    mutate: (c) => (c.services.tts.restart = "sometimes"),
    paths: ["services.tts.restart"],
    says: "must be one of no, on-failure, always, unless-stopped",
  },
  {
    name: "protocol not tcp or udp",
    mutate: (c) => (c.services.stt.ports[0].protocol = "sctp"),
    paths: ["services.stt.ports[0].protocol"],
    says: "must be tcp or udp",
  },
  {
    name: "malformed digest",
    mutate: (c) => (c.services.tts.image.digest = "sha256:abc"),
    paths: ["services.tts.image.digest"],
    says: "must be sha256: followed by 64 lowercase hex digits",
  },
  {
    name: "tag written into the repository",
    mutate: (c) => (c.services.tts.image.repository = "ghcr.io/jim0237/tts-v2-api-server:latest"),
    paths: ["services.tts.image.repository"],
    says: "put a tag in image.tag",
  },
  {
    name: "healthcheck duration in words",
    mutate: (c) => (c.services.stt.healthcheck.interval = "30 seconds"),
    paths: ["services.stt.healthcheck.interval"],
    says: "must be a duration such as 30s, 1m30s or 500ms",
  },
  {
    name: "healthcheck list without CMD",
    mutate: (c) => (c.services.stt.healthcheck.test = ["curl", "-f", "http://localhost:8000/health"]),
    paths: ["services.stt.healthcheck.test"],
    says: 'a list must start with CMD, CMD-SHELL or NONE (got "curl")',
  },
  {
    name: "two mounts on one target",
    mutate: (c) => (c.services.stt.binds[0].target = "/app/models"),
    paths: ["services.stt.binds[0].target"],
    says: '"/app/models" is already mounted by services.stt.volumes[0]',
  },
  {
    name: "more GPUs asked than the host has",
    mutate: (c) => (c.services.tts.gpus = { count: 2 }),
    paths: ["services.stt.gpus", "services.tts.gpus"],
    says: 'host "gpu1" has 2 GPUs (hosts.gpu1.gpus) but stt, tts ask for 3; set shareGpu: true on services that may share',
  },
  {
    name: "two containers with one name on a host",
    mutate: (c) => {
      c.services.stt.containerName = "speech";
      c.services.tts.containerName = "speech";
    },
    paths: ["services.tts.containerName"],
    says: 'container name "speech" on host "gpu1" (ssh://agnes@10.30.11.45) is already used by services.stt',
  },
  {
    name: "one managed volume in two services on a host",
    mutate: (c) => (c.services.tts.volumes = [{ name: "stt-models", target: "/data" }]),
    paths: ["services.tts.volumes[0].name"],
    says: 'volume "stt-models" on host "gpu1" (ssh://agnes@10.30.11.45) is already managed by services.stt.volumes[0]',
  },
  {
    name: "endpoint port not published",
    mutate: (c) => (c.services.tts.endpointPort = 9000),
    paths: ["services.tts.endpointPort"],
    says: "must be a container port listed in ports (listed: 8000)",
  },
  {
    name: "label with the reserved prefix",
    mutate: (c) => (c.services.tts.labels = { "gpu-services.release": "x" }),
    paths: ['services.tts.labels["gpu-services.release"]'],
    says: 'the "gpu-services." prefix is reserved',
  },
  {
    name: "ref on a local build",
    mutate: (c) => {
      c.requirePinnedImages = false;
      c.services.stt.build = { context: "./stt", ref: "main" };
    },
    paths: ["services.stt.build.ref"],
    says: "applies only to a git context",
  },
  {
    name: "service name with capitals",
    mutate: (c) => (c.services.STT = c.services.stt),
    paths: ["services.STT"],
    says: "service names are lowercase letters, digits and -",
  },
  {
    name: "tracking a moving tag where pins are required",
    mutate: (c) =>
      (c.services.tts.image = { repository: "ghcr.io/jim0237/tts-v2-api-server", tag: "latest", track: true }),
    paths: ["services.tts.image.track"],
    says: "it cannot follow a moving tag; pin a digest (npm run release) instead",
  },
  {
    name: "tracking with a digest",
    mutate: (c) => {
      c.requirePinnedImages = false;
      c.services.tts.image.track = true;
      c.services.tts.image.digest = `sha256:${"c".repeat(64)}`;
    },
    paths: ["services.tts.image.track"],
    says: "follows a tag: give image.tag and no image.digest",
  },
  {
    name: "a GPU device the host does not have",
    mutate: (c) => {
      c.hosts.gpu1.gpus = {
        count: 2,
        devices: [
          { id: "0", memoryGiB: 24 },
          { id: "1", memoryGiB: 24 },
        ],
      };
      c.services.stt.gpus = { deviceIds: ["2"] };
    },
    paths: ["services.stt.gpus.deviceIds[0]"],
    says: 'host "gpu1" has no GPU "2" (hosts.gpu1.gpus.devices: 0, 1)',
  },
  {
    name: "one GPU device for two services that do not share",
    mutate: (c) => {
      c.services.stt.gpus = { deviceIds: ["0"] };
      c.services.tts.gpus = { deviceIds: ["0"] };
    },
    paths: ["services.tts.gpus.deviceIds[0]"],
    says: 'GPU "0" on host "gpu1" is already used by stt; set shareGpu: true on both to share it',
  },
  {
    name: "more GPUs than the host has for one service",
    mutate: (c) => (c.services.stt.gpus = { count: 3 }),
    paths: ["services.stt.gpus"],
    says: 'asks for 3 GPUs but host "gpu1" has 2 (hosts.gpu1.gpus)',
  },
  {
    name: "a host's device list that does not match its count",
    mutate: (c) => (c.hosts.gpu1.gpus = { count: 2, devices: [{ id: "0" }] }),
    paths: ["hosts.gpu1.gpus.devices"],
    says: "lists 1 devices but count is 2",
  },
  {
    name: "sharing hosts with a stack that has no file",
    mutate: (c) => (c.sharesHostsWith = ["lab"]),
    paths: ["sharesHostsWith[0]"],
    says: 'stack "lab" was not loaded (is there a Pulumi.lab.yaml?)',
  },
  {
    name: "hosts missing",
    mutate: (c) => delete c.hosts,
    paths: ["hosts", "services.stt.host", "services.tts.host"],
    says: "is required",
  },
  {
    name: "shm size in an unknown unit",
    mutate: (c) => (c.services.tts.shmSize = "16x"),
    paths: ["services.tts.shmSize"],
    says: 'must be a size such as 16g, 512m or a number of bytes (got "16x")',
  },
  {
    name: "shm size that is not whole MiB",
    mutate: (c) => (c.services.tts.shmSize = "100k"),
    paths: ["services.tts.shmSize"],
    says: 'must be a whole number of MiB, at least 1m (got "100k")',
  },
  {
    name: "an IPC mode Docker does not know",
    mutate: (c) => (c.services.tts.ipc = "shared"),
    paths: ["services.tts.ipc"],
    says: "must be one of private, shareable, host",
  },
  {
    name: "a CPU limit of zero",
    mutate: (c) => (c.services.tts.cpus = 0),
    paths: ["services.tts.cpus"],
    says: "must be a number of CPUs above 0",
  },
  {
    name: "a ulimit that does not exist",
    mutate: (c) => (c.services.tts.ulimits = { memlocks: -1 }),
    paths: ["services.tts.ulimits.memlocks"],
    says: "unknown key; allowed here: core, cpu, data",
  },
  {
    name: "a ulimit whose soft limit exceeds its hard one",
    mutate: (c) => (c.services.tts.ulimits = { nofile: { soft: 2048, hard: 1024 } }),
    paths: ["services.tts.ulimits.nofile"],
    says: "soft (2048) may not exceed hard (1024)",
  },
  {
    name: "an empty entrypoint",
    mutate: (c) => (c.services.tts.entrypoint = []),
    paths: ["services.tts.entrypoint"],
    says: "must list the program and its arguments",
  },
  {
    name: "a build tag that is not an image name",
    mutate: (c) => (c.services.stt.build.tag = "Not An Image"),
    paths: ["services.stt.build.tag"],
    says: "must be an image name such as sd-auto:78",
  },
  {
    name: "GPU memory of zero",
    mutate: (c) => (c.services.stt.gpus.memoryGiB = 0),
    paths: ["services.stt.gpus.memoryGiB"],
    says: "must be a number of GiB above 0, such as 5 or 4.5",
  },
  {
    name: "a release strategy that does not exist",
    mutate: (c) => (c.services.stt.release = { strategy: "rolling" }),
    paths: ["services.stt.release.strategy"],
    says: "must be one of auto, blue-green, stop-then-start",
  },
  {
    name: "a drain time above an hour",
    mutate: (c) => (c.services.stt.release = { drainSeconds: 4000 }),
    paths: ["services.stt.release.drainSeconds"],
    says: "must be a whole number of seconds from 0 to 3600",
  },
  {
    name: "unknown key in release",
    mutate: (c) => (c.services.tts.release = { strategy: "auto", drain: 5 }),
    paths: ["services.tts.release.drain"],
    says: "unknown key; allowed here: strategy, drainSeconds",
  },
  {
    name: "unknown key in the switch",
    mutate: (c) => (c.switch = { ...SWITCH, hold: 5 }),
    paths: ["switch.hold"],
    says: "unknown key; allowed here: image, build, holdSeconds, streamCloseDelay, dockerSocket",
  },
  {
    name: "a switch hold above 600 s",
    mutate: (c) => (c.switch = { ...SWITCH, holdSeconds: 601 }),
    paths: ["switch.holdSeconds"],
    says: "must be a whole number of seconds from 0 to 600",
  },
  {
    name: "a stream close delay in words",
    mutate: (c) => (c.switch = { ...SWITCH, streamCloseDelay: "1 hour" }),
    paths: ["switch.streamCloseDelay"],
    says: "must be a Go duration such as 1h, 30m or 90s",
  },
  {
    name: "a Docker socket path that is not absolute",
    mutate: (c) => (c.switch = { ...SWITCH, dockerSocket: "docker.sock" }),
    paths: ["switch.dockerSocket"],
    says: 'must be an absolute path on the host (got "docker.sock")',
  },
  {
    name: "a switch with neither image nor build",
    mutate: (c) => (c.switch = { holdSeconds: 5 }),
    paths: ["switch"],
    says: "has neither image nor build; give exactly one",
  },
  {
    name: "a switch on a floating tag where pins are required",
    mutate: (c) => (c.switch = { image: { repository: "ghcr.io/jim0237/gpu-switch", tag: "latest" } }),
    paths: ["switch.image.tag"],
    says: '"latest" is a floating tag and this stack requires pinned images',
  },
  {
    name: "blue-green without a healthcheck",
    mutate: (c) => {
      c.switch = SWITCH;
      c.services.tts.release = { strategy: "blue-green" };
    },
    paths: ["services.tts.release.strategy"],
    says: "blue-green needs a healthcheck: set services.tts.healthcheck",
  },
  {
    name: "blue-green without a switch",
    mutate: (c) => (c.services.stt.release = { strategy: "blue-green" }),
    paths: ["services.stt.release.strategy"],
    says: "blue-green needs a switch: set gpu-services:switch",
  },
  {
    name: "blue-green whose two copies do not fit on the GPU",
    mutate: (c) => {
      c.switch = SWITCH;
      c.hosts.gpu1.gpus = {
        count: 2,
        devices: [
          { id: "0", memoryGiB: 16 },
          { id: "1", memoryGiB: 16 },
        ],
      };
      c.services.stt.gpus = { deviceIds: ["0"], memoryGiB: 9 };
      c.services.tts.gpus = { deviceIds: ["1"], memoryGiB: 4 };
      c.services.stt.release = { strategy: "blue-green" };
    },
    paths: ["services.stt.release.strategy"],
    says: "blue-green does not fit two copies: 2 × 9 GiB = 18 GiB > 16 GiB on GPU 0",
  },
  {
    name: "a udp port behind a switch",
    mutate: (c) => {
      c.switch = SWITCH;
      c.services.tts.ports.push({ host: 5353, container: 53, protocol: "udp" });
    },
    paths: ["services.tts.ports[1].protocol"],
    says: "udp cannot be published behind gpu-services:switch, which proxies HTTP over tcp only",
  },
  {
    name: "GPU memory above what the GPU has",
    mutate: (c) => {
      c.hosts.gpu1.gpus = {
        count: 2,
        devices: [
          { id: "0", memoryGiB: 24 },
          { id: "1", memoryGiB: 16 },
        ],
      };
      c.services.stt.gpus = { count: 1, memoryGiB: 20 };
    },
    paths: ["services.stt.gpus.memoryGiB"],
    says:
      "20 GiB for one copy is more than GPU 1 has (hosts.gpu1.gpus.devices[1].memoryGiB: 16 GiB), and the service " +
      "may run there; must be at most 16 GiB",
  },
  {
    name: "two copies on a Docker host without a switch",
    mutate: (c) => (c.services.stt.replicas = 2),
    paths: ["services.stt.replicas"],
    says:
      "2 copies share the service's ports through the switch, and gpu-services:switch is not set: set " +
      "gpu-services:switch, or set replicas to 1",
  },
  {
    name: "copies placed on GPUs whose memory is not declared",
    mutate: (c) => {
      c.switch = SWITCH;
      c.services.stt.replicas = 2;
    },
    paths: ["services.stt.replicas"],
    says:
      "2 copies are placed on the GPUs with the most free memory, and services.stt.gpus.memoryGiB is not set: " +
      "declare it, or pin each copy's GPUs with gpus.deviceIds (2 IDs, copy i taking the i-th 1)",
  },
  {
    name: "device IDs that do not split between the copies",
    mutate: (c) => {
      c.switch = SWITCH;
      c.hosts.gpu1.gpus = { count: 4, devices: ["0", "1", "2", "3"].map((id) => ({ id })) };
      c.services.stt.gpus = { deviceIds: ["0", "1", "2"] };
      c.services.stt.replicas = 2;
    },
    paths: ["services.stt.gpus.deviceIds"],
    says: "lists 3 device IDs for 2 copies (replicas): must list 2 × k of them (2, 4, 6, …), copy i taking the i-th k",
  },
  {
    name: "every GPU for each of several copies",
    mutate: (c) => {
      c.switch = SWITCH;
      c.services.stt.gpus = { count: "all" };
      c.services.stt.replicas = 2;
    },
    paths: ["services.stt.gpus.count"],
    says: '"all" cannot be split between 2 copies (replicas): give a number of GPUs per copy',
  },
  {
    name: "a copy that does not fit on any GPU",
    mutate: (c) => {
      c.switch = SWITCH;
      c.hosts.gpu1.gpus = {
        count: 2,
        devices: [
          { id: "0", memoryGiB: 24 },
          { id: "1", memoryGiB: 16 },
        ],
      };
      c.services.tts.gpus = { deviceIds: ["0"], memoryGiB: 10 };
      c.services.tts.shareGpu = true;
      c.services.stt.gpus = { count: 1, memoryGiB: 15 };
      c.services.stt.shareGpu = true;
      c.services.stt.replicas = 2;
    },
    paths: ["services.stt.replicas"],
    says:
      "copy 1 of 2 does not fit: it needs 15 GiB on a GPU, and GPU 0, the one with the most room, has 14 GiB free " +
      'of 24 GiB (used by tts 10 GiB); lower services.stt.gpus.memoryGiB or replicas, move a service off host "gpu1"',
  },
  {
    name: "scheduling on a Docker host",
    mutate: (c) => (c.services.tts.scheduling = { runtimeClassName: "nvidia" }),
    paths: ["services.tts.scheduling"],
    says: 'is for clusters only: host "gpu1" is a Docker host, which has no nodes to place pods on',
  },
  {
    name: "a host that is both a Docker host and a cluster",
    mutate: (c) => (c.hosts.lab.kubernetes = { namespace: "speech" }),
    paths: ["hosts.lab.kubernetes"],
    says: "give exactly one of dockerHost (a Docker host) and kubernetes (a cluster), not both",
  },
  {
    name: "a build and a bind on a cluster",
    mutate: (c) => {
      c.hosts.k8s = CLUSTER;
      c.services.stt.host = "k8s";
    },
    paths: ["services.stt.build", "services.stt.binds"],
    says: "publish the image with examples/service-publish.yml",
  },
  {
    name: "GPU device IDs on a cluster",
    mutate: (c) => {
      c.hosts.k8s = CLUSTER;
      c.services.tts.host = "k8s";
      c.services.tts.gpus = { deviceIds: ["0"] };
    },
    paths: ["services.tts.gpus.deviceIds"],
    says: 'host "k8s" is a cluster, where the NVIDIA device plugin picks the GPUs: give gpus.count (a number) instead',
  },
  {
    name: "a kubeconfig secret that is not in secrets",
    mutate: (c) => (c.hosts.k8s = { kubernetes: { namespace: "speech", kubeconfigSecret: "kubeconfig" } }),
    paths: ["hosts.k8s.kubernetes.kubeconfigSecret"],
    says: 'no secret "kubeconfig" in secrets',
  },
  {
    name: "the same node port for two services on a NodePort cluster",
    mutate: (c) => {
      c.hosts.k8s = { kubernetes: { namespace: "speech", serviceType: "NodePort" } };
      c.services.tts.host = "k8s";
      c.services.web = { ...c.services.tts, ports: [{ host: 8055, container: 80 }] };
    },
    paths: ["services.web.ports[0].host"],
    says: 'node port 8055 on cluster "k8s" (namespace speech) is already taken by services.tts.ports[0]',
  },
  {
    name: "blue-green on a cluster without a healthcheck",
    mutate: (c) => {
      c.hosts.k8s = CLUSTER;
      c.services.tts.host = "k8s";
      c.services.tts.release = { strategy: "blue-green" };
    },
    paths: ["services.tts.release.strategy"],
    says: "blue-green needs a healthcheck: set services.tts.healthcheck (a rolling update moves traffic only to a ready pod)",
  },
  {
    name: "a readiness check on a port the service does not list",
    mutate: (c) => (c.services.stt.readiness = { path: "/health", port: 9000 }),
    paths: ["services.stt.readiness.port"],
    says: "must be a container port listed in ports over tcp (listed: 8000)",
  },
  {
    name: "a readiness body file that is not in the project",
    mutate: (c) =>
      (c.services.stt.readiness = {
        path: "/transcribe",
        method: "POST",
        body: { multipart: { field: "audio", file: "readiness/missing.wav", contentType: "audio/wav" } },
      }),
    paths: ["services.stt.readiness.body.multipart.file"],
    says: 'no file "readiness/missing.wav" in the project folder',
  },
  {
    name: "a hold longer than an hour",
    mutate: (c) => (c.services.tts.hold = { seconds: 7200 }),
    paths: ["services.tts.hold.seconds"],
    says: "must be a whole number of seconds from 0 to 3600 (got 7200)",
  },
  {
    name: "a POST readiness check on a cluster",
    mutate: (c) => {
      c.hosts.k8s = CLUSTER;
      c.services.tts.host = "k8s";
      c.services.tts.readiness = { path: "/v1/audio/speech", method: "POST", body: { text: "{}" } };
    },
    paths: ["services.tts.readiness.method", "services.tts.readiness.body"],
    says: 'POST has no Kubernetes probe form on cluster "k8s"; use GET (readiness.path)',
  },
];
