import { readFileSync } from "node:fs";
import { describeQuickStart, describeSnapshotExample, thrownBy } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { requireBroker } from "./index.js";

describeQuickStart(new URL("..", import.meta.url), 404);
describeSnapshotExample(new URL("..", import.meta.url));

describe("README errors", () => {
  it("quote the real missing-broker message", () => {
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const err = thrownBy(() => requireBroker({ raw: {} } as never)) as Error;
    expect(err.name).toBe("SSEMissingBrokerError");
    expect(readme).toContain(`\`${err.message}\``);
  });
});
