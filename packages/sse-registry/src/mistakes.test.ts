import { readFileSync } from "node:fs";
import { SSEOptionError } from "@burrow/sse-core";
import { thrownBy } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { ConfigError, handleSignals, Registry, RegistryError, SSEApp } from "./index.js";

// Issue 15, items 4 and 7: the registry names the mistake instead of failing
// deep inside (`own.some is not a function`, a positional-argument error).

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");

/** Stands for `@burrow/sse-redis`'s factory (its own tests pass the real one). */
function redisBackplane() {
  return {};
}

/** The error `boot(options)` rejects with. */
async function bootError(options: unknown, registry = new Registry().add(new SSEApp())) {
  return registry.boot(options as never).then(
    () => {
      throw new Error("boot resolved");
    },
    (err: unknown) => err as Error,
  );
}

describe("boot names options that cannot work", () => {
  it("argv as a string", async () => {
    const err = await bootError({ argv: "--x", env: {} });
    expect(RegistryError.isInstance(err)).toBe(true);
    expect(err.message).toBe(
      'sse: boot: argv must be an array of strings, the flags only, e.g. process.argv.slice(2), got "--x" (a string)',
    );
    expect(readme).toContain(`\`${err.message}\``);
  });

  it("argv that is process.argv, or a copy of it", async () => {
    for (const argv of [process.argv, [...process.argv]]) {
      const err = await bootError({ argv, env: {} });
      expect(RegistryError.isInstance(err)).toBe(true);
      expect(err.message).toBe(
        "sse: boot: argv is process.argv, whose first two entries are node and the script: pass the flags only, process.argv.slice(2)",
      );
      expect(readme).toContain(`\`${err.message}\``);
    }
  });

  it("an unknown key, listing the known ones; the registry can still boot after", async () => {
    const registry = new Registry().add(new SSEApp());
    const err = await bootError({ args: ["--sse-buffer-size=8"] }, registry);
    expect(err.message).toBe("sse: boot: args is not an option (known: argv, env, configFile)");
    await registry.boot({ argv: ["--sse-buffer-size=8"], env: {} });
    expect(registry.get<SSEApp>("sse")?.broker?.bufferSize).toBe(8);
    await registry.shutdown();
  });

  it("a bool flag with a separate value says how to write it, for true and false", async () => {
    const flags = (argv: string[]) =>
      bootError({ argv, env: {} }, new Registry().add(new SSEApp()).add(jobApp()));
    const off = await flags(["--job", "false"]);
    expect(ConfigError.isInstance(off)).toBe(true);
    expect(off.message).toBe(
      "--job false: a bool flag takes no separate value: write --no-job (or --job=false)",
    );
    expect((await flags(["--no-job", "yes"])).message).toBe(
      "--no-job yes: a bool flag takes no separate value: write --no-job (or --job=false)",
    );
    expect((await flags(["--job", "soon"])).message).toBe(
      "--job soon: a bool flag takes no separate value: write --job or --no-job (or --job=<true|false>)",
    );
  });
});

function jobApp() {
  return {
    name: "jobs",
    flags: () => [{ name: "job", type: "bool" as const, default: true, usage: "Run the job" }],
    configure: () => {},
  };
}

describe("handleSignals refuses an unknown option", () => {
  it("timeout, listing the known ones", () => {
    const err = thrownBy(() => handleSignals(new Registry(), { timeout: 5000 } as never));
    expect(RegistryError.isInstance(err)).toBe(true);
    expect((err as Error).message).toBe(
      "sse: handleSignals: timeout is not an option (known: servers, timeoutMs, signals, exit, onError)",
    );
  });
});

describe("SSEApp checks its broker options when created", () => {
  it.each([
    [
      "bufferSize, which is a flag",
      { bufferSize: 32 },
      "sse: bufferSize: is not an SSEApp option, got 32 — it is configured: --sse-buffer-size, SSE_BUFFER_SIZE or sse.buffer_size in the TOML file",
    ],
    [
      "a misspelled key",
      { historysize: 100 },
      "sse: historysize: is not a broker option, got 100 — did you mean `historySize`?",
    ],
    [
      "a number as a string",
      { historySize: "100" },
      'sse: historySize: must be an integer of at least 0, got "100" (a string) — pass the number 100, not a string',
    ],
    [
      "redisBackplane without its call",
      { backplane: redisBackplane },
      "sse: backplane: must be a backplane object, e.g. redisBackplane(), got a function — did you pass the function without calling it?",
    ],
    [
      "a number where options go",
      16,
      "sse: options: must be an object of broker options, e.g. new SSEApp({ historySize: 100 }), got 16",
    ],
  ])("%s", (_name, options, message) => {
    const err = thrownBy(() => new SSEApp(options as never));
    expect(SSEOptionError.isInstance(err)).toBe(true);
    expect((err as Error).message).toBe(message);
  });

  it("the README quotes the bufferSize message", () => {
    const err = thrownBy(() => new SSEApp({ bufferSize: 32 } as never)) as Error;
    expect(readme).toContain(`\`\`${err.message}\`\``);
  });
});
