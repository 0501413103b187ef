import { ConfigError, RegistryError } from "./errors.js";
import { parseBool } from "./flags.js";
import { lookupToml, type TomlTable } from "./toml.js";
import type { Config, ConfigSource, DeclaredFlag, FlagSpec } from "./types.js";

/** The raw inputs of {@link resolveConfig}. */
export interface ConfigInputs {
  /** Flag values from the command line, by flag name. */
  argv: ReadonlyMap<string, string | boolean>;
  env: Readonly<Record<string, string | undefined>>;
  /** The parsed TOML file and its path, if one was given. */
  toml?: { doc: TomlTable; path: string } | undefined;
}

interface Resolved {
  readonly spec: FlagSpec;
  readonly value: string | number | boolean | undefined;
  readonly source: ConfigSource;
}

/** Resolves and parses every flag; a value that does not parse is a {@link ConfigError}. */
export function resolveConfig(flags: readonly DeclaredFlag[], inputs: ConfigInputs): Config {
  const resolved = new Map<string, Resolved>();
  for (const { spec } of flags) resolved.set(spec.name, resolveOne(spec, inputs));
  return new ResolvedConfig(resolved);
}

function resolveOne(spec: FlagSpec, { argv, env, toml }: ConfigInputs): Resolved {
  const fromFlag = argv.get(spec.name);
  if (fromFlag !== undefined) {
    return parsed(spec, fromFlag, "flag", `flag --${spec.name}`);
  }
  const fromEnv = spec.env === undefined ? undefined : env[spec.env];
  if (fromEnv !== undefined && fromEnv !== "") {
    return parsed(spec, fromEnv, "env", `environment ${spec.env}`);
  }
  if (spec.toml !== undefined && toml !== undefined) {
    const fromToml = lookupToml(toml.doc, spec.toml);
    if (fromToml !== undefined) {
      return parsed(spec, fromToml, "toml", `TOML ${spec.toml} in ${toml.path}`);
    }
  }
  return { spec, value: spec.default, source: "default" };
}

function parsed(spec: FlagSpec, raw: unknown, source: ConfigSource, where: string): Resolved {
  const value = parseValue(spec.type, raw);
  if (value === undefined) {
    const shown = typeof raw === "bigint" ? String(raw) : JSON.stringify(raw);
    const what =
      spec.type === "int" ? "an integer" : spec.type === "bool" ? "a boolean" : "a string";
    throw new ConfigError(`--${spec.name}: ${shown} (from ${where}) is not ${what}`, {
      flag: spec.name,
      source,
      value: raw,
    });
  }
  return { spec, value, source };
}

const INTEGER = /^[+-]?\d+$/;

/** Parses text (flag, env, TOML string) or a TOML value as `type`; undefined if it cannot. */
function parseValue(type: FlagSpec["type"], raw: unknown): string | number | boolean | undefined {
  switch (type) {
    case "string":
      return typeof raw === "string" ? raw : undefined;
    case "int": {
      if (typeof raw === "number") return Number.isSafeInteger(raw) ? raw : undefined;
      if (typeof raw === "bigint") {
        const n = Number(raw);
        return Number.isSafeInteger(n) ? n : undefined;
      }
      if (typeof raw !== "string" || !INTEGER.test(raw.trim())) return undefined;
      const n = Number(raw.trim());
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case "bool":
      if (typeof raw === "boolean") return raw;
      return typeof raw === "string" ? parseBool(raw) : undefined;
  }
}

class ResolvedConfig implements Config {
  readonly #values: ReadonlyMap<string, Resolved>;

  constructor(values: ReadonlyMap<string, Resolved>) {
    this.#values = values;
  }

  string(flag: string): string | undefined {
    return this.#typed(flag, "string") as string | undefined;
  }

  int(flag: string): number | undefined {
    return this.#typed(flag, "int") as number | undefined;
  }

  bool(flag: string): boolean | undefined {
    return this.#typed(flag, "bool") as boolean | undefined;
  }

  source(flag: string): ConfigSource {
    return this.#get(flag).source;
  }

  #typed(flag: string, type: FlagSpec["type"]): Resolved["value"] {
    const entry = this.#get(flag);
    if (entry.spec.type !== type) {
      throw new RegistryError(
        `flag --${entry.spec.name} is ${entry.spec.type === "int" ? "an" : "a"} ${entry.spec.type}: read it with config.${entry.spec.type}()`,
      );
    }
    return entry.value;
  }

  #get(flag: string): Resolved {
    const name = flag.startsWith("--") ? flag.slice(2) : flag;
    const entry = this.#values.get(name);
    if (entry === undefined) throw new RegistryError(`no app declares flag --${name}`);
    return entry;
  }
}
