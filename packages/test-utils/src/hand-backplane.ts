/** A backplane link's state (`BackplaneState` of `@burrow/sse-core`). */
export type HandState = "connecting" | "ready" | "down" | "closed";

/** What a broker's backplane host may be told (`BackplaneReport` of `@burrow/sse-core`). */
export type HandReport =
  | { kind: "state"; state: HandState; previous: HandState }
  | { kind: "roundTrip"; seconds: number };

/** A backplane written by hand, that a test drives: see {@link handBackplane}. */
export interface HandBackplane {
  /** Pass it as the broker's `backplane`: it carries no event anywhere. */
  backplane: {
    attach(host: { report?(report: HandReport): void }): void;
    publish(topic: string): void;
    watch(topic: string): void;
    unwatch(): void;
    replay(): Promise<undefined>;
    stats(): {
      state: HandState;
      errors: number;
      localOnly: number;
      received: number;
      topics: number;
    };
    close(): Promise<void>;
    /** The `topicProblem` given to {@link handBackplane}, if any. */
    topicProblem?(topic: string): string | undefined;
  };
  /** Topics the broker asked it to watch, in order. */
  readonly watched: string[];
  /** Topics the broker published to through it, in order. */
  readonly published: string[];
  /** The host's `report`, once attached (undefined if the host has none). */
  readonly report: ((report: HandReport) => void) | undefined;
  /** Moves the link to `next` (what `stats()` says), reporting the change to the host. */
  to(next: HandState): void;
  /** Reports a publish's round trip to the host. */
  roundTrip(seconds: number): void;
}

/**
 * A backplane of `@burrow/sse-core`'s interface written by hand, for tests of
 * what a broker does with a backplane's reports and stats: the test moves its
 * state and reports round trips as a real backplane would (`host.report`).
 * `counters` override the counters its `stats()` returns (0 otherwise);
 * `topicProblem`, when given, is its `topicProblem` (the topics it refuses).
 */
export function handBackplane(
  state: HandState = "connecting",
  counters: { errors?: number; localOnly?: number; received?: number } = {},
  topicProblem?: (topic: string) => string | undefined,
): HandBackplane {
  let host: { report?(report: HandReport): void } | undefined;
  const watched: string[] = [];
  const published: string[] = [];
  const hand: HandBackplane = {
    backplane: {
      attach: (h) => {
        host = h;
      },
      publish: (topic) => {
        published.push(topic);
      },
      watch: (topic) => {
        watched.push(topic);
      },
      unwatch: () => {},
      replay: async () => undefined,
      stats: () => ({ state, errors: 0, localOnly: 0, received: 0, topics: 0, ...counters }),
      close: async () => {},
      ...(topicProblem === undefined ? {} : { topicProblem }),
    },
    watched,
    published,
    get report() {
      return host?.report?.bind(host);
    },
    to(next) {
      const previous = state;
      state = next;
      host?.report?.({ kind: "state", state: next, previous });
    },
    roundTrip(seconds) {
      host?.report?.({ kind: "roundTrip", seconds });
    },
  };
  return hand;
}
