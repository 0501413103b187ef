import { defineConfig } from "tsup";

export default defineConfig({
  // The user API, and the adapter-author API (`@burrow/sse-core/adapter`).
  entry: ["src/index.ts", "src/adapter.ts"],
  format: ["esm", "cjs"],
  // Both entry points share one copy of each module (in chunks), in CJS as
  // in ESM: a class or a module-level map is never loaded twice.
  splitting: true,
  // `@internal` members (the broker's calls for handlers, delivery's
  // classes) stay out of the published declarations.
  dts: { compilerOptions: { stripInternal: true } },
  clean: true,
  sourcemap: true,
  target: "node20",
});
