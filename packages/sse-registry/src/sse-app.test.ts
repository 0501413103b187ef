import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { contextHandler, EventBroker } from "@burrow/sse-core";
import { cleanupAfterEach, recordEvents, waitFor } from "@burrow/test-utils";
import express from "express";
import { afterAll, describe, expect, it } from "vitest";
import {
  type App,
  type BootOptions,
  brokerFromRegistry,
  type Config,
  ConfigError,
  type Configurable,
  type HasShutdown,
  publishFragment,
  Registry,
  type RenderContext,
  SSEApp,
} from "./index.js";

const cleanups = cleanupAfterEach();

describe("SSEApp", () => {
  it("is named sse and declares --sse-buffer-size / SSE_BUFFER_SIZE / sse.buffer_size, default 16", () => {
    const app = new SSEApp();
    expect(app.name).toBe("sse");
    expect(app.flags()).toEqual([
      expect.objectContaining({
        name: "sse-buffer-size",
        env: "SSE_BUFFER_SIZE",
        toml: "sse.buffer_size",
        type: "int",
        default: 16,
      }),
    ]);
  });

  it("has no broker before configure, and shutting down then is harmless", async () => {
    const app = new SSEApp();
    expect(app.broker).toBeUndefined();
    app.shutdown();
    app.shutdown();
    expect(app.broker).toBeUndefined();
    const registry = new Registry().add(app);
    expect(brokerFromRegistry(registry)).toBeUndefined();
    await registry.shutdown();
  });

  it.each([
    ["16 by default", {}, 16],
    ["the configured size", { SSE_BUFFER_SIZE: "64" }, 64],
    ["1 when configured as 1", { SSE_BUFFER_SIZE: "1" }, 1],
  ])("creates the broker at configure: %s", async (_name, env, expected) => {
    const app = new SSEApp();
    await new Registry().add(app).boot({ env });
    expect(app.broker).toBeInstanceOf(EventBroker);
    expect(app.broker?.bufferSize).toBe(expected);
  });

  // The Go original: its app falls back to 16 below 1, its broker turns 0 into 1.
  describe("a configured buffer size below 1 falls back to 16, from every source", () => {
    const dir = mkdtempSync(join(tmpdir(), "burrow-sse-app-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const toml = (value: string): string => {
      const path = join(dir, `buffer-${value}.toml`);
      writeFileSync(path, `[sse]\nbuffer_size = ${value}\n`);
      return path;
    };
    // [source, boot options for a value, how that source writes the text "abc"]
    const sources: [string, (value: string) => BootOptions, string][] = [
      ["flag", (value) => ({ argv: [`--sse-buffer-size=${value}`], env: {} }), "abc"],
      ["env", (value) => ({ env: { SSE_BUFFER_SIZE: value } }), "abc"],
      ["toml", (value) => ({ env: {}, configFile: toml(value) }), '"abc"'],
    ];
    const belowOne = sources.flatMap(([source, options]) =>
      ["0", "-3"].map((value) => [source, value, options] as const),
    );

    it.each(belowOne)("%s %s", async (_source, value, options) => {
      const app = new SSEApp();
      const registry = new Registry().add(app);
      await registry.boot(options(value));
      expect(app.broker?.bufferSize).toBe(16);
      await registry.shutdown();
    });

    it.each(sources)(
      "%s: text that is not an integer stays a ConfigError",
      async (_s, options, abc) => {
        const err = await new Registry()
          .add(new SSEApp())
          .boot(options(abc))
          .catch((e: unknown) => e);
        expect(ConfigError.isInstance(err)).toBe(true);
        expect((err as Error).message).toMatch(
          /^--sse-buffer-size: "abc" \(from .*\) is not an integer$/,
        );
      },
    );

    it("while new EventBroker(0) and bufferSize 0 in code are 1", () => {
      expect(new EventBroker(0).bufferSize).toBe(1);
      expect(new EventBroker({ bufferSize: 0 }).bufferSize).toBe(1);
    });
  });

  it("passes its other broker options on", async () => {
    const app = new SSEApp({ historySize: 10 });
    await new Registry().add(app).boot({ env: {} });
    expect(app.broker?.historySize).toBe(10);
  });

  it("shutdown closes the broker, and stays harmless when repeated", async () => {
    const registry = new Registry().add(new SSEApp());
    await registry.boot({ env: {} });
    const broker = brokerFromRegistry(registry)!;
    const client = broker.subscribe("news");
    await registry.shutdown();
    expect(broker.closed).toBe(true);
    await client.done;
    registry.get<SSEApp>("sse")?.shutdown();
  });
});

describe("brokerFromRegistry", () => {
  it("is undefined without an SSE app, or before it is configured", async () => {
    expect(brokerFromRegistry(new Registry())).toBeUndefined();
    expect(brokerFromRegistry(new Registry().add({ name: "sse" }))).toBeUndefined();
    const registry = new Registry().add(new SSEApp());
    expect(brokerFromRegistry(registry)).toBeUndefined();
    await registry.boot({ env: {} });
    expect(brokerFromRegistry(registry)).toBe(registry.get<SSEApp>("sse")?.broker);
  });

  it("lets a plugin app depending on sse reach the broker during its own lifecycle", async () => {
    const seen: Record<string, EventBroker | undefined> = {};
    class Plugin implements App, Configurable, HasShutdown {
      readonly name = "plugin";
      readonly dependencies = ["sse"];
      #registry: Registry | undefined;
      register(registry: Registry): void {
        this.#registry = registry;
        // every app registers before any configures: no broker yet
        seen.register = brokerFromRegistry(registry);
      }
      flags() {
        return [];
      }
      configure(_config: Config): void {
        // configure runs in order of adding, and sse was added first
        seen.configure = brokerFromRegistry(this.#registry!);
        seen.configure?.publish("plugin", { data: "configured" });
      }
      shutdown(): void {
        // reverse order: the plugin shuts down while the broker is still open
        const broker = brokerFromRegistry(this.#registry!);
        seen.shutdown = broker?.closed ? undefined : broker;
      }
    }
    const registry = new Registry().add(new SSEApp()).add(new Plugin());
    await registry.boot({ env: {} });
    const broker = brokerFromRegistry(registry);
    expect(seen.register).toBeUndefined();
    expect(seen.configure).toBe(broker);
    expect(broker?.stats().published).toBe(1);
    await registry.shutdown();
    expect(seen.shutdown).toBe(broker);
    expect(broker?.closed).toBe(true);
  });
});

describe("a background job publishing to a real HTTP SSE client", () => {
  async function serve(): Promise<{ registry: Registry; url: string }> {
    const registry = new Registry().add(new SSEApp());
    await registry.boot({ argv: ["--sse-buffer-size=8"], env: {} });
    const app = express();
    app.use(registry.middleware());
    app.get("/events", contextHandler(["jobs", "news"]));
    const server: Server = app.listen(0, "127.0.0.1");
    await once(server, "listening");
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
      () => registry.shutdown(),
    );
    return { registry, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  it("delivers what a job publishes through brokerFromRegistry", async () => {
    const { registry, url } = await serve();
    const client = recordEvents(`${url}/events`, ["jobs"]);
    cleanups.push(() => client.close());
    await client.opened;
    await waitFor(() => brokerFromRegistry(registry)?.stats().clients === 1, "the client");

    // the job: no request, only the registry
    const job = (): number => {
      const broker = brokerFromRegistry(registry);
      if (broker === undefined) return 0; // SSE not available: skip
      return broker.publish("jobs", { data: "<p>Background task completed!</p>" });
    };
    expect(job()).toBe(1);
    const [event] = await client.waitForCount(1);
    expect(event).toMatchObject({ event: "jobs", data: "<p>Background task completed!</p>" });
    expect(brokerFromRegistry(registry)?.bufferSize).toBe(8);
  });

  it("delivers a fragment rendered with the job's locale by publishFragment", async () => {
    const { registry, url } = await serve();
    const calls: [string, Record<string, unknown>, RenderContext][] = [];
    const greetings: Record<string, string> = { en: "New article", de: "Neuer Artikel" };
    registry.setRenderer(async (name, data, context) => {
      calls.push([name, data, context]);
      return `<li>${greetings[context.locale ?? "en"]}: ${String(data.title)}</li>`;
    });
    const client = recordEvents(`${url}/events`, ["news", "headline"]);
    cleanups.push(() => client.close());
    await client.opened;
    await waitFor(() => brokerFromRegistry(registry)?.stats().clients === 1, "the client");

    const queued = await publishFragment(
      registry,
      "news",
      "articles/list_item",
      { title: "SSE" },
      { locale: "de" },
    );
    expect(queued).toBe(1);
    await publishFragment(
      registry,
      "news",
      "articles/list_item",
      { title: "B" },
      {},
      {
        type: "headline",
        id: "7",
      },
    );
    const events = await client.waitForCount(2);
    expect(events[0]).toMatchObject({ event: "news", data: "<li>Neuer Artikel: SSE</li>" });
    expect(events[1]).toMatchObject({
      event: "headline",
      id: "7",
      data: "<li>New article: B</li>",
    });
    expect(calls[0]).toEqual(["articles/list_item", { title: "SSE" }, { locale: "de" }]);
  });
});
