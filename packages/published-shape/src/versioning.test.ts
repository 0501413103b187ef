/**
 * Issue 27, item 7: `changeset version` (the first step of `pnpm release`)
 * run on a copy of the workspace's manifests and changesets, never on the
 * repository itself: the pending changesets make one version for the
 * packages of the fixed group, 0.1.0 for the first release, and on 0.x a
 * minor changeset is the next minor for every package, never 1.0.0 (a
 * `@burrow/sse-core` peer range of a package made changesets bump that
 * package, so the whole group, to a major).
 */
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repo, run } from "./pack.js";
import { fixedGroup, workspacePackages } from "./release-set.js";

const copies: string[] = [];
const packages = workspacePackages(repo);
const group = fixedGroup(repo);

afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** A git repository holding the workspace's manifests, CHANGELOGs and `.changeset/` (or `changesets` instead). */
async function copyWorkspace(changesets?: Record<string, string>): Promise<string> {
  const copy = mkdtempSync(join(tmpdir(), "burrow-version-"));
  copies.push(copy);
  for (const file of ["package.json", "pnpm-workspace.yaml"])
    cpSync(join(repo, file), join(copy, file));
  for (const { dir } of packages) {
    mkdirSync(join(copy, dir), { recursive: true });
    for (const file of ["package.json", "CHANGELOG.md"]) {
      if (existsSync(join(repo, dir, file))) cpSync(join(repo, dir, file), join(copy, dir, file));
    }
  }
  cpSync(join(repo, ".changeset"), join(copy, ".changeset"), { recursive: true });
  if (changesets !== undefined) {
    for (const file of pending(copy)) rmSync(join(copy, ".changeset", file));
    for (const [file, text] of Object.entries(changesets)) {
      writeFileSync(join(copy, ".changeset", file), text);
    }
  }
  symlinkSync(join(repo, "node_modules"), join(copy, "node_modules"), "dir");
  const git = (...args: string[]) =>
    run("git", ["-c", "user.name=test", "-c", "user.email=test@example.invalid", ...args], {
      cwd: copy,
    });
  await git("init", "-q", "-b", "main");
  await git("add", "-A");
  await git("commit", "-q", "-m", "workspace");
  return copy;
}

/** The changeset files waiting in `root`. */
function pending(root: string): string[] {
  return readdirSync(join(root, ".changeset")).filter(
    (f) => f.endsWith(".md") && f !== "README.md",
  );
}

/** Runs `changeset version` in `root`; returns each package's version there, by name. */
async function version(root: string): Promise<Map<string, string>> {
  await run(process.execPath, [join(repo, "node_modules/@changesets/cli/bin.js"), "version"], {
    cwd: root,
  });
  return new Map(
    packages.map(({ name, dir }) => [
      name,
      JSON.parse(readFileSync(join(root, dir, "package.json"), "utf8")).version as string,
    ]),
  );
}

/** Sets the version of every package of the fixed group in `root` to `to`. */
function setVersions(root: string, to: string): void {
  for (const { name, dir } of packages.filter((pkg) => group.includes(pkg.name))) {
    const file = join(root, dir, "package.json");
    writeFileSync(
      file,
      JSON.stringify({ ...JSON.parse(readFileSync(file, "utf8")), version: to, name }),
    );
  }
}

/** The bump types the changesets in `root` carry. */
function bumps(root: string): Set<string> {
  return new Set(
    pending(root).flatMap((file) =>
      [...readFileSync(join(root, ".changeset", file), "utf8").matchAll(/^"[^"]+": (\w+)$/gm)].map(
        (m) => m[1]!,
      ),
    ),
  );
}

/** `current` after the largest of `types`, as semver increments it. */
function next(current: string, types: Set<string>): string {
  const [major, minor, patch] = current.split(".").map(Number) as [number, number, number];
  if (types.has("major")) return `${major + 1}.0.0`;
  if (types.has("minor")) return `${major}.${minor + 1}.0`;
  if (types.has("patch")) return `${major}.${minor}.${patch + 1}`;
  return current;
}

describe("changeset version, on a copy of the workspace", () => {
  it("versions the fixed group alike from the pending changesets: 0.1.0 for the first release", async () => {
    const copy = await copyWorkspace();
    const types = bumps(copy);
    const current = JSON.parse(
      readFileSync(join(repo, "packages/sse-core/package.json"), "utf8"),
    ).version;
    // Before 1.0, a breaking change is a minor changeset: the first release is 0.1.0.
    const expected = current === "0.0.0" ? "0.1.0" : next(current, types);
    const before = new Map(
      packages.map(({ name, dir }) => [
        name,
        JSON.parse(readFileSync(join(repo, dir, "package.json"), "utf8")).version,
      ]),
    );
    const versions = await version(copy);
    for (const { name, dir, private: isPrivate } of packages) {
      const want = isPrivate ? before.get(name) : expected;
      expect({ name, version: versions.get(name) }).toEqual({ name, version: want });
      if (!isPrivate && expected !== current) {
        expect(readFileSync(join(copy, dir, "CHANGELOG.md"), "utf8")).toContain(`## ${expected}\n`);
      }
    }
    expect(pending(copy)).toEqual([]);
    // The internal ranges stay workspace: ones, which pnpm publish rewrites to ^<version>.
    const express = JSON.parse(
      readFileSync(join(copy, "packages/sse-express/package.json"), "utf8"),
    );
    expect(express.dependencies["@burrow/sse-core"]).toBe("workspace:^");
  });

  it.each([
    ["a minor of @burrow/sse-core alone", "0.2.0", '"@burrow/sse-core": minor'],
    ["a minor of @burrow/sse-prometheus alone", "0.2.0", '"@burrow/sse-prometheus": minor'],
    ["a patch of @burrow/sse-core alone", "0.1.1", '"@burrow/sse-core": patch'],
  ])("on 0.1.0, %s moves every package to %s", async (_name, expected, release) => {
    const copy = await copyWorkspace({ "one.md": `---\n${release}\n---\n\nA change.\n` });
    setVersions(copy, "0.1.0");
    const versions = await version(copy);
    for (const name of group)
      expect({ name, version: versions.get(name) }).toEqual({ name, version: expected });
  });
});
