import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("..", import.meta.url));
const example = `${root}examples/metrics.mjs`;

describe("README example", () => {
  it("appears in the README verbatim", () => {
    const readme = readFileSync(`${root}README.md`, "utf8");
    expect(readme).toContain(readFileSync(example, "utf8").trimEnd());
  });

  it("prints the figures of what it did", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [example]);
    expect(stdout).toBe(
      [
        "burrow_sse_clients 0",
        "burrow_sse_connections_opened_total 1",
        'burrow_sse_connections_closed_total{reason="client"} 1',
        "burrow_sse_events_published_total 1",
        "",
      ].join("\n"),
    );
  });
});
