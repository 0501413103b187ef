import { existsSync, readdirSync, readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

// One run covers every package: each folder under packages/ and apps/ is a
// vitest project named after its package, so results are reported per
// package, and every project inherits the settings below.
const projects = ["packages", "apps"].flatMap((group) =>
  existsSync(group)
    ? readdirSync(group)
        .filter((dir) => existsSync(`${group}/${dir}/package.json`))
        .map((dir) => ({
          extends: true as const,
          test: {
            name: JSON.parse(readFileSync(`${group}/${dir}/package.json`, "utf8")).name as string,
            root: `${group}/${dir}`,
          },
        }))
    : [],
);
// The benchmark's own helpers (bench/lib/*.test.mjs): cheap checks, no timing.
if (existsSync("bench/package.json"))
  projects.push({ extends: true as const, test: { name: "@burrow/bench", root: "bench" } });

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
