// fast-check arbitraries shared by the encoder and fuzz tests (not published:
// tsup bundles src/index.ts only).
import fc from "fast-check";
import type { SSEEvent } from "../index.js";

/** Arbitrary unicode (lone surrogates included) and what matters to SSE: line ends, colons, fields. */
const pieceArb = fc.oneof(
  fc.string({ unit: "binary", maxLength: 12 }),
  fc.string({ unit: "grapheme", maxLength: 6 }),
  fc.constantFrom(
    "\r",
    "\n",
    "\r\n",
    "\n\r",
    "\r\r",
    ":",
    " ",
    "  ",
    "",
    "\0",
    "\uFEFF",
    "\u2028",
    "\u0085",
  ),
  fc.constantFrom(
    "data: x",
    "id: 9",
    "event: forged",
    "retry: 1",
    ": c",
    "\n\nevent: x\ndata: y\n\n",
  ),
);

/** Hostile text: a few pieces joined. */
export const textArb = fc.array(pieceArb, { maxLength: 8 }).map((pieces) => pieces.join(""));

/** A value valid for `id` or `type`: no CR, LF or NUL, maybe with leading spaces and colons. */
export const fieldArb = textArb.map((text) => text.replace(/[\r\n\0]/g, ""));

/** `arb` or `undefined`. */
export const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** A valid event with hostile content in every field. */
export const eventArb: fc.Arbitrary<SSEEvent> = fc.record(
  {
    id: optional(fieldArb),
    type: optional(fieldArb),
    data: optional(textArb),
    retry: optional(fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER))),
  },
  { requiredKeys: [] },
);
