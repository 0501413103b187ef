import type { IncomingMessage, ServerResponse } from "node:http";
import { brokerFrom } from "@burrow/sse-core";
import { describe, expect, it } from "vitest";
import {
  type App,
  type Config,
  type Configurable,
  type FlagSpec,
  type HasMiddleware,
  type HasShutdown,
  Registry,
  RegistryError,
  SSEApp,
} from "./index.js";

type Recorder = App & Configurable & HasMiddleware & HasShutdown;

/** An app that records each lifecycle call into `log` as "<name>.<step>". */
function recorder(
  name: string,
  log: string[],
  extra: { dependencies?: string[]; flags?: FlagSpec[]; shutdown?: () => void } = {},
): Recorder {
  return {
    name,
    dependencies: extra.dependencies,
    register: () => {
      log.push(`${name}.register`);
    },
    flags: () => extra.flags ?? [],
    configure: (_config: Config) => {
      log.push(`${name}.configure`);
    },
    middleware: () => [
      (_req, _res, next) => {
        log.push(`${name}.middleware`);
        next();
      },
    ],
    shutdown: () => {
      log.push(`${name}.shutdown`);
      extra.shutdown?.();
    },
  };
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

describe("Registry: adding apps", () => {
  it("add returns the registry; get and apps see apps in order", () => {
    const sse = new SSEApp();
    const notes: App = { name: "notes", dependencies: ["sse"] };
    const registry = new Registry();
    expect(registry.add(sse).add(notes)).toBe(registry);
    expect(registry.get("sse")).toBe(sse);
    expect(registry.get<SSEApp>("sse")?.broker).toBeUndefined();
    expect(registry.get("nope")).toBeUndefined();
    expect(registry.apps()).toEqual([sse, notes]);
    // a snapshot: changing it changes nothing
    expect(Object.isFrozen(registry.apps())).toBe(true);
  });

  it("refuses a duplicate name, naming both apps", () => {
    class OtherSSE implements App {
      readonly name = "sse";
    }
    const registry = new Registry().add(new SSEApp());
    const err = caught(() => registry.add(new OtherSSE()));
    expect(RegistryError.isInstance(err)).toBe(true);
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as RegistryError).name).toBe("RegistryError");
    expect((err as Error).message).toBe(
      'sse: cannot add app "sse" (OtherSSE): app "sse" (SSEApp) has that name already',
    );
    expect(registry.apps()).toHaveLength(1);
  });

  it("refuses an app whose dependency was not added before it, naming both apps", () => {
    const registry = new Registry();
    const err = caught(() => registry.add({ name: "notes", dependencies: ["sse"] }));
    expect(RegistryError.isInstance(err)).toBe(true);
    expect((err as Error).message).toBe(
      'sse: app "notes" depends on app "sse", which is not added: add "sse" before "notes"',
    );
    expect((err as RegistryError).app).toBe("notes");
    expect(registry.apps()).toEqual([]);
  });

  it("refuses a nameless app, and adding after boot", async () => {
    const registry = new Registry();
    expect(() => registry.add({ name: "" })).toThrow(RegistryError);
    await registry.boot({ env: {} });
    expect(() => registry.add({ name: "late" })).toThrow(
      'sse: cannot add app "late": the registry has already booted',
    );
    await expect(registry.boot({ env: {} })).rejects.toThrow("already booted");
  });
});

describe("Registry: lifecycle", () => {
  it("boot registers every app in order, then configures every Configurable in order", async () => {
    const log: string[] = [];
    const plain: App = {
      name: "plain",
      register: () => {
        log.push("plain.register");
      },
    };
    const registry = new Registry()
      .add(recorder("a", log))
      .add(plain)
      .add(recorder("b", log, { dependencies: ["a"] }));
    await registry.boot({ env: {} });
    expect(log).toEqual([
      "a.register",
      "plain.register",
      "b.register",
      "a.configure",
      "b.configure",
    ]);
  });

  it("awaits async register and configure before the next app", async () => {
    const log: string[] = [];
    const slow = (name: string): App & Configurable => ({
      name,
      register: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push(`${name}.register`);
      },
      flags: () => [],
      configure: async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        log.push(`${name}.configure`);
      },
    });
    await new Registry().add(slow("a")).add(slow("b")).boot({ env: {} });
    expect(log).toEqual(["a.register", "b.register", "a.configure", "b.configure"]);
  });

  it("middleware() lists every HasMiddleware app's middleware in order", () => {
    const log: string[] = [];
    const registry = new Registry()
      .add(recorder("a", log))
      .add({ name: "plain" })
      .add(recorder("b", log));
    const middleware = registry.middleware();
    expect(middleware).toHaveLength(2);
    const req = {} as IncomingMessage;
    const res = {} as ServerResponse;
    for (const mw of middleware) mw(req, res, () => {});
    expect(log).toEqual(["a.middleware", "b.middleware"]);
  });

  it("the SSE app's middleware puts its broker on each request, once configured", async () => {
    const registry = new Registry().add(new SSEApp());
    const [mw] = registry.middleware();
    const before = {} as IncomingMessage;
    let nexts = 0;
    mw?.(before, {} as ServerResponse, () => nexts++);
    expect(brokerFrom(before)).toBeUndefined();
    await registry.boot({ env: {} });
    const after = {} as IncomingMessage;
    mw?.(after, {} as ServerResponse, () => nexts++);
    expect(brokerFrom(after)).toBe(registry.get<SSEApp>("sse")?.broker);
    expect(nexts).toBe(2);
  });

  it("shutdown runs in reverse order, each app once; a second call is harmless", async () => {
    const log: string[] = [];
    const registry = new Registry()
      .add(recorder("a", log))
      .add({ name: "plain" })
      .add(recorder("b", log))
      .add(recorder("c", log));
    await registry.boot({ env: {} });
    log.length = 0;
    const first = registry.shutdown();
    const second = registry.shutdown();
    await Promise.all([first, second]);
    await registry.shutdown();
    expect(log).toEqual(["c.shutdown", "b.shutdown", "a.shutdown"]);
    expect(() => registry.add({ name: "late" })).toThrow("shut down");
  });

  it("shutdown attempts every app when some fail, and reports the failures together", async () => {
    const log: string[] = [];
    const boomA = new Error("a broke");
    const registry = new Registry()
      .add(
        recorder("a", log, {
          shutdown: () => {
            throw boomA;
          },
        }),
      )
      .add(recorder("b", log))
      .add({
        name: "c",
        shutdown: async () => {
          log.push("c.shutdown");
          throw new Error("c broke");
        },
      } as App & HasShutdown);
    const err = await registry.shutdown().catch((e: unknown) => e);
    expect(log).toEqual(["c.shutdown", "b.shutdown", "a.shutdown"]);
    expect(RegistryError.isInstance(err)).toBe(true);
    const error = err as RegistryError;
    expect(error.message).toBe('sse: 2 apps failed to shut down: "c": c broke; "a": a broke');
    expect(error.errors.map((e) => (e as Error).message)).toEqual(["c broke", "a broke"]);
    expect(error.cause).toBeInstanceOf(Error);
    // once only: a second call reports the same outcome and shuts nothing down again
    await expect(registry.shutdown()).rejects.toBe(err);
    expect(log).toHaveLength(3);
  });

  it("shutdown before boot is harmless", async () => {
    const sse = new SSEApp();
    await new Registry().add(sse).shutdown();
    expect(sse.broker).toBeUndefined();
  });

  it("holds a fragment renderer", () => {
    const registry = new Registry();
    expect(registry.renderer()).toBeUndefined();
    const render = () => "<p>hi</p>";
    registry.setRenderer(render);
    expect(registry.renderer()).toBe(render);
    expect(() => registry.setRenderer("nope" as never)).toThrow(RegistryError);
  });
});

describe("errors", () => {
  it("are branded, so copies of the package recognise each other's", () => {
    const foreign = Object.defineProperty(new Error("x"), Symbol.for("burrow.sse.RegistryError"), {
      value: true,
    });
    expect(RegistryError.isInstance(foreign)).toBe(true);
    expect(RegistryError.isInstance(new Error("x"))).toBe(false);
    expect(RegistryError.isInstance(null)).toBe(false);
    expect(new RegistryError("x").message).toBe("sse: x");
  });
});
