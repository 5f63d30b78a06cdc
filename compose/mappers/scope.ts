/**
 * What every per-concern mapper of import-compose shares: the service's scope (its key path, folder, variables,
 * warnings, the file's mount names and the secrets found so far), and the shape of a mapper, which names the
 * compose keys it carries (import-compose's list of carried keys is derived from them).
 */
import type { ComposeMap } from "../read";

/** A value that looked secret: moved to `secrets.<name>` (to be set by hand), referenced by `secretEnv`. */
export interface ImportedSecret {
  readonly name: string;
  /** Where the value is in the compose input, for the person who sets it. */
  readonly from: string;
  readonly env: string;
  readonly service: string;
  /** The value, in memory only: never written, never printed (the CLI prints where it is, `from`). */
  readonly value: string;
}

/** Names the file's mounts resolve to, as compose gives them. */
export interface MountNames {
  /** The Docker name of a named volume. */
  readonly volumeName: (key: string, at: string) => string;
  /** The absolute host folder of a bind. */
  readonly bindSource: (source: string, at: string) => string;
}

/** The secrets found so far across the file's services: one `secrets` entry per distinct value. */
export interface FoundSecrets {
  readonly list: ImportedSecret[];
  readonly values: Map<string, string>;
  /** Names the stack already has or refers to (their values unknown here): never given to a value. */
  readonly taken: ReadonlySet<string>;
}

/** What carrying one service over shares. */
export interface ServiceScope {
  /** `services.<compose name>`. */
  readonly at: string;
  /** The service's name in the stack. */
  readonly name: string;
  readonly composeDir: string;
  readonly shell: Readonly<Record<string, string | undefined>>;
  /** The variables the compose file was interpolated with (env files interpolate with them too). */
  readonly variables: Readonly<Record<string, string>>;
  readonly warnings: string[];
  /** `; NAME is empty or unset` for the variables empty in the value at a key path, or "". */
  readonly emptied: (at: string) => string;
  readonly names: MountNames;
  readonly found: FoundSecrets;
}

/** One concern of a compose service carried over to stack config. */
export interface Mapper {
  /** The compose service keys it carries (reads and maps, warning about what it cannot). */
  readonly compose: readonly string[];
  /** The stack config keys it writes, from the service. */
  readonly map: (svc: ComposeMap, scope: ServiceScope) => Record<string, unknown>;
}
