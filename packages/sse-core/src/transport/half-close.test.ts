import { once } from "node:events";
import { connect } from "node:net";
import { cleanupAfterEach, listen, waitFor } from "@burrow/test-utils";
import { describe, expect, it } from "vitest";
import { EventBroker, handler } from "../index.js";

// A client that half-closes its connection (sends FIN) while its stream is
// open: Node's server ends that socket at once (`httpAllowHalfOpen` is off),
// but the response's "close" comes later. An event published in between must
// not be written to the ended socket: that is an "error" on it ("write after
// end"), which koa, for one, reports as a failed request.

const cleanups = cleanupAfterEach();

describe("a client that half-closes its stream's connection", () => {
  it.each([
    ["straight to the socket", false],
    ["through a wrapped res.write (compression middleware)", true],
  ])(
    "is written nothing once the server has ended its socket, and leaves: %s",
    async (_, wrapped) => {
      const broker = new EventBroker();
      const events = handler(broker, "notes");
      const server = await listen((req, res) => {
        if (wrapped) {
          const write = res.write.bind(res);
          res.write = ((chunk: Uint8Array) => write(chunk)) as typeof res.write;
        }
        events(req, res);
      });
      cleanups.push(
        () => server.close(),
        () => broker.close(),
      );
      const errors: Error[] = [];
      let ended = 0;
      server.server.on("connection", (socket) => {
        socket.on("error", (error) => errors.push(error));
        // After Node's own "end" listener, which has just ended the socket.
        socket.on("end", () => {
          ended++;
          expect(socket.writableEnded).toBe(true);
          broker.publish("notes", { data: "published after the client's FIN" });
        });
      });

      const client = connect(server.port, "127.0.0.1");
      client.on("error", () => {});
      cleanups.push(() => client.destroy());
      client.write("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n");
      let received = "";
      client.setEncoding("utf8").on("data", (chunk: string) => {
        received += chunk;
      });
      await waitFor(() => broker.stats().clients === 1, "the stream");
      broker.publish("notes", { data: "before" });
      await waitFor(() => received.includes("data: before"), "the first event");

      client.end();
      await once(client, "close");
      await waitFor(() => broker.stats().clients === 0, "the client to be unsubscribed");
      // Let an error emitted on the next tick arrive.
      await new Promise((resolve) => setImmediate(resolve));
      expect(ended).toBe(1);
      expect(errors.map((error) => error.message)).toEqual([]);
      expect(received).not.toContain("published after the client's FIN");
    },
  );
});
