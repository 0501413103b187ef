import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { cleanupAfterEach, handBackplane, listen, rawClient, waitFor } from "@burrow/test-utils";
import { describe, expect, it, vi } from "vitest";
import {
  type BackplaneReport,
  type BrokerObserver,
  type Client,
  EventBroker,
  handlerFunc,
} from "../index.js";

const cleanups = cleanupAfterEach();

/** Records every hook call as a line. */
function recorder(): { observer: BrokerObserver; calls: string[] } {
  const calls: string[] = [];
  const name = (client: Client): string => client.topics.join("+");
  return {
    calls,
    observer: {
      opened: (client, { lastEventId }) => calls.push(`opened ${name(client)} ${lastEventId}`),
      refused: (reason, { status }) => calls.push(`refused ${reason} ${status}`),
      closed: (client, reason) => calls.push(`closed ${name(client)} ${reason}`),
      resumed: (client, missed) => calls.push(`resumed ${name(client)} ${missed}`),
      dropped: (client) => calls.push(`dropped ${name(client)}`),
      published: ({ topic, queued, dropped, seconds }) =>
        calls.push(`published ${topic} ${queued} ${dropped} ${seconds >= 0}`),
    },
  };
}

describe("broker.observe: lifecycle hooks", () => {
  it("tells opened, resumed, dropped, published and closed with their reasons", async () => {
    const broker = new EventBroker({ bufferSize: 1, historySize: 4, slowClient: "disconnect" });
    const { observer, calls } = recorder();
    broker.observe(observer);
    const a = broker.subscribe("a");
    broker.publish("a", { data: "1" });
    const cursor = await broker.cursor();
    const resumed = broker.subscribe("a", { lastEventId: cursor });
    const missed = broker.subscribe("b", { lastEventId: "nope" });
    broker.unsubscribe(resumed);
    broker.publish("a", { data: "2" }); // a's buffer is full: it is disconnected
    await a.done;
    broker.close();
    expect(calls).toEqual([
      "opened a undefined",
      "published a 1 0 true",
      "resumed a false",
      `opened a ${cursor}`,
      "resumed b true",
      "opened b nope",
      "closed a client",
      "dropped a",
      "published a 0 1 true",
      "closed a slow",
      "closed b shutdown",
    ]);
    expect(broker.stats()).toMatchObject({
      opened: 3,
      closed: { client: 1, slow: 1, shutdown: 1 },
      refused: { limit: 0, authorize: 0, bad_request: 0, error: 0 },
    });
    expect(missed.closed).toBe(true);
  });

  it("stops calling hooks once removed; a hook that throws is logged and harms no client", async () => {
    const broker = new EventBroker();
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    cleanups.push(() => error.mockRestore());
    const { observer, calls } = recorder();
    const remove = broker.observe(observer);
    broker.observe({
      published: () => {
        throw new Error("boom");
      },
    });
    const client = broker.subscribe("t");
    expect(broker.publish("t", { data: "x" })).toBe(1);
    expect(error).toHaveBeenCalledWith(
      "sse: a broker observer's published hook threw:",
      expect.objectContaining({ message: "boom" }),
    );
    remove();
    broker.unsubscribe(client);
    expect(calls).toEqual(["opened t undefined", "published t 1 0 true"]);
    expect(() => broker.observe(null as never)).toThrow(/observer must be an object/);
    broker.close();
  });

  it("counts a handler's refusals by reason, with the status sent", async () => {
    const broker = new EventBroker();
    cleanups.push(() => broker.close());
    const { observer, calls } = recorder();
    broker.observe(observer);
    const events = handlerFunc(
      broker,
      (req: IncomingMessage) => {
        const topic = new URL(req.url ?? "/", "http://x").pathname.slice(1);
        if (topic === "throws") throw new Error("topic lookup failed");
        if (topic === "missing") throw Object.assign(new Error("no such room"), { status: 404 });
        return topic;
      },
      {
        maxClients: 1,
        authorize: (_req, topics) => {
          if (topics.includes("teapot")) throw Object.assign(new Error("no"), { status: 401 });
          return !topics.includes("secret");
        },
      },
    );
    const server = await listen(events);
    cleanups.push(() => server.close());
    const status = async (path: string, init?: RequestInit): Promise<number> => {
      const res = await fetch(server.url + path, init);
      await res.body?.cancel();
      return res.status;
    };
    expect(await status("/secret")).toBe(403);
    expect(await status("/teapot")).toBe(401);
    expect(await status(`/${"x".repeat(200)}`)).toBe(400);
    expect(await status("/t", { method: "DELETE" })).toBe(405);
    expect(await status("/throws")).toBe(500);
    expect(await status("/missing")).toBe(404);
    const open = rawClient(server.port, "/t");
    cleanups.push(() => open.close());
    await open.ready;
    expect(await status("/t")).toBe(503);
    expect(calls.filter((c) => c.startsWith("refused"))).toEqual([
      "refused authorize 403",
      "refused authorize 401",
      "refused bad_request 400",
      "refused bad_request 405",
      "refused error 500",
      "refused error 404",
      "refused limit 503",
    ]);
    expect(broker.stats().refused).toEqual({ limit: 1, authorize: 2, bad_request: 2, error: 2 });
    open.close();
    await waitFor(() => calls.includes("closed t client"), "the raw client's close");
  });
});

describe("broker.observe: backplane reports", () => {
  it("passes what the backplane reports to every observer, in order, and none after removal", () => {
    const hand = handBackplane("ready");
    const broker = new EventBroker({ backplane: hand.backplane });
    const seen: BackplaneReport[] = [];
    const remove = broker.observe({ backplane: (report) => seen.push(report) });
    const report = hand.report;
    expect(report).toBeTypeOf("function");
    report?.({ kind: "state", state: "down", previous: "ready" });
    report?.({ kind: "state", state: "ready", previous: "down" });
    report?.({ kind: "roundTrip", seconds: 0.002 });
    remove();
    report?.({ kind: "roundTrip", seconds: 1 });
    expect(seen).toEqual([
      { kind: "state", state: "down", previous: "ready" },
      { kind: "state", state: "ready", previous: "down" },
      { kind: "roundTrip", seconds: 0.002 },
    ]);
    broker.close();
  });
});

describe("README: lifecycle hooks example", () => {
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const example = `${root}examples/observe.mjs`;

  it("appears in the README verbatim and prints the hooks it set", async () => {
    const readme = readFileSync(`${root}README.md`, "utf8");
    expect(readme).toContain(readFileSync(example, "utf8").trimEnd());
    const { stdout } = await promisify(execFile)(process.execPath, [example]);
    expect(stdout).toBe(
      "opened news\ndropped news\nclosed news slow\n{ client: 0, slow: 1, shutdown: 0 }\n",
    );
  });
});
