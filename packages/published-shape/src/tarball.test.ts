/**
 * Issue 27, item 7: the release dry run refuses a tarball that would put on
 * the registry what must never be there. Each case packs a small package
 * with `npm pack` (the tarball layout the registry gets) and reads it back.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { run } from "./pack.js";
import { describePackage, problems, unpack } from "./tarball.js";

let work: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), "burrow-tarball-test-"));
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** Packs a package made of `files` (its manifest `manifest`) with `npm pack`; returns it unpacked. */
async function packed(name: string, manifest: object, files: Record<string, string>) {
  const dir = join(work, name);
  for (const [path, text] of Object.entries({ ...files, "README.md": "# x\n" })) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: `@burrow/${name}`, version: "0.1.0", ...manifest }),
  );
  const { stdout } = await run("npm", ["pack", "--silent", "--pack-destination", work], {
    cwd: dir,
  });
  return unpack(join(work, stdout.trim().split("\n").pop()!));
}

const map = (sources: string[], sourcesContent?: (string | null)[]) =>
  JSON.stringify({ version: 3, sources, sourcesContent, mappings: "" });

describe("the release dry run's checks of one tarball", () => {
  it("passes a package of dist, examples, README and manifest, and lists what it ships", async () => {
    const pkg = await packed(
      "clean",
      { files: ["dist", "examples"], dependencies: { "@burrow/sse-core": "^0.1.0" } },
      {
        "dist/index.js": "export {};\n//# sourceMappingURL=index.js.map\n",
        "dist/index.js.map": map(["../src/index.ts", "index.js"], ["export {};", null]),
        "examples/a.mjs": "",
      },
    );
    expect(problems(pkg)).toEqual([]);
    const text = describePackage(pkg);
    expect(text).toContain("@burrow/clean@0.1.0: 5 files");
    expect(text).toContain("dependencies: @burrow/sse-core ^0.1.0");
    expect(text).toMatch(/\d+ B {2}dist\/index\.js\.map/);
  });

  it("refuses a private package and a workspace: range left in the manifest", async () => {
    const pkg = await packed(
      "private",
      { private: true, files: ["dist"], peerDependencies: { "@burrow/sse-core": "workspace:^" } },
      { "dist/index.js": "" },
    );
    expect(problems(pkg)).toEqual([
      "is private: a private package is never published",
      'peerDependencies.@burrow/sse-core is "workspace:^": a workspace: range left in the manifest',
    ]);
  });

  it("refuses tests, fixtures, sources and files outside the shipped folders", async () => {
    const pkg = await packed(
      "leaky",
      { files: ["dist", "fixtures", "src", "notes.txt"] },
      {
        "dist/index.test.js": "",
        "fixtures/a.json": "{}",
        "src/index.ts": "",
        "notes.txt": "",
      },
    );
    expect(problems(pkg)).toEqual([
      "ships dist/index.test.js: a test file",
      "ships fixtures/a.json, outside package.json, README, CHANGELOG, dist/ and examples/",
      "ships fixtures/a.json: a test or fixture folder",
      "ships notes.txt, outside package.json, README, CHANGELOG, dist/ and examples/",
      "ships src/index.ts, outside package.json, README, CHANGELOG, dist/ and examples/",
      "ships src/index.ts: sources (src/)",
    ]);
  });

  it("refuses a source map not shipped, and one naming sources neither shipped nor embedded", async () => {
    const pkg = await packed(
      "maps",
      { files: ["dist"] },
      {
        "dist/a.cjs": "'use strict';\n//# sourceMappingURL=a.cjs.map\n",
        "dist/b.js": "export {};\n//# sourceMappingURL=b.js.map",
        "dist/b.js.map": map(["/build/dist/b.js", "../src/b.ts"], [null, "export {};"]),
      },
    );
    expect(problems(pkg)).toEqual([
      "dist/a.cjs points at the source map dist/a.cjs.map, which is not shipped",
      "dist/b.js.map points at /build/dist/b.js, which is neither shipped nor embedded (sourcesContent)",
    ]);
  });
});
