// The storm's reading side against what sse-core really writes: the raw
// parser (lib/raw-sse.mjs) reads a resumed stream's head, chunked framing and
// events, whole and split at every byte; and the storm script itself runs a
// tiny in-memory storm end to end.

import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import net from "node:net";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EventBroker, handler } from "@burrow/sse-core";
import { afterEach, describe, expect, it } from "vitest";
import { RawSseResponse, resumeRequest } from "./raw-sse.mjs";

const cleanups = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/** The bytes of a stream resumed from `lastEventId`, read until `count` events came. */
async function resumedBytes(port, lastEventId, count) {
  const socket = net.connect({ host: "127.0.0.1", port });
  cleanups.push(() => socket.destroy());
  socket.write(resumeRequest(port, "/events", lastEventId));
  const chunks = [];
  let seen = 0;
  const all = new RawSseResponse({ onEvent: () => seen++ });
  await new Promise((resolve, reject) => {
    socket.on("error", reject);
    socket.on("data", (chunk) => {
      chunks.push(chunk);
      all.push(chunk);
      if (seen >= count) resolve();
    });
  });
  return Buffer.concat(chunks);
}

function parse(pieces) {
  const out = { heads: [], events: [] };
  const response = new RawSseResponse({
    onHead: (status, headers) => out.heads.push({ status, headers }),
    onEvent: (event) => out.events.push(event),
  });
  for (const piece of pieces) response.push(piece);
  out.error = response.error;
  return out;
}

describe("the storm's raw SSE reader", () => {
  it("reads a resumed sse-core stream whole and split at every byte", async () => {
    const broker = new EventBroker({ historySize: 20 });
    const events = handler(broker, "room");
    const server = createServer((req, res) => events(req, res));
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const ids = [];
    const client = broker.subscribe("room");
    for (let i = 0; i < 8; i++) broker.publish("room", { data: `event ${i}\nline two ${i}` });
    for await (const event of client) if (ids.push(event.id) === 8) break;

    const bytes = await resumedBytes(server.address().port, ids[2], 5);
    const expected = [3, 4, 5, 6, 7].map((i) => ({
      id: ids[i],
      event: "room",
      data: `event ${i}\nline two ${i}`,
    }));
    const whole = parse([bytes]);
    expect(whole.error).toBeUndefined();
    expect(whole.heads).toEqual([
      { status: 200, headers: expect.objectContaining({ "content-type": "text/event-stream" }) },
    ]);
    expect(whole.events).toEqual(expected);
    const bytewise = parse([...bytes].map((b) => Buffer.from([b])));
    expect(bytewise.events).toEqual(expected);
    expect(bytewise.heads.length).toBe(1);
  });

  it("undoes chunked framing and takes CR LF and CR line ends", () => {
    const body = "id: 7\r\nevent: x\rdata: a\r\ndata: b\n\r\n: comment\n\n";
    const chunked = `${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`;
    const head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    const out = parse([Buffer.from(head + chunked)]);
    expect(out.events).toEqual([{ id: "7", event: "x", data: "a\nb" }]);
  });

  it("stops at a response that is not HTTP", () => {
    expect(parse([Buffer.from("SSH-2.0-x\r\n\r\n")]).error).toMatch(/not an HTTP\/1.x status line/);
  });
});

describe("bench/storm.mjs", () => {
  it.each([
    ["in memory", "memory", "js"],
    ["on the floor (node:http alone)", "floor", "js"],
    ["in memory, read by the native generator (lib/storm-gen.c)", "memory", "native"],
  ])(
    "runs a 20-client storm %s in which every client gets exactly its events",
    async (_, engine, client) => {
      const dir = mkdtempSync(join(os.tmpdir(), "storm-smoke-"));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const script = fileURLToPath(new URL("../storm.mjs", import.meta.url));
      const env = {
        ...process.env,
        BENCH_STORM_BACKPLANES: engine,
        BENCH_STORM_N: "20",
        BENCH_STORM_TOPICS: "3",
        BENCH_STORM_EVENTS: "5",
        BENCH_STORM_SPREAD: "2",
        BENCH_STORM_CONNECT_MS: "100",
        BENCH_STORM_IDLE_MS: "0",
        BENCH_STORM_RESULTS: dir,
        BENCH_STORM_CLIENT: client,
      };
      await new Promise((resolve, reject) =>
        execFile(process.execPath, [script], { env, timeout: 50_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout),
        ),
      );
      const { cells, cfg } = JSON.parse(readFileSync(join(dir, "storm.json"), "utf8"));
      expect(cfg.client).toBe(client);
      expect(cells).toHaveLength(1);
      const { clients, error } = cells[0];
      expect(error).toBeUndefined();
      expect(cells[0].engine).toBe(engine);
      // Client i resumes from event floor(i / 3) mod 2 of its topic's 7: 11 clients get 6, 9 get 5.
      expect(clients).toMatchObject({ n: 20, complete: 20, failedAtConnect: 0, expected: 111 });
      expect(clients).toMatchObject({
        lost: 0,
        duplicated: 0,
        reordered: 0,
        wrongId: 0,
        foreign: 0,
      });
    },
  );
});
