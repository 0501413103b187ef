// Loading the @burrow packages either from this checkout (by name) or from the
// builds of another checkout (bench --against, BENCH_STORM_CHECKOUT), so every
// child process of one side runs the same build.

import { readFileSync, realpathSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

/** The ESM entry point of a built `@burrow/<name>` in `root`'s packages/ folder, as a file URL. */
export function builtEntry(root, name) {
  const dir = join(realpathSync(root), "packages", name.slice("@burrow/".length));
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
  const dot = manifest.exports?.["."] ?? manifest.exports;
  const esm = dot?.import ?? dot;
  const entry = typeof esm === "string" ? esm : (esm?.default ?? manifest.module ?? manifest.main);
  if (typeof entry !== "string") throw new Error(`${name} in ${root}: no ESM entry point`);
  return pathToFileURL(join(dir, entry)).href;
}

/** Imports `@burrow/<name>`: from `checkout`'s builds when given, else this checkout's. */
export function loadBurrow(name, checkout) {
  return import(checkout === undefined || checkout === "" ? name : builtEntry(checkout, name));
}
