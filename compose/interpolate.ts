/**
 * Compose's variable interpolation, as the compose specification defines it: `$VAR`, `${VAR}`, `${VAR:-default}`,
 * `${VAR-default}`, `${VAR:?error}`, `${VAR?error}`, `${VAR:+alternative}`, `${VAR+alternative}`, defaults
 * that interpolate in turn (`${A:-${B:-c}}`), and `$$` for a literal `$`. The colon forms treat an empty value
 * as unset. An unset variable with no default is an empty string (compose warns), a `?` form an error; a `$`
 * before no name (`$(id -u)`, `$5`) stays as it is, as compose-go leaves it.
 */

/** An interpolation that cannot be done: a malformed template, or a required variable unset. */
export class InterpolationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InterpolationError";
  }
}

export interface InterpolationScope {
  /** The value of a variable, or undefined when it is not set. */
  readonly lookup: (name: string) => string | undefined;
  /** Called for each variable used with no default and not set: compose substitutes "". */
  readonly onUnset: (name: string) => void;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** The index of the `}` closing the `${` whose body starts at `start`, skipping nested `${…}`. */
function closingBrace(text: string, start: number): number {
  let depth = 1;
  for (let i = start; i < text.length; i++) {
    if (text[i] === "$" && text[i + 1] === "$") i++;
    else if (text[i] === "$" && text[i + 1] === "{") {
      depth++;
      i++;
    } else if (text[i] === "}" && --depth === 0) return i;
  }
  return -1;
}

/** `${…}`'s body: a name, then nothing or one of :- - :? ? :+ + and a word that interpolates in turn. */
function braced(body: string, scope: InterpolationScope, template: string): string {
  const name = NAME.exec(body)?.[0];
  if (!name) throw new InterpolationError(`invalid interpolation format in "${template}": "\${${body}}"`);
  const rest = body.slice(name.length);
  const value = scope.lookup(name);
  if (rest === "") {
    if (value === undefined) scope.onUnset(name);
    return value ?? "";
  }
  const operator = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)?.[0];
  if (!operator) throw new InterpolationError(`invalid interpolation format in "${template}": "\${${body}}"`);
  const word = () => interpolate(rest.slice(operator.length), scope);
  const unset = operator.startsWith(":") ? value === undefined || value === "" : value === undefined;
  switch (operator) {
    case ":-":
    case "-":
      return unset ? word() : value!;
    case ":?":
    case "?": {
      if (!unset) return value!;
      const message = word();
      throw new InterpolationError(`required variable ${name} is missing a value${message ? `: ${message}` : ""}`);
    }
    default:
      return unset ? "" : word();
  }
}

/** A string with its variables substituted. */
export function interpolate(template: string, scope: InterpolationScope): string {
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c !== "$") {
      out += c;
      continue;
    }
    const next = template[i + 1];
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "{") {
      const end = closingBrace(template, i + 2);
      if (end < 0) throw new InterpolationError(`invalid interpolation format in "${template}": an unclosed "\${"`);
      out += braced(template.slice(i + 2, end), scope, template);
      i = end;
    } else {
      const name = NAME.exec(template.slice(i + 1))?.[0];
      // compose-go's template matches no `$` before anything else (`$(id -u)`, `$5`): it stays as it is.
      if (!name) {
        out += "$";
        continue;
      }
      const value = scope.lookup(name);
      if (value === undefined) scope.onUnset(name);
      out += value ?? "";
      i += name.length;
    }
  }
  return out;
}
