/**
 * Issue 27, item 7: the release dry run's checks across the set: every
 * public package is packed and in the fixed group, one version for all (not
 * 0.0.0 for a release), and the `@burrow/*` ranges name it. On the
 * repository's own workspace, and on a scratch one that breaks each rule.
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { libraries, repo } from "./pack.js";
import { setProblems } from "./release-set.js";
import type { PackedPackage } from "./tarball.js";

let scratch: string | undefined;

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** A packed library as the set check reads it. */
function packed(
  lib: string,
  version: string,
  dependencies?: Record<string, string>,
): PackedPackage {
  return {
    manifest: { name: `@burrow/${lib}`, version, dependencies },
    files: [],
    dir: "",
    tarballSize: 0,
  };
}

describe("the release dry run's checks of the set", () => {
  it("passes the workspace's libraries at one version, their ranges naming it", () => {
    const set = libraries.map((lib) =>
      packed(lib, "0.1.0", lib === "sse-core" ? undefined : { "@burrow/sse-core": "^0.1.0" }),
    );
    expect(setProblems(repo, set, true)).toEqual([]);
  });

  it("refuses several versions, a stale range, and 0.0.0 for a release", () => {
    const set = [
      packed("sse-core", "0.0.0"),
      packed("sse-koa", "0.1.0", { "@burrow/sse-core": "^0.0.0" }),
    ];
    expect(setProblems(repo, set, false)).toEqual([
      "the packages carry several versions (0.0.0, 0.1.0): they version together",
      '@burrow/sse-koa: dependencies.@burrow/sse-core is "^0.0.0", not "^0.1.0"',
    ]);
    expect(setProblems(repo, [packed("sse-core", "0.0.0")], true)).toEqual([
      "the version is 0.0.0: run `pnpm release` (changeset version) and commit first",
    ]);
  });

  it("refuses a public package not packed nor in the fixed group, and a private one in it", () => {
    scratch = mkdtempSync(join(tmpdir(), "burrow-set-"));
    cpSync(join(repo, ".changeset/config.json"), join(scratch, ".changeset/config.json"));
    writeFileSync(
      join(scratch, "pnpm-workspace.yaml"),
      'packages:\n  - "packages/*"\n  - site\nonlyBuiltDependencies:\n  - esbuild\n',
    );
    const manifests = {
      "packages/sse-new": { name: "@burrow/sse-new" },
      "packages/sse-core": { name: "@burrow/sse-core", private: true },
      site: { name: "@burrow/site" },
      esbuild: { name: "not-a-workspace-package" },
    };
    for (const [dir, manifest] of Object.entries(manifests)) {
      mkdirSync(join(scratch, dir), { recursive: true });
      writeFileSync(join(scratch, dir, "package.json"), JSON.stringify(manifest));
    }
    expect(setProblems(scratch, [], false)).toEqual([
      "@burrow/sse-core is private but in the fixed group of .changeset/config.json",
      "@burrow/sse-new (packages/sse-new) is public but not packed: add it to libraries in packages/published-shape/src/pack.ts, or make it private",
      "@burrow/sse-new is public but not in the fixed group of .changeset/config.json",
      "@burrow/site (site) is public but not packed: add it to libraries in packages/published-shape/src/pack.ts, or make it private",
      "@burrow/site is public but not in the fixed group of .changeset/config.json",
    ]);
  });
});
