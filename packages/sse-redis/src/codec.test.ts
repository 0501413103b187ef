// The wire format alone: what the Lua scripts write decodes to what was
// published, and anything else another program may put on the same prefix
// decodes to a well-formed value or to undefined, never throws.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { channelPrefix, decodeMessage, topicKeys } from "./codec.js";

/** A channel message exactly as the publish script writes it (see scripts.ts). */
function scriptMessage(seq: number, epoch: string, origin: string, assigned: string, json: string) {
  return `${seq}\n${epoch}\n${origin}\n${assigned}\n${json}`;
}

const epochs = fc.stringMatching(/^[0-9a-z]{1,16}$/);
const origins = fc.string().filter((origin) => !origin.includes("\n"));
const events = fc.record(
  {
    type: fc.string(),
    data: fc.string(),
    id: fc.string(),
    retry: fc.nat(),
  },
  { requiredKeys: ["type"] },
);
const seqs = fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER });

describe("decodeMessage", () => {
  it("decodes every message the publish script writes to what was published", () => {
    fc.assert(
      fc.property(
        seqs,
        epochs,
        origins,
        fc.constantFrom("0", "1"),
        events,
        (seq, epoch, origin, assigned, event) => {
          const decoded = decodeMessage(
            scriptMessage(seq, epoch, origin, assigned, JSON.stringify(event)),
          );
          const id = assigned === "1" && !event.id ? `${epoch}-${seq}` : event.id;
          expect(decoded).toEqual({
            seq,
            epoch,
            origin,
            event: id === undefined ? event : { ...event, id },
          });
        },
      ),
    );
  });

  it("decodes a gap marker (`gap` for assigned, nothing after); with anything after it, it is not one", () => {
    expect(decodeMessage(scriptMessage(9, "e1", "p:0", "gap", ""))).toEqual({
      seq: 9,
      epoch: "e1",
      origin: "p:0",
      event: {},
      gap: true,
    });
    expect(decodeMessage(scriptMessage(9, "e1", "p:0", "gap", '{"data":"x"}'))).toEqual({
      seq: 9,
      epoch: "e1",
      origin: "p:0",
      event: { data: "x" },
    });
  });

  it("keeps newlines inside the event's data (only the first four separate fields)", () => {
    const event = { type: "x", data: "a\nb\n\nc" };
    expect(decodeMessage(scriptMessage(7, "e1", "p:1", "1", JSON.stringify(event)))).toEqual({
      seq: 7,
      epoch: "e1",
      origin: "p:1",
      event: { ...event, id: "e1-7" },
    });
  });

  it.each([
    ["no fields", ""],
    ["four fields, no JSON separator", "1\ne\no\n1"],
    ["an empty seq", "\ne\no\n1\n{}"],
    ["a seq in exponent form", "1e3\ne\no\n1\n{}"],
    ["a negative seq", "-1\ne\no\n1\n{}"],
    ["a seq with spaces", " 1\ne\no\n1\n{}"],
    ["a seq past the safe integers", "9007199254740993\ne\no\n1\n{}"],
    ["JSON that is not an object", "1\ne\no\n1\n[1,2]"],
    ["null", "1\ne\no\n1\nnull"],
    ["a JSON string", '1\ne\no\n1\n"data"'],
    ["broken JSON", "1\ne\no\n1\n{"],
  ])("is undefined for %s", (_, raw) => {
    expect(decodeMessage(raw)).toBeUndefined();
  });

  it("never throws on hostile input, and what it returns is well-formed", () => {
    const hostile = fc.oneof(
      fc.string({ unit: "binary" }),
      fc
        .tuple(fc.string(), fc.string(), fc.string(), fc.string(), fc.json())
        .map((fields) => fields.join("\n")),
    );
    fc.assert(
      fc.property(hostile, (raw) => {
        const decoded = decodeMessage(raw);
        if (decoded === undefined) return;
        expect(Number.isSafeInteger(decoded.seq) && decoded.seq >= 0).toBe(true);
        expect(typeof decoded.event).toBe("object");
        expect(decoded.event).not.toBeNull();
        expect(Array.isArray(decoded.event)).toBe(false);
      }),
    );
  });

  it("keeps an explicit id, and assigns none when the script did not", () => {
    const json = JSON.stringify({ type: "x", id: "mine" });
    expect(decodeMessage(scriptMessage(3, "e", "o", "1", json))?.event.id).toBe("mine");
    const bare = JSON.stringify({ type: "x" });
    expect(decodeMessage(scriptMessage(3, "e", "o", "0", bare))?.event.id).toBeUndefined();
  });
});

describe("topicKeys", () => {
  it("puts every key and the channel under the prefix", () => {
    expect(topicKeys("p:", "news")).toEqual({
      meta: "p:meta",
      evicted: "p:evicted",
      stream: "p:h:news",
      channel: "p:t:news",
    });
    expect(topicKeys("p:", "news").channel.startsWith(channelPrefix("p:"))).toBe(true);
  });
});
