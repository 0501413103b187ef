import { readFileSync } from "node:fs";
import { listen, thrownBy } from "@burrow/test-utils";
import { describe, expect, it, vi } from "vitest";
import * as core from "./index.js";

// The README's "Errors you will see" quotes real messages: each row's mistake
// is run as written, and must throw exactly the message beside it.

const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
const section = readme.slice(
  readme.indexOf("## Errors you will see"),
  readme.indexOf("\n## ", readme.indexOf("## Errors you will see") + 3),
);

/** `| `code` | `message` |` rows of the section's table, code and message unquoted. */
function rows(): [string, string][] {
  const out: [string, string][] = [];
  for (const line of section.split("\n")) {
    const match = /^\| `(.+?)` \| (`{1,2}) ?(.+?) ?\2 \|$/.exec(line);
    if (match) out.push([match[1]!, match[3]!]);
  }
  return out;
}

/** Runs a README mistake with core's exports, a broker, and an uncalled `redisBackplane`. */
function run(code: string): unknown {
  const broker = new core.EventBroker();
  function redisBackplane() {
    return {};
  }
  const names = [...Object.keys(core), "broker", "redisBackplane"];
  const values = [...Object.values(core), broker, redisBackplane];
  try {
    return thrownBy(() => new Function(...names, `return ${code};`)(...values));
  } finally {
    broker.close();
  }
}

/** The process warnings `run` emits on a new broker (closed after it), none printed. */
async function warningsOf(run: (broker: core.EventBroker) => Promise<unknown>): Promise<string[]> {
  const warnings: string[] = [];
  const spy = vi.spyOn(process, "emitWarning").mockImplementation((message) => {
    warnings.push(String(message));
  });
  const broker = new core.EventBroker();
  try {
    await run(broker);
  } finally {
    spy.mockRestore();
    broker.close();
  }
  return warnings;
}

describe("README: Errors you will see", () => {
  it("has a table of mistakes", () => {
    expect(rows().length).toBeGreaterThanOrEqual(10);
  });

  it.each(rows())("%s throws exactly what the README says", (code, message) => {
    const err = run(code);
    expect(core.SSEOptionError.isInstance(err)).toBe(true);
    expect((err as Error).message).toBe(message);
  });

  it("quotes the real message of an unknown event key, a missing broker and the topic warning", () => {
    const broker = new core.EventBroker();
    const eventKey = thrownBy(() => broker.publish("t", { event: "x" } as never)) as Error;
    expect(section).toContain(`\`\`${eventKey.message}\`\``);
    const missing = thrownBy(() => core.requireBroker({})) as Error;
    expect(section).toContain(`\`${missing.message}\``);
    expect(readme).toContain(`(\`${missing.message}\`)`);
    let warning = "";
    const emit = process.emitWarning;
    process.emitWarning = ((message: string) => {
      warning = message;
    }) as typeof process.emitWarning;
    try {
      broker.publish("my topic", { data: "x" });
    } finally {
      process.emitWarning = emit;
      broker.close();
    }
    expect(warning).not.toBe("");
    expect(section).toContain(`broker: \`${warning}\``);
  });

  it("quotes the real warning of a topic function's topic without a swap target", async () => {
    const warnings = await warningsOf((broker) =>
      core.fetchHandler(broker, () => "notes", { swap: { note: "#notes" } })(
        new Request("http://localhost/events", { headers: { "HX-Request": "true" } }),
      ),
    );
    expect(warnings).toHaveLength(1);
    expect(section).toContain(`once per handler:\n\`${warnings[0]}\``);
  });

  it("quotes the real warning of an htmx 4 stream of several topics from a handler without swap", async () => {
    const warnings = await warningsOf((broker) =>
      core.fetchHandler(broker, ["notes", "status"])(
        new Request("http://localhost/events", { headers: { "HX-Request": "true" } }),
      ),
    );
    expect(warnings).toHaveLength(1);
    expect(section).toContain(
      `naming the map\nthat sends each topic to its own target:\n\`${warnings[0]}\``,
    );
  });

  it("quotes the real messages of the error classes' examples", () => {
    const broker = new core.EventBroker();
    const swap = thrownBy(() => core.handler(broker, "notes", { swap: { notes: "" } })) as Error;
    const id = thrownBy(() => core.encodeEvent({ id: "1\n2" })) as Error;
    const partial = thrownBy(() => core.hxPartial("<li>a</hx-partial>", "#n")) as Error;
    broker.close();
    expect(readme).toContain(`(\`${swap.message}\`)`);
    expect(readme).toContain(`(\`${id.message}\`)`);
    expect(readme).toContain(`(\`${partial.message}\`)`);
  });

  it("quotes the real log line of a bug, and the bare 500 the client gets", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const broker = new core.EventBroker();
      const events = core.fetchHandler(broker, () => {
        throw new TypeError("bug");
      });
      const response = await events(new Request("http://localhost/events?token=x"));
      expect(section).toContain(`\`${response.status} ${await response.text()}\``);
      expect(log).toHaveBeenCalledTimes(1);
      expect(section).toContain(`\`${log.mock.calls[0]![0]}\` and the error`);
      broker.close();
    } finally {
      log.mockRestore();
    }
  });

  it("documents SSEError's arguments in their order; its example answers as the README says", async () => {
    const part = readme.slice(
      readme.indexOf("`new SSEError(message, status = 500, { headers, cause })`"),
    );
    const code = /```js\n([\s\S]+?)```/.exec(part)![1]!;
    const broker = new core.EventBroker();
    const events = new Function("handler", "broker", "SSEError", `${code}return events;`)(
      core.handler,
      broker,
      core.SSEError,
    );
    const server = await listen(events);
    try {
      const anonymous = await fetch(server.url);
      expect(part).toContain(`gets \`${anonymous.status} ${await anonymous.text()}\``);
      vi.spyOn(broker, "stats").mockReturnValue({ ...broker.stats(), clients: 1001 });
      const busy = await fetch(server.url, { headers: { cookie: "session=1" } });
      const retry = busy.headers.get("retry-after");
      expect(part).toContain(
        `gets \`${busy.status} ${await busy.text()}\` with \`Retry-After: ${retry}\``,
      );
      expect(busy.headers.get("content-type")).toMatch(/^text\/plain/);
    } finally {
      broker.close();
      await server.close();
    }
    const plain = new core.SSEError("x");
    expect([plain.status, plain.message]).toEqual([500, "sse: x"]);
  });
});
