import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { libraries, packLibraries, repo, run } from "./pack.js";
import { listPackage, problems } from "./tarball.js";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** Where a direct dependency of `fromPackage` lives in the workspace (pnpm links it by name). */
function packageDir(name: string, fromPackage = "packages/published-shape"): string {
  return realpathSync(join(repo, fromPackage, "node_modules", name));
}

let consumer: string;

beforeAll(async () => {
  consumer = mkdtempSync(join(tmpdir(), "burrow-consumer-"));
  const modules = join(consumer, "node_modules");
  const packs = join(consumer, "packs");
  mkdirSync(join(modules, "@burrow"), { recursive: true });
  for (const [lib, tarball] of await packLibraries(packs)) {
    const target = join(modules, "@burrow", lib);
    mkdirSync(target);
    await run("tar", ["-xzf", tarball, "-C", target, "--strip-components=1"]);
  }
  // Third-party dependencies come from the workspace's store, linked by name.
  const links: [string, string][] = [
    ["express", packageDir("express")],
    ["koa", packageDir("koa")],
    ["@koa/router", packageDir("@koa/router")],
    ["fastify", packageDir("fastify")],
    ["fastify-plugin", packageDir("fastify-plugin")],
    ["smol-toml", packageDir("smol-toml", "packages/sse-registry")],
    ["ioredis", packageDir("ioredis", "packages/sse-redis")],
    ["pg", packageDir("pg", "packages/sse-postgres")],
    ["@types/pg", packageDir("@types/pg", "packages/sse-postgres")],
    ["@types/node", packageDir("@types/node", ".")],
    ["@types/express", packageDir("@types/express")],
    ["@types/koa", packageDir("@types/koa")],
  ];
  for (const [name, dir] of links) {
    mkdirSync(dirname(join(modules, name)), { recursive: true });
    symlinkSync(dir, join(modules, name), "dir");
  }
  cpSync(join(here, "../fixtures"), consumer, { recursive: true });
  writeFileSync(
    join(consumer, "package.json"),
    JSON.stringify({ name: "consumer", private: true }),
  );
  writeFileSync(
    join(consumer, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        module: "node16",
        moduleResolution: "node16",
        target: "es2022",
        strict: true,
        noEmit: true,
        types: ["node"],
      },
      files: ["consumer.mts", "consumer.cts"],
    }),
  );
}, 120_000);

afterAll(() => {
  if (consumer) rmSync(consumer, { recursive: true, force: true });
});

describe("the packages as published", () => {
  it.each([
    ["only sse-core, ESM with a CJS copy beside it", "core.mjs"],
    ["sse-core's adapter-author API (/adapter), ESM with a CJS copy beside it", "adapter.mjs"],
    ["the express adapter, from CJS", "express.cjs"],
    ["the koa adapter with dynamic topics, from ESM", "koa.mjs"],
    ["the fastify plugin with dynamic topics, from CJS", "fastify.cjs"],
    ["a plugin app on the registry, from ESM", "registry.mjs"],
    ["the registry, from CJS", "registry.cjs"],
    ["the Redis backplane, from CJS with its ESM copy", "redis.cjs"],
    ["the PostgreSQL backplane, from CJS with its ESM copy", "postgres.cjs"],
  ])("%s", async (_name, fixture) => {
    const { stdout } = await run(process.execPath, [join(consumer, fixture)], { cwd: consumer });
    expect(stdout.trim()).toBe("ok");
  });

  it("type-checks as an ESM and a CJS consumer (moduleResolution node16)", async () => {
    const tsc = require.resolve("typescript/bin/tsc");
    const result = await run(process.execPath, [tsc, "-p", consumer]).catch((err) => err);
    expect(result.stdout ?? "").toBe("");
  });

  // One program per format: a program holding both would declare sse-fastify's
  // FastifyRequest augmentation twice, once per copy of core's types.
  it.each(["fastify-consumer.mts", "fastify-consumer.cts"])(
    "type-checks the fastify plugin's request.broker in %s alone",
    async (file) => {
      const tsconfig = join(consumer, `tsconfig.${file}.json`);
      writeFileSync(tsconfig, JSON.stringify({ extends: "./tsconfig.json", files: [file] }));
      const tsc = require.resolve("typescript/bin/tsc");
      const result = await run(process.execPath, [tsc, "-p", tsconfig]).catch((err) => err);
      expect(result.stdout ?? "").toBe("");
    },
  );

  it("ships no workspace protocol and no sources", async () => {
    for (const lib of libraries) {
      const manifest = require(join(consumer, "node_modules/@burrow", lib, "package.json"));
      expect(JSON.stringify(manifest)).not.toContain("workspace:");
      const files = readdirSync(join(consumer, "node_modules/@burrow", lib));
      expect(files).toContain("dist");
      expect(files).not.toContain("src");
    }
  });

  // Issue 27, item 7: what `pnpm release:dry-run` refuses (tests, fixtures,
  // sources, a source map naming a file that is not shipped: sse-core's CJS
  // maps named the build machine's absolute path of their intermediate file).
  it.each(libraries)("%s ships nothing the release dry run refuses", (lib) => {
    const pkg = listPackage(join(consumer, "node_modules/@burrow", lib));
    expect(problems(pkg)).toEqual([]);
  });
});
