/**
 * How the API reference names each package's entry points. TypeDoc names a
 * module after its file (`index`, `adapter`) unless the file's first comment
 * says otherwise, so every entry file of every documented package says it:
 * a package's only entry, or its root entry, is the package page itself
 * (`@packageDocumentation`; with several entries, `@mergeModuleWith <project>`,
 * and scripts/typedoc-merged-summary.mjs keeps its summary on that page), and
 * a subpath entry is named by its import path (`@module @burrow/sse-core/adapter`).
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";
import { DOCS } from "./scripts/runnable.js";

interface TypedocOptions {
  entryPoints?: string[];
  packageOptions?: { entryPoints?: string[] };
}

const readJson = <T>(file: string): T => JSON.parse(readFileSync(file, "utf8")) as T;
const site = readJson<TypedocOptions>(join(DOCS, "typedoc.json"));

/** Each documented package: its folder, name, export subpaths and entry files. */
const packages = (site.entryPoints ?? []).map((relative) => {
  const dir = join(DOCS, relative);
  const manifest = readJson<{ name: string; exports: Record<string, unknown> }>(
    join(dir, "package.json"),
  );
  const own = join(dir, "typedoc.json");
  const entries =
    (existsSync(own) ? readJson<TypedocOptions>(own).entryPoints : undefined) ??
    site.packageOptions?.entryPoints ??
    [];
  return { dir, name: manifest.name, subpaths: Object.keys(manifest.exports), entries };
});

/** The first comment of `file`, where TypeDoc looks for a module's name and summary. */
function firstComment(file: string): string {
  return /^\/\*\*[\s\S]*?\*\//.exec(readFileSync(file, "utf8"))?.[0] ?? "";
}

describe("the API reference's names for entry points", () => {
  it("documents every package the site lists, each with entry points", () => {
    expect(packages.length).toBeGreaterThanOrEqual(8);
    for (const pkg of packages) expect(pkg.entries, pkg.name).not.toEqual([]);
  });

  it.each(packages)("$name: its root entry is the package page, with a summary", (pkg) => {
    const root = pkg.entries.find((entry) => basename(entry) === "index.ts");
    expect(root, `${pkg.name} has src/index.ts as an entry point`).toBeDefined();
    const comment = firstComment(join(pkg.dir, root!));
    expect(comment).toContain("@packageDocumentation");
    expect(comment).toContain(`\`${pkg.name}\``);
    if (pkg.entries.length > 1) expect(comment).toContain("@mergeModuleWith <project>");
  });

  it.each(packages.filter((pkg) => pkg.entries.length > 1))(
    "$name: every other entry is named by its import path",
    (pkg) => {
      for (const entry of pkg.entries.filter((each) => basename(each) !== "index.ts")) {
        const subpath = `./${basename(entry, ".ts")}`;
        expect(pkg.subpaths, `${entry} is exported as ${subpath}`).toContain(subpath);
        const name = `${pkg.name}${subpath.slice(1)}`;
        expect(firstComment(join(pkg.dir, entry))).toMatch(
          new RegExp(`^ \\* @module ${name.replace(/[/@.-]/g, "\\$&")}$`, "m"),
        );
      }
    },
  );
});
