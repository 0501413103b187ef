/**
 * Issue 27, item 7: `pnpm release:publish` (scripts/release-publish.mjs) is
 * the only step that publishes, and never by accident: it refuses in CI,
 * without RELEASE_CONFIRM=1, off `main`, with uncommitted changes or with
 * changesets left to version. Run in a copy of the script in a scratch git
 * repository, with a `pnpm` on PATH that only records its arguments: nothing
 * can reach the registry, whatever the script does.
 */
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { repo } from "./pack.js";

const scratch: string[] = [];

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

/** A git repository on `branch` holding the script and `.changeset/` (plus `changesets`), all committed. */
function project(branch: string, changesets: string[] = []): string {
  const dir = mkdtempSync(join(tmpdir(), "burrow-publish-"));
  scratch.push(dir);
  mkdirSync(join(dir, "scripts"));
  mkdirSync(join(dir, ".changeset"));
  mkdirSync(join(dir, "bin"));
  writeFileSync(
    join(dir, "scripts/release-publish.mjs"),
    readFileSync(join(repo, "scripts/release-publish.mjs")),
  );
  for (const file of ["README.md", ...changesets])
    writeFileSync(join(dir, ".changeset", file), "x\n");
  // The recording pnpm (bin/ is ignored, so it leaves the tree clean).
  writeFileSync(join(dir, "bin/pnpm"), `#!/bin/sh\necho "pnpm $*" >> "${dir}/pnpm.log"\n`);
  chmodSync(join(dir, "bin/pnpm"), 0o755);
  writeFileSync(join(dir, ".gitignore"), "bin/\npnpm.log\n");
  const git = (...args: string[]) =>
    spawnSync("git", ["-c", "user.name=t", "-c", "user.email=t@example.invalid", ...args], {
      cwd: dir,
    });
  git("init", "-q", "-b", branch);
  git("add", "-A");
  git("commit", "-q", "-m", "release");
  return dir;
}

/** Runs the script in `dir` with `env` over a clean environment (no CI, no confirmation); its outcome. */
function publish(dir: string, env: Record<string, string> = {}, args: string[] = []) {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => key !== "CI" && key !== "RELEASE_CONFIRM" && !key.toLowerCase().startsWith("npm_"),
    ),
  );
  const result = spawnSync(process.execPath, [join(dir, "scripts/release-publish.mjs"), ...args], {
    cwd: dir,
    env: { ...clean, PATH: `${join(dir, "bin")}:${process.env.PATH}`, ...env },
    encoding: "utf8",
  });
  let calls: string[] = [];
  try {
    calls = readFileSync(join(dir, "pnpm.log"), "utf8").trim().split("\n");
  } catch {
    // no pnpm call
  }
  return { status: result.status, stderr: result.stderr, calls };
}

describe("pnpm release:publish", () => {
  it.each([
    ["without RELEASE_CONFIRM=1", "main", {}, [], "set RELEASE_CONFIRM=1"],
    ["in CI", "main", { CI: "true", RELEASE_CONFIRM: "1" }, [], "never from CI"],
    ["off main", "next", { RELEASE_CONFIRM: "1" }, [], "on branch next: publish from main"],
    [
      "with changesets not versioned yet",
      "main",
      { RELEASE_CONFIRM: "1" },
      ["a.md", "b.md"],
      "2 changeset(s) not versioned yet",
    ],
  ])("refuses %s, and calls nothing", (_name, branch, env, changesets, why) => {
    const outcome = publish(project(branch, changesets), env);
    expect(outcome).toEqual({
      status: 1,
      stderr: expect.stringContaining(why),
      calls: [],
    });
    expect(outcome.stderr).toContain("refused, nothing was published");
  });

  it("refuses with uncommitted changes", () => {
    const dir = project("main");
    writeFileSync(join(dir, "scripts/new.mjs"), "");
    expect(publish(dir, { RELEASE_CONFIRM: "1" })).toEqual({
      status: 1,
      stderr: expect.stringContaining("the working tree has changes"),
      calls: [],
    });
  });

  it("confirmed on a clean, versioned main: builds, checks the versioned set, then publishes", () => {
    const outcome = publish(project("main"), { RELEASE_CONFIRM: "1" }, ["--otp", "123456"]);
    expect(outcome).toEqual({
      status: 0,
      stderr: "",
      calls: [
        "pnpm build",
        "pnpm release:dry-run --release",
        "pnpm exec changeset publish --otp 123456",
      ],
    });
  });
});
