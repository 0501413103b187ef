import { describe, expect, it } from "vitest";
import { within } from "./within.js";

describe("within", () => {
  it("gives the promise's value when it settles first", async () => {
    expect(await within(Promise.resolve(7), 1_000, "late")).toBe(7);
  });

  it("gives the fallback when the promise hangs past the limit", async () => {
    expect(await within(new Promise(() => {}), 5, "late")).toBe("late");
  });

  it("passes a rejection through", async () => {
    await expect(within(Promise.reject(new Error("boom")), 1_000, "late")).rejects.toThrow("boom");
  });

  it("leaves no timer behind: a settled race keeps the process from nothing", async () => {
    const before = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    await within(Promise.resolve(1), 60_000, undefined);
    const after = process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    expect(after).toBe(before);
  });
});
