/**
 * The checks across the published set: every public workspace package is
 * packed and versioned in the changesets `fixed` group, they all carry one
 * version, and each one's `@burrow/*` dependencies name that version.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { libraries } from "./pack.js";
import { dependencyFields, type PackedPackage } from "./tarball.js";

/** The folders `pnpm-workspace.yaml` under `root` lists (`packages/*` expanded one level). */
function workspaceDirs(root: string): string[] {
  const yaml = readFileSync(join(root, "pnpm-workspace.yaml"), "utf8");
  // The `packages:` list: its indented `- glob` lines, up to the next top-level key.
  const list = yaml.split(/^packages:\s*$/m)[1]?.split(/^\S/m)[0] ?? "";
  const globs = [...list.matchAll(/^\s+-\s+["']?([^"'\s]+)["']?\s*$/gm)];
  return globs.flatMap(([, glob]) => {
    if (!glob!.endsWith("/*")) return [glob!];
    const group = glob!.slice(0, -2);
    return existsSync(join(root, group))
      ? readdirSync(join(root, group)).map((dir) => `${group}/${dir}`)
      : [];
  });
}

/** `{ name, private, dir }` of every package of the workspace under `root`. */
export function workspacePackages(root: string): { name: string; private: boolean; dir: string }[] {
  return workspaceDirs(root)
    .filter((dir) => existsSync(join(root, dir, "package.json")))
    .map((dir) => {
      const manifest = JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8"));
      return { name: manifest.name, private: manifest.private === true, dir };
    });
}

/** The first `fixed` group of `.changeset/config.json` under `root`. */
export function fixedGroup(root: string): string[] {
  const config = JSON.parse(readFileSync(join(root, ".changeset/config.json"), "utf8"));
  return config.fixed?.[0] ?? [];
}

/**
 * What is wrong with the set `packed` as a release of the workspace at
 * `root`, one sentence each. `release` also requires a version other than
 * 0.0.0 (the set was versioned by `changeset version`).
 */
export function setProblems(root: string, packed: PackedPackage[], release: boolean): string[] {
  const found: string[] = [];
  const names = libraries.map((lib) => `@burrow/${lib}`);
  const group = new Set(fixedGroup(root));
  for (const pkg of workspacePackages(root)) {
    if (!pkg.private && !names.includes(pkg.name)) {
      found.push(
        `${pkg.name} (${pkg.dir}) is public but not packed: add it to libraries in packages/published-shape/src/pack.ts, or make it private`,
      );
    }
    if (!pkg.private && !group.has(pkg.name)) {
      found.push(`${pkg.name} is public but not in the fixed group of .changeset/config.json`);
    }
    if (pkg.private && group.has(pkg.name)) {
      found.push(`${pkg.name} is private but in the fixed group of .changeset/config.json`);
    }
  }
  const versions = new Set(packed.map((pkg) => pkg.manifest.version));
  if (versions.size > 1) {
    found.push(
      `the packages carry several versions (${[...versions].join(", ")}): they version together`,
    );
  }
  const [version] = versions;
  if (release && version === "0.0.0") {
    found.push("the version is 0.0.0: run `pnpm release` (changeset version) and commit first");
  }
  for (const { manifest } of packed) {
    for (const field of dependencyFields) {
      const ranges = (manifest[field] ?? {}) as Record<string, string>;
      for (const [name, range] of Object.entries(ranges)) {
        if (names.includes(name) && range !== `^${manifest.version}`) {
          found.push(
            `${manifest.name}: ${field}.${name} is "${range}", not "^${manifest.version}"`,
          );
        }
      }
    }
  }
  return found;
}
