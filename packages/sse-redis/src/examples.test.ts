import { execFile } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { startExample } from "@burrow/test-utils";
import { describeScaleOutExample } from "@burrow/test-utils/scale-out-example";
import { afterAll, expect, it } from "vitest";
import {
  deleteKeys,
  describeRedis,
  freePort,
  REDIS_URL,
  uniquePrefix,
} from "./fixtures/harness.js";

const prefix = uniquePrefix();

describeScaleOutExample({
  root: new URL("..", import.meta.url),
  env: { REDIS_URL, REDIS_PREFIX: prefix },
  describe: describeRedis,
  cleanup: () => deleteKeys(prefix),
});

// The README's startup example (examples/startup.mjs): backplane.ready() at startup.
const startup = fileURLToPath(new URL("../examples/startup.mjs", import.meta.url));

it("startup.mjs appears in the README verbatim", () => {
  const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
  expect(readme).toContain(readFileSync(startup, "utf8").trimEnd());
});

/** Runs startup.mjs on `url` until it exits by itself: its exit code and stderr. */
function exitOf(url: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, REDIS_URL: url, REDIS_PREFIX: prefix, PORT: "0" };
    execFile(process.execPath, [startup], { env, timeout: 30_000 }, (error, _stdout, stderr) =>
      resolve({ code: error === null ? 0 : Number(error.code), stderr }),
    );
  });
}

describeRedis("the README's startup example", () => {
  afterAll(() => deleteKeys(prefix));

  it("on Redis: serves, with the backplane ready; SIGTERM stops it", async () => {
    const { child, url } = await startExample(startup, { REDIS_URL, REDIS_PREFIX: prefix });
    expect(await (await fetch(url)).json()).toMatchObject({ state: "ready" });
    child.kill("SIGTERM");
    expect((await once(child, "exit"))[0]).toBe(0);
  });

  it("a database Redis does not have: exits 1 with the configuration error, serving nothing", async () => {
    const redis = new URL(REDIS_URL);
    const { code, stderr } = await exitOf(`redis://${redis.host}/2147483647`);
    expect(code).toBe(1);
    expect(stderr).toContain(
      `sse: configuration refused by Redis at redis://${redis.host}/2147483647 (SELECT: ERR DB index is out of range); fix the url/credentials: `,
    );
  });

  it("a malformed url: exits 1 with SSEOptionError, before connecting", async () => {
    const { code, stderr } = await exitOf(`redis://127.0.0.1:${await freePort()}/abc`);
    expect(code).toBe(1);
    expect(stderr).toContain(
      'SSEOptionError: sse: url: its path, "/abc", must be a database number',
    );
  });

  it("Redis unreachable: once ready() timed out (5 s), serves this process's clients anyway", async () => {
    const unreachable = `redis://127.0.0.1:${await freePort()}`;
    const { child, url } = await startExample(startup, { REDIS_URL: unreachable });
    expect(await (await fetch(url)).json()).toMatchObject({ state: "down" });
    child.kill("SIGTERM");
    expect((await once(child, "exit"))[0]).toBe(0);
  });
});
