import { once } from "node:events";
import { fileURLToPath } from "node:url";
import {
  cleanupAfterEach,
  longKeepAlive,
  rawClient,
  recordEvents,
  startExample,
  stopWithinBound,
  waitFor,
} from "@burrow/test-utils";
import { serve } from "@hono/node-server";
import { describe, expect, it } from "vitest";

// The README's Hono and Next.js route-handler examples, each on a real
// server with a real client: events, client abort, resume.

const cleanups = cleanupAfterEach();
const example = (name: string) => fileURLToPath(new URL(`../examples/${name}`, import.meta.url));

async function post(url: string, title: string): Promise<number> {
  const body = new URLSearchParams({ title });
  return (await fetch(url, { method: "POST", body })).status;
}

describe("Hono (examples/hono.mjs)", () => {
  it("streams published notes, unsubscribes a client that leaves, resumes with Last-Event-ID, and stops on SIGTERM", async () => {
    const { child, url } = await startExample(example("hono.mjs"));
    cleanups.push(() => child.kill("SIGKILL"));
    const stats = async () => (await (await fetch(`${url}/stats`)).json()) as { clients: number };
    const first = recordEvents(`${url}/events`, ["notifications"]);
    cleanups.push(() => first.close());
    await first.opened;
    await waitFor(async () => (await stats()).clients === 1, "subscribed");
    expect(await post(`${url}/notes`, "<b>one</b>")).toBe(204);
    await first.waitForCount(1);
    expect(first.events[0]!.data).toBe("<li>&#60;b&#62;one&#60;/b&#62;</li>");
    first.close();
    await waitFor(
      async () => (await stats()).clients === 0,
      "the client that left is unsubscribed",
    );

    await post(`${url}/notes`, "two");
    await post(`${url}/notes`, "three");
    const back = await fetch(`${url}/events`, {
      headers: { "Last-Event-ID": first.events[0]!.id ?? "" },
    });
    const reader = back.body!.getReader();
    let text = "";
    while (!text.includes("three")) text += new TextDecoder().decode((await reader.read()).value);
    expect(text).toMatch(/data: <li>two<\/li>\n\n.*data: <li>three<\/li>/s);

    // SIGTERM with this stream still open, cancelled after the exit (cancelled first, its
    // socket stayed open until the client's keep-alive timeout, which the exit waited for).
    child.kill("SIGTERM");
    const [code] = await once(child, "exit");
    await reader.cancel().catch(() => {});
    expect(code).toBe(0);
  });

  it("exits on SIGTERM with a stream open and an idle keep-alive connection: it closes both itself", async () => {
    // Keep-alive lasts ten minutes here: the connection of an ended stream, left
    // for its timeout (before: Node's 5 s, seconds of delay), would hold the exit.
    const { child, url } = await startExample(example("hono.mjs"), longKeepAlive());
    cleanups.push(() => child.kill("SIGKILL"));
    const port = Number(new URL(url).port);
    const idle = rawClient(port, "/stats"); // answered, then kept open by the client
    const stream = rawClient(port, "/events");
    cleanups.push(
      () => idle.close(),
      () => stream.close(),
    );
    await Promise.all([idle.ready, stream.ready]);
    expect(idle.head).toMatch(/^HTTP\/1\.1 200/);
    expect(stream.head).toMatch(/^HTTP\/1\.1 200/);

    expect(await stopWithinBound(child)).toBe(0);
    await Promise.all([idle.ended, stream.ended]);
    expect(stream.finished).toBe(true); // ended gracefully, with its retry
    expect(stream.body).toMatch(/^retry: \d+\n\n/m);
  });
});

describe("Next.js route handler (examples/route-handler.mjs)", () => {
  it("GET streams, POST publishes, abort unsubscribes, Last-Event-ID resumes", async () => {
    const route = await import(example("route-handler.mjs"));
    // What Next.js does for app/events/route.js: call the exported method's handler with the Request.
    const server = serve({
      fetch: (request: Request) => route[request.method](request),
      port: 0,
      hostname: "127.0.0.1",
    });
    await once(server, "listening");
    const { port } = server.address() as { port: number };
    const url = `http://127.0.0.1:${port}/events`;
    cleanups.push(
      () => new Promise((resolve) => server.close(resolve)),
      () => route.broker.close(),
    );
    const client = recordEvents(url, ["notifications"]);
    cleanups.push(() => client.close());
    await client.opened;
    await waitFor(() => route.broker.stats().clients === 1, "subscribed");
    expect(await post(url, "hello")).toBe(204);
    await client.waitForCount(1);
    expect(client.events[0]!.data).toBe("<li>hello</li>");
    client.close();
    await waitFor(() => route.broker.stats().clients === 0, "the client that left is unsubscribed");
    await post(url, "missed");
    const back = recordEvents(url, ["notifications"], {
      fetch: (input, init) =>
        fetch(input, {
          ...init,
          headers: { ...init.headers, "Last-Event-ID": client.events[0]!.id ?? "" },
        }),
    });
    cleanups.push(() => back.close());
    await back.waitForCount(1);
    expect(back.events[0]!.data).toBe("<li>missed</li>");
    expect(route.broker.stats().resumed).toBe(1);
  });
});
