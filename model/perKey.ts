/**
 * Per-key tables: how a consumer of a spec (container inputs, plan rows, compose export, the policy pack's view)
 * says, for every key of the spec, what it does with it. A table is written `satisfies PerKey<Spec, …>`, so a key
 * added to the spec is a type error in every table until each says what it does with it, and "not carried" is
 * written down with its reason instead of left out.
 */

/** The key is deliberately not carried by this consumer; `reason` says why. */
export interface NotCarried {
  readonly notCarried: string;
}

/** The key is carried by the entry of another key (`with`), which reads both. */
export interface CarriedWith<Key> {
  readonly carriedWith: Key;
}

/**
 * Every key of `Spec`, and where `Spec` is a union (a service on a Docker host or a cluster), every key of each of
 * its members: what a table over the union answers for.
 */
export type KeyOf<Spec> = Spec extends unknown ? keyof Spec : never;

/**
 * What one consumer does with one key: the part of its output the key makes (a function of the source, which
 * holds the key's value), or why it does not carry the key, or which other key's entry carries it.
 */
export type Entry<Spec, Key extends KeyOf<Spec>, Out, Source> =
  ((source: Source) => Out) | NotCarried | CarriedWith<Exclude<KeyOf<Spec>, Key>>;

/**
 * A table with an entry for every key of `Spec` (optional keys too, and of a union every member's), each making a
 * part of `Out` from a `Source`: the spec itself, or what a consumer holds in its place (GpuService's args).
 */
export type PerKey<Spec, Out, Source = Spec> = {
  readonly [Key in KeyOf<Spec>]-?: Entry<Spec, Key, Out, Source>;
};

/** A table that says, for every key of `Spec`, what a reader (the policy pack) does with it, or why nothing. */
export type EveryKey<Spec, What> = { readonly [Key in KeyOf<Spec>]-?: What | NotCarried };

export const notCarried = (reason: string): NotCarried => ({ notCarried: reason });

export const carriedWith = <Key extends string>(key: Key): CarriedWith<Key> => ({ carriedWith: key });

/** The parts the table's entries make of `source`, in the table's order, for entries that carry their key. */
export function carry<Spec, Out, Source>(table: PerKey<Spec, Out, Source>, source: Source): Out[] {
  const parts: Out[] = [];
  for (const key of Object.keys(table) as KeyOf<Spec>[]) {
    const entry = table[key];
    if (typeof entry === "function") parts.push(entry(source));
  }
  return parts;
}

/** The keys a table says it does not carry, with the reasons. */
export function notCarriedKeys<Spec, Out, Source>(
  table: PerKey<Spec, Out, Source>,
): Partial<Record<KeyOf<Spec>, string>> {
  const out: Partial<Record<KeyOf<Spec>, string>> = {};
  for (const key of Object.keys(table) as KeyOf<Spec>[]) {
    const entry = table[key];
    if (typeof entry === "object" && "notCarried" in entry) out[key] = entry.notCarried;
  }
  return out;
}

/** Every key of `T` given, optional ones possibly `undefined`: a literal of this type misses no key. */
export type Complete<T> = { [Key in keyof Required<T>]: T[Key] | undefined };

/** The object without its `undefined` entries, in the same order: a `Complete<T>` as the `T` it stands for. */
export function definedOnly<T extends object>(complete: Complete<T>): T {
  return Object.fromEntries(Object.entries(complete).filter(([, value]) => value !== undefined)) as T;
}
