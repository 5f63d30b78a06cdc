/**
 * Docker Compose file -> `services` stack config. The file is read as compose reads it (load.ts: merge keys,
 * interpolation, .env, include, extends, profiles); each service is then carried over concern by concern
 * (mappers/). Every key it cannot carry over is named in a warning, never dropped silently; a value of the wrong
 * shape is an error naming its compose key path. Named volumes become `external` references to the names Docker
 * gave them, env values that look secret become `secretEnv` references (their values are never written).
 *
 * `FROM_COMPOSE` says, for every field of the deployed service (`ServiceSpec`), which mapper fills it or why
 * nothing does; the compiler holds it complete, and the compose keys carried are derived from it.
 *
 * Pure: no Docker, no Pulumi. Errors are `ComposeError`s naming the compose key path.
 */
import * as os from "node:os";
import * as path from "node:path";
import { SERVICE_NAME_RE, isPlainObject } from "../formats";
import type { ServiceKey } from "../model";
import { ComposeError } from "./errors";
import { loadCompose, type ComposeMap, type LoadOptions } from "./load";
import { deployMapper } from "./mappers/deploy";
import { envMapper } from "./mappers/env";
import { healthcheckMapper } from "./mappers/healthcheck";
import { imageMapper } from "./mappers/image";
import { containerNameMapper, labelsMapper } from "./mappers/labels";
import { mountsMapper } from "./mappers/mounts";
import { portsMapper } from "./mappers/ports";
import { restartMapper } from "./mappers/restart";
import { runtimeMapper } from "./mappers/runtime";
import type { FoundSecrets, ImportedSecret, Mapper, MountNames, ServiceScope } from "./mappers/scope";

export { parseImageRef, splitCommand } from "./syntax";

export interface ImportOptions extends LoadOptions {
  /** Host (a key of `hosts` in the stack) the services run on. */
  readonly host: string;
  /** Compose service name -> service name in the stack. */
  readonly rename?: Readonly<Record<string, string>>;
  /** Only these compose services, whatever their profiles (default: what `docker compose up` starts). */
  readonly only?: readonly string[];
  /** Names of `secrets` the stack already has or refers to: a new value never gets one (default none). */
  readonly takenSecretNames?: readonly string[];
}

export interface ImportedService {
  /** The compose service it came from. */
  readonly composeName: string;
  /** The container name compose gave it (for adoption). */
  readonly composeContainer: string;
  /** Stack config of the service (`services.<name>`). */
  readonly config: Record<string, unknown>;
}

export interface ImportResult {
  /** Compose project name: COMPOSE_PROJECT_NAME, else the top-level `name:`, else the compose file's folder. */
  readonly project: string;
  readonly services: Record<string, ImportedService>;
  /** Secret values to set with `pulumi config set --secret --path 'gpu-services:secrets.<name>' …`. */
  readonly secrets: ImportedSecret[];
  /** Services `docker compose up` would not start (their profiles were not asked for). */
  readonly skipped: Record<string, string[]>;
  /** Keys not carried over, each as `<compose path>: <why>`. */
  readonly warnings: string[];
}

/**
 * How import-compose fills one field of the deployed service: by a mapper, from the command, across the services
 * of the file, or not at all (and why).
 */
export type FilledBy =
  | { readonly mapper: Mapper }
  | { readonly command: string }
  | { readonly acrossServices: string }
  | { readonly notCarried: string };

/**
 * Every field of `ServiceSpec`, in the order the stack file lists them: how import-compose fills it. A field
 * added to `ServiceSpec` is a type error here until it says.
 */
export const FROM_COMPOSE = {
  name: { command: "the compose service's name, or --rename" },
  host: { command: "--host" },
  containerName: { mapper: containerNameMapper },
  image: { mapper: imageMapper },
  ports: { mapper: portsMapper },
  volumes: { mapper: mountsMapper },
  binds: { mapper: mountsMapper },
  env: { mapper: envMapper },
  secretEnv: { mapper: envMapper },
  healthcheck: { mapper: healthcheckMapper },
  restart: { mapper: restartMapper },
  gpus: { mapper: deployMapper },
  shareGpu: { acrossServices: "true on services the compose file pins to one device (sharedDevices)" },
  entrypoint: { mapper: runtimeMapper },
  command: { mapper: runtimeMapper },
  user: { mapper: runtimeMapper },
  shmSizeBytes: { mapper: runtimeMapper },
  cpus: { mapper: runtimeMapper },
  ipc: { mapper: runtimeMapper },
  ulimits: { mapper: runtimeMapper },
  stopGraceSeconds: { mapper: runtimeMapper },
  labels: { mapper: labelsMapper },
  scheme: { notCarried: "compose does not say how a service is reached; the stack's default (http)" },
  endpoint: { notCarried: "compose does not name an endpoint; the stack's default (the first published tcp port)" },
  release: {
    notCarried: "compose has no release strategy (docker compose up stops, then starts); the stack's default (auto)",
  },
  runsOn: { notCarried: "where the host given by --host is: a Docker host or a cluster" },
  replicas: { mapper: deployMapper },
  copies: {
    notCarried: "compose does not say which GPU each copy uses: the stack places them (or gpus.deviceIds pins them)",
  },
  scheduling: { notCarried: "compose has no node placement" },
  readiness: {
    notCarried:
      "compose has no readiness check beside its healthcheck; the stack derives one from an HTTP healthcheck (readiness)",
  },
  hold: { notCarried: "compose has no switch to hold requests; the stack's default hold" },
} as const satisfies { readonly [K in ServiceKey]-?: FilledBy };

/** The mappers, each once, in the order of the fields they fill. */
const MAPPERS: readonly Mapper[] = [
  ...new Set(Object.values(FROM_COMPOSE).flatMap((f: FilledBy) => ("mapper" in f ? [f.mapper] : []))),
];

/** Compose keys the loader consumes (load.ts): they shape which services there are and what they hold. */
const LOADER_KEYS = ["profiles", "extends"];

/** Every compose service key carried over: derived from the mappers. */
export const CARRIED: ReadonlySet<string> = new Set([...MAPPERS.flatMap((m) => m.compose), ...LOADER_KEYS]);

/** The Docker names of the file's named volumes and the host folders of its binds, as compose gives them. */
function mountNames(loaded: ReturnType<typeof loadCompose>, options: ImportOptions, warnings: string[]): MountNames {
  const { project } = loaded;
  const home = options.environment?.HOME ?? os.homedir();
  return {
    volumeName: (key, at) => {
      if (!(key in loaded.volumes)) {
        warnings.push(
          `${at}: named volume "${key}" is not declared under the top-level volumes (docker compose v2 refuses ` +
            `that); taken as compose would name it, ${project}_${key}`,
        );
      }
      const v = loaded.volumes[key] ?? {};
      const external = v.external;
      if (typeof v.name === "string" && v.name) return v.name;
      if (isPlainObject(external) && typeof external.name === "string") return external.name;
      if (external === true) return key;
      return `${project}_${key}`;
    },
    bindSource: (source, at) => {
      if (source.startsWith("~")) {
        warnings.push(`${at}: "~" is the home folder of the user running compose; taken as ${home}`);
        return path.join(home, source.slice(1));
      }
      return path.resolve(options.composeDir, source);
    },
  };
}

/** `; A is empty or unset` (`; A, B are …`) for the variables a refused value used, or "". */
function emptiedNote(names: readonly string[]): string {
  return names.length === 0 ? "" : `; ${names.join(", ")} ${names.length > 1 ? "are" : "is"} empty or unset`;
}

/** One service's stack config: every key not carried named in a warning, then each mapper in turn. */
function serviceConfig(svc: ComposeMap, scope: ServiceScope, host: string): Record<string, unknown> {
  for (const key of Object.keys(svc)) {
    if (!CARRIED.has(key) && !key.startsWith("x-")) scope.warnings.push(`${scope.at}.${key}: not carried over`);
  }
  // In the order the stack file lists them (and the warnings come in).
  return Object.assign({ host }, ...MAPPERS.map((mapper) => mapper.map(svc, scope)));
}

/** The device IDs each service's GPU request pins. */
const deviceIds = (config: Record<string, unknown>): string[] =>
  ((config.gpus as { deviceIds?: string[] } | undefined)?.deviceIds ?? []).map(String);

/**
 * Services the compose file pins to one device share it on purpose (compose runs them so): each gets `shareGpu`,
 * written right after its `gpus`, and one warning per device names them.
 */
function sharedDevices(services: Record<string, ImportedService>, warnings: string[]): void {
  const users = new Map<string, string[]>();
  for (const [name, s] of Object.entries(services))
    for (const id of deviceIds(s.config)) users.set(id, [...(users.get(id) ?? []), name]);
  const sharing = new Set<string>();
  for (const [id, names] of users) {
    if (names.length < 2) continue;
    names.forEach((name) => sharing.add(name));
    const composeNames = names.map((name) => `services.${services[name].composeName}`);
    warnings.push(
      `${composeNames.join(", ")}: share GPU "${id}" (device_ids), as compose runs them; imported with shareGpu: true`,
    );
  }
  for (const name of sharing) {
    const entries = Object.entries(services[name].config);
    const at = entries.findIndex(([key]) => key === "gpus") + 1;
    const config = Object.fromEntries([...entries.slice(0, at), ["shareGpu", true], ...entries.slice(at)]);
    services[name] = { ...services[name], config };
  }
}

/** Where an import has got to: the service about to be mapped, the how-manieth of how many. */
export interface ImportStep {
  readonly service: string;
  readonly index: number;
  readonly count: number;
}

/** Read a compose file's text; `options.composeDir` names the folder it lives in. */
export function importCompose(text: string, options: ImportOptions): ImportResult {
  const steps = importSteps(text, options);
  for (;;) {
    const next = steps.next();
    if (next.done) return next.value;
  }
}

/**
 * `importCompose` one service at a time, saying before each where it has got to, so that a caller can show the
 * progress of a large file between the steps.
 */
export function* importSteps(text: string, options: ImportOptions): Generator<ImportStep, ImportResult> {
  const loaded = loadCompose(text, { ...options, ...(options.only ? { services: options.only } : {}) });
  const warnings = [...loaded.warnings];
  for (const key of loaded.otherTopLevel) warnings.push(`${key}: top-level key not carried over`);
  if (Object.keys(loaded.services).length === 0) {
    const profiles = [...new Set(Object.values(loaded.skipped).flat())].sort();
    throw new ComposeError(
      `no service to import: every service is in a profile that is not active (profiles: ${profiles.join(", ")}); ` +
        "--profile <name>, or COMPOSE_PROFILES",
    );
  }
  const names = mountNames(loaded, options, warnings);
  const found: FoundSecrets = { list: [], values: new Map(), taken: new Set(options.takenSecretNames) };
  const services: Record<string, ImportedService> = {};
  const entries = Object.entries(loaded.services);
  for (const [index, [composeName, svc]] of entries.entries()) {
    yield { service: composeName, index, count: entries.length };
    const at = `services.${composeName}`;
    const name = options.rename?.[composeName] ?? composeName;
    if (!SERVICE_NAME_RE.test(name)) {
      throw new ComposeError(
        `${at}: "${name}" cannot be a service name here (lowercase letters, digits, -); rename it with --rename ${composeName}=<name>`,
      );
    }
    const shell = options.environment ?? {};
    const scope: ServiceScope = {
      ...{ at, name, composeDir: options.composeDir, shell, variables: loaded.variables },
      ...{ warnings, names, found, emptied: (where: string) => emptiedNote(loaded.emptied(where)) },
    };
    services[name] = {
      composeName,
      composeContainer: svc.container_name ? String(svc.container_name) : `${loaded.project}-${composeName}-1`,
      config: serviceConfig(svc, scope, options.host),
    };
  }
  sharedDevices(services, warnings);
  return { project: loaded.project, services, secrets: found.list, skipped: loaded.skipped, warnings };
}
