/**
 * The stack config reference: what `gpu-services docs [section]` prints and docs/reference/config.md holds
 * (written by `npm run docs:generate`, checked fresh by cli/docsPages.test.ts). The tables are the field docs of
 * stackConfig/fieldDocs.ts, one row per key of each schema; the text around them is here.
 */
import {
  HOST_FIELD_DOCS,
  KUBERNETES_FIELD_DOCS,
  SCHEDULING_FIELD_DOCS,
  SERVICE_FIELD_DOCS,
  SWITCH_FIELD_DOCS,
  type FieldDoc,
} from "../stackConfig/fieldDocs";

interface Section {
  /** The word `gpu-services docs <section>` takes. */
  readonly id: string;
  readonly heading: string;
  /** The table of the section's keys, where it is an object of the schema. */
  readonly fields?: Readonly<Record<string, FieldDoc>>;
  /** Markdown lines after the table (or alone). */
  readonly text: readonly string[];
}

const INTRO = [
  "All keys live under the `gpu-services:` namespace of `Pulumi.<stack>.yaml`. Every object is strict: a key that",
  "is not listed here is an error. Bad config fails before a single resource is registered, with every problem at",
  "once, each naming the stack, the key path and what is allowed, for example:",
  "",
  "```",
  'Stack "prod" has 2 config problems (keys under "gpu-services:" in Pulumi.prod.yaml); nothing was deployed:',
  "  - services.stt.ports[0].host: must be a whole number from 1 to 65535 (the port published on the host) (got 70000)",
  '  - services.tts.image.tag: "latest" is a floating tag and this stack requires pinned images (requirePinnedImages): …',
  "```",
];

const SECTIONS: readonly Section[] = [
  {
    id: "requirePinnedImages",
    heading: "`requirePinnedImages` (bool, default `false`)",
    text: [
      "When true (prod), a registry image needs a `digest` or a tag that does not move (`latest`, `main`, `master`,",
      "`develop`, `dev`, `edge`, `nightly`, `stable` and no tag at all are refused), and a build needs a git context",
      "with `ref` set to a full 40-hex commit.",
    ],
  },
  {
    id: "sharesHostsWith",
    heading: "`sharesHostsWith` (list of stack names, default `[]`)",
    text: [
      "Other stacks deployed to the same Docker hosts (same `dockerHost` URI), read from their `Pulumi.<stack>.yaml`:",
      "a host port, GPU, container name or managed volume name one of them uses is refused to this stack (prod and",
      "test name each other). A port bound to a different `hostIp` does not clash; a GPU is shared only where the",
      "service says `shareGpu: true`.",
    ],
  },
  {
    id: "switch",
    heading: "`switch` (optional)",
    fields: SWITCH_FIELD_DOCS,
    text: [
      "A proxy per host of the stack, `gpu-switch-<stack>`, that owns the published ports of the stack's services on",
      "that host and moves traffic from one release to the next (docs/design/blue-green-releases.md). Without it, every",
      "service publishes its own ports and every release is stop-then-start (`release.strategy` `auto` says",
      "`no switch: gpu-services:switch is not set`). Behind a switch a service publishes no `udp` port (the switch",
      "proxies HTTP over tcp).",
    ],
  },
  {
    id: "hosts",
    heading: "`hosts.<name>`",
    fields: HOST_FIELD_DOCS,
    text: [],
  },
  {
    id: "kubernetes",
    heading: "`hosts.<name>.kubernetes` (a cluster)",
    fields: KUBERNETES_FIELD_DOCS,
    text: [
      "A host is exactly one of a Docker host (`dockerHost`) and a cluster (`kubernetes`); one stack may have both, and",
      "moving a service is a change of its `host`. On a cluster a service may not use what Kubernetes has no form for,",
      "and each is refused by its key path with the way out: `build` (publish with `examples/service-publish.yml`, then",
      "use `image`), `binds` (use a volume), `gpus.deviceIds` and `gpus.count: all` (give a number: the device plugin",
      "picks the GPUs), `shareGpu`, `ulimits`, `ipc` other than `host`, a `user` that is not a numeric `uid[:gid]`,",
      "`restart` other than `unless-stopped`/`always`, `ports[].hostIp`, and names Kubernetes does not take (a",
      "`containerName` that is not a DNS-1035 label, a volume name that is not a DNS-1123 name, a label key that is not",
      "a `[prefix/]name`). `scheduling` is refused on a Docker host, where `replicas` are containers (copies, see",
      "docs/concepts/replicas.md). `kubeconfigSecret` must name an entry of `secrets`. On a `NodePort` cluster a port",
      "number is used by one service. `gpu-services:switch` and the GPU accounting of `sharesHostsWith` are for Docker",
      "hosts only.",
    ],
  },
  {
    id: "secrets",
    heading: "`secrets` (secret map)",
    text: [
      "Values set with `pulumi config set --secret --path 'gpu-services:secrets.<name>' <value>`; services and hosts",
      "refer to them by name (`secretEnv`, `registryAuth[].passwordSecret`). A `secrets` map set without `--secret` is",
      "refused, and so is a value set with `--secret` anywhere else (for example `services.tts.env.API_KEY`: it would be",
      "plain text in the container's inputs), with the commands that move it. Values stay secrets in every resource",
      "input and output, and never appear in a message.",
    ],
  },
  {
    id: "services",
    heading: "`services.<name>` (lowercase letters, digits, `-`)",
    fields: SERVICE_FIELD_DOCS,
    text: [],
  },
  {
    id: "scheduling",
    heading: "`services.<name>.scheduling` (clusters only)",
    fields: SCHEDULING_FIELD_DOCS,
    text: [],
  },
  {
    id: "outputs",
    heading: "Stack outputs",
    text: [
      "`services.<name>`: `endpoint` (`scheme://address:port`), `image` (the image actually deployed:",
      "`repository@sha256:…` for pulls, `<tag>@sha256:…` for builds), `containerName`, `host`.",
      "`switches.<host>` (only with `gpu-services:switch`): `container` (`gpu-switch-<stack>`), `ports` (the host",
      "ports it publishes, sorted), `pushExitCode` (0; the program reads the hosts of the last `up` from it).",
      "",
      "Every container carries labels `gpu-services.service`, `gpu-services.stack`, `gpu-services.release` (the pulled",
      "ref or the build's `url#commit`) and `gpu-services.image` (image ID or build digest):",
      "`docker inspect stt-prod --format '{{json .Config.Labels}}'` tells what runs.",
    ],
  },
];

/** The words `gpu-services docs` takes, in the reference's order. */
export function configSections(): string[] {
  return SECTIONS.map((s) => s.id);
}

/** A table of field docs, one row per key, in the schema's order. */
export function fieldTable(fields: Readonly<Record<string, FieldDoc>>): string[] {
  return [
    "| key | type | default | meaning |",
    "| --- | --- | --- | --- |",
    ...Object.entries(fields).map(([key, d]) => `| \`${key}\` | ${d.type} | ${d.default} | ${d.meaning} |`),
  ];
}

function renderSection(s: Section): string {
  const table = s.fields ? fieldTable(s.fields) : [];
  const text = s.text.length > 0 && table.length > 0 ? ["", ...s.text] : s.text;
  return [`## ${s.heading}`, "", ...table, ...text].join("\n");
}

/** The whole reference as Markdown, or one section of it. */
export function configReference(section?: string): string {
  const chosen = SECTIONS.filter((s) => section === undefined || s.id === section);
  const head = section === undefined ? ["# Stack config reference", "", ...INTRO, ""] : [];
  return [...head, chosen.map(renderSection).join("\n\n")].join("\n");
}
