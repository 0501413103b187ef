import { parseArgs } from "node:util";
import { isConfigurable } from "./app-guards.js";
import { ConfigError, RegistryError } from "./errors.js";
import type { DeclaredFlag, FlagSpec } from "./types.js";

/** What argv said: `--help`, or the raw value of each flag given (last one wins). */
export type ParsedArgv =
  | { readonly help: true }
  | { readonly help: false; readonly values: ReadonlyMap<string, string | boolean> };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const TYPES = new Set(["string", "int", "bool"]);
const HELP = new Set(["--help", "-h"]);

/**
 * Every Configurable app's flags, checked: names well formed and unique across
 * the registry (counting a bool flag's `--no-` form), defaults of the right type.
 */
export function collectFlags(apps: readonly { readonly name: string }[]): DeclaredFlag[] {
  const owners = new Map<string, string>([["help", "the registry (--help)"]]);
  const declared: DeclaredFlag[] = [];
  for (const app of apps) {
    if (!isConfigurable(app)) continue;
    for (const spec of app.flags()) {
      checkSpec(spec, app.name);
      const names = spec.type === "bool" ? [spec.name, `no-${spec.name}`] : [spec.name];
      for (const name of names) {
        const owner = owners.get(name);
        if (owner !== undefined) {
          throw new RegistryError(
            `app "${app.name}" declares flag --${name}, already declared by ${owner === "the registry (--help)" ? owner : `app "${owner}"`}`,
            { app: app.name },
          );
        }
        owners.set(name, app.name);
      }
      declared.push({ spec, app: app.name });
    }
  }
  return declared;
}

function checkSpec(spec: FlagSpec, app: string): void {
  const bad = (why: string): never => {
    throw new RegistryError(`app "${app}" declares flag ${JSON.stringify(spec.name)}: ${why}`, {
      app,
    });
  };
  if (typeof spec.name !== "string" || !NAME.test(spec.name)) {
    bad("a flag name is letters, digits, '.', '_' and '-', without leading dashes");
  }
  if (!TYPES.has(spec.type)) bad(`type must be "string", "int" or "bool"`);
  const d = spec.default;
  if (d === undefined) return;
  const ok =
    spec.type === "string"
      ? typeof d === "string"
      : spec.type === "int"
        ? Number.isSafeInteger(d)
        : typeof d === "boolean";
  if (!ok)
    bad(`default ${JSON.stringify(d)} is not a${spec.type === "int" ? "n" : ""} ${spec.type}`);
}

/**
 * Parses `argv` (flags only) with `node:util`'s `parseArgs`, strictly:
 * `--name=value` and `--name value`; bool flags as `--name`, `--no-name` or
 * `--name=<true|false|...>`; `--help`/`-h` anywhere wins. Unknown flags,
 * positionals and missing values are {@link ConfigError}s.
 */
export function parseArgv(flags: readonly DeclaredFlag[], argv: readonly string[]): ParsedArgv {
  const end = argv.indexOf("--");
  const own = end === -1 ? argv : argv.slice(0, end);
  if (own.some((arg) => HELP.has(arg))) return { help: true };

  const specs = new Map(flags.map(({ spec }) => [spec.name, spec]));
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const spec of specs.values()) {
    options[spec.name] = { type: spec.type === "bool" ? "boolean" : "string" };
    if (spec.type === "bool") options[`no-${spec.name}`] = { type: "boolean" };
  }

  // parseArgs refuses `--bool=value`; read the value here, then hand it `--bool`.
  const inline = new Map<number, boolean>();
  let takesValue = false;
  let previousBool: string | undefined;
  const args = argv.map((arg, index) => {
    const valueOfPrevious = takesValue;
    const boolBefore = previousBool;
    takesValue = false;
    previousBool = undefined;
    if ((end !== -1 && index >= end) || !arg.startsWith("-") || arg === "-") {
      if (boolBefore !== undefined && (end === -1 || index < end))
        separateBoolValue(boolBefore, arg);
      return arg;
    }
    // `--name -5`: parseArgs explains that better (use `--name=-5`) than "unknown flag -5".
    if (valueOfPrevious) return arg;
    const eq = arg.indexOf("=");
    const name = arg.slice(arg.startsWith("--") ? 2 : 1, eq === -1 ? undefined : eq);
    if (!arg.startsWith("--") || options[name] === undefined) {
      throw new ConfigError(
        `${arg.slice(0, eq === -1 ? undefined : eq)}: unknown flag (${known(specs)})`,
        {
          flag: name,
          source: "flag",
        },
      );
    }
    const spec = specs.get(name);
    takesValue = eq === -1 && options[name]?.type === "string";
    if (eq === -1 && options[name]?.type === "boolean") previousBool = name;
    if (eq === -1 || spec?.type !== "bool") return arg;
    const raw = arg.slice(eq + 1);
    const value = parseBool(raw);
    if (value === undefined) {
      throw new ConfigError(
        `--${name}: ${JSON.stringify(raw)} (from flag --${name}) is not a boolean`,
        {
          flag: name,
          source: "flag",
          value: raw,
        },
      );
    }
    inline.set(index, value);
    return `--${name}`;
  });

  let tokens: ReturnType<typeof parseArgs>["tokens"];
  try {
    ({ tokens } = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: false,
      tokens: true,
    }));
  } catch (err) {
    const flag = /'--([^' ]+)/.exec(String((err as Error).message))?.[1];
    const message = (err as Error).message.replace(/\s*\n\s*/g, " ");
    throw new ConfigError(`${flag === undefined ? "flags" : `--${flag}`}: ${message}`, {
      flag,
      source: "flag",
      cause: err,
    });
  }

  const values = new Map<string, string | boolean>();
  for (const token of tokens ?? []) {
    if (token.kind !== "option") continue;
    if (specs.get(token.name)?.type === "bool") {
      values.set(token.name, inline.get(token.index) ?? true);
    } else if (token.name.startsWith("no-") && specs.get(token.name.slice(3))?.type === "bool") {
      values.set(token.name.slice(3), false);
    } else if (token.value !== undefined) {
      values.set(token.name, token.value);
    }
  }
  return { help: false, values };
}

/**
 * `--flag value` for a bool flag: bool flags take no separate value (it
 * would be a positional argument), so say how to write it.
 */
function separateBoolValue(flag: string, value: string): never {
  const negated = flag.startsWith("no-");
  const name = negated ? flag.slice(3) : flag;
  const parsed = parseBool(value);
  const wanted = parsed === undefined ? undefined : negated ? !parsed : parsed;
  const fix =
    wanted === undefined
      ? `write --${name} or --no-${name}`
      : `write ${wanted ? `--${name}` : `--no-${name}`}`;
  throw new ConfigError(
    `--${flag} ${value}: a bool flag takes no separate value: ${fix} (or --${name}=${wanted ?? "<true|false>"})`,
    { flag: name, source: "flag", value },
  );
}

function known(specs: ReadonlyMap<string, FlagSpec>): string {
  const names = [...specs.values()].flatMap((spec) =>
    spec.type === "bool" ? [`--${spec.name}`, `--no-${spec.name}`] : [`--${spec.name}`],
  );
  names.push("--help");
  return `known flags: ${names.join(", ")}`;
}

const TRUE = new Set(["true", "1", "yes", "on"]);
const FALSE = new Set(["false", "0", "no", "off"]);

/** `true`/`1`/`yes`/`on` and `false`/`0`/`no`/`off`, any case; otherwise undefined. */
export function parseBool(raw: string): boolean | undefined {
  const text = raw.trim().toLowerCase();
  return TRUE.has(text) ? true : FALSE.has(text) ? false : undefined;
}
