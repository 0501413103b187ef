import { describe, expect, it } from "vitest";
import { encodeEvent, SSEError, SSEFieldError } from "../index.js";

describe("SSEFieldError", () => {
  it("is a named TypeError carrying the field, the value and an sse: message", () => {
    const err = new SSEFieldError("id", "must not contain CR, LF or NUL", "a\nb");
    expect(err).toBeInstanceOf(TypeError);
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("SSEFieldError");
    expect(err.field).toBe("id");
    expect(err.value).toBe("a\nb");
    expect(err.message).toBe("sse: id: must not contain CR, LF or NUL");
    expect(String(err)).toBe("SSEFieldError: sse: id: must not contain CR, LF or NUL");
  });

  it("passes its cause through", () => {
    const cause = new Error("root");
    expect(new SSEFieldError("retry", "bad", -1, { cause }).cause).toBe(cause);
    expect(new SSEFieldError("retry", "bad").cause).toBeUndefined();
  });

  it("is what the encoder throws", () => {
    let caught: unknown;
    try {
      encodeEvent({ type: "a\rb" });
    } catch (err) {
      caught = err;
    }
    expect(SSEFieldError.isInstance(caught)).toBe(true);
    expect((caught as SSEFieldError).field).toBe("type");
  });
});

describe("SSEError", () => {
  it("is a named Error with an sse: prefix, a status (500 by default) and headers", () => {
    const err = new SSEError("no broker in context");
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("SSEError");
    expect(err.message).toBe("sse: no broker in context");
    expect(err.status).toBe(500);
    expect(err.headers).toEqual({});
  });

  it("does not double the prefix, and keeps status, frozen headers and cause", () => {
    const cause = new Error("root");
    const err = new SSEError("sse: too many clients", 503, {
      cause,
      headers: { "Retry-After": "5" },
    });
    expect(err.message).toBe("sse: too many clients");
    expect(err.status).toBe(503);
    expect(err.headers).toEqual({ "Retry-After": "5" });
    expect(Object.isFrozen(err.headers)).toBe(true);
    expect(err.cause).toBe(cause);
  });
});

describe("isInstance brands", () => {
  // What an error thrown by another loaded copy of the package (ESM next to CJS) looks like.
  const fromOtherCopy = (brand: string) =>
    Object.assign(new Error("sse: elsewhere"), { [Symbol.for(brand)]: true });

  it("recognise an error of another copy of the package by its Symbol.for brand", () => {
    expect(SSEFieldError.isInstance(fromOtherCopy("burrow.sse.SSEFieldError"))).toBe(true);
    expect(SSEFieldError.isInstance({ [Symbol.for("burrow.sse.SSEFieldError")]: true })).toBe(true);
    expect(SSEError.isInstance(fromOtherCopy("burrow.sse.SSEError"))).toBe(true);
  });

  it("recognise their own instances", () => {
    expect(SSEFieldError.isInstance(new SSEFieldError("type", "bad"))).toBe(true);
    expect(SSEError.isInstance(new SSEError("bad"))).toBe(true);
  });

  it.each<[string, unknown]>([
    ["a plain Error", new Error("sse: id: bad")],
    ["a TypeError", new TypeError("bad")],
    ["an object named like one", { name: "SSEFieldError", field: "id" }],
    ["a brand that is not true", { [Symbol.for("burrow.sse.SSEFieldError")]: "yes" }],
    ["a string-keyed brand", { "burrow.sse.SSEFieldError": true }],
    ["null", null],
    ["undefined", undefined],
    ["a string", "SSEFieldError"],
  ])("reject %s", (_name, value) => {
    expect(SSEFieldError.isInstance(value)).toBe(false);
    expect(SSEError.isInstance(value)).toBe(false);
  });

  it("do not mix the two classes up", () => {
    expect(SSEError.isInstance(new SSEFieldError("id", "bad"))).toBe(false);
    expect(SSEFieldError.isInstance(new SSEError("bad"))).toBe(false);
  });
});
