import { readFileSync } from "node:fs";
import { parse } from "smol-toml";
import { ConfigError } from "./errors.js";

/** A parsed TOML document. */
export type TomlTable = Record<string, unknown>;

/**
 * Reads and parses the TOML file at `path` with `smol-toml`. A file that is
 * missing, unreadable or not valid TOML is a {@link ConfigError} carrying the
 * cause.
 */
export function readToml(path: string): TomlTable {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "not found" : `cannot be read (${code ?? String(err)})`;
    throw new ConfigError(`config file ${path}: ${why}`, {
      source: "toml",
      value: path,
      cause: err,
    });
  }
  try {
    return parse(text) as TomlTable;
  } catch (err) {
    const why = String((err as Error).message).split("\n")[0];
    throw new ConfigError(`config file ${path}: invalid TOML: ${why}`, {
      source: "toml",
      value: path,
      cause: err,
    });
  }
}

/**
 * The value at a dotted key (`"sse.buffer_size"`: table `sse`, key
 * `buffer_size`), or undefined when any part is missing or not a table.
 */
export function lookupToml(doc: TomlTable, key: string): unknown {
  let node: unknown = doc;
  for (const part of key.split(".")) {
    if (typeof node !== "object" || node === null || Array.isArray(node)) return undefined;
    if (!Object.hasOwn(node, part)) return undefined;
    node = (node as TomlTable)[part];
  }
  return node;
}
