/**
 * Packs the eight libraries as npm would publish them (`pnpm pack`: `files`,
 * `exports` and `workspace:` ranges rewritten), for the tests that install
 * them outside the workspace.
 */
import { execFile } from "node:child_process";
import { readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

export const run = promisify(execFile);
export const repo = join(dirname(fileURLToPath(import.meta.url)), "../../..");
export const libraries = [
  "sse-core",
  "sse-express",
  "sse-koa",
  "sse-fastify",
  "sse-registry",
  "sse-redis",
  "sse-postgres",
  "sse-prometheus",
];

/** pnpm as the test was started with it (`pnpm test` or `npx pnpm@10 test`), else from PATH. */
function pnpm(): [string, string[]] {
  const execPath = process.env.npm_execpath;
  return execPath?.includes("pnpm") ? [process.execPath, [execPath]] : ["pnpm", []];
}

/** Packs every library into `destination`; returns each one's tarball path, by folder name. */
export async function packLibraries(destination: string): Promise<Map<string, string>> {
  const [cmd, prefix] = pnpm();
  // All at once: each pack is mostly pnpm's start-up, and each writes only its own tarball.
  await Promise.all(
    libraries.map((lib) =>
      run(cmd, [...prefix, "pack", "--pack-destination", destination], {
        cwd: join(repo, "packages", lib),
      }),
    ),
  );
  const tarballs = new Map<string, string>();
  for (const tarball of readdirSync(destination)) {
    const lib = libraries.find((name) => tarball.startsWith(`burrow-${name}-`));
    if (lib !== undefined) tarballs.set(lib, join(destination, tarball));
  }
  return tarballs;
}
