import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { HTMX } from "./shared/htmx.js";

// The demo as its users start it: `node --import tsx src/main.ts`, in a child
// process, for what only a process shows: --help, exit codes, signals.

const APP_DIR = fileURLToPath(new URL("..", import.meta.url));
const children: ChildProcess[] = [];
const groups = new Set<ChildProcess>();

afterEach(() => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    // A process group of its own (pnpm and the demo under it): kill the whole group.
    if (groups.delete(child)) process.kill(-child.pid!, "SIGKILL");
    else child.kill("SIGKILL");
  }
});

/** pnpm as the tests were started with it (`pnpm test`), else from PATH. */
const PNPM: [string, string[]] = process.env.npm_execpath?.includes("pnpm")
  ? [process.execPath, [process.env.npm_execpath]]
  : ["pnpm", []];

/**
 * Starts the demo with `args` and an environment without the demo's
 * variables plus `env`; with `viaPnpm`, as `pnpm start <args>` in a process
 * group of its own (as a terminal runs it: Ctrl-C signals the whole group).
 */
function run(args: string[], env: Record<string, string> = {}, viaPnpm = false) {
  const base = { ...process.env };
  for (const name of [
    "PORT",
    "SSE_BUFFER_SIZE",
    "DEMO_FRAMEWORK",
    "DEMO_HTMX",
    "DEMO_HOST",
    "DEMO_STATS_INTERVAL",
  ]) {
    delete base[name];
  }
  const [command, prefix] = viaPnpm ? PNPM : [process.execPath, ["--import", "tsx", "src/main.ts"]];
  const child = spawn(command, [...prefix, ...(viaPnpm ? ["start"] : []), ...args], {
    cwd: APP_DIR,
    env: { ...base, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: viaPnpm,
  });
  children.push(child);
  if (viaPnpm) groups.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const exited = once(child, "exit").then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  return {
    child,
    exited,
    out: () => stdout,
    err: () => stderr,
    /** Resolves with the printed URL's port once the demo listens. */
    listening(): Promise<number> {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = /Listening on http:\/\/localhost:(\d+)/.exec(stdout);
          if (match === null) return;
          child.stdout?.off("data", check);
          resolve(Number(match[1]));
        };
        child.stdout?.on("data", check);
        child.once("exit", () =>
          reject(new Error(`the demo exited before listening:\n${stdout}\n${stderr}`)),
        );
        check();
      });
    },
  };
}

describe("the demo's command line", () => {
  it("lists every flag with its environment variable and TOML key on --help, and exits 0", async () => {
    const demo = run(["--help"]);
    expect(await demo.exited).toEqual({ code: 0, signal: null });
    for (const text of [
      "--sse-buffer-size",
      "SSE_BUFFER_SIZE",
      "sse.buffer_size",
      "--framework",
      "DEMO_FRAMEWORK",
      "express, koa or fastify",
      "--htmx",
      "DEMO_HTMX",
      "demo.htmx",
      "--port",
      "env PORT",
      "demo.port",
      "--stats-interval",
      "REDIS_URL",
      "REDIS_PREFIX",
      "DATABASE_URL",
      "DATABASE_PREFIX",
    ]) {
      expect(demo.out()).toContain(text);
    }
  });

  it("refuses an unknown framework with a message naming the flag, and exits 2", async () => {
    const demo = run(["--framework=flask"]);
    expect(await demo.exited).toEqual({ code: 2, signal: null });
    expect(demo.err()).toContain(
      '--framework: "flask" (from flag) is not one of express, koa, fastify',
    );
  });

  for (const [framework, signal] of [
    ["express", "SIGTERM"],
    ["koa", "SIGINT"],
    ["fastify", "SIGTERM"],
  ] as const) {
    it(`on ${framework}, prints its URL and settings, and on ${signal} ends every stream and exits 0`, async () => {
      // The environment beats burrow.toml (32); the flag beats the environment.
      const demo = run([`--framework=${framework}`, "--port=0", "--sse-buffer-size=48"], {
        SSE_BUFFER_SIZE: "64",
        DEMO_STATS_INTERVAL: "100",
      });
      const port = await demo.listening();
      expect(demo.out()).toContain(
        `Burrow SSE demo (${framework}, htmx ${HTMX[4].version}, sse-buffer-size 48 from flag)`,
      );

      const stream = await fetch(`http://127.0.0.1:${port}/events`);
      expect(stream.status).toBe(200);
      const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
      // The live status feed reaches the stream: it is really open.
      let seen = "";
      while (!seen.includes("event: stats")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("stream ended before any stats event");
        seen += Buffer.from(value).toString("utf8");
      }

      demo.child.kill(signal);
      // The stream ends (not cut): the broker closed it, with a retry hint for the browser.
      let tail = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        tail += Buffer.from(value).toString("utf8");
      }
      expect(tail).toMatch(/retry: \d+/);
      expect(await demo.exited).toEqual({ code: 0, signal: null });
    });
  }

  it("on a port in use, says so in one line naming the port and the fix, and exits 2", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = taken.address() as AddressInfo;
      const demo = run([`--port=${port}`]);
      expect(await demo.exited).toEqual({ code: 2, signal: null });
      expect(demo.err()).toBe(
        `port ${port} on 127.0.0.1 is already in use (another demo still running?): stop it, or start on another port with --port 8080 (or PORT=8080; --port 0 picks a free one)\n`,
      );
    } finally {
      taken.close();
    }
  });

  it("Ctrl-C on pnpm's script (pnpm demo ends with it) stops the demo cleanly: exit 0, no ELIFECYCLE", async () => {
    // `pnpm demo` builds, then runs what `pnpm start` runs, from apps/demo.
    const manifest = (path: string) => JSON.parse(readFileSync(`${APP_DIR}${path}`, "utf8"));
    const start: string = manifest("package.json").scripts.start;
    const tail = ` && cd apps/demo && ${start}`;
    expect(manifest("../../package.json").scripts.demo.slice(-tail.length)).toBe(tail);
    const demo = run(["--port=0"], {}, true);
    const port = await demo.listening();
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    // The terminal's Ctrl-C: SIGINT to the group (pnpm, and the demo it runs, which pnpm
    // also forwards it to). A shell left between them would die of it: pnpm's ELIFECYCLE.
    process.kill(-demo.child.pid!, "SIGINT");
    expect(await demo.exited).toEqual({ code: 0, signal: null });
    expect(demo.out() + demo.err()).not.toMatch(/ELIFECYCLE|Command failed/);
  });

  it("reads the environment when no flag is given", async () => {
    const demo = run(["--port=0"], {
      SSE_BUFFER_SIZE: "64",
      DEMO_FRAMEWORK: "koa",
      DEMO_HTMX: "2",
    });
    await demo.listening();
    expect(demo.out()).toContain(
      `Burrow SSE demo (koa, htmx ${HTMX[2].version}, sse-buffer-size 64 from env)`,
    );
    demo.child.kill("SIGTERM");
    expect(await demo.exited).toEqual({ code: 0, signal: null });
  });
});
