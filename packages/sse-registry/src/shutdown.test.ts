import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import { rawClient, recordEvents, waitFor } from "@burrow/test-utils";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type App,
  brokerFromRegistry,
  type ClosableServer,
  handleSignals,
  Registry,
  RegistryError,
  SSEApp,
} from "./index.js";
import { REPEAT_MS } from "./shutdown.js";

const fixture = fileURLToPath(new URL("./fixtures/signal-server.mjs", import.meta.url));
const children: ChildProcess[] = [];
const disposers: (() => void)[] = [];

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
  for (const dispose of disposers.splice(0)) dispose();
});

/** Starts the fixture server (built packages) and resolves its port and output. */
async function startFixture(env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [fixture], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  children.push(child);
  const output = { stdout: "", stderr: "" };
  child.stdout?.on("data", (chunk) => {
    output.stdout += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    output.stderr += chunk;
  });
  const exited = once(child, "exit") as Promise<[number | null, NodeJS.Signals | null]>;
  await waitFor(() => output.stdout.includes('"port"') || child.exitCode !== null, "the port");
  const port = Number(/"port":(\d+)/.exec(output.stdout)?.[1]);
  expect(port, output.stderr).toBeGreaterThan(0);
  return { child, port, output, exited };
}

describe("handleSignals in a real process", () => {
  it("SIGTERM ends open SSE streams and the process exits by itself with code 0", async () => {
    const { child, port, output, exited } = await startFixture();
    const raw = rawClient(port, "/events");
    const source = recordEvents(`http://127.0.0.1:${port}/events`, ["ticks"]);
    await Promise.all([raw.ready, source.opened]);
    expect(raw.head).toMatch(/^HTTP\/1\.1 200/);

    child.kill("SIGTERM");
    const [code, signal] = await exited;
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expect(output.stdout).toContain("exiting 0");
    // the server ended the response (chunked terminator), then the connection
    await raw.ended;
    expect(raw.finished).toBe(true);
    // the eventsource client saw its stream end (and cannot reconnect)
    await waitFor(() => source.errors > 0, "the eventsource stream to end");
    source.close();
  });

  it("SIGINT again during the shutdown, as one Ctrl-C reaches a script under pnpm run, still exits 0", async () => {
    const { child, port, output, exited } = await startFixture({ HOLD: "1" });
    child.kill("SIGINT");
    // Handled once the server stops accepting; the repeat is a delivery of its own
    // (two at once would merge into one), as pnpm's forwarded copy is.
    await waitFor(() => refused(port), "the server to stop accepting");
    child.kill("SIGINT");
    await waitFor(() => output.stdout.split("SIGINT seen").length === 3, "both SIGINTs seen");
    child.stdin?.end("done\n"); // the held app finishes its shutdown
    const [code, signal] = await exited;
    expect({ code, signal, stderr: output.stderr }).toEqual({ code: 0, signal: null, stderr: "" });
  });

  it("past timeoutMs it closes every connection and exits with code 1", async () => {
    const { child, port, output, exited } = await startFixture({ STUCK: "1", TIMEOUT_MS: "200" });
    const raw = rawClient(port, "/events");
    await raw.ready;
    child.kill("SIGTERM");
    const [code] = await exited;
    expect(code).toBe(1);
    expect(output.stderr).toContain("shutdown took longer than 200 ms");
    await raw.ended;
  });
});

/** Whether a connection to `port` is refused. */
function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(true));
  });
}

/** A server double recording what handleSignals does to it. */
function fakeServer(log: string[], name = "server"): ClosableServer {
  return {
    close: (callback) => {
      log.push(`${name}.close`);
      setImmediate(() => callback?.());
    },
    closeIdleConnections: () => log.push(`${name}.closeIdle`),
    closeAllConnections: () => log.push(`${name}.closeAll`),
  };
}

// In-process tests use SIGUSR2 and process.emit: nothing is really signalled.
const SIGNAL = "SIGUSR2";

describe("handleSignals in process", () => {
  it("stops accepting, shuts the registry down, then closes idle connections; then removes its listeners", async () => {
    const log: string[] = [];
    const registry = new Registry().add(new SSEApp()).add({
      name: "app",
      shutdown: () => {
        log.push("registry.shutdown");
      },
    } as App);
    await registry.boot({ env: {} });
    const before = process.listenerCount(SIGNAL);
    const exits: number[] = [];
    disposers.push(
      handleSignals(registry, {
        servers: [fakeServer(log, "a"), fakeServer(log, "b")],
        signals: [SIGNAL],
        exit: (code) => exits.push(code),
      }),
    );
    expect(process.listenerCount(SIGNAL)).toBe(before + 1);
    process.emit(SIGNAL, SIGNAL);
    await waitFor(() => log.includes("b.closeIdle"), "the shutdown to finish");
    // For REPEAT_MS after the signal, a repeat of it (pnpm forwarding Ctrl-C) is ignored.
    process.emit(SIGNAL, SIGNAL);
    await waitFor(() => process.listenerCount(SIGNAL) === before, "the listeners to go");
    expect(log).toEqual(["a.close", "b.close", "registry.shutdown", "a.closeIdle", "b.closeIdle"]);
    expect(brokerFromRegistry(registry)?.closed).toBe(true);
    expect(exits).toEqual([]);
  });

  it("reports apps failing to shut down, and still closes the servers", async () => {
    const log: string[] = [];
    const registry = new Registry().add({
      name: "bad",
      shutdown: () => {
        throw new Error("nope");
      },
    } as App);
    const errors: unknown[] = [];
    disposers.push(
      handleSignals(registry, {
        servers: [fakeServer(log)],
        signals: [SIGNAL],
        onError: (err) => errors.push(err),
        exit: () => {},
      }),
    );
    process.emit(SIGNAL, SIGNAL);
    await waitFor(() => log.includes("server.closeIdle"), "the server to close");
    expect(errors).toHaveLength(1);
    expect(RegistryError.isInstance(errors[0])).toBe(true);
    expect((errors[0] as RegistryError).errors).toHaveLength(1);
  });

  it("forces the exit past timeoutMs, and on a second signal", async () => {
    for (const trigger of ["timeout", "second signal"] as const) {
      const log: string[] = [];
      const registry = new Registry().add({
        name: "stuck",
        shutdown: () => new Promise<void>(() => {}),
      } as App);
      const exits: number[] = [];
      const errors: unknown[] = [];
      disposers.push(
        handleSignals(registry, {
          servers: [fakeServer(log)],
          signals: [SIGNAL],
          timeoutMs: trigger === "timeout" ? 0 : 60_000,
          exit: (code) => exits.push(code),
          onError: (err) => errors.push(err),
        }),
      );
      vi.useFakeTimers({ toFake: ["Date"] });
      try {
        process.emit(SIGNAL, SIGNAL);
        if (trigger === "second signal") {
          vi.setSystemTime(Date.now() + REPEAT_MS);
          process.emit(SIGNAL, SIGNAL);
        }
      } finally {
        vi.useRealTimers();
      }
      await waitFor(() => exits.length > 0, `exit on ${trigger}`);
      expect(exits).toEqual([1]);
      expect(log).toContain("server.closeAll");
      expect(RegistryError.isInstance(errors[0])).toBe(true);
      disposers.pop()?.();
    }
  });

  it("a repeat within REPEAT_MS of the signal is that signal delivered twice: ignored", async () => {
    const log: string[] = [];
    const exits: number[] = [];
    const errors: unknown[] = [];
    disposers.push(
      handleSignals(new Registry(), {
        servers: [fakeServer(log)],
        signals: [SIGNAL],
        exit: (code) => exits.push(code),
        onError: (err) => errors.push(err),
      }),
    );
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      process.emit(SIGNAL, SIGNAL);
      vi.setSystemTime(Date.now() + REPEAT_MS - 1);
      process.emit(SIGNAL, SIGNAL);
    } finally {
      vi.useRealTimers();
    }
    await waitFor(() => log.includes("server.closeIdle"), "the shutdown to finish");
    expect({ exits, errors, log }).toEqual({
      exits: [],
      errors: [],
      log: ["server.close", "server.closeIdle"],
    });
  });

  it("the disposer removes the listeners, and a bad timeout is refused", () => {
    const before = process.listenerCount(SIGNAL);
    const dispose = handleSignals(new Registry(), { signals: [SIGNAL] });
    dispose();
    expect(process.listenerCount(SIGNAL)).toBe(before);
    expect(() => handleSignals(new Registry(), { timeoutMs: -1 })).toThrow(RegistryError);
  });
});
