import type { Context } from "koa";
import { describe, expect, it } from "vitest";
import { takeResponse } from "./take-response.js";

/** A context whose own onerror records what reaches it. */
function context(headersSent: boolean): { ctx: Context; reached: unknown[] } {
  const reached: unknown[] = [];
  const ctx = {
    respond: true,
    res: { headersSent },
    onerror(error: unknown) {
      reached.push(error);
    },
  } as unknown as Context;
  return { ctx, reached };
}

const coded = (code: string) => Object.assign(new Error(code), { code });

describe("takeResponse", () => {
  it("takes the response from koa and keeps a client's leaving out of koa's error handling once the head is sent", () => {
    const { ctx, reached } = context(true);
    takeResponse(ctx);
    expect(ctx.respond).toBe(false);
    for (const code of ["ECONNRESET", "EPIPE", "ECONNABORTED"]) ctx.onerror(coded(code));
    expect(reached).toEqual([]);
    // Anything else still reaches koa: a bug, or another socket error.
    const bug = new Error("topic lookup failed");
    const other = coded("ETIMEDOUT");
    ctx.onerror(bug);
    ctx.onerror(other);
    expect(reached).toEqual([bug, other]);
  });

  it("passes the same errors on before the head is sent (no stream yet: a real failure)", () => {
    const { ctx, reached } = context(false);
    takeResponse(ctx);
    const reset = coded("ECONNRESET");
    ctx.onerror(reset);
    expect(reached).toEqual([reset]);
  });
});
