import { describe, expect, it } from "vitest";
import { type Frame, frameOf } from "../wire/frame.js";
import { type Flushable, FlushPass, FlushScheduler } from "./flush.js";

/** A stream that records the passes it was flushed with, and can ask again while flushed. */
function stream(name: string, log: [string, FlushPass][], again?: () => void): Flushable {
  return {
    flushMark: 0,
    flush(pass) {
      log.push([name, pass]);
      again?.();
    },
  };
}

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

describe("FlushScheduler", () => {
  it("flushes each stream asked in a tick once, in the order asked, with one shared pass", async () => {
    const scheduler = new FlushScheduler();
    const log: [string, FlushPass][] = [];
    const a = stream("a", log);
    const b = stream("b", log);
    scheduler.schedule(a);
    scheduler.schedule(b);
    scheduler.schedule(a);
    scheduler.schedule(b);
    expect(log).toEqual([]);
    await Promise.resolve();
    expect(log.map(([name]) => name)).toEqual(["a", "b"]);
    expect(log[0]![1]).toBe(log[1]![1]);
    // The next tick is a new pass: asked again, flushed again, with a fresh pass.
    scheduler.schedule(a);
    await Promise.resolve();
    expect(log.map(([name]) => name)).toEqual(["a", "b", "a"]);
    expect(log[2]![1]).not.toBe(log[0]![1]);
  });

  it("flushes a stream that asks again while it is flushed in the next pass, not never", async () => {
    const scheduler = new FlushScheduler();
    const log: [string, FlushPass][] = [];
    let asks = 2;
    const a: Flushable = stream("a", log, () => {
      if (asks-- > 0) scheduler.schedule(a);
    });
    scheduler.schedule(a);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(log.map(([name]) => name)).toEqual(["a", "a", "a"]);
    expect(new Set(log.map(([, pass]) => pass)).size).toBe(3);
  });
});

describe("FlushPass", () => {
  const one = frameOf("t", { type: "t", data: "1" }, 0);
  const two = frameOf("t", { type: "t", data: "2" }, 0);
  const three = frameOf("t", { type: "t", data: "3" }, 0);

  it("joins a run of frames once for every stream holding the same frames", () => {
    const pass = new FlushPass();
    const first = pass.join([one, two], undefined);
    expect(text(first)).toBe("event: t\ndata: 1\n\nevent: t\ndata: 2\n\n");
    expect(pass.join([one, two], undefined)).toBe(first);
  });

  it("never hands a stream another stream's bytes: other frames, order or format make a new join", () => {
    const pass = new FlushPass();
    const first = pass.join([one, two], undefined);
    const other: Frame[] = [one, three];
    expect(text(pass.join(other, undefined))).toBe("event: t\ndata: 1\n\nevent: t\ndata: 3\n\n");
    expect(text(pass.join([two, one], undefined))).toBe(
      "event: t\ndata: 2\n\nevent: t\ndata: 1\n\n",
    );
    const unnamed = {
      bytes: (frame: Frame) => new TextEncoder().encode(`data: ${frame.event.data}\n\n`),
    };
    expect(text(pass.join([one, two], unnamed))).toBe("data: 1\n\ndata: 2\n\n");
    // A new pass shares nothing with the last one.
    expect(new FlushPass().join([one, two], undefined)).not.toBe(first);
  });

  it("encodes a chunk once per pass for a run of streams writing it the same way", () => {
    const pass = new FlushPass();
    let made = 0;
    const frame = (chunk: Uint8Array): Uint8Array => {
      made++;
      return Uint8Array.of(chunk.byteLength);
    };
    const other = (chunk: Uint8Array): Uint8Array => Uint8Array.of(0, chunk.byteLength);
    const framed = pass.encode(one.chunk, frame);
    expect(pass.encode(one.chunk, frame)).toBe(framed);
    expect(made).toBe(1);
    expect([...pass.encode(one.chunk, other)]).toEqual([0, one.chunk.byteLength]);
    expect([...pass.encode(two.chunk, frame)]).toEqual([two.chunk.byteLength]);
    expect(made).toBe(2);
  });
});
