/**
 * Fault cases that every backplane (Redis, PostgreSQL) passes the same way,
 * with server child processes (see `backplane-server.ts`) on a private engine
 * server of the test's own: unreachable at start, and the engine stopped and
 * started mid-stream. Each package calls them from its own `it` (its own
 * private server, its own title); what differs between engines is a
 * parameter, the rest is asserted identically.
 */
import { expect } from "vitest";
import { listening, type ServerProcess, state } from "./backplane-server.js";
import { rawClient, recordEvents } from "./clients.js";
import { waitFor } from "./waits.js";

/** A private engine server, as a fault case drives it. */
export interface FaultEngine {
  /** The package, as it starts its messages ("sse-redis"). */
  name: string;
  /** The engine, as the messages name it ("Redis"). */
  engine: string;
  /** The server's URL, as the messages show it. */
  url: string;
  /** Starts the server (again). */
  start(): Promise<void>;
}

/**
 * A server process started while the engine is down: it runs, logs one
 * error (`unreachable`: how it starts), delivers locally without an id, and
 * connects once the engine is up (`engine.start`), saying how many events
 * stayed local; its next event has a global id. Without `engine` (no engine
 * binary here), stops after the local part.
 */
export async function checkUnreachableAtStart(
  server: ServerProcess,
  unreachable: string,
  engine: FaultEngine | undefined,
): Promise<void> {
  await state(server, "down");
  expect(server.stderr).toContain(unreachable);
  const client = recordEvents(`${server.url}/events?topics=x`, ["x"]);
  await client.opened;
  expect(await server.publish("x", "local")).toBe(1);
  const [event] = await client.waitForCount(1);
  expect(event).toMatchObject({ data: "local", id: "" });
  expect((await server.stats()).backplane).toMatchObject({ state: "down", localOnly: 1 });
  // Once per state change, not once per retry.
  expect(server.stderr.match(/\[error\]/g)).toHaveLength(1);
  if (engine === undefined) return client.close();

  await engine.start();
  await listening(server, 1);
  expect(server.stderr).toContain(
    `[info] ${engine.name}: reconnected to ${engine.engine} at ${engine.url}; ` +
      "1 event(s) published here meanwhile reached this process's clients only",
  );
  await server.publish("x", `through ${engine.engine}`);
  const events = await client.waitForCount(2);
  expect(events[1]).toMatchObject({
    data: `through ${engine.engine}`,
    id: expect.stringMatching(/-1$/),
  });
  client.close();
  expect(server.child.exitCode).toBe(null);
}

/**
 * Two server processes `a`, `b` on one engine that `stop` takes down and
 * `engine.start` brings back: during the outage each process still serves
 * its own publishes, both reconnect, and a later event reaches both. With
 * `keepsData` (the engine kept its data) the epoch goes on and an id from
 * before the outage resumes; without, a new epoch starts, that id resyncs,
 * and `b` logs that what was published meanwhile could not be recovered.
 */
export async function checkOutageMidStream(
  [a, b]: [ServerProcess, ServerProcess],
  engine: FaultEngine & { stop(): Promise<void> },
  keepsData: boolean,
): Promise<void> {
  const onA = recordEvents(`${a.url}/events?topics=x`, ["x"]);
  const onB = recordEvents(`${b.url}/events?topics=x`, ["x"]);
  // A topic with a snapshot: what the outage lost of it is repaired (issue #25).
  const snapOnB = rawClient(b.port, "/events?topics=snap:x");
  await Promise.all([onA.opened, onB.opened, snapOnB.ready]);
  await Promise.all([listening(a, 1), listening(b, 2)]);
  await a.publish("x", "before");
  // Both have it before the outage (a's own event comes back through the engine too).
  const [[before]] = await Promise.all([onB.waitForCount(1), onA.waitForCount(1)]);

  await engine.stop();
  await Promise.all([state(a, "down"), state(b, "down")]);
  // During the outage each process still serves its own publishes.
  expect(await b.publish("x", "b during")).toBe(1);
  await onB.waitForCount(2);
  expect(onA.events.map((e) => e.data)).toEqual(["before"]);

  await engine.start();
  await Promise.all([listening(a, 1), listening(b, 2)]);
  await a.publish("x", "after");
  await onA.waitForCount(2);
  await onB.waitForCount(3);
  expect(onA.events.map((e) => e.data)).toEqual(["before", "after"]);
  expect(onB.events.map((e) => e.data)).toEqual(["before", "b during", "after"]);
  const lastSeen = before!.id ?? "";
  const epoch = onA.events[1]?.id?.split("-")[0];
  const late = rawClient(b.port, "/events?topics=x", { headers: { "Last-Event-ID": lastSeen } });
  if (keepsData) {
    // The data survived: the same epoch goes on, and an id from before the outage resumes.
    expect(epoch).toBe(lastSeen.split("-")[0]);
    await waitFor(() => late.events.length >= 1, "the replay");
    expect(late.events.map((e) => e.data)).toEqual(["after"]);
  } else {
    // The engine started empty: a new epoch, so the old id is not mistaken for a new one.
    expect(epoch).not.toBe(lastSeen.split("-")[0]);
    await waitFor(() => late.events.length >= 1, "the resync signal");
    expect(late.events[0]?.event).toBe("resync");
    // What b's clients of a topic with a snapshot lost in the outage, a snapshot replaces.
    await waitFor(() => snapOnB.events.length >= 1, "b's snapshot of snap:x");
    expect(snapOnB.events[0]?.data).toContain("<p>snap:x as now</p>");
    expect((await b.stats()).snapshots).toMatchObject({ miss: 1 });
  }
  if (keepsData) expect(snapOnB.events).toEqual([]);
  snapOnB.close();
  late.close();
  onA.close();
  onB.close();
  expect((await b.stats()).backplane).toMatchObject({
    state: "ready",
    errors: 1,
    localOnly: 1,
    ...(keepsData ? { gaps: 0 } : {}),
  });
  if (!keepsData) expect(b.stderr).toContain("could not be recovered");
  expect([a.child.exitCode, b.child.exitCode]).toEqual([null, null]);
}
