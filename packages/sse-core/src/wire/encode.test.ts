import { parseSSE, thrownBy } from "@burrow/test-utils";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { encodeComment, encodeEvent, type SSEEvent, SSEFieldError } from "../index.js";
import { eventArb, fieldArb, textArb } from "../testing/arbitraries.js";

const normalize = (data: string | undefined) => (data ?? "").replace(/\r\n|\r|\n/g, "\n");
/** The field value a spec parser reports: an empty or absent one is no field. */
const field = (value: string | undefined) => (value === "" ? undefined : value);

/** Parses `wire` with eventsource-parser, also collecting `retry` fields and parse errors. */
function parseWithRetry(wire: string) {
  const events: EventSourceMessage[] = [];
  const retries: number[] = [];
  const parser = createParser({
    onEvent: (event) => events.push(event),
    onRetry: (retry) => retries.push(retry),
    onError: (err) => {
      throw err;
    },
  });
  parser.feed(wire);
  return { events, retries };
}

/** Runs `fn`, expecting an SSEFieldError, and returns it. */
function fieldError(fn: () => unknown): SSEFieldError {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(SSEFieldError);
  return err as SSEFieldError;
}

describe("encodeEvent: exact wire bytes of BEHAVIOUR.md", () => {
  it.each<[string, SSEEvent, string]>([
    ["data only", { data: "hello" }, "data: hello\n\n"],
    [
      "type and data",
      { type: "notifications", data: "new item" },
      "event: notifications\ndata: new item\n\n",
    ],
    ["id and data", { id: "42", data: "hello" }, "id: 42\ndata: hello\n\n"],
    ["retry and data", { retry: 5000, data: "hello" }, "retry: 5000\ndata: hello\n\n"],
    ["retry 0 is omitted", { retry: 0, data: "hello" }, "data: hello\n\n"],
    [
      "three data lines",
      { data: "line1\nline2\nline3" },
      "data: line1\ndata: line2\ndata: line3\n\n",
    ],
    [
      "every field, in the order id, event, retry, data",
      { type: "update", id: "7", retry: 3000, data: "payload" },
      "id: 7\nevent: update\nretry: 3000\ndata: payload\n\n",
    ],
    ["the empty event", {}, "data: \n\n"],
    ["empty data", { data: "" }, "data: \n\n"],
    ["empty id and type are omitted", { id: "", type: "", data: "x" }, "data: x\n\n"],
  ])("%s", (_name, event, wire) => {
    expect(encodeEvent(event)).toBe(wire);
  });

  it("keeps the order id, event, retry, data whatever the key order of the object", () => {
    const event = { data: "d", retry: 1, type: "t", id: "i" };
    expect(encodeEvent(event)).toBe("id: i\nevent: t\nretry: 1\ndata: d\n\n");
  });

  it("does not modify the event it encodes", () => {
    const event = { type: "t", data: "a\r\nb" };
    encodeEvent(event);
    expect(event).toEqual({ type: "t", data: "a\r\nb" });
  });
});

describe("encodeEvent: line breaks in data", () => {
  it.each([
    ["LF", "a\nb", "data: a\ndata: b\n\n"],
    ["CR", "a\rb", "data: a\ndata: b\n\n"],
    ["CRLF", "a\r\nb", "data: a\ndata: b\n\n"],
    ["LF CR (two line ends)", "a\n\rb", "data: a\ndata: \ndata: b\n\n"],
    ["a mix", "1\r2\n3\r\n4", "data: 1\ndata: 2\ndata: 3\ndata: 4\n\n"],
    ["a trailing line end", "a\n", "data: a\ndata: \n\n"],
    ["a leading CR", "\rb", "data: \ndata: b\n\n"],
    ["only CRLF", "\r\n", "data: \ndata: \n\n"],
  ])("splits on %s", (_name, data, wire) => {
    expect(encodeEvent({ data })).toBe(wire);
  });

  it("cannot forge a field or an event from data", () => {
    const wire = encodeEvent({ data: "x\r\n\r\nevent: evil\rid: 666\n\ndata: forged" });
    const { events } = parseSSE(wire);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ event: undefined, id: undefined });
    expect(events[0]?.data).toBe("x\n\nevent: evil\nid: 666\n\ndata: forged");
  });
});

describe("encodeEvent: invalid fields throw SSEFieldError naming the key", () => {
  for (const field of ["id", "type"] as const) {
    it.each([
      ["CR", "a\rb"],
      ["LF", "a\nb"],
      ["CRLF", "a\r\nb"],
      ["NUL", "a\0b"],
      ["a lone LF", "\n"],
    ])(`${field} holding %s`, (_name, value) => {
      const err = fieldError(() => encodeEvent({ [field]: value, data: "x" }));
      expect(err.field).toBe(field);
      expect(err.message).toMatch(new RegExp(`^sse: ${field}\\b`));
      expect(err.value).toBe(value);
      expect(err).toBeInstanceOf(TypeError);
    });

    it(`${field} that is not a string`, () => {
      const err = fieldError(() => encodeEvent({ [field]: 42 } as unknown as SSEEvent));
      expect(err.field).toBe(field);
      expect(err.message).toContain(field);
    });
  }

  it.each<[string, unknown]>([
    ["-1", -1],
    ["1.5", 1.5],
    ["NaN", Number.NaN],
    ["Infinity", Number.POSITIVE_INFINITY],
    ['"5"', "5"],
    ["2^53", 2 ** 53],
  ])("retry %s", (_name, retry) => {
    const err = fieldError(() => encodeEvent({ retry, data: "x" } as SSEEvent));
    expect(err.field).toBe("retry");
    expect(err.message).toMatch(/^sse: retry\b/);
  });

  it.each<[string, unknown]>([
    ["a number", 42],
    ["an object", { text: "hi" }],
    ["null", null],
    ["a Buffer", Buffer.from("hi")],
  ])("data that is %s", (_name, data) => {
    const err = fieldError(() => encodeEvent({ data } as SSEEvent));
    expect(err.field).toBe("data");
  });

  it.each<[string, unknown]>([
    ["null", null],
    ["a string", "hello"],
    ["undefined", undefined],
  ])("an event that is %s", (_name, event) => {
    expect(() => encodeEvent(event as SSEEvent)).toThrow(SSEFieldError);
  });

  it("accepts a large safe integer retry and keeps NUL in data", () => {
    expect(encodeEvent({ retry: 2 ** 40 })).toBe(`retry: ${2 ** 40}\ndata: \n\n`);
    expect(encodeEvent({ data: "a\0b" })).toBe("data: a\0b\n\n");
  });
});

describe("encodeComment", () => {
  it("encodes the keepalive", () => {
    expect(encodeComment("keepalive")).toBe(":keepalive\n\n");
  });

  it.each([
    ["LF", "a\nb", ":a\n:b\n\n"],
    ["CR", "a\rb", ":a\n:b\n\n"],
    ["CRLF", "a\r\nb", ":a\n:b\n\n"],
    ["an empty text", "", ":\n\n"],
  ])("splits %s into one comment line per line", (_name, text, wire) => {
    expect(encodeComment(text)).toBe(wire);
  });

  it("is ignored by a parser: no event, only comments, whatever the text", () => {
    fc.assert(
      fc.property(textArb, (text) => {
        const { events, comments } = parseSSE(encodeComment(text));
        expect(events).toHaveLength(0);
        expect(comments).toHaveLength(text.split(/\r\n|\r|\n/).length);
      }),
    );
  });
});

describe("encodeEvent: properties, checked by an independent parser", () => {
  it("any valid event parses back to exactly one event, equal up to line-end normalisation", () => {
    fc.assert(
      fc.property(eventArb, (event) => {
        const { events, retries } = parseWithRetry(encodeEvent(event));
        expect(events).toHaveLength(1);
        expect(events[0]?.data).toBe(normalize(event.data));
        expect(events[0]?.id).toBe(field(event.id));
        expect(events[0]?.event).toBe(field(event.type));
        expect(retries).toEqual(event.retry ? [event.retry] : []);
      }),
      { numRuns: 500 },
    );
  });

  it("any id or type holding CR, LF or NUL is rejected, never encoded", () => {
    const badArb = fc
      .tuple(fieldArb, fc.constantFrom("\r", "\n", "\r\n", "\0"), fieldArb)
      .map(([a, bad, b]) => a + bad + b);
    fc.assert(
      fc.property(fc.constantFrom("id", "type"), badArb, eventArb, (key, bad, event) => {
        const err = fieldError(() => encodeEvent({ ...event, [key]: bad }));
        expect(err.field).toBe(key);
        expect(err.message).toContain(key);
      }),
    );
  });

  it("N encoded events concatenated parse to exactly N events (no forging)", () => {
    fc.assert(
      fc.property(fc.array(eventArb, { maxLength: 12 }), (list) => {
        const { events, retries } = parseWithRetry(list.map(encodeEvent).join(""));
        expect(events).toHaveLength(list.length);
        expect(retries).toEqual(list.flatMap((event) => (event.retry ? [event.retry] : [])));
        events.forEach((parsed, i) => {
          expect(parsed.data).toBe(normalize(list[i]?.data));
          expect(parsed.id).toBe(field(list[i]?.id));
          expect(parsed.event).toBe(field(list[i]?.type));
        });
      }),
      { numRuns: 200 },
    );
  });
});
