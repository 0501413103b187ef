import { EventBroker, SSEOptionError } from "@burrow/sse-core";
import { cleanupAfterEach, listen, recordEvents, waitFor } from "@burrow/test-utils";
import Fastify from "fastify";
import { describe, expect, it } from "vitest";
import { contextHandler, ssePlugin } from "./index.js";

const cleanups = cleanupAfterEach();

async function start(options: { broker: unknown; closeBroker?: boolean }) {
  const app = Fastify();
  await app.register(ssePlugin, options as never);
  // A child context: the plugin is not encapsulated away from it.
  await app.register(async (child) => {
    child.get("/events", contextHandler("news"));
    child.post("/publish", async (request, reply) => {
      request.broker?.publish("news", { data: "from a child context" });
      return reply.code(204).send();
    });
  });
  await app.ready();
  const server = await listen(app.server);
  cleanups.push(() => server.close());
  return { app, url: server.url };
}

describe("ssePlugin", () => {
  it("puts the broker on every request, child contexts included", async () => {
    const broker = new EventBroker();
    const { app, url } = await start({ broker });
    const client = recordEvents(`${url}/events`, ["news"]);
    cleanups.push(
      () => client.close(),
      () => app.close(),
    );
    await client.opened;
    expect((await fetch(`${url}/publish`, { method: "POST" })).status).toBe(204);
    await client.waitForCount(1);
    expect(client.events[0]?.data).toBe("from a child context");
  });

  it("fastify.close() closes the broker and so completes at once, with streams open", async () => {
    const broker = new EventBroker();
    const { app, url } = await start({ broker });
    const clients = [1, 2, 3].map(() => recordEvents(`${url}/events`, ["news"]));
    cleanups.push(() => {
      for (const c of clients) c.close();
    });
    await Promise.all(clients.map((c) => c.opened));
    await waitFor(() => broker.stats().clients === 3, "three streams");
    await app.close();
    expect(broker.closed).toBe(true);
    expect(broker.stats().clients).toBe(0);
  });

  it("with closeBroker: false leaves the broker to its owner", async () => {
    const broker = new EventBroker();
    cleanups.push(() => broker.close());
    const { app } = await start({ broker, closeBroker: false });
    await app.close();
    expect(broker.closed).toBe(false);
  });

  it("refuses a broker option that is neither a broker nor a function, naming it", async () => {
    for (const bad of [undefined, "broker", { publish: 1 }]) {
      const app = Fastify();
      const err = await app.register(ssePlugin, { broker: bad } as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(SSEOptionError.isInstance(err), String(bad)).toBe(true);
      expect((err as Error).message).toMatch(/^sse: broker: must be an EventBroker/);
      await app.close().catch(() => {});
    }
  });
});
