// Process plumbing shared by the orchestrator and its children: spawning a
// node child with a raised open-files limit and an IPC channel, request/reply
// messages over that channel, and a watchdog so no child outlives its parent.

import { spawn } from "node:child_process";

/** Milliseconds on the system-wide monotonic clock (comparable across processes). */
export function now() {
  const [s, ns] = process.hrtime();
  return s * 1e3 + ns / 1e6;
}

/**
 * Spawns `node script ...args` through bash so the soft open-files limit can
 * be raised first (10 000 sockets need more than the usual 1 024), with an
 * IPC channel; `env` is added to this process's environment. Returns a small
 * request/reply client.
 */
export function spawnChild(script, args = [], { nodeArgs = [], fdLimit = 20000, env } = {}) {
  const shell = `ulimit -n ${fdLimit} 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$0" "$@"`;
  const child = spawn("bash", ["-c", shell, process.execPath, ...nodeArgs, script, ...args], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: env === undefined ? process.env : { ...process.env, ...env },
  });
  return new ChildClient(child);
}

class ChildClient {
  constructor(child) {
    this.child = child;
    this.nextId = 1;
    this.pending = new Map();
    this.listeners = new Map();
    this.exited = new Promise((resolve) => child.once("exit", resolve));
    child.on("message", (msg) => {
      if (msg.id !== undefined && this.pending.has(msg.id)) {
        const { resolve, reject, timer } = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        clearTimeout(timer);
        if (msg.error) reject(new Error(msg.error));
        else resolve(msg);
      } else if (msg.event !== undefined) {
        const fn = this.listeners.get(msg.event);
        if (fn) fn(msg);
      }
    });
    child.once("exit", (code) => {
      for (const { reject, timer } of this.pending.values()) {
        clearTimeout(timer);
        reject(new Error(`child exited (${code}) before answering`));
      }
      this.pending.clear();
    });
  }

  /** Sends `{cmd, ...payload}` and resolves with the child's answer. */
  request(cmd, payload = {}, timeoutMs = 120_000) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${cmd}: no answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.child.send({ id, cmd, ...payload });
    });
  }

  /** Calls `fn(msg)` for unsolicited `{event: name}` messages. */
  on(name, fn) {
    this.listeners.set(name, fn);
  }

  /** Waits for one `{event: name}` message, or rejects after `timeoutMs`. */
  once(name, timeoutMs) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(name);
        reject(new Error(`${name}: not in ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.set(name, (msg) => {
        clearTimeout(timer);
        this.listeners.delete(name);
        resolve(msg);
      });
    });
  }

  /** Asks the child to exit, then kills it if it has not after a second. */
  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    try {
      this.child.send({ cmd: "exit" });
    } catch {
      // channel already closed
    }
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 1000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * Child side: answers `{id, cmd}` requests with `handlers[cmd](msg)`, exits
 * when the parent goes away (IPC disconnect) or after `lifetimeMs` at most.
 */
export function serveParent(handlers, lifetimeMs) {
  if (typeof process.send !== "function") {
    console.error("bench: this script is started by bench/run.mjs");
    process.exit(2);
  }
  process.on("disconnect", () => process.exit(0));
  setTimeout(() => {
    console.error("bench: child lifetime exceeded, exiting");
    process.exit(3);
  }, lifetimeMs).unref();
  process.on("message", async (msg) => {
    if (msg.cmd === "exit") {
      process.exit(0);
    }
    const fn = handlers[msg.cmd];
    try {
      if (fn === undefined) throw new Error(`unknown command ${msg.cmd}`);
      const result = (await fn(msg)) ?? {};
      process.send({ id: msg.id, ...result });
    } catch (err) {
      process.send({ id: msg.id, error: String(err?.stack ?? err) });
    }
  });
  process.send({ event: "ready" });
}

/** Sends an unsolicited event to the parent. */
export function notifyParent(event, payload = {}) {
  process.send({ event, ...payload });
}
