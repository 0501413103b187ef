import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { describe, expect, it, vi } from "vitest";
import { resolveBroker } from "../adapter.js";
import {
  type BrokerSource,
  brokerFrom,
  brokerMiddleware,
  EventBroker,
  withBroker,
} from "../index.js";

/** A real, unconnected `node:http` request and response pair. */
function request(): { req: IncomingMessage; res: ServerResponse } {
  const req = new IncomingMessage(new Socket());
  return { req, res: new ServerResponse(req) };
}

describe("withBroker / brokerFrom", () => {
  it("puts a broker on a request and reads it back", () => {
    const broker = new EventBroker();
    const { req } = request();
    expect(brokerFrom(req)).toBeUndefined();
    withBroker(req, broker);
    expect(brokerFrom(req)).toBe(broker);
  });

  it("keeps one broker per request, the last one set", () => {
    const [first, second] = [new EventBroker(), new EventBroker()];
    const a = request().req;
    const b = request().req;
    withBroker(a, first);
    withBroker(b, second);
    expect(brokerFrom(a)).toBe(first);
    expect(brokerFrom(b)).toBe(second);
    withBroker(a, second);
    expect(brokerFrom(a)).toBe(second);
  });

  it("adds nothing visible to the request object", () => {
    const { req } = request();
    const keys = Reflect.ownKeys(req);
    withBroker(req, new EventBroker());
    expect(Reflect.ownKeys(req)).toEqual(keys);
  });

  it("keeps its map on globalThis, shared with any other copy of the package", () => {
    const key = Symbol.for("burrow.sse.requestBrokers");
    const map = (globalThis as Record<symbol, unknown>)[key];
    expect(map).toBeInstanceOf(WeakMap);
    const shared = map as WeakMap<object, EventBroker>;
    const broker = new EventBroker();
    const { req } = request();
    withBroker(req, broker);
    expect(shared.get(req)).toBe(broker);
    // Another copy (ESM next to CJS) writes to the same map: this copy sees it.
    const other = request().req;
    const otherBroker = new EventBroker();
    shared.set(other, otherBroker);
    expect(brokerFrom(other)).toBe(otherBroker);
  });
});

describe("resolveBroker", () => {
  it("returns a broker as is, and calls a function source", () => {
    const broker = new EventBroker();
    expect(resolveBroker(broker)).toBe(broker);
    expect(resolveBroker(() => broker)).toBe(broker);
    expect(resolveBroker(() => undefined)).toBeUndefined();
  });
});

describe("brokerMiddleware", () => {
  it("puts a fixed broker on every request and calls next", () => {
    const broker = new EventBroker();
    const middleware = brokerMiddleware(broker);
    for (let i = 0; i < 3; i++) {
      const { req, res } = request();
      const next = vi.fn();
      middleware(req, res, next);
      expect(next).toHaveBeenCalledOnce();
      expect(next).toHaveBeenCalledWith();
      expect(brokerFrom(req)).toBe(broker);
    }
  });

  it("resolves a function source per request, so a broker created later is picked up", () => {
    let current: EventBroker | undefined;
    const source = vi.fn<Extract<BrokerSource, () => unknown>>(() => current);
    const middleware = brokerMiddleware(source);

    const early = request();
    const nextEarly = vi.fn();
    middleware(early.req, early.res, nextEarly);
    expect(nextEarly).toHaveBeenCalledOnce();
    expect(brokerFrom(early.req)).toBeUndefined();

    current = new EventBroker();
    const late = request();
    const nextLate = vi.fn();
    middleware(late.req, late.res, nextLate);
    expect(nextLate).toHaveBeenCalledOnce();
    expect(brokerFrom(late.req)).toBe(current);

    const replaced = new EventBroker();
    current = replaced;
    const later = request();
    middleware(later.req, later.res, () => {});
    expect(brokerFrom(later.req)).toBe(replaced);
    expect(source).toHaveBeenCalledTimes(3);
  });

  it("leaves a broker already on the request alone when the source has none", () => {
    const existing = new EventBroker();
    const { req, res } = request();
    withBroker(req, existing);
    const next = vi.fn();
    brokerMiddleware(() => undefined)(req, res, next);
    expect(next).toHaveBeenCalledOnce();
    expect(brokerFrom(req)).toBe(existing);
  });
});
