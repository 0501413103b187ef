// The option checks backplane engines share: the logger, and positive integers.
import { describe, expect, it } from "vitest";
import { SSEOptionError } from "../base/errors.js";
import { loggerOption, positiveIntegerOption } from "./backplane-options.js";

describe("loggerOption", () => {
  it("takes a logger with error() and info(), false as none; refuses anything else, naming logger", () => {
    expect(loggerOption(console)).toBe(console);
    expect(loggerOption(false)).toBeUndefined();
    for (const bad of [null, true, "console", { error() {} }, []]) {
      expect(() => loggerOption(bad)).toThrow(SSEOptionError);
      expect(() => loggerOption(bad)).toThrow(
        /^sse: logger: must have error\(\) and info\(\) methods, or be false/,
      );
    }
  });
});

describe("positiveIntegerOption", () => {
  it("takes positive safe integers; refuses the rest, naming the option and its unit", () => {
    expect(positiveIntegerOption("maxReplays", 4, "replays")).toBe(4);
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "4", 2 ** 53]) {
      expect(() => positiveIntegerOption("timeoutMs", bad, "milliseconds")).toThrow(
        /^sse: timeoutMs: must be a positive integer \(milliseconds\)/,
      );
    }
  });
});
