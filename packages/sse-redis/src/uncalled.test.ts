import { EventBroker, SSEOptionError } from "@burrow/sse-core";
import { describe, expect, it } from "vitest";
import { redisBackplane } from "./index.js";

// Issue 15, item 7: `backplane: redisBackplane` (the factory, not called) is
// named as such, not "this.backplane?.attach is not a function".

describe("redisBackplane passed without its call", () => {
  it("throws SSEOptionError naming the option and the likely mistake, connecting nothing", () => {
    let thrown: unknown;
    try {
      new EventBroker({ historySize: 10, backplane: redisBackplane as never });
    } catch (err) {
      thrown = err;
    }
    expect(SSEOptionError.isInstance(thrown)).toBe(true);
    expect(thrown).toMatchObject({
      option: "backplane",
      value: redisBackplane,
      message:
        "sse: backplane: must be a backplane object, e.g. redisBackplane(), got a function — did you pass the function without calling it?",
    });
  });
});
