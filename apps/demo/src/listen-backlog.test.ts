import { mkdtempSync, writeFileSync } from "node:fs";
import { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError } from "@burrow/sse-registry";
import { afterEach, describe, expect, it, vi } from "vitest";
import { LISTEN_BACKLOG, type StartOptions, startDemo } from "./start.js";
import { startRunning as start } from "./testing.js";

// The demo's listen backlog (--listen-backlog): what the server is told to
// listen with, from each source, and what is refused. A reconnect storm is
// the bench's to show, not a test's.

afterEach(() => {
  vi.restoreAllMocks();
});

/** The backlog the demo passes to `server.listen` when started with `options`. */
async function backlogOf(options: StartOptions): Promise<{ listened: unknown; setting: number }> {
  const listen = vi.spyOn(Server.prototype, "listen");
  const demo = await start({
    ...options,
    argv: ["--port=0", "--stats-interval=0", ...(options.argv ?? [])],
  });
  try {
    const [first] = listen.mock.calls[0] ?? [];
    return {
      listened: (first as { backlog?: number }).backlog,
      setting: demo.settings.listenBacklog,
    };
  } finally {
    listen.mockRestore();
    await demo.close();
  }
}

describe("--listen-backlog", () => {
  it("is 4096 by default, well past Node's 511", async () => {
    expect(LISTEN_BACKLOG).toBe(4096);
    expect(await backlogOf({})).toEqual({ listened: 4096, setting: 4096 });
  });

  it("comes from the flag, else DEMO_LISTEN_BACKLOG, else demo.listen_backlog in burrow.toml", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "burrow-demo-")), "burrow.toml");
    writeFileSync(file, "[demo]\nlisten_backlog = 2048\n");
    expect(await backlogOf({ configFile: file })).toEqual({ listened: 2048, setting: 2048 });
    const env = { DEMO_LISTEN_BACKLOG: "1024" };
    expect(await backlogOf({ configFile: file, env })).toEqual({ listened: 1024, setting: 1024 });
    const argv = ["--listen-backlog=8192"];
    expect(await backlogOf({ configFile: file, env, argv })).toEqual({
      listened: 8192,
      setting: 8192,
    });
  });

  it("refuses a value below 1 or not an integer, naming the flag and where it came from", async () => {
    const cases: [StartOptions, string][] = [
      [
        { argv: ["--listen-backlog=0"] },
        "--listen-backlog: 0 (from flag) must be at least 1, e.g. 4096",
      ],
      [
        { env: { DEMO_LISTEN_BACKLOG: "lots" } },
        '--listen-backlog: "lots" (from environment DEMO_LISTEN_BACKLOG) is not an integer',
      ],
    ];
    for (const [options, message] of cases) {
      const started = startDemo({ env: {}, configFile: null, ...options });
      await expect(started).rejects.toSatisfy((err) => ConfigError.isInstance(err));
      await expect(started).rejects.toThrow(message);
    }
  });

  it("is listed on --help with its environment variable, TOML key and default", async () => {
    const { help } = await startDemo({ argv: ["--help"], env: {}, configFile: null });
    expect(help).toContain("--listen-backlog");
    expect(help).toContain("DEMO_LISTEN_BACKLOG");
    expect(help).toContain("demo.listen_backlog");
    expect(help).toContain("4096");
  });
});
