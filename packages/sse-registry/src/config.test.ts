import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  type App,
  type BootOptions,
  type Config,
  ConfigError,
  type Configurable,
  type FlagSpec,
  Registry,
  RegistryError,
  SSEApp,
} from "./index.js";

const dir = mkdtempSync(join(tmpdir(), "burrow-sse-registry-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** Writes `text` to a new TOML file under the test's temp dir. */
function toml(text: string): string {
  const path = join(dir, `config-${files++}.toml`);
  writeFileSync(path, text);
  return path;
}

/** An app declaring `flags` that keeps the Config it is configured with. */
function probe(flags: FlagSpec[], name = "probe"): App & Configurable & { config?: Config } {
  const app: App & Configurable & { config?: Config } = {
    name,
    flags: () => flags,
    configure: (config) => {
      app.config = config;
    },
  };
  return app;
}

async function boot(flags: FlagSpec[], options: BootOptions): Promise<Config> {
  const app = probe(flags);
  await new Registry().add(app).boot(options);
  return app.config!;
}

async function bootError(flags: FlagSpec[], options: BootOptions): Promise<ConfigError> {
  const err = await boot(flags, options).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(ConfigError.isInstance(err)).toBe(true);
  expect(err).toBeInstanceOf(ConfigError);
  return err as ConfigError;
}

const size: FlagSpec = {
  name: "sse-buffer-size",
  env: "SSE_BUFFER_SIZE",
  toml: "sse.buffer_size",
  type: "int",
  default: 16,
  usage: "Per-client event buffer capacity",
};

describe("precedence: flag, then environment, then TOML, then default", () => {
  const file = toml("[sse]\nbuffer_size = 30\n");
  const cases: [string, BootOptions, number, string][] = [
    [
      "flag beats all",
      { argv: ["--sse-buffer-size=40"], env: { SSE_BUFFER_SIZE: "20" }, configFile: file },
      40,
      "flag",
    ],
    ["env beats TOML", { argv: [], env: { SSE_BUFFER_SIZE: "20" }, configFile: file }, 20, "env"],
    ["TOML beats default", { env: {}, configFile: file }, 30, "toml"],
    ["default when nothing is set", { env: {} }, 16, "default"],
    [
      "an empty env value counts as unset",
      { env: { SSE_BUFFER_SIZE: "" }, configFile: file },
      30,
      "toml",
    ],
  ];
  it.each(cases)("%s", async (_name, options, value, source) => {
    const config = await boot([size], options);
    expect(config.int("sse-buffer-size")).toBe(value);
    expect(config.source("sse-buffer-size")).toBe(source);
    expect(config.source("--sse-buffer-size")).toBe(source);
  });

  it("resolves each flag on its own, through a real SSEApp", async () => {
    const app = probe([
      { name: "a", env: "A", toml: "p.a", type: "string", default: "da", usage: "a" },
      { name: "b", env: "B", toml: "p.b", type: "string", default: "db", usage: "b" },
      { name: "c", env: "C", toml: "p.c", type: "string", default: "dc", usage: "c" },
      { name: "d", env: "D", toml: "p.d", type: "string", default: "dd", usage: "d" },
    ]);
    const sse = new SSEApp();
    await new Registry()
      .add(sse)
      .add(app)
      .boot({
        argv: ["--a", "fa", "--sse-buffer-size", "7"],
        env: { A: "ea", B: "eb" },
        configFile: toml('[p]\na = "ta"\nb = "tb"\nc = "tc"\n'),
      });
    const config = app.config!;
    expect(["a", "b", "c", "d"].map((f) => [config.string(f), config.source(f)])).toEqual([
      ["fa", "flag"],
      ["eb", "env"],
      ["tc", "toml"],
      ["dd", "default"],
    ]);
    expect(sse.broker?.bufferSize).toBe(7);
    expect(config.source("sse-buffer-size")).toBe("flag");
  });
});

describe("parsing values", () => {
  it("ints: decimal text with an optional sign, or a TOML integer", async () => {
    const spec: FlagSpec = { name: "n", env: "N", toml: "n", type: "int", usage: "n" };
    expect((await boot([spec], { argv: ["--n=-3"], env: {} })).int("n")).toBe(-3);
    expect((await boot([spec], { env: { N: " +12 " } })).int("n")).toBe(12);
    expect((await boot([spec], { env: {}, configFile: toml("n = 5") })).int("n")).toBe(5);
    expect((await boot([spec], { env: {}, configFile: toml('n = "6"') })).int("n")).toBe(6);
    expect((await boot([spec], { env: {} })).int("n")).toBeUndefined();
    for (const bad of ["1.5", "0x10", "", "12abc", "99999999999999999999"]) {
      await bootError([spec], { argv: [`--n=${bad}`], env: {} });
    }
    const err = await bootError([spec], { env: {}, configFile: toml("n = 1.5") });
    expect(err.message).toMatch(/^--n: 1\.5 \(from TOML n in .*\) is not an integer$/);
  });

  it("bools: --flag, --no-flag, --flag=<value>, and true/false/1/0/yes/no/on/off elsewhere", async () => {
    const spec: FlagSpec = {
      name: "v",
      env: "V",
      toml: "v",
      type: "bool",
      default: false,
      usage: "v",
    };
    const bool = async (options: BootOptions) => (await boot([spec], options)).bool("v");
    expect(await bool({ argv: ["--v"], env: {} })).toBe(true);
    expect(await bool({ argv: ["--v=false"], env: { V: "true" } })).toBe(false);
    expect(await bool({ argv: ["--v=YES"], env: {} })).toBe(true);
    expect(await bool({ argv: ["--no-v"], env: { V: "1" } })).toBe(false);
    expect(await bool({ argv: ["--v", "--no-v"], env: {} })).toBe(false);
    expect(await bool({ argv: ["--no-v", "--v"], env: {} })).toBe(true);
    expect(await bool({ env: { V: "on" } })).toBe(true);
    expect(await bool({ env: { V: "0" } })).toBe(false);
    expect(await bool({ env: {}, configFile: toml("v = true") })).toBe(true);
    expect(await bool({ env: {} })).toBe(false);
    const err = await bootError([spec], { argv: ["--v=maybe"], env: {} });
    expect(err.message).toBe('--v: "maybe" (from flag --v) is not a boolean');
    expect((await bootError([spec], { env: { V: "2" } })).message).toBe(
      '--v: "2" (from environment V) is not a boolean',
    );
    // a bool flag takes no separate value: "true" would be a stray argument
    await bootError([spec], { argv: ["--v", "true"], env: {} });
    await bootError([spec], { argv: ["--no-v=true"], env: {} });
  });

  it("strings: any text, --name=v or --name v; a TOML non-string is an error", async () => {
    const spec: FlagSpec = { name: "s", env: "S", toml: "s", type: "string", usage: "s" };
    expect((await boot([spec], { argv: ["--s", "a b"], env: {} })).string("s")).toBe("a b");
    expect((await boot([spec], { argv: ["--s=x=y"], env: {} })).string("s")).toBe("x=y");
    expect((await boot([spec], { argv: ["--s=-5"], env: {} })).string("s")).toBe("-5");
    expect((await boot([spec], { argv: ["--s=a", "--s=b"], env: {} })).string("s")).toBe("b");
    const err = await bootError([spec], { env: {}, configFile: toml("s = 3") });
    expect(err.message).toMatch(/^--s: 3 \(from TOML s in .*\) is not a string$/);
  });

  it("a flag missing its value is an error naming it", async () => {
    const spec: FlagSpec = { name: "s", type: "string", usage: "s" };
    const err = await bootError([spec], { argv: ["--s"], env: {} });
    expect(err.flag).toBe("s");
    expect(err.message).toMatch(/^--s: /);
    expect((await bootError([spec], { argv: ["--s", "-5"], env: {} })).message).toMatch(/^--s: /);
  });
});

describe("ConfigError messages name the flag and where the value came from", () => {
  it("environment", async () => {
    const err = await bootError([size], { env: { SSE_BUFFER_SIZE: "abc" } });
    expect(err.message).toBe(
      '--sse-buffer-size: "abc" (from environment SSE_BUFFER_SIZE) is not an integer',
    );
    expect(err.name).toBe("ConfigError");
    expect([err.flag, err.source, err.value]).toEqual(["sse-buffer-size", "env", "abc"]);
  });

  it("flag", async () => {
    const err = await bootError([size], { argv: ["--sse-buffer-size", "abc"], env: {} });
    expect(err.message).toBe(
      '--sse-buffer-size: "abc" (from flag --sse-buffer-size) is not an integer',
    );
    expect([err.flag, err.source]).toEqual(["sse-buffer-size", "flag"]);
  });

  it("TOML", async () => {
    const file = toml('[sse]\nbuffer_size = "abc"\n');
    const err = await bootError([size], { env: {}, configFile: file });
    expect(err.message).toBe(
      `--sse-buffer-size: "abc" (from TOML sse.buffer_size in ${file}) is not an integer`,
    );
    expect([err.flag, err.source]).toEqual(["sse-buffer-size", "toml"]);
  });

  it("is raised before any app registers", async () => {
    const registered: string[] = [];
    const registry = new Registry()
      .add({
        name: "a",
        register: () => {
          registered.push("a");
        },
      })
      .add(new SSEApp());
    await expect(registry.boot({ env: { SSE_BUFFER_SIZE: "abc" } })).rejects.toThrow(ConfigError);
    expect(registered).toEqual([]);
  });
});

describe("bad command lines and files", () => {
  it("an unknown flag lists the known ones", async () => {
    const bool: FlagSpec = { name: "verbose", type: "bool", usage: "v" };
    for (const argv of [["--bogus"], ["--bogus=1"], ["-x"]]) {
      const err = await bootError([size, bool], { argv, env: {} });
      expect(err.source).toBe("flag");
      expect(err.message).toMatch(/: unknown flag \(known flags: /);
    }
    const err = await bootError([size, bool], { argv: ["--bogus=1"], env: {} });
    expect(err.message).toBe(
      "--bogus: unknown flag (known flags: --sse-buffer-size, --verbose, --no-verbose, --help)",
    );
    expect(err.flag).toBe("bogus");
  });

  it("a positional argument is an error", async () => {
    const err = await bootError([size], { argv: ["serve"], env: {} });
    expect(err.source).toBe("flag");
    expect(err.message).toContain("serve");
  });

  it("a configFile that was given must exist", async () => {
    const missing = join(dir, "missing.toml");
    const err = await bootError([size], { env: {}, configFile: missing });
    expect(err.message).toBe(`config file ${missing}: not found`);
    expect(err.source).toBe("toml");
    expect((err.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
  });

  it("a TOML syntax error carries the parser's error", async () => {
    const file = toml("[sse\nbuffer_size = 3\n");
    const err = await bootError([size], { env: {}, configFile: file });
    expect(err.message).toMatch(new RegExp(`^config file ${file}: invalid TOML: `));
    expect(err.cause).toBeInstanceOf(Error);
  });

  it("a missing TOML key, or a key under a non-table, falls through to the default", async () => {
    const deep: FlagSpec = { name: "deep", toml: "a.b.c", type: "int", default: 1, usage: "d" };
    expect((await boot([deep], { env: {}, configFile: toml("a = 3") })).int("deep")).toBe(1);
    expect((await boot([deep], { env: {}, configFile: toml("[a.b]\nc = 2") })).int("deep")).toBe(2);
  });
});

describe("flag declarations", () => {
  it("two apps declaring one flag is a RegistryError naming both", async () => {
    const registry = new Registry()
      .add(new SSEApp())
      .add(probe([{ ...size, usage: "mine" }], "copycat"));
    const err = await registry.boot({ env: {} }).catch((e: unknown) => e);
    expect(RegistryError.isInstance(err)).toBe(true);
    expect((err as Error).message).toBe(
      'sse: app "copycat" declares flag --sse-buffer-size, already declared by app "sse"',
    );
    expect(() => registry.helpText()).toThrow(RegistryError);
  });

  it("a bool flag's --no- form and --help are taken too", async () => {
    const v: FlagSpec = { name: "v", type: "bool", usage: "v" };
    const noV: FlagSpec = { name: "no-v", type: "string", usage: "x" };
    await expect(new Registry().add(probe([v, noV])).boot({ env: {} })).rejects.toThrow(
      RegistryError,
    );
    const help: FlagSpec = { name: "help", type: "bool", usage: "x" };
    await expect(new Registry().add(probe([help])).boot({ env: {} })).rejects.toThrow(
      "already declared by the registry (--help)",
    );
  });

  it("bad names, types and defaults are RegistryErrors", async () => {
    const bad: FlagSpec[] = [
      { name: "--dashes", type: "int", usage: "x" },
      { name: "x", type: "float" as "int", usage: "x" },
      { name: "x", type: "int", default: "3", usage: "x" },
      { name: "x", type: "bool", default: 1, usage: "x" },
      { name: "x", type: "string", default: 1, usage: "x" },
    ];
    for (const spec of bad) {
      await expect(new Registry().add(probe([spec])).boot({ env: {} })).rejects.toThrow(
        RegistryError,
      );
    }
  });

  it("reading an undeclared flag, or with the wrong accessor, is a RegistryError", async () => {
    const config = await boot([size], { env: {} });
    expect(() => config.int("nope")).toThrow("sse: no app declares flag --nope");
    expect(() => config.source("nope")).toThrow(RegistryError);
    expect(() => config.string("sse-buffer-size")).toThrow(
      "sse: flag --sse-buffer-size is an int: read it with config.int()",
    );
    expect(() => config.bool("sse-buffer-size")).toThrow(RegistryError);
  });
});

describe("--help", () => {
  const flags: FlagSpec[] = [
    {
      name: "notes-title",
      env: "NOTES_TITLE",
      toml: "notes.title",
      type: "string",
      default: "Notes",
      usage: "Page title",
    },
    { name: "notes-live", type: "bool", usage: "Push notes live" },
  ];

  it("helpText lists every app's flags with env, TOML key, default and usage", () => {
    const text = new Registry().add(new SSEApp()).add(probe(flags, "notes")).helpText();
    expect(text).toContain("--sse-buffer-size=<int>");
    expect(text).toContain("(env SSE_BUFFER_SIZE, toml sse.buffer_size, default 16)");
    expect(text).toContain("Per-client event buffer capacity");
    expect(text).toContain("--notes-title=<string>");
    expect(text).toContain('(env NOTES_TITLE, toml notes.title, default "Notes")');
    expect(text).toContain("--notes-live, --no-notes-live");
    expect(text).toContain("Push notes live");
    expect(text).toContain("--help, -h");
    expect(text.indexOf("sse:")).toBeLessThan(text.indexOf("notes:"));
  });

  it.each([["--help"], ["-h"]])("boot with %s registers and configures nothing", async (flag) => {
    const log: string[] = [];
    const app = probe(flags, "notes");
    const registry = new Registry().add(new SSEApp()).add({
      ...app,
      register: () => {
        log.push("register");
      },
      configure: () => {
        log.push("configure");
      },
    } as App & Configurable);
    // help wins over anything else on the line, even a bad value or an unknown flag
    await registry.boot({ argv: ["--bogus", flag], env: { SSE_BUFFER_SIZE: "abc" } });
    expect(registry.helpRequested).toBe(true);
    expect(log).toEqual([]);
    expect(registry.get<SSEApp>("sse")?.broker).toBeUndefined();
  });

  it("helpRequested is false after a normal boot; --help after -- is not help", async () => {
    const registry = new Registry().add(new SSEApp());
    expect(registry.helpRequested).toBe(false);
    await expect(registry.boot({ argv: ["--", "--help"], env: {} })).rejects.toThrow(ConfigError);
    expect(registry.helpRequested).toBe(false);
  });
});
