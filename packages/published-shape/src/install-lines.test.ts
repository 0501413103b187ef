/**
 * Issue 15, item 8: each README's install lines, run as written (the
 * `@burrow/*` names pointing at the packed tarballs, everything else from
 * the npm registry) in a fresh `npm init -y` project outside the workspace,
 * install what its examples import; the examples the README names ship in
 * the package; and each example then runs there as a user would run it.
 *
 * Issue 27, items 4 and 5: what those lines install today (npm's latest of
 * each unpinned name) satisfies every peer range of the packages, so that
 * `npm ls` is clean and a later `npm install` or `npm ci` does not fail with
 * ERESOLVE; and each README says, where its install line is, how to run its
 * ES module examples in such a (CommonJS) project: the examples run there as
 * `.js` files after `npm pkg set type=module`, as the README says. The root
 * README's "30 seconds" is run the same way, as a complete page.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { waitFor } from "@burrow/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { libraries, packLibraries, repo, run } from "./pack.js";

/** Whose README references examples that its package does not ship yet (none). */
const NOT_SHIPPED_YET = new Set<string>();

/**
 * Examples that need a service this test does not start: checked for
 * shipping and imports here, run by the test named.
 */
const RUN_ELSEWHERE = new Map<string, string>([
  ["examples/redis-cluster.mjs", "a Redis Cluster: run by sse-redis/src/cluster.test.ts"],
]);

let work: string;
let tarballs: Map<string, string>;
const children: ChildProcess[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), "burrow-install-"));
  tarballs = await packLibraries(join(work, "packs"));
}, 120_000);

afterAll(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  if (work) rmSync(work, { recursive: true, force: true });
});

/**
 * Runs `fn` when fewer than two others run: the tests below run concurrently, two at
 * a time, each in a project of its own (npm and the examples' child processes leave
 * the machine's second core idle otherwise; more would only queue on it).
 */
const twoAtATime = (() => {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
    running++;
    try {
      return await fn();
    } finally {
      running--;
      waiting.shift()?.();
    }
  };
})();

/** Every `npm install …` of a README (its Install block, and any a section adds), as argument lists. */
function installLines(readme: string): string[][] {
  return [...readme.matchAll(/^npm install ([^`\n]+)$|`npm install ([^`\n]+)`/gm)].map((m) =>
    (m[1] ?? m[2]!).trim().split(/\s+/),
  );
}

/** The "## Install" section of a README. */
function installSection(readme: string): string {
  const start = readme.indexOf("## Install");
  return readme.slice(start, readme.indexOf("\n## ", start + 3));
}

/**
 * Whether `version` satisfies `range`, for the forms the packages' peer
 * ranges use (`^x.y.z` with x > 0, `>=x.y.z`, joined by `||`); any other form
 * throws, so that a new one is taught here rather than passed unchecked.
 */
function satisfies(version: string, range: string): boolean {
  const rank = (parts: number[]) => parts.reduce((sum, part, i) => sum + part * 1e4 ** (2 - i), 0);
  if (!/^\d+\.\d+\.\d+$/.test(version)) throw new Error(`unsupported version ${version}`);
  const have = version.split(".").map(Number);
  return range.split("||").some((alternative) => {
    const [, operator, lowest] = /^\s*(\^|>=)(\d+(?:\.\d+){0,2})\s*$/.exec(alternative) ?? [];
    const bound = (lowest ?? "").split(".").map(Number);
    if (lowest === undefined || (operator === "^" && bound[0] === 0)) {
      throw new Error(`unsupported range ${range}`);
    }
    return rank(have) >= rank(bound) && (operator === ">=" || have[0] === bound[0]);
  });
}

/** `[package, peer, range]` for each non-`@burrow` peer of the `@burrow` packages in `project`. */
function peerRanges(project: string): [string, string, string][] {
  const scope = join(project, "node_modules/@burrow");
  return readdirSync(scope).flatMap((lib) => {
    const manifest = JSON.parse(readFileSync(join(scope, lib, "package.json"), "utf8"));
    return Object.entries<string>(manifest.peerDependencies ?? {})
      .filter(([name]) => !name.startsWith("@burrow/"))
      .map(([name, range]): [string, string, string] => [manifest.name, name, range]);
  });
}

/** The version of `name` installed at the top of `project`. */
function versionIn(project: string, name: string): string {
  return JSON.parse(readFileSync(join(project, "node_modules", name, "package.json"), "utf8"))
    .version;
}

/** The packages a file imports or resolves by bare name (`x`, `@scope/x`, `x/sub`). */
function importsOf(source: string): Set<string> {
  const names = new Set<string>();
  for (const m of source.matchAll(/(?:\bfrom|\bimport\(|\brequire\(|\.resolve\()\s*"([^"]+)"/g)) {
    const specifier = m[1]!;
    if (specifier.startsWith(".") || specifier.startsWith("node:")) continue;
    const parts = specifier.split("/");
    const name = specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
    if (!builtinModules.includes(name)) names.add(name);
  }
  return names;
}

/** Without the package manager's own settings: npm must behave as in a user's shell. */
function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.toLowerCase().startsWith("npm_")),
  );
  return { ...env, ...extra };
}

/**
 * Runs `npm <args>` in `project` as a user's shell would; an `install` of
 * `@burrow/*` names installs the packed tarballs instead.
 */
async function npm(project: string, [command, ...args]: string[]): Promise<void> {
  if (command === "install") {
    const names = args.map((name) =>
      name.startsWith("@burrow/") ? tarballs.get(name.slice("@burrow/".length))! : name,
    );
    expect(names).not.toContain(undefined);
    args = ["--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error", ...names];
  }
  await run("npm", [command!, ...args], { cwd: project, env: userEnv(), timeout: 240_000 });
}

/**
 * Runs `file` as a user would: a server (it prints `listening on http://…`)
 * must stream `/events`, load the scripts of its page if it serves one, and
 * exit 0 on SIGTERM with that stream still open; a script must exit 0.
 */
async function runExample(project: string, file: string): Promise<void> {
  const env = userEnv({
    PORT: "0",
    NOTES_PORT: "0",
    REDIS_PREFIX: `burrow-install-test:${process.pid}:`,
  });
  const child = spawn(process.execPath, [file], {
    cwd: project,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  try {
    await checkExample(child, file);
  } finally {
    // Only this example's process: the tests run concurrently.
    if (child.exitCode === null) child.kill("SIGKILL");
  }
}

/** {@link runExample}'s checks of the running `child`. */
async function checkExample(child: ChildProcess, file: string): Promise<void> {
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk) => {
    out += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    err += chunk;
  });
  const exited = once(child, "exit");
  const url = () => /listening on (http:\/\/[\d.]+:\d+)/.exec(out)?.[1];
  await waitFor(() => url() !== undefined || child.exitCode !== null, `${file} to start`);
  if (url() === undefined) {
    const [code] = await exited;
    expect({ file, code, err }).toEqual({ file, code: 0, err: "" });
    return;
  }
  const base = url()!;
  // The stream stays open until SIGTERM, as a browser's would, and is read until the example
  // ends it. (Aborted here instead, its socket stayed open on the server until the client's
  // idle keep-alive timeout, about 4 s, which the example's exit then waited for.)
  const events = await fetch(`${base}/events`);
  expect([file, events.status, events.headers.get("content-type")]).toEqual([
    file,
    200,
    "text/event-stream",
  ]);
  const streamRead = events.text().catch(() => "");
  const page = await fetch(`${base}/`);
  const html = await page.text();
  if (page.status === 200 && page.headers.get("content-type")?.startsWith("text/html")) {
    const scripts = [...html.matchAll(/<script src="([^"]+)"><\/script>/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const script of scripts) {
      const response = await fetch(`${base}${script}`);
      expect([file, script, response.status]).toEqual([file, script, 200]);
      await response.text();
    }
  }
  child.kill("SIGTERM");
  const [code] = await exited;
  await streamRead;
  expect({ file, code }).toEqual({ file, code: 0 });
}

describe("each README's install lines, run as written outside the workspace", () => {
  it.concurrent.each(libraries)(
    "%s: installs what its examples import; they ship and run",
    (lib) =>
      twoAtATime(async () => {
        const dir = join(repo, "packages", lib);
        const readme = readFileSync(join(dir, "README.md"), "utf8");
        const lines = installLines(readme);
        expect(lines.length).toBeGreaterThan(0);
        expect(lines[0]![0]).toBe(`@burrow/${lib}`);

        const project = join(work, lib);
        mkdirSync(project);
        // As a newcomer starts: npm 11 writes "type": "commonjs", where `import` fails.
        await npm(project, ["init", "-y"]);
        const installed = new Set<string>();
        for (const line of lines) {
          await npm(project, ["install", ...line]);
          for (const name of line) installed.add(name);
        }
        // What npm installed for those names today (its latest, unless a line pins one)
        // satisfies every peer range, so npm ls is clean and a later npm ci resolves.
        for (const [burrow, name, range] of peerRanges(project)) {
          const version = versionIn(project, name);
          expect({ burrow, name, version, range, ok: satisfies(version, range) }).toEqual({
            burrow,
            name,
            version,
            range,
            ok: true,
          });
        }
        await npm(project, ["ls", "--all"]);

        const examples = [...new Set(readme.match(/examples\/[\w.-]+\.(?:mjs|toml)/g) ?? [])];
        expect(examples.length).toBeGreaterThan(0);
        const shipped = join(project, "node_modules/@burrow", lib);
        const source = NOT_SHIPPED_YET.has(lib) ? dir : shipped;
        for (const example of examples) {
          if (!NOT_SHIPPED_YET.has(lib)) {
            expect([example, existsSync(join(shipped, example))]).toEqual([example, true]);
          }
          if (example.endsWith(".mjs")) {
            const imports = [...importsOf(readFileSync(join(source, example), "utf8"))];
            expect({ example, missing: imports.filter((name) => !installed.has(name)) }).toEqual({
              example,
              missing: [],
            });
          }
        }
        // A user pastes each example into a .js file of their project, and follows the
        // Install section's advice for ES modules: imports resolve from its node_modules.
        const advice = installSection(readme);
        expect([lib, advice]).toEqual([lib, expect.stringContaining("npm pkg set type=module")]);
        expect([lib, advice]).toEqual([lib, expect.stringContaining("`.mjs`")]);
        await npm(project, ["pkg", "set", "type=module"]);
        cpSync(join(source, "examples"), join(project, "examples"), { recursive: true });
        for (const example of examples.filter((name) => name.endsWith(".mjs"))) {
          if (RUN_ELSEWHERE.has(example)) continue;
          const pasted = join(project, example.replace(/\.mjs$/, ".js"));
          renameSync(join(project, example), pasted);
          await runExample(project, pasted);
        }
      }),
    600_000,
  );

  it.concurrent(
    "the root README's 30 seconds: its commands, run as written, serve its example as server.js",
    () =>
      twoAtATime(async () => {
        const readme = readFileSync(join(repo, "README.md"), "utf8");
        const start = readme.indexOf("## 30 seconds");
        const section = readme.slice(start, readme.indexOf("\n## ", start + 3));
        const commands = /```sh\n([^`]+)```/
          .exec(section)![1]!
          .trim()
          .split(/\n| && /);
        const project = join(work, "first-page");
        mkdirSync(project);
        for (const command of commands) {
          const [program, ...args] = command.split(/\s+/);
          expect([command, program]).toEqual([command, "npm"]);
          await npm(project, args);
        }
        expect(section).toContain("Save this as `server.js`");
        writeFileSync(join(project, "server.js"), /```js\n([\s\S]+?)```/.exec(section)![1]!);
        await runExample(project, join(project, "server.js"));
      }),
    600_000,
  );
});
