import { setImmediate as tick } from "node:timers/promises";
import { listen, rawClient, recordEvents, type TestServer, waitFor } from "@burrow/test-utils";
import { afterEach, describe, expect, it } from "vitest";
import { EventBroker, fetchHandler, handler } from "../index.js";

let server: TestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe("resume over HTTP", () => {
  it("an eventsource client that loses its connection twice gets every event exactly once, in order", async () => {
    const broker = new EventBroker({ historySize: 1000 });
    server = await listen(handler(broker, "ticks", { keepaliveMs: 0 }));
    const client = recordEvents(`${server.url}/`, ["ticks"]);
    await client.opened;
    const total = 300;
    // A short retry so the client reconnects quickly; it is an ordinary event too.
    broker.publish("ticks", { data: "0", retry: 10 });
    for (let i = 1; i < total; i++) {
      if (i === 100 || i === 200) {
        // The network drops (the second time, once the client is back).
        if (i === 200) await waitFor(() => broker.stats().resumed >= 1, "the first resume");
        server.server.closeAllConnections();
      }
      broker.publish("ticks", { data: String(i) });
      await tick();
    }
    await client.waitForCount(total);
    await waitFor(() => broker.stats().resumed >= 2, "the second resume");
    client.close();
    expect(client.events.map((e) => Number(e.data))).toEqual(
      Array.from({ length: total }, (_, i) => i),
    );
    expect(new Set(client.events.map((e) => e.id)).size).toBe(total);
    expect(broker.stats().resumeMisses).toBe(0);
  });

  it("writes a long replay with backpressure while live events keep coming, with no gap or duplicate at the seam", async () => {
    const broker = new EventBroker({ bufferSize: 4, historySize: 5000 });
    server = await listen(handler(broker, "feed", { keepaliveMs: 0 }));
    const watcher = broker.subscribe("feed");
    const payload = "x".repeat(1000);
    broker.publish("feed", { data: `0 ${payload}` });
    const first = await watcher[Symbol.asyncIterator]().next();
    broker.unsubscribe(watcher);
    for (let i = 1; i < 2000; i++) broker.publish("feed", { data: `${i} ${payload}` });

    const client = rawClient(server.port, "/", { headers: { "Last-Event-ID": first.value.id } });
    await client.ready;
    for (let i = 2000; i < 2100; i++) {
      broker.publish("feed", { data: `${i} ${payload}` });
      if (i % 10 === 0) await tick();
    }
    await waitFor(() => client.events.length >= 2099, "the replay and the live events");
    client.close();
    const numbers = client.events.map((e) => Number(e.data.split(" ")[0]));
    expect(numbers).toEqual(Array.from({ length: 2099 }, (_, i) => i + 1));
    expect(broker.stats().dropped).toBe(0);
  });

  it("takes the id from a lastEventId query parameter (htmx rebuilds its EventSource without the header)", async () => {
    const broker = new EventBroker({ historySize: 10 });
    server = await listen(handler(broker, "a", { keepaliveMs: 0 }));
    const watcher = broker.subscribe("a");
    broker.publish("a", { data: "seen" });
    const seen = await watcher[Symbol.asyncIterator]().next();
    broker.publish("a", { data: "missed" });
    const client = rawClient(server.port, `/?lastEventId=${encodeURIComponent(seen.value.id)}`);
    await waitFor(() => client.events.length >= 1, "the missed event");
    expect(client.events[0]?.data).toBe("missed");
    client.close();
  });

  it("fetchHandler resumes from the Last-Event-ID header too", async () => {
    const broker = new EventBroker({ historySize: 10 });
    const watcher = broker.subscribe("a");
    broker.publish("a", { data: "seen" });
    const seen = await watcher[Symbol.asyncIterator]().next();
    broker.publish("a", { data: "missed" });
    const controller = new AbortController();
    const response = await fetchHandler(broker, "a", { keepaliveMs: 0 })(
      new Request("http://localhost/events", {
        headers: { "Last-Event-ID": seen.value.id },
        signal: controller.signal,
      }),
    );
    const reader = response.body!.getReader();
    const { value } = await reader.read();
    expect(new TextDecoder().decode(value)).toContain("data: missed\n");
    controller.abort();
    await waitFor(() => broker.stats().clients === 1, "the aborted stream to unsubscribe");
  });
});
