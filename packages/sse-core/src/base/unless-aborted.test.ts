import { describe, expect, it } from "vitest";
import { unlessAborted } from "./unless-aborted.js";

describe("unlessAborted", () => {
  it("gives the promise's value when it settles first, and passes a rejection through", async () => {
    const signal = new AbortController().signal;
    expect(await unlessAborted(Promise.resolve(7), signal, "left")).toBe(7);
    expect(await unlessAborted(Promise.resolve(7), undefined, "left")).toBe(7);
    await expect(unlessAborted(Promise.reject(new Error("boom")), signal, "left")).rejects.toThrow(
      "boom",
    );
  });

  it("gives the fallback once the signal aborts (at once when it has), then drops a later rejection", async () => {
    const left = new AbortController();
    let fail!: (err: Error) => void;
    const hung = new Promise<number>((_, reject) => {
      fail = reject;
    });
    const waiting = unlessAborted(hung, left.signal, "left");
    left.abort();
    expect(await waiting).toBe("left");
    expect(await unlessAborted(new Promise(() => {}), left.signal, "gone")).toBe("gone");
    // Handled by the race: no unhandled rejection.
    fail(new Error("late"));
    await new Promise((resolve) => setImmediate(resolve));
  });
});
