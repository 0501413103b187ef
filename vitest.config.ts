import { existsSync, readdirSync, readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

// One run covers every package: each folder under packages/ and apps/, docs/
// (the site's runnable examples) and bench/ (the benchmark's own helpers,
// cheap checks, no timing) is a vitest project named after its package, so
// results are reported per package, and every project inherits the settings
// below.
const folders = [
  ...["packages", "apps"].flatMap((group) =>
    existsSync(group) ? readdirSync(group).map((dir) => `${group}/${dir}`) : [],
  ),
  "docs",
  "bench",
];
const projects = folders
  .filter((folder) => existsSync(`${folder}/package.json`))
  .map((folder) => ({
    extends: true as const,
    test: {
      name: JSON.parse(readFileSync(`${folder}/package.json`, "utf8")).name as string,
      root: folder,
    },
  }));

export default defineConfig({
  test: {
    projects,
    // Generous: tests wait for state, never for time, and must pass on a slow shared machine.
    testTimeout: 60_000,
    hookTimeout: 30_000,
    coverage: {
      provider: "v8",
      include: ["packages/*/src/**/*.ts"],
      exclude: ["**/*.test.ts", "packages/test-utils/**", "**/fixtures/**", "**/testing/**"],
      reporter: ["text-summary", "text", "html"],
      thresholds: {
        "packages/sse-core/src/**": { lines: 90, branches: 90 },
      },
    },
  },
});
