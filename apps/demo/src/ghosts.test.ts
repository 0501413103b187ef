import { pipelined, rawClient, type SocketCount, trackSockets, waitFor } from "@burrow/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FRAMEWORKS } from "./shared/plugin.js";
import { type RunningDemo, startDemo } from "./start.js";

// Clients that are gone must not stay subscribed ("ghosts"): they would fill
// maxClients and show on the page's live count. The attacks, against the demo
// as it runs, on every framework.

for (const framework of FRAMEWORKS) {
  describe(`ghost subscriptions on the demo (${framework})`, () => {
    let demo: RunningDemo;
    let port: number;
    let sockets: SocketCount;

    beforeAll(async () => {
      const result = await startDemo({
        argv: [`--framework=${framework}`, "--port=0", "--stats-interval=0"],
        env: {},
        configFile: null,
      });
      if (result.help !== undefined) throw new Error("unexpected --help");
      demo = result;
      port = Number(new URL(demo.url).port);
      sockets = trackSockets(demo.server);
    });
    afterAll(() => demo?.close());

    /** A real browser-like client still gets its stream, and counts as exactly one client. */
    async function expectRealClientServed(): Promise<void> {
      const client = rawClient(port, "/events");
      try {
        await client.ready;
        expect(client.head).toMatch(/^HTTP\/1.1 200 /);
        expect(demo.broker.stats().clients).toBe(1);
      } finally {
        client.close();
      }
      await waitFor(() => demo.broker.stats().clients === 0, "the real client to leave");
    }

    it("100 connections that each pipelined 5 requests to /events, then closed, leave no client", async () => {
      const clients = Array.from({ length: 100 }, () => pipelined(port, Array(5).fill("/events")));
      const heads = await Promise.all(clients.map((client) => client.firstHead));
      expect(heads.filter((head) => head.startsWith("HTTP/1.1 200 "))).toHaveLength(100);
      for (const client of clients) client.close();
      await sockets.allClosed();
      expect(demo.broker.stats().clients).toBe(0);
      await expectRealClientServed();
    });

    it("100 clients that leave as soon as the server has their request leave no client", async () => {
      let requests = 0;
      const count = (): void => {
        requests++;
      };
      demo.server.on("request", count);
      const clients = Array.from({ length: 100 }, () => rawClient(port, "/events"));
      await waitFor(() => requests === 100, "the server to read every request");
      demo.server.off("request", count);
      for (const client of clients) client.close();
      await sockets.allClosed();
      expect(demo.broker.stats().clients).toBe(0);
      await expectRealClientServed();
    });
  });
}
