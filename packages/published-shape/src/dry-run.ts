/**
 * The release dry run: packs every library as `pnpm publish` would (the
 * same packer: `files`, `publishConfig`, `workspace:` ranges rewritten),
 * prints what would go to the registry (each file with its size, the
 * dependency ranges as published), and exits 1 naming each problem.
 *
 * `node --import tsx src/dry-run.ts [--release]` (`pnpm release:dry-run` at
 * the root); `--release` also requires a versioned set (not 0.0.0).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { libraries, packLibraries, repo } from "./pack.js";
import { setProblems } from "./release-set.js";
import { describePackage, type PackedPackage, problems, unpack } from "./tarball.js";

const release = process.argv.includes("--release");
const work = mkdtempSync(join(tmpdir(), "burrow-dry-run-"));
const packed: PackedPackage[] = [];
const found: string[] = [];
try {
  const tarballs = await packLibraries(work);
  for (const lib of libraries) {
    const tarball = tarballs.get(lib);
    if (tarball === undefined) {
      found.push(`@burrow/${lib}: pnpm pack made no tarball`);
      continue;
    }
    const pkg = await unpack(tarball);
    packed.push(pkg);
    console.log(`${describePackage(pkg)}\n`);
    found.push(...problems(pkg).map((problem) => `${pkg.manifest.name}: ${problem}`));
  }
  found.push(...setProblems(repo, packed, release));
} finally {
  for (const pkg of packed) rmSync(pkg.dir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
if (found.length > 0) {
  console.error(`release dry run: ${found.length} problem(s), nothing may be published:`);
  for (const problem of found) console.error(`  - ${problem}`);
  process.exit(1);
}
console.log(
  `release dry run: ${packed.length} packages at ${packed[0]?.manifest.version} would be published as listed above`,
);
