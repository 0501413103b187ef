/** An event as a backplane hands it on (`BackplaneEvent` of `@burrow/sse-core`). */
export interface HeldEvent {
  topic: string;
  event: { type?: string; data?: string; id?: string; retry?: number };
  seq: number;
}

/** What a broker hands its backplane (the part of `BackplaneHost` it uses). */
interface HeldHost {
  readonly historySize: number;
  deliver(topic: string, event: HeldEvent["event"], seq: number): void;
}

/** One replay a broker asked for, held until the test answers it. */
export interface HeldReplay {
  readonly topics: readonly string[];
  readonly lastEventId: string;
  /** Aborts when the resuming client leaves. */
  readonly signal: AbortSignal | undefined;
  /**
   * Answers with every event of its topics after `lastEventId` published so
   * far, once the live deliveries already on their way were made (as a
   * real backplane's barrier does).
   */
  answer(): void;
  /** Answers a miss (`undefined`: the id is unknown, or the engine did not answer in time). */
  miss(): void;
  /** Rejects with `error` (an unexpected failure). */
  fail(error: Error): void;
}

/** A backplane whose replays a test answers by hand: see {@link heldReplays}. */
export interface HeldReplays {
  /** Pass it as the broker's `backplane`. */
  backplane: {
    attach(host: HeldHost): void;
    publish(topic: string, event: HeldEvent["event"]): void;
    watch(topic: string): void;
    unwatch(topic: string): void;
    replay(
      topics: readonly string[],
      lastEventId: string,
      signal?: AbortSignal,
    ): Promise<{ after: number; events: HeldEvent[] } | undefined>;
    stats(): { state: "ready"; errors: 0; localOnly: 0; received: number; topics: number };
    close(): Promise<void>;
  };
  /** Replays asked for, in order, answered or not. */
  readonly replays: HeldReplay[];
  /** Topics watched now. */
  readonly watched: Set<string>;
  /** Every event published through it, in order (ids `held-<seq>`). */
  readonly log: HeldEvent[];
}

/**
 * A one-process backplane of `@burrow/sse-core`'s interface whose replays
 * wait until the test answers each ({@link HeldReplay}): a slow engine in a
 * reconnect storm, made deterministic. Publishes are ordered (seq 1, 2, ...,
 * ids `held-<seq>`) and delivered asynchronously, as over a network.
 */
export function heldReplays(): HeldReplays {
  let host: HeldHost | undefined;
  const replays: HeldReplay[] = [];
  const watched = new Set<string>();
  const log: HeldEvent[] = [];
  const after = (id: string, topics: readonly string[]) => {
    const seq = Number(/^held-(\d+)$/.exec(id)?.[1]);
    if (!Number.isInteger(seq)) return undefined;
    return { after: seq, events: log.filter((e) => e.seq > seq && topics.includes(e.topic)) };
  };
  return {
    replays,
    watched,
    log,
    backplane: {
      attach: (h) => {
        host = h;
      },
      publish: (topic, event) => {
        const seq = log.length + 1;
        const stored = { ...event, id: event.id || `held-${seq}` };
        log.push({ topic, event: stored, seq });
        setImmediate(() => {
          if (watched.has(topic)) host?.deliver(topic, { ...stored }, seq);
        });
      },
      watch: (topic) => {
        watched.add(topic);
      },
      unwatch: (topic) => {
        watched.delete(topic);
      },
      replay: (topics, lastEventId, signal) =>
        new Promise((resolve, reject) => {
          replays.push({
            topics,
            lastEventId,
            signal,
            answer: () => setImmediate(() => resolve(after(lastEventId, topics))),
            miss: () => resolve(undefined),
            fail: reject,
          });
        }),
      stats: () => ({
        state: "ready",
        errors: 0,
        localOnly: 0,
        received: log.length,
        topics: watched.size,
      }),
      close: async () => {},
    },
  };
}
