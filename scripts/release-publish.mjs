#!/usr/bin/env node
/**
 * `pnpm release:publish`: the one step that publishes to the npm registry,
 * run by a maintainer after `pnpm release` (the dry run) was reviewed and
 * the versioned packages committed. It refuses unless every guard holds:
 * not in CI, RELEASE_CONFIRM=1, on a clean `main`, no changeset left to
 * version. Then it builds, runs the dry run's checks again on the versioned
 * set, and runs `changeset publish` (which publishes each package with
 * `pnpm publish`, so `workspace:` ranges become the released versions, and
 * tags the commit). Extra arguments go to `changeset publish` (`--otp 123456`).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function refuse(why) {
  console.error(`release:publish: refused, nothing was published: ${why}`);
  process.exit(1);
}

function git(...args) {
  return execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
}

function step(command, args) {
  console.log(`== ${command} ${args.join(" ")}`);
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.status !== 0) refuse(`\`${command} ${args.join(" ")}\` failed`);
}

if (process.env.CI) refuse("CI is set: a release is published by a maintainer, never from CI");
// biome-ignore lint/suspicious/noUndeclaredEnvVars: run by hand, never by a turbo task.
if (process.env.RELEASE_CONFIRM !== "1") {
  refuse(
    "set RELEASE_CONFIRM=1 to publish to the npm registry (`pnpm release` is the dry run; see RELEASING.md)",
  );
}
const branch = git("rev-parse", "--abbrev-ref", "HEAD");
if (branch !== "main") refuse(`on branch ${branch}: publish from main`);
if (git("status", "--porcelain") !== "")
  refuse("the working tree has changes: commit the versioned packages first");
const pending = readdirSync(join(root, ".changeset")).filter(
  (file) => file.endsWith(".md") && file !== "README.md",
);
if (pending.length > 0) {
  refuse(
    `${pending.length} changeset(s) not versioned yet: run \`pnpm release\`, review and commit first`,
  );
}

step("pnpm", ["build"]);
step("pnpm", ["release:dry-run", "--release"]);
step("pnpm", ["exec", "changeset", "publish", ...process.argv.slice(2)]);
console.log("release:publish: published; push the release tags: git push --follow-tags");
