// The wire format alone: what the Lua scripts write (a batch per script call;
// the single-event form of earlier versions) decodes to what was published,
// and anything else another program may put on the same prefix decodes to a
// well-formed value or to undefined, never throws.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { channelPrefix, decodeBatch, decodeMessage, decodeMessages, topicKeys } from "./codec.js";

/** A single-event channel message, as the publish script of earlier versions wrote it. */
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

/** One event of a batch: its origin, and its JSON ("" for a gap marker). */
type Line = [origin: string, json: string];

/** A batch message exactly as the publish script writes it (see scripts.ts). */
function scriptBatch(epoch: string, assigned: string, first: number, lines: readonly Line[]) {
  const events = lines.map(([origin, json]) => `${origin}\n${json}\n`).join("");
  return `B\n${epoch}\n${assigned}\n${first}\n${lines.length}\n${events}`;
}

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

describe("decodeBatch", () => {
  const batchEvents = fc.array(
    fc.tuple(origins, fc.option(events, { nil: undefined })), // undefined: a gap marker
    { minLength: 1, maxLength: 30 },
  );

  it("decodes every batch the publish script writes to its events, in order, with consecutive seqs", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1e12 }),
        epochs,
        fc.constantFrom("0", "1"),
        batchEvents,
        (first, epoch, assigned, published) => {
          const lines: Line[] = published.map(([origin, event]) => [
            origin,
            event === undefined ? "" : JSON.stringify(event),
          ]);
          const expected = published.map(([origin, event], i) => {
            const seq = first + i;
            if (event === undefined) return { seq, epoch, origin, event: {}, gap: true };
            const id = assigned === "1" && !event.id ? `${epoch}-${seq}` : event.id;
            return { seq, epoch, origin, event: id === undefined ? event : { ...event, id } };
          });
          expect(decodeMessages(scriptBatch(epoch, assigned, first, lines))).toEqual(expected);
        },
      ),
    );
  });

  it("leaves out an event whose JSON is not an object (as a single message of one), and keeps the others' seqs", () => {
    const raw = scriptBatch("e", "1", 10, [
      ["p:1", '{"data":"a"}'],
      ["p:2", "[1]"],
      ["p:3", "{"],
      ["p:4", '{"data":"d","id":"mine"}'],
    ]);
    expect(decodeBatch(raw)).toEqual([
      { seq: 10, epoch: "e", origin: "p:1", event: { data: "a", id: "e-10" } },
      { seq: 13, epoch: "e", origin: "p:4", event: { data: "d", id: "mine" } },
    ]);
  });

  it.each([
    ["the tag alone", "B\n"],
    ["no events", "B\ne\n1\n5\n0\n"],
    [
      "a count above the events held",
      `${scriptBatch("e", "1", 5, [["o", "{}"]]).replace("\n1\no", "\n2\no")}`,
    ],
    [
      "a count below the events held",
      scriptBatch("e", "1", 5, [
        ["o", "{}"],
        ["o", "{}"],
      ]).replace("\n2\no", "\n1\no"),
    ],
    ["an event without its JSON line", "B\ne\n1\n5\n1\no\n"],
    ["no newline after the last event", "B\ne\n1\n5\n1\no\n{}"],
    ["a raw newline inside an event's JSON", scriptBatch("e", "1", 5, [["o", '{"data":"a\nb"}']])],
    ["an assigned flag other than 0 or 1", scriptBatch("e", "gap", 5, [["o", "{}"]])],
    ["an empty first seq", "B\ne\n1\n\n1\no\n{}\n"],
    ["a first seq in exponent form", "B\ne\n1\n1e3\n1\no\n{}\n"],
    ["a negative first seq", "B\ne\n1\n-1\n1\no\n{}\n"],
    ["a count with spaces", "B\ne\n1\n5\n 1\no\n{}\n"],
    ["a first seq past the safe integers", scriptBatch("e", "1", 2 ** 53 + 1, [["o", "{}"]])],
    [
      "a last seq past the safe integers",
      scriptBatch("e", "1", Number.MAX_SAFE_INTEGER, [
        ["o", "{}"],
        ["o", "{}"],
      ]),
    ],
    ["a count past the safe integers", "B\ne\n1\n5\n9007199254740993\no\n{}\n"],
    ["a lower-case tag", "b\ne\n1\n5\n1\no\n{}\n"],
  ])("rejects (undefined) %s", (_, raw) => {
    expect(decodeMessages(raw)).toBeUndefined();
  });

  it("never throws on hostile input; what it returns is well-formed, in increasing seqs", () => {
    const line = fc.oneof(fc.string(), fc.nat().map(String), fc.json(), fc.constant(""));
    const hostile = fc.oneof(
      fc.string({ unit: "binary" }).map((rest) => `B\n${rest}`),
      fc.array(line, { maxLength: 12 }).map((lines) => ["B", ...lines].join("\n")),
      fc
        .tuple(epochs, fc.constantFrom("0", "1"), fc.nat(), fc.array(fc.tuple(origins, line)))
        .map(([epoch, assigned, first, lines]) => scriptBatch(epoch, assigned, first, lines)),
    );
    fc.assert(
      fc.property(hostile, (raw) => {
        const decoded = decodeMessages(raw);
        if (decoded === undefined) return;
        let previous = -1;
        for (const { seq, event } of decoded) {
          expect(Number.isSafeInteger(seq) && seq > previous).toBe(true);
          previous = seq;
          expect(typeof event === "object" && event !== null && !Array.isArray(event)).toBe(true);
        }
      }),
    );
  });
});

describe("decodeMessages", () => {
  it("reads the single-event form of earlier versions as a batch of one", () => {
    expect(decodeMessages(scriptMessage(4, "e", "p:1", "1", '{"data":"a"}'))).toEqual([
      { seq: 4, epoch: "e", origin: "p:1", event: { data: "a", id: "e-4" } },
    ]);
    expect(decodeMessages(scriptMessage(9, "e", "p:0", "gap", ""))).toEqual([
      { seq: 9, epoch: "e", origin: "p:0", event: {}, gap: true },
    ]);
  });

  it("is undefined for a message in neither form", () => {
    expect(decodeMessages("hello")).toBeUndefined();
    expect(decodeMessages("")).toBeUndefined();
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
