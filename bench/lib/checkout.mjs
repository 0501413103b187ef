// Another commit of this repository, checked out and built where the
// benchmark can load it: a detached `git worktree` under the system's
// temporary folder, removed again when the run ends, fails or is interrupted.

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";

const git = (cwd, args) =>
  execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

/** The root of the git checkout that holds `dir`. */
export function repoRoot(dir) {
  return git(dir, ["rev-parse", "--show-toplevel"]);
}

/** `ref`'s commit (full hash), its short hash and subject; throws if `ref` names no commit. */
export function describeRef(repo, ref) {
  let commit;
  try {
    commit = git(repo, ["rev-parse", "--verify", "--quiet", "--end-of-options", `${ref}^{commit}`]);
  } catch {
    throw new Error(`bench: ${JSON.stringify(ref)} names no commit of ${repo}`);
  }
  const [short, subject] = git(repo, ["log", "-1", "--format=%h%x00%s", commit]).split("\0");
  return { ref, commit, short, subject };
}

/** Whether the working tree differs from HEAD under `paths` (tracked files only). */
export function isDirty(repo, paths) {
  return git(repo, ["status", "--porcelain", "--untracked-files=no", "--", ...paths]) !== "";
}

/** Signals on which the worktree is removed before the process exits. */
const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];

/**
 * A detached worktree of `commit` under os.tmpdir(). `remove()` deletes it
 * (and its registration in the repository); it also runs on SIGINT, SIGTERM,
 * SIGHUP and at exit, so that no run leaves one behind unless it is killed
 * outright (then `git worktree prune` forgets it; the folder stays in the
 * temporary folder until it is cleared).
 */
export class TempCheckout {
  constructor(repo, commit) {
    this.repo = repo;
    this.commit = commit;
    this.parent = mkdtempSync(join(os.tmpdir(), "burrow-bench-"));
    this.dir = join(this.parent, "checkout");
    /** The command running in the worktree, killed when it is removed. */
    this.running = undefined;
    this.removed = false;
    this.onSignal = (signal) => {
      console.error(`\nbench: ${signal}, removing ${this.dir}`);
      this.remove();
      process.exit(128 + os.constants.signals[signal]);
    };
    this.onExit = () => this.remove();
    for (const signal of SIGNALS) process.on(signal, this.onSignal);
    process.on("exit", this.onExit);
    try {
      git(repo, ["worktree", "add", "--detach", this.dir, commit]);
    } catch (err) {
      this.remove();
      throw err;
    }
  }

  /**
   * Runs `cmd args` in the worktree; its output is kept and shown only if it
   * fails.
   */
  run(cmd, args) {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: this.dir, stdio: ["ignore", "pipe", "pipe"] });
      this.running = child;
      let output = "";
      const keep = (chunk) => {
        output = (output + chunk).slice(-20_000);
      };
      child.stdout.on("data", keep);
      child.stderr.on("data", keep);
      child.on("error", reject);
      child.on("close", (code, signal) => {
        this.running = undefined;
        if (code === 0) resolve();
        else
          reject(
            new Error(`${cmd} ${args.join(" ")} in ${this.dir}: ${signal ?? code}\n${output}`),
          );
      });
    });
  }

  /**
   * Installs the locked dependencies (from pnpm's store where it can) and
   * builds `packages` and what they depend on, nothing else.
   */
  async build(packages) {
    await this.run("pnpm", ["install", "--frozen-lockfile", "--prefer-offline"]);
    await this.run("pnpm", [
      ...packages.flatMap((name) => ["--filter", `${name}...`]),
      "run",
      "build",
    ]);
  }

  /** Deletes the worktree, its registration and its temporary folder; safe to call twice. */
  remove() {
    if (this.removed) return;
    this.removed = true;
    this.running?.kill("SIGKILL");
    for (const signal of SIGNALS) process.off(signal, this.onSignal);
    process.off("exit", this.onExit);
    // The folder first (node_modules included: seconds), then git forgets the worktree.
    rmSync(this.parent, { recursive: true, force: true });
    try {
      git(this.repo, ["worktree", "prune"]);
    } catch {
      // Nothing to prune.
    }
  }
}
