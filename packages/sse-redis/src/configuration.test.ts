// Configuration errors are not outages (issue 23, item 4). A url that ioredis
// would misread is refused when the backplane is created.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { SSEOptionError } from "@burrow/sse-core";
import { thrownBy } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { describeRedis, REDIS_URL } from "./fixtures/harness.js";
import { redisBackplane } from "./index.js";

/** REDIS_URL with `path` (and query) instead of its own. */
function withPath(path: string): string {
  const url = new URL(REDIS_URL);
  return `${url.protocol}//${url.host}${path}`;
}

describe("a url that ioredis would misread is refused when the backplane is created", () => {
  it.each([
    ["/abc", 'its path, "/abc", must be a database number: a whole number from 0'],
    ["/1e1", 'its path, "/1e1", must be a database number'],
    ["/-1", 'its path, "/-1", must be a database number'],
    ["/0/1", 'its path, "/0/1", must be a database number'],
    ["/2147483648", 'its path, "/2147483648", must be a database number'],
    ["?db=abc", 'its db parameter, "abc", must be a database number'],
  ])("%s: SSEOptionError naming url, with the fix", (path, problem) => {
    const url = withPath(path);
    const thrown = thrownBy(() => redisBackplane({ url, logger: false }));
    expect(SSEOptionError.isInstance(thrown)).toBe(true);
    expect(thrown).toMatchObject({ option: "url", value: url });
    expect((thrown as Error).message).toContain(`sse: url: ${problem}`);
    expect((thrown as Error).message).toContain(
      '(0–15 on a Redis with the default "databases 16")',
    );
  });

  it("an unparsable URL, and a password with a stray %, are refused without showing the password", () => {
    const unparsable = thrownBy(() => redisBackplane({ url: "redis://:secret@[::1" }));
    expect(unparsable).toMatchObject({
      option: "url",
      value: "redis://:***@[::1",
      message: expect.stringMatching(/^sse: url: is not a parsable URL \(check the host, the port/),
    });
    const stray = thrownBy(() => redisBackplane({ url: "redis://:50%off@127.0.0.1:6379" }));
    expect(stray).toMatchObject({
      option: "url",
      value: "redis://:***@127.0.0.1:6379",
      message: expect.stringContaining(
        "sse: url: its password has a % that starts no percent-escape: write a literal % as %25",
      ),
    });
    for (const error of [unparsable, stray]) {
      expect(SSEOptionError.isInstance(error)).toBe(true);
      expect((error as Error).message).not.toMatch(/secret|50%off/);
    }
  });

  it("a database number in the redis options is checked too", () => {
    const thrown = thrownBy(() => redisBackplane({ redis: { db: Number.NaN } }));
    expect(thrown).toMatchObject({
      option: "redis.db",
      message: "sse: redis.db: must be a database number, a whole number from 0, got NaN",
    });
  });

  it("URLs that ioredis reads as written are accepted", () => {
    for (const path of ["", "/", "/0", "/15", "/01", "?db=3", "/0?family=4"]) {
      expect(() => redisBackplane({ url: withPath(path), logger: false })).not.toThrow();
    }
    expect(() => redisBackplane({ url: "redis://user:p%40ss@127.0.0.1:6379/2" })).not.toThrow();
  });
});

describeRedis("malformed urls in a process", () => {
  it("a process given each refuses them at creation and lives (before: an unhandled ReplyError for SELECT NaN, exit 1)", async () => {
    const fixture = fileURLToPath(new URL("./fixtures/malformed-urls.mjs", import.meta.url));
    const urls = ["/abc", "?db=abc", "/ 1"].map(withPath);
    const run = promisify(execFile)(process.execPath, [fixture, ...urls], { timeout: 30_000 });
    const { code, stdout, stderr } = await run.then(
      (done) => ({ code: 0, ...done }),
      (failed: { code: number; stdout: string; stderr: string }) => failed,
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(4);
    expect(lines.slice(0, 3).every((line) => line.startsWith("refused url: sse: url: "))).toBe(
      true,
    );
    expect(lines[3]).toBe("alive");
  });
});
