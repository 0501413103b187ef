import type { IncomingMessage } from "node:http";
import { EventBroker, handler, handlerFunc, SSEOptionError } from "@burrow/sse-core";
import {
  blockStream,
  cleanupAfterEach,
  handBackplane,
  listen,
  rawClient,
  readUntil,
  recordEvents,
  take,
  waitFor,
} from "@burrow/test-utils";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { brokerMetrics } from "./index.js";

const cleanups = cleanupAfterEach();

/** Serves `/events/<topic>` from `broker` and `/metrics` from `registry`, on loopback. */
async function serve(broker: EventBroker, registry: Registry) {
  const events = handlerFunc(
    broker,
    (req: IncomingMessage) =>
      decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname.slice(8)),
    {
      maxClients: 3,
      maxTopicLength: 20,
      authorize: (_req, topics) => !topics.includes("secret"),
    },
  );
  const server = await listen(async (req, res) => {
    if (req.url === "/metrics") {
      res.setHeader("Content-Type", registry.contentType);
      res.end(await registry.metrics());
    } else events(req, res);
  });
  cleanups.push(() => server.close());
  return server;
}

/** One unlabelled histogram as parsed: count, sum, and the cumulative count of each bucket (by `le`). */
interface Histogram {
  count: number;
  sum: number;
  buckets: Map<string, number>;
}

/** Scrapes `url` and parses the exposition with an independent parser: name -> label key -> value. */
async function scrape(url: string) {
  const text = await (await fetch(url)).text();
  const families = parsePrometheusTextFormat(text);
  const byName = new Map<
    string,
    { type: string; help: string; samples: Map<string, number>; histogram?: Histogram }
  >();
  for (const family of families) {
    const samples = new Map<string, number>();
    let histogram: Histogram | undefined;
    for (const sample of family.metrics) {
      const key = Object.entries(sample.labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
      samples.set(key, Number(sample.value ?? sample.count));
      if (sample.buckets !== undefined) {
        histogram = {
          count: Number(sample.count),
          sum: Number(sample.sum),
          buckets: new Map(Object.entries(sample.buckets).map(([le, n]) => [le, Number(n)])),
        };
      }
    }
    byName.set(family.name, { type: family.type, help: family.help, samples, histogram });
  }
  return { text, byName };
}

async function status(url: string): Promise<number> {
  const res = await fetch(url);
  await res.body?.cancel();
  return res.status;
}

describe("brokerMetrics: a prom-client scrape, parsed independently", () => {
  it("counts what the test did: opened, refused by reason, closed by reason, published, delivered, dropped, resumes", async () => {
    const broker = new EventBroker({ bufferSize: 1, historySize: 10 });
    cleanups.push(() => broker.close());
    const registry = new Registry();
    brokerMetrics(broker, { registry });
    const server = await serve(broker, registry);

    // Refusals: 403 from authorize, 400 for a topic past maxTopicLength, 400 for a POST (405).
    expect(await status(`${server.url}/events/secret`)).toBe(403);
    expect(await status(`${server.url}/events/${"x".repeat(21)}`)).toBe(400);
    const post = await fetch(`${server.url}/events/news`, { method: "POST" });
    expect(post.status).toBe(405);

    // Two browsers on "news", one resumes from a known id, one from an unknown one.
    const a = recordEvents(`${server.url}/events/news`, ["news"]);
    cleanups.push(() => a.close());
    await a.opened;
    broker.publish("news", { data: "one" });
    await a.waitForCount(1);
    const known = a.events[0]!.id ?? "";
    const b = recordEvents(`${server.url}/events/news`, ["news"], {
      fetch: (input, init) =>
        fetch(input, { ...init, headers: { ...init?.headers, "Last-Event-ID": known } }),
    });
    cleanups.push(() => b.close());
    await b.opened;
    const c = rawClient(server.port, "/events/news", { headers: { "Last-Event-ID": "nope" } });
    cleanups.push(() => c.close());
    await c.ready;
    // The broker is full (maxClients 3): one more is refused for the limit.
    expect(await status(`${server.url}/events/news`)).toBe(503);

    // An in-process client that never reads: bufferSize 1, so of 3 events it keeps 1 and drops 2.
    const idle = broker.subscribe("idle");
    for (const data of ["i1", "i2", "i3"]) broker.publish("idle", { data });
    broker.publish("news", { data: "two" });
    await a.waitForCount(2);
    await waitFor(() => b.events.length >= 1 && c.events.length >= 1, "b and c got news");

    // c leaves: closed by the client.
    c.close();
    await waitFor(() => broker.stats().clients === 3, "c unsubscribed");

    const { byName } = await scrape(`${server.url}/metrics`);
    const value = (name: string, labels = ""): number | undefined =>
      byName.get(name)?.samples.get(labels);
    expect(value("burrow_sse_clients")).toBe(3); // a, b, idle
    expect(value("burrow_sse_topics")).toBe(2); // news, idle
    expect(value("burrow_sse_presence_members")).toBe(0);
    expect(value("burrow_sse_connections_opened_total")).toBe(4); // a, b, c, idle
    expect(value("burrow_sse_connections_refused_total", "reason=authorize")).toBe(1);
    expect(value("burrow_sse_connections_refused_total", "reason=bad_request")).toBe(2);
    expect(value("burrow_sse_connections_refused_total", "reason=limit")).toBe(1);
    expect(value("burrow_sse_connections_refused_total", "reason=error")).toBe(0);
    expect(value("burrow_sse_connections_closed_total", "reason=client")).toBe(1);
    expect(value("burrow_sse_connections_closed_total", "reason=slow")).toBe(0);
    expect(value("burrow_sse_connections_closed_total", "reason=shutdown")).toBe(0);
    expect(value("burrow_sse_events_published_total")).toBe(5);
    // one -> a; i1 -> idle; two -> a, b, c
    expect(value("burrow_sse_events_delivered_total")).toBe(5);
    expect(value("burrow_sse_events_dropped_total", "policy=drop-newest")).toBe(2);
    expect(value("burrow_sse_resumes_total")).toBe(1);
    expect(value("burrow_sse_resume_misses_total")).toBe(1);
    expect(value("burrow_sse_slow_disconnects_total")).toBe(0);
    // Every fan-out on a topic with clients was timed: one, i1, i2, i3, two.
    expect(value("burrow_sse_fanout_duration_seconds")).toBe(5);
    expect(byName.get("burrow_sse_fanout_duration_seconds")?.type).toBe("HISTOGRAM");
    for (const [name, family] of byName) {
      if (name.endsWith("_total")) expect(family.type, name).toBe("COUNTER");
      expect(family.help.length, name).toBeGreaterThan(0);
    }
    expect(await take(idle, 1)).toMatchObject([{ type: "idle", data: "i1" }]);

    // Shutdown closes every client with reason "shutdown".
    broker.close();
    const after = await scrape(`${server.url}/metrics`);
    expect(
      after.byName.get("burrow_sse_connections_closed_total")?.samples.get("reason=shutdown"),
    ).toBe(3); // a, b, idle
    expect(after.byName.get("burrow_sse_clients")?.samples.get("")).toBe(0);
  });

  it("counts slow disconnects and labels drops with the broker's policy", async () => {
    const broker = new EventBroker({ bufferSize: 1, slowClient: "disconnect" });
    const registry = new Registry();
    brokerMetrics(broker, { registry, prefix: "app_sse_" });
    const idle = broker.subscribe("t");
    for (const data of ["1", "2"]) broker.publish("t", { data });
    await idle.done;
    const { byName } = await scrape(await metricsUrl(registry));
    expect(byName.get("app_sse_slow_disconnects_total")?.samples.get("")).toBe(1);
    expect(byName.get("app_sse_connections_closed_total")?.samples.get("reason=slow")).toBe(1);
    expect(byName.get("app_sse_events_dropped_total")?.samples.get("policy=disconnect")).toBe(1);
    broker.close();
  });

  it("keeps label sets bounded: no topic or user ever becomes a label", async () => {
    const broker = new EventBroker();
    cleanups.push(() => broker.close());
    const registry = new Registry();
    brokerMetrics(broker, { registry });
    for (let i = 0; i < 50; i++) {
      broker.subscribe(`topic-${i}`);
      broker.publish(`topic-${i}`, { data: "x" });
    }
    const { text, byName } = await scrape(await metricsUrl(registry));
    expect(text).not.toContain("topic-");
    let series = 0;
    for (const family of byName.values()) series += family.samples.size;
    // 3 gauges, 9 unlabelled counters, 4 + 3 + 1 + 4 labelled series, 2 histograms.
    expect(series).toBe(3 + 9 + 4 + 3 + 1 + 4 + 2);
  });

  it("exposes the backplane's state and counters when the broker has one, and unregisters", async () => {
    const registry = new Registry();
    const broker = new EventBroker({
      backplane: handBackplane("down", { errors: 3, localOnly: 2, received: 7 }).backplane,
    });
    const remove = brokerMetrics(broker, { registry });
    const url = await metricsUrl(registry);
    const { byName } = await scrape(url);
    expect(byName.get("burrow_sse_backplane_state")?.samples.get("state=down")).toBe(1);
    expect(byName.get("burrow_sse_backplane_state")?.samples.get("state=ready")).toBe(0);
    expect(byName.get("burrow_sse_backplane_errors_total")?.samples.get("")).toBe(3);
    expect(byName.get("burrow_sse_backplane_local_only_total")?.samples.get("")).toBe(2);
    expect(byName.get("burrow_sse_backplane_received_total")?.samples.get("")).toBe(7);
    remove();
    expect((await scrape(url)).byName.size).toBe(0);
    // Registering again after removal works (no duplicate-name error).
    brokerMetrics(broker, { registry });
    broker.close();
  });

  it("rejects a bad prefix, bad buckets or a non-broker, naming the field", () => {
    expect(() => brokerMetrics(new EventBroker(), { prefix: "bad-prefix" })).toThrow(
      /prefix: must match/,
    );
    const registry = new Registry();
    expect(() => brokerMetrics(new EventBroker(), { registry, drainBuckets: [1, 0.5] })).toThrow(
      /drainBuckets: must be a non-empty array of finite, increasing numbers/,
    );
    expect(() => brokerMetrics(new EventBroker(), { registry, fanOutBuckets: [] })).toThrow(
      /fanOutBuckets: must be/,
    );
    expect(() =>
      brokerMetrics(new EventBroker(), { registry, roundTripBuckets: ["1"] as never }),
    ).toThrow(/roundTripBuckets: must be/);
    // Nothing was registered by the calls that threw.
    expect(registry.getMetricsAsArray()).toEqual([]);
    expect(() => brokerMetrics({} as EventBroker)).toThrow(/broker: must be an EventBroker/);
    // Each is core's branded option error, naming the option and the value.
    const caught = (() => {
      try {
        brokerMetrics(new EventBroker(), { registry, drainBuckets: [1, 0.5] });
      } catch (error) {
        return error;
      }
    })();
    expect(SSEOptionError.isInstance(caught)).toBe(true);
    expect(caught).toMatchObject({ option: "brokerMetrics.drainBuckets", value: [1, 0.5] });
    expect((caught as Error).message).toBe(
      "sse: brokerMetrics.drainBuckets: must be a non-empty array of finite, increasing numbers of seconds, got an array — e.g. [0.01, 0.1, 1, 10]",
    );
  });
});

/** A loopback server exposing `registry`; returns its /metrics URL. */
async function metricsUrl(registry: Registry): Promise<string> {
  const server = await listen(async (_req, res) => {
    res.setHeader("Content-Type", registry.contentType);
    res.end(await registry.metrics());
  });
  cleanups.push(() => server.close());
  return `${server.url}/metrics`;
}

describe("brokerMetrics: convergence", () => {
  it("counts conflated events, snapshots sent by reason, snapshot renders and failures", async () => {
    let fail = false;
    const broker = new EventBroker({
      bufferSize: 2,
      historySize: 2,
      topics: {
        notes: {
          target: "#notes",
          // Kept for an hour: the miss and the restart are sent the overflow's render again.
          snapshotReuseMs: 3_600_000,
          snapshot: () => {
            if (fail) throw new Error("db down");
            return "<li>all</li>";
          },
        },
        status: { kind: "state" },
      },
    });
    cleanups.push(() => broker.close());
    const registry = new Registry();
    brokerMetrics(broker, { registry });
    const server = await serve(broker, registry);
    // A client that never reads: status conflates, notes overflow (repaired once it reads).
    const idle = broker.subscribe(["status", "notes"]);
    for (const data of ["1", "2", "3"]) broker.publish("status", { data });
    for (const data of ["a", "b", "c"]) broker.publish("notes", { data });
    for await (const _ of idle) if (broker.stats().snapshots.overflow === 1) break;
    // Resumes: one past history (miss), one from an earlier run's id (restart), one failing.
    const miss = rawClient(server.port, "/events/notes", { headers: { "Last-Event-ID": "nope" } });
    cleanups.push(() => miss.close());
    await waitFor(() => miss.events.length === 1, "the miss's snapshot");
    const restart = rawClient(server.port, "/events/notes", {
      headers: { "Last-Event-ID": "abcdefg-12" },
    });
    cleanups.push(() => restart.close());
    await waitFor(() => restart.events.length === 1, "the restart's snapshot");
    // The topic changes: the next snapshot is rendered afresh (a quiet topic's last one is reused).
    broker.publish("notes", { data: "d" });
    fail = true;
    const failed = rawClient(server.port, "/events/notes", { headers: { "Last-Event-ID": "x" } });
    cleanups.push(() => failed.close());
    await waitFor(() => broker.stats().snapshotFailures === 1, "the failed render");

    const { byName } = await scrape(`${server.url}/metrics`);
    const value = (name: string, labels = ""): number | undefined =>
      byName.get(name)?.samples.get(labels);
    // "2" and "3" each took the place of the one queued before them.
    expect(value("burrow_sse_events_conflated_total")).toBe(2);
    expect(value("burrow_sse_snapshots_sent_total", "reason=overflow")).toBe(1);
    expect(value("burrow_sse_snapshots_sent_total", "reason=miss")).toBe(1);
    expect(value("burrow_sse_snapshots_sent_total", "reason=restart")).toBe(1);
    expect(value("burrow_sse_snapshot_failures_total")).toBe(1);
    // Three renders for three snapshots sent and a failure: the overflow's; the miss's (the idle
    // client left on break, the topic had no client, so its render was not kept), sent again to
    // the restart; the failed one.
    expect(value("burrow_sse_snapshot_renders_total")).toBe(3);
  });
});

describe("brokerMetrics: presence", () => {
  it("gauges presence members, once per topic", async () => {
    const broker = new EventBroker();
    cleanups.push(() => broker.close());
    const registry = new Registry();
    brokerMetrics(broker, { registry });
    broker.subscribe(["a", "b"], { member: { id: "alice" } });
    broker.subscribe("a", { member: { id: "alice" } });
    broker.subscribe("a", { member: { id: "bob" } });
    broker.subscribe("a");
    const { byName } = await scrape(await metricsUrl(registry));
    expect(byName.get("burrow_sse_presence_members")?.samples.get("")).toBe(3); // a: alice, bob; b: alice
  });
});

describe("brokerMetrics: time-to-drain", () => {
  it("observes each drain of a slow client's stream: count and sum match the broker's drained hook", async () => {
    const broker = new EventBroker({ bufferSize: 1 });
    cleanups.push(() => broker.close());
    const registry = new Registry();
    brokerMetrics(broker, { registry });
    const drains: number[] = [];
    broker.observe({ drained: (_client, seconds) => drains.push(seconds) });
    const server = await listen(handler(broker, "t", { keepaliveMs: 0 }));
    cleanups.push(() => server.close());
    const client = rawClient(server.port, "/", { read: false });
    cleanups.push(() => client.close());
    await client.ready;
    await waitFor(() => broker.stats().clients === 1, "the subscription");

    const blocked = await blockStream(broker, "t");
    const resumed = performance.now();
    await readUntil(broker, "t", client, "after");
    const drain = (await scrape(await metricsUrl(registry))).byName.get(
      "burrow_sse_drain_duration_seconds",
    );
    expect(drain?.type).toBe("HISTOGRAM");
    const histogram = drain!.histogram!;
    // The block the test made ended when the client read, past 100 ms after it was seen.
    expect(drains.length).toBeGreaterThanOrEqual(1);
    expect(Math.max(...drains)).toBeGreaterThanOrEqual((resumed - blocked) / 1000);
    expect(histogram.count).toBe(drains.length);
    expect(histogram.sum).toBeCloseTo(
      drains.reduce((a, b) => a + b, 0),
      6,
    );
    expect(histogram.buckets.get("0.005")).toBe(drains.filter((s) => s <= 0.005).length);
    expect(histogram.buckets.get("30")).toBe(drains.filter((s) => s <= 30).length);
    expect(histogram.buckets.get("+Inf")).toBe(drains.length);
  });
});

describe("brokerMetrics: backplane reports", () => {
  it("counts reconnects (ready after down), keeps the state gauge right and observes publish round trips", async () => {
    const link = handBackplane();
    const broker = new EventBroker({ backplane: link.backplane });
    cleanups.push(() => broker.close());
    const registry = new Registry();
    brokerMetrics(broker, { registry });
    const url = await metricsUrl(registry);
    const read = async () => (await scrape(url)).byName;

    // The first connection is no reconnect.
    link.to("ready");
    let byName = await read();
    expect(byName.get("burrow_sse_backplane_reconnects_total")?.samples.get("")).toBe(0);
    expect(byName.get("burrow_sse_backplane_state")?.samples.get("state=ready")).toBe(1);
    expect(byName.get("burrow_sse_backplane_state")?.samples.get("state=connecting")).toBe(0);

    // Down, then back through "connecting": one reconnect; down and straight back: two.
    link.to("down");
    byName = await read();
    expect(byName.get("burrow_sse_backplane_state")?.samples.get("state=down")).toBe(1);
    expect(byName.get("burrow_sse_backplane_reconnects_total")?.samples.get("")).toBe(0);
    link.to("connecting");
    link.to("ready");
    link.to("down");
    link.to("ready");
    // A "ready" that repeats is no reconnect either.
    link.to("ready");
    byName = await read();
    expect(byName.get("burrow_sse_backplane_reconnects_total")?.samples.get("")).toBe(2);
    expect(byName.get("burrow_sse_backplane_reconnects_total")?.type).toBe("COUNTER");
    expect(byName.get("burrow_sse_backplane_state")?.samples.get("state=ready")).toBe(1);
    expect(byName.get("burrow_sse_backplane_state")?.samples.get("state=down")).toBe(0);

    for (const seconds of [0.0004, 0.003, 0.2, 4]) link.roundTrip(seconds);
    const roundTrip = (await read()).get("burrow_sse_backplane_round_trip_seconds");
    expect(roundTrip?.type).toBe("HISTOGRAM");
    expect(roundTrip?.histogram).toEqual({
      count: 4,
      sum: 0.0004 + 0.003 + 0.2 + 4,
      buckets: new Map([
        ["0.0005", 1],
        ["0.001", 1],
        ["0.0025", 1],
        ["0.005", 2],
        ["0.01", 2],
        ["0.025", 2],
        ["0.05", 2],
        ["0.1", 2],
        ["0.25", 3],
        ["0.5", 3],
        ["1", 3],
        ["2.5", 3],
        ["+Inf", 4],
      ]),
    });
  });

  it("counts a reconnect of a link that was down when the metrics were added", async () => {
    const link = handBackplane();
    const broker = new EventBroker({ backplane: link.backplane });
    cleanups.push(() => broker.close());
    link.to("down");
    const registry = new Registry();
    brokerMetrics(broker, { registry, roundTripBuckets: [0.1, 1] });
    link.to("ready");
    const { byName } = await scrape(await metricsUrl(registry));
    expect(byName.get("burrow_sse_backplane_reconnects_total")?.samples.get("")).toBe(1);
    expect(byName.get("burrow_sse_backplane_round_trip_seconds")?.histogram?.buckets).toEqual(
      new Map([
        ["0.1", 0],
        ["1", 0],
        ["+Inf", 0],
      ]),
    );
  });
});
