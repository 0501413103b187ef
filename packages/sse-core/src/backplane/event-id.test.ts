// Ids `<epoch>-<seq>` and origins `<process>:<nonce>`: what a backplane
// writes reads back the same, and any other string reads as not its own,
// never a throw. Moved from sse-redis's codec.test.ts with the functions.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { formatEventId, formatOrigin, ownNonce, parseEventId } from "./event-id.js";

const epochs = fc.stringMatching(/^[0-9a-z]{1,16}$/);

describe("ids", () => {
  it("parses back every id it formats", () => {
    fc.assert(
      fc.property(epochs, fc.nat({ max: Number.MAX_SAFE_INTEGER }), (epoch, seq) => {
        expect(parseEventId(formatEventId(epoch, seq))).toEqual({ epoch, seq });
      }),
    );
  });

  it.each([
    "",
    "mine",
    "abc-",
    "-5",
    "ABC-5",
    "abc-5-6",
    "abc-1.5",
    "abc-9007199254740993",
    "abc- 5",
  ])("treats %j as an id it did not assign", (id) => {
    expect(parseEventId(id)).toBeUndefined();
  });

  it("never throws on any string", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary" }), (id) => {
        const parsed = parseEventId(id);
        if (parsed !== undefined) expect(formatEventId(parsed.epoch, parsed.seq)).toBe(id);
      }),
    );
  });
});

describe("origins", () => {
  it("finds its own publish number, and only its own", () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[0-9a-f]{12}$/),
        fc.stringMatching(/^[0-9a-f]{12}$/),
        fc.nat({ max: Number.MAX_SAFE_INTEGER }),
        (self, other, nonce) => {
          expect(ownNonce(formatOrigin(self, nonce), self)).toBe(nonce);
          if (other !== self) expect(ownNonce(formatOrigin(other, nonce), self)).toBeUndefined();
        },
      ),
    );
  });

  it.each(["", "abc", "abc:", "abc:x", "abc:-1", "abc:1:2", "abc:1e3", "ab:1"])(
    "reads no publish number of process abc in %j",
    (origin) => {
      expect(ownNonce(origin, "abc")).toBeUndefined();
    },
  );
});
