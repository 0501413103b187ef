/**
 * The backplane presence suite's harness: what a backplane under test
 * exposes (its server processes, a private engine it may freeze), and the
 * helpers the suite hands a backplane's own cases.
 */
import type { ChildProcess } from "node:child_process";
import type { recordEvents } from "./clients.js";

/** What the suite uses of a server process (both backplanes' fixtures fit). */
export interface PresenceProcess {
  child: ChildProcess;
  url: string;
  stats(): Promise<{ backplane: { state: string; [field: string]: unknown } }>;
  /** `broker.members(topic)`: ids and connection counts, sorted by id. */
  members(topic: string): Promise<{ id: string; connections: number }[]>;
}

/** A private engine server of the test's own, started, that it may freeze and thaw. */
export interface PrivateEngine {
  url: string;
  /** Freezes the server (SIGSTOP): sockets stay open, nothing answers. */
  pause(): Promise<void>;
  /** Thaws it (SIGCONT). */
  resume(): Promise<void>;
}

/** How the suite runs against one backplane (`E`: its private engine server). */
export interface BackplanePresenceHarness<E extends PrivateEngine = PrivateEngine> {
  /** `describe` that skips (or fails under CI) without the engine. */
  describe(name: string, body: () => void): void;
  /** Why a private engine server cannot run here, or undefined. */
  privateUnavailable: string | undefined;
  /**
   * A function that starts a server process on a topic space of its own
   * (one per call of `space`), on `url` (the shared engine when undefined),
   * with presence TTL `ttlMs` and a short `timeoutMs`.
   */
  space(options: { ttlMs: number; url?: string }): () => Promise<PresenceProcess>;
  /** Starts a private engine server (stopped and removed by `cleanup`). */
  privateEngine(): Promise<E>;
  /**
   * Outages of a private engine server that keep its data (each run for
   * longer than the TTL): `cut` starts one, `restore` ends it.
   */
  outages: {
    name: string;
    cut(engine: E): Promise<void>;
    restore(engine: E): Promise<void>;
  }[];
  /** After each test: kills server processes and private engines, drops the test's data. */
  cleanup(): Promise<void>;
}

/**
 * Short, so a dead process is noticed quickly; tests still only wait for
 * state. Not shorter: a process whose heartbeat (every TTL / 3) is late by a
 * whole TTL on a loaded machine is swept as dead and then re-announces its
 * members, which the tests of exact events would read as a flap.
 */
export const PRESENCE_TTL = 1500;

/** The suite's helpers, for a backplane's own cases (see {@link describeBackplanePresence}). */
export interface PresenceTools<E extends PrivateEngine> {
  /** A stream of `user` on the topic `room` of `server` (closed after the test). */
  join(server: PresenceProcess, user: string): ReturnType<typeof recordEvents>;
  /** A page watching the presence of `room` on `server`: every rendered change, opened. */
  watchPresence(server: PresenceProcess): Promise<ReturnType<typeof recordEvents>>;
  /** Waits until every one of `servers` lists exactly `expected` on `room`. */
  membersEverywhere(
    servers: PresenceProcess[],
    expected: { id: string; connections: number }[],
  ): Promise<void>;
  /** Two ready server processes on a new topic space on `url` (TTL {@link PRESENCE_TTL}). */
  twoServers(url?: string): Promise<[PresenceProcess, PresenceProcess]>;
  /** Waits until each of `servers` is ready and ran two sweeps after now. */
  sweptAgain(servers: PresenceProcess[]): Promise<void>;
  /** A test run against a private engine server of its own (skipped when none can run). */
  onPrivateEngine(title: string, body: (engine: E) => Promise<void>): void;
}
