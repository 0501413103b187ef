// The backplane-author helpers of `@burrow/sse-core/adapter`: what
// sse-redis and sse-postgres both build their order, state and option checks
// on (issue 16), tested once here, through the entry point they import.

import { describe, expect, it } from "vitest";
import {
  checkKeys,
  GlobalOrder,
  nextBackplaneState,
  type OrderedEvent,
  parseEventJson,
} from "../adapter.js";
import type { BackplaneState, SSEEvent } from "../index.js";
import { SSEOptionError } from "../index.js";

describe("parseEventJson", () => {
  it("returns an event's JSON object", () => {
    expect(parseEventJson('{"data":"x","id":"e-1"}')).toEqual({ data: "x", id: "e-1" });
  });

  it("returns undefined, never throws, for anything that is not an object's JSON", () => {
    for (const json of [undefined, null, "", "1", "[]", "null", '"text"', "{", "true"]) {
      expect(parseEventJson(json), String(json)).toBeUndefined();
    }
  });
});

/** An event at `seq` of `epoch`, not delivered yet. */
function at(seq: number, epoch = "e", topic = "t"): OrderedEvent {
  return { topic, event: { data: `${epoch}${seq}` }, seq, epoch, delivered: false };
}

/** A GlobalOrder and what it delivered, as `topic:data@seq`. */
function order(): { order: GlobalOrder; delivered: string[]; take: (m: OrderedEvent) => boolean } {
  const o = new GlobalOrder();
  const delivered: string[] = [];
  const deliver = (topic: string, event: SSEEvent, seq: number) => {
    delivered.push(`${topic}:${event.data}@${seq}`);
  };
  return { order: o, delivered, take: (m) => o.dispatch(m, deliver) };
}

describe("GlobalOrder", () => {
  it("starts with no epoch and seq 0", () => {
    const { order: o } = order();
    expect([o.epoch, o.lastSeq]).toEqual([undefined, 0]);
  });

  it("delivers each seq once, in order, skipping one at or below the last", () => {
    const { order: o, delivered, take } = order();
    expect([take(at(1)), take(at(3)), take(at(3)), take(at(2)), take(at(4, "e", "u"))]).toEqual([
      true,
      true,
      false,
      false,
      true,
    ]);
    expect(delivered).toEqual(["t:e1@1", "t:e3@3", "u:e4@4"]);
    expect([o.epoch, o.lastSeq]).toEqual(["e", 4]);
  });

  it("starts the order over on another epoch (the engine's counter started over)", () => {
    const { order: o, delivered, take } = order();
    take(at(5, "a"));
    expect(take(at(1, "b"))).toBe(true);
    expect(take(at(5, "a"))).toBe(true);
    expect(delivered).toEqual(["t:a5@5", "t:b1@1", "t:a5@5"]);
    expect([o.epoch, o.lastSeq]).toEqual(["a", 5]);
  });

  it("advances past an event delivered already without delivering it again", () => {
    const { order: o, delivered, take } = order();
    expect(take({ ...at(1), delivered: true })).toBe(false);
    expect(take(at(1))).toBe(false);
    expect(take(at(2))).toBe(true);
    expect(delivered).toEqual(["t:e2@2"]);
    expect(o.lastSeq).toBe(2);
  });

  it("swallows a delivery that throws (an event no broker wrote) and goes on", () => {
    const o = new GlobalOrder();
    const seen: number[] = [];
    const deliver = (_topic: string, _event: SSEEvent, seq: number) => {
      seen.push(seq);
      if (seq === 1) throw new TypeError("not encodable");
    };
    expect(o.dispatch(at(1), deliver)).toBe(true);
    expect(o.dispatch(at(2), deliver)).toBe(true);
    expect(seen).toEqual([1, 2]);
    expect(o.lastSeq).toBe(2);
  });
});

describe("nextBackplaneState", () => {
  // For each current state, the next one when (up, failed) is
  // (no, no), (no, yes), (yes, no), (yes, yes).
  const expected: Record<BackplaneState, BackplaneState[]> = {
    connecting: ["connecting", "down", "ready", "ready"],
    ready: ["down", "down", "ready", "ready"],
    down: ["down", "down", "ready", "ready"],
    closed: ["closed", "closed", "closed", "closed"],
  };

  it.each(Object.entries(expected))("from %s: %j", (current, next) => {
    const got = [
      [false, false],
      [false, true],
      [true, false],
      [true, true],
    ].map(([up, failed]) => nextBackplaneState(current as BackplaneState, up!, failed!));
    expect(got).toEqual(next);
  });
});

describe("checkKeys", () => {
  const known = ["url", "timeoutMs", "maxPending"];

  function thrown(options: object, elsewhere?: Record<string, string>): unknown {
    try {
      checkKeys(options, known, "an option of myBackplane", elsewhere);
    } catch (error) {
      return error;
    }
    return undefined;
  }

  it("accepts known keys only", () => {
    expect(thrown({ url: "x", timeoutMs: 1 })).toBeUndefined();
    expect(thrown({})).toBeUndefined();
  });

  it("names an unknown key and the closest known one", () => {
    const error = thrown({ url: "x", timeout: 500 });
    expect(SSEOptionError.isInstance(error)).toBe(true);
    expect((error as SSEOptionError).option).toBe("timeout");
    expect((error as SSEOptionError).message).toBe(
      "sse: timeout: is not an option of myBackplane, got 500 — did you mean `timeoutMs`?",
    );
  });

  it("lists the known keys when none is close", () => {
    expect((thrown({ historySize: 100 }) as Error).message).toBe(
      "sse: historySize: is not an option of myBackplane, got 100 — known: url, timeoutMs, maxPending",
    );
  });

  it("says where a key that belongs elsewhere goes", () => {
    const error = thrown({ historySize: 100 }, { historySize: "give it to the broker" });
    expect((error as Error).message).toBe(
      "sse: historySize: is not an option of myBackplane, got 100 — give it to the broker",
    );
  });
});
