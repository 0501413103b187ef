import { describe, expect, it } from "vitest";
import { type Frame, frameOf } from "../wire/frame.js";
import { FlushPass } from "./flush-pass.js";

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

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
