/**
 * The in-process backplane suites' harness (see `describeBackplane`): what
 * they use of a backplane and of core's `EventBroker`, and how they run
 * against one engine.
 */

/** An event as a broker's client yields it (core's `SSEEvent`). */
export interface SuiteEvent {
  type?: string;
  data?: string;
  id?: string;
}

/** What the in-process suite uses of a backplane (core's `Backplane`). */
export interface SuiteBackplane {
  replay(
    topics: readonly string[],
    lastEventId: string,
  ): Promise<{ events: { topic: string; event: SuiteEvent }[] } | undefined>;
  latest?(): Promise<string | undefined>;
  last?(topic: string): Promise<{ topic: string; event: SuiteEvent; seq: number } | undefined>;
  stats(): { state: string; topics: number; received: number };
  close(): Promise<void>;
}

/** What the in-process suite uses of core's `EventBroker`. */
export interface SuiteBackplaneBroker<C extends AsyncIterable<SuiteEvent>> {
  subscribe(topics: string | string[], options?: { lastEventId?: string; snapshot?: boolean }): C;
  unsubscribe(client: C): void;
  publish(topic: string, event: { data: string; id?: string }): number;
  stats(): { resumed: number; resumeMisses: number };
  cursor(): Promise<string | undefined>;
  close(): void;
}

/** How the in-process suite runs against one backplane. */
export interface BackplaneHarness<C extends AsyncIterable<SuiteEvent>> {
  /** `describe` that skips (or fails under CI) without the engine. */
  describe(name: string, body: () => void): void;
  /** The package, as it starts its messages ("sse-redis"). */
  name: string;
  /** A topic space (prefix) no other test uses. */
  uniquePrefix(): string;
  /** A backplane on `prefix`, on the shared engine, that logs nothing. */
  backplane(prefix: string): SuiteBackplane;
  /** `new EventBroker({ historySize, bufferSize: 1000, backplane, topics })`. */
  broker(
    backplane: SuiteBackplane,
    historySize?: number,
    topics?: Record<string, { kind: "state" }>,
  ): SuiteBackplaneBroker<C>;
  /** How many events the engine stores under `prefix`, by topic (a topic with a store, even empty, is listed). */
  stored(prefix: string): Promise<Record<string, number>>;
  /** Removes what the backplane stored under `prefix`. */
  drop(prefix: string): Promise<void>;
}
