import { SSEOptionError } from "./errors.js";
import type { SlowClientPolicy } from "./slow-client-policy.js";

/** Edit distance between `a` and `b` (insert, delete, replace), ignoring case. */
function distance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  const row = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= y.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (x[i - 1] === y[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[y.length]!;
}

/**
 * The name in `known` that `name` most likely misspells (case, a letter or
 * two: `keepAlive` → `keepaliveMs`, `buffersize` → `bufferSize`), if any.
 * @internal
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const d = distance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? best : undefined;
}

/**
 * An options argument: `undefined` (none: `{}`) or an object. Anything else
 * (a number where options go: `handler(b, "t", 5000)`) is an
 * {@link SSEOptionError} naming the argument. @internal
 */
export function optionsObject<T extends object>(
  value: T | undefined,
  what: string,
  example: string,
): T {
  if (value === undefined) return {} as T;
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SSEOptionError("options", `must be an object of ${what}, e.g. ${example}`, value);
  }
  return value;
}

/**
 * Throws an {@link SSEOptionError} for the first key of `options` that is
 * not in `known`: `sse: <key>: is not <kind>, got <value>`, with a hint:
 * the one `elsewhere` gives for that key (where it goes instead), else the
 * closest known key (``did you mean `timeoutMs`?``), else the list of
 * known keys (`known: url, timeoutMs`). Exported from `@burrow/sse-core/adapter` for backplane and
 * adapter authors.
 *
 * @example
 * ```ts
 * checkKeys({ timeout: 500 }, ["url", "timeoutMs"], "an option of myBackplane");
 * // SSEOptionError: sse: timeout: is not an option of myBackplane, got 500 — did you mean `timeoutMs`?
 * ```
 */
export function checkKeys(
  options: object,
  known: readonly string[],
  kind: string,
  elsewhere: Readonly<Record<string, string>> = {},
): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const close = closestName(key, known);
    const hint =
      elsewhere[key] ??
      (close === undefined ? `known: ${known.join(", ")}` : `did you mean \`${close}\`?`);
    throw new SSEOptionError(key, `is not ${kind}`, (options as Record<string, unknown>)[key], {
      hint,
    });
  }
}

/** Empty when `K` lists every key of `T`; else the keys it leaves out, which no list then matches. */
type KeysLeftOut<T, K extends readonly unknown[]> = [Exclude<keyof T, K[number]>] extends [never]
  ? unknown
  : { readonly "keys left out": Exclude<keyof T, K[number]> };

/**
 * The known keys of an options type `T`, for {@link checkKeys}, tied to the
 * type: a listed key that `T` does not declare, or a key of `T` left out of
 * the list, fails to compile (`Property '"keys left out"' is missing...`
 * names it), so the list cannot drift from the type. At run time it returns
 * the list as given. Exported from `@burrow/sse-core/adapter` for backplane
 * and adapter authors.
 *
 * @example
 * ```ts
 * interface MyBackplaneOptions { url?: string; timeoutMs?: number }
 * const KNOWN = optionKeys<MyBackplaneOptions>()(["url", "timeoutMs"]);
 * checkKeys(options, KNOWN, "an option of myBackplane");
 * ```
 */
export function optionKeys<T extends object>(): <const K extends readonly (keyof T & string)[]>(
  keys: K & KeysLeftOut<T, K>,
) => K {
  return (keys) => keys;
}

/** What a numeric option accepts. @internal */
export interface NumberRule {
  /** The value when the option is left out. */
  fallback: number;
  /** The smallest value accepted. */
  min: number;
  /** Whether a fraction is accepted (then floored); default: integers only. */
  fraction?: boolean;
  /** Whether `Infinity` is accepted; default true. */
  infinity?: boolean;
}

/**
 * A numeric option, checked: a number (never a string, even `"100"`: a
 * message then shows it quoted, with its type) that `rule` accepts. @internal
 */
export function numberOption(name: string, value: unknown, rule: NumberRule): number {
  if (value === undefined) return rule.fallback;
  const infinity = rule.infinity !== false;
  if (typeof value === "number" && value >= rule.min) {
    if (value === Number.POSITIVE_INFINITY) {
      if (infinity) return value;
    } else if (rule.fraction === true ? Number.isFinite(value) : Number.isSafeInteger(value)) {
      return Math.floor(value);
    }
  }
  const kind = rule.fraction === true ? "a number" : "an integer";
  const parsed = typeof value === "string" && value.trim() !== "" ? Number(value) : Number.NaN;
  throw new SSEOptionError(
    name,
    `must be ${kind}${rule.min > Number.NEGATIVE_INFINITY ? ` of at least ${rule.min}` : ""}${infinity ? " (or Infinity)" : ""}`,
    value,
    Number.isFinite(parsed) ? { hint: `pass the number ${parsed}, not a string` } : undefined,
  );
}

/**
 * A cap (`maxClients`, `maxTopics`, …): a non-negative integer or
 * `Infinity`, where 0 means no cap, as for every numeric option 0 turns its
 * feature off. Resolved to `Infinity` when off. @internal
 */
export function capOption(name: string, value: unknown, fallback: number): number {
  const cap = numberOption(name, value, { fallback, min: 0 });
  return cap === 0 ? Number.POSITIVE_INFINITY : cap;
}

/**
 * A buffer size: a number; below 1 it is 1 (a client always holds the event
 * being written), a fraction is floored. @internal
 */
export function bufferSizeOption(name: string, value: unknown, fallback: number): number {
  return Math.max(
    1,
    numberOption(name, value, {
      fallback,
      min: Number.NEGATIVE_INFINITY,
      fraction: true,
      infinity: false,
    }),
  );
}

/** Throws unless `value` is a function (or left out); `shape` shows its signature. @internal */
export function callbackOption(name: string, value: unknown, shape: string): void {
  if (value !== undefined && typeof value !== "function") {
    throw new SSEOptionError(name, `must be a function ${shape}`, value);
  }
}

/** A boolean option (left out: false); anything else, even `"true"`, is refused. @internal */
export function booleanOption(name: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw new SSEOptionError(name, "must be true or false", value);
  return value;
}

/** The `slowClient` option: one of the three policies. @internal */
export function slowClientOption(value: unknown): SlowClientPolicy {
  const policy = value ?? "drop-newest";
  if (policy !== "drop-newest" && policy !== "drop-oldest" && policy !== "disconnect") {
    throw new SSEOptionError(
      "slowClient",
      'must be "drop-newest", "drop-oldest" or "disconnect"',
      policy,
    );
  }
  return policy;
}
