import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { EventBroker } from "@burrow/sse-core";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { brokerMetrics } from "./index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const example = `${root}examples/metrics.mjs`;

describe("README example", () => {
  it("appears in the README verbatim", () => {
    const readme = readFileSync(`${root}README.md`, "utf8");
    expect(readme).toContain(readFileSync(example, "utf8").trimEnd());
  });

  it("quotes the real message of an unknown option", () => {
    const broker = new EventBroker();
    let message = "";
    try {
      brokerMetrics(broker, { register: new Registry() } as never);
    } catch (err) {
      message = (err as Error).message;
    } finally {
      broker.close();
    }
    expect(message).not.toBe("");
    expect(readFileSync(`${root}README.md`, "utf8")).toContain(`(\`\`${message}\`\`)`);
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
