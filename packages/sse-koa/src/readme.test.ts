import { readFileSync } from "node:fs";
import { describeQuickStart, describeSnapshotExample, thrownBy } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { requireBroker } from "./index.js";

describeQuickStart(new URL("..", import.meta.url), 405);
describeSnapshotExample(new URL("..", import.meta.url));

describe("README facts", () => {
  it("names the koa versions of the peer range, which the adapter and error suites both run", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const manifest = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8"));
    expect(manifest.peerDependencies.koa).toBe("^2.15.0 || ^3.0.0");
    expect(manifest.devDependencies.koa2).toMatch(/^npm:koa@\^2\./);
    expect(readme.replace(/\s+/g, " ")).toContain("koa 3, or koa 2 from 2.15 (both are tested;");
  });
});

describe("README errors", () => {
  it("quote the real missing-broker message", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const err = thrownBy(() => requireBroker({ req: {} } as never)) as Error;
    expect(err.name).toBe("SSEMissingBrokerError");
    expect(readme).toContain(`\`${err.message}\``);
  });
});
