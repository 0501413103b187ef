import { rawClient } from "@burrow/test-utils";
import { eventually, killServers, startFixture } from "@burrow/test-utils/fixture-process";
import { afterEach, describe, expect, it } from "vitest";

// Issue 23 item 2: a handler run twice on one request (two routes match it:
// `app.get("/twice", (req, res, next) => { events(req, res, next); next(); })`
// then `app.get("/twice", events)`, in fixtures/error-contract-server.mjs).
// The second run subscribed, then threw ERR_HTTP_HEADERS_SENT, and nothing
// ever unsubscribed it: every such request leaked a client for good.

const fixture = new URL("./fixtures/error-contract-server.mjs", import.meta.url);
afterEach(killServers);

interface Stats {
  clients: number;
}

for (const [version, express] of [
  ["express 5", "express"],
  ["express 4", "express4"],
] as const) {
  describe(`${version}: a handler run twice on one request (issue 23 item 2)`, () => {
    it("the second run is refused before it subscribes: one client per request, none once they close", async () => {
      const app = await startFixture(fixture, { EXPRESS: express, ERRORS: "end" });
      const port = Number(new URL(app.url).port);
      const clients = Array.from({ length: 5 }, () => rawClient(port, "/twice"));
      let whileOpen: number;
      try {
        await Promise.all(clients.map((client) => client.ready));
        expect(clients.map((client) => client.head.split("\r\n")[0])).toEqual(
          Array(5).fill("HTTP/1.1 200 OK"),
        );
        // The first run's streams work: each gets what is published.
        await fetch(`${app.url}/publish`, { method: "POST" });
        const received = await eventually(
          async () => clients.map((client) => client.events.map((event) => event.data)),
          (all) => all.every((data) => data.length > 0),
        );
        expect(received).toEqual(Array(5).fill(["hello"]));
        whileOpen = (await app.json<Stats>("/stats")).clients;
      } finally {
        for (const client of clients) client.close();
      }
      const afterClose = await eventually(
        async () => (await app.json<Stats>("/stats")).clients,
        (count) => count === 0,
      );
      expect({ whileOpen, afterClose }).toEqual({ whileOpen: 5, afterClose: 0 });
      expect(await app.crash()).toBe("");
    });
  });
}
