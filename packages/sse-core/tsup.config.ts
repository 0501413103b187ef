import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { isAbsolute, join, relative } from "node:path";
import { defineConfig } from "tsup";

/**
 * tsup's CJS splitting names, in each `.cjs.map`, the intermediate file by
 * its absolute path on the build machine (with no content): a path that
 * does not exist where the package is installed. Name it relative to the
 * map (the shipped `.cjs` itself), as every other source is.
 */
function relativeSourceMaps(dist: string): void {
  for (const file of readdirSync(dist).filter((name) => name.endsWith(".map"))) {
    const path = join(dist, file);
    const map = JSON.parse(readFileSync(path, "utf8")) as { sources: string[] };
    if (!map.sources.some(isAbsolute)) continue;
    map.sources = map.sources.map((source) =>
      isAbsolute(source) ? relative(dist, source).replaceAll("\\", "/") : source,
    );
    writeFileSync(path, JSON.stringify(map));
  }
}

export default defineConfig({
  // The user API, and the adapter-author API (`@burrow/sse-core/adapter`).
  entry: ["src/index.ts", "src/adapter.ts"],
  format: ["esm", "cjs"],
  // Both entry points share one copy of each module (in chunks), in CJS as
  // in ESM: a class or a module-level map is never loaded twice.
  splitting: true,
  // `@internal` members (the broker's calls for handlers, delivery's
  // classes) stay out of the published declarations.
  dts: { compilerOptions: { stripInternal: true } },
  clean: true,
  sourcemap: true,
  target: "node20",
  async onSuccess() {
    relativeSourceMaps(join(import.meta.dirname, "dist"));
  },
});
