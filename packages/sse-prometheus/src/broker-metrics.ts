import {
  type BrokerStats,
  CLOSE_REASONS,
  type EventBroker,
  REFUSAL_REASONS,
} from "@burrow/sse-core";
import { Counter, Gauge, register as globalRegistry, Histogram, type Registry } from "prom-client";

/** Options of {@link brokerMetrics}. */
export interface BrokerMetricsOptions {
  /**
   * The prom-client registry the metrics join (your app's `/metrics` serves it).
   * @default prom-client's global `register`
   */
  registry?: Registry;
  /**
   * Prefix of every metric name. Give each broker of one registry its own.
   * @default "burrow_sse_"
   */
  prefix?: string;
  /**
   * Buckets of the fan-out time histogram, in seconds.
   * @default [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1]
   */
  fanOutBuckets?: readonly number[];
}

/** The default prefix of every metric name. */
export const DEFAULT_PREFIX = "burrow_sse_";

const FANOUT_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1];
const BACKPLANE_STATES = ["connecting", "ready", "down", "closed"] as const;

/**
 * Exposes `broker`'s figures as Prometheus metrics in a prom-client registry,
 * read from `broker.stats()` at each scrape (plus a fan-out time histogram
 * fed by the broker's `published` hook). Names follow Prometheus conventions
 * (`_total` counters, seconds); labels take only the fixed values listed in
 * the README, never a topic or a user. Throws prom-client's error when a
 * metric of the same name is already registered (use another `prefix`).
 *
 * @returns a function that removes the metrics from the registry and the hook from the broker.
 *
 * @example
 * ```ts
 * import { register } from "prom-client";
 * import { brokerMetrics } from "@burrow/sse-prometheus";
 *
 * brokerMetrics(broker);
 * app.get("/metrics", async (_req, res) => {
 *   res.type(register.contentType).send(await register.metrics());
 * });
 * ```
 */
export function brokerMetrics(broker: EventBroker, options: BrokerMetricsOptions = {}): () => void {
  if (typeof broker?.stats !== "function" || typeof broker.observe !== "function") {
    throw new TypeError("sse: brokerMetrics: broker must be an EventBroker of @burrow/sse-core");
  }
  const registry = options.registry ?? globalRegistry;
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new TypeError(
      `sse: brokerMetrics: prefix: must match [a-zA-Z_:][a-zA-Z0-9_:]*, got ${JSON.stringify(prefix)}`,
    );
  }
  const registers = [registry];
  const names: string[] = [];
  // One stats() per scrape: prom-client calls every metric's collect() in one
  // synchronous pass, so the snapshot is dropped at the end of the tick.
  let snapshot: BrokerStats | undefined;
  const stats = (): BrokerStats => {
    if (snapshot === undefined) {
      snapshot = broker.stats();
      queueMicrotask(() => {
        snapshot = undefined;
      });
    }
    return snapshot;
  };
  const gauge = (name: string, help: string, read: (s: BrokerStats) => number): void => {
    names.push(prefix + name);
    new Gauge({
      name: prefix + name,
      help,
      registers,
      collect() {
        this.set(read(stats()));
      },
    });
  };
  const counter = <L extends string>(
    name: string,
    help: string,
    read: (s: BrokerStats) => number | Record<string, number>,
    label?: L,
    values?: readonly string[],
  ): void => {
    names.push(prefix + name);
    new Counter({
      name: prefix + name,
      help,
      registers,
      labelNames: label === undefined ? [] : [label],
      collect() {
        const value = read(stats());
        this.reset();
        if (typeof value === "number") this.inc(value);
        else {
          for (const v of values ?? []) {
            this.inc({ [label as string]: v } as Partial<Record<L, string>>, value[v] ?? 0);
          }
        }
      },
    });
  };

  gauge("clients", "Clients connected now.", (s) => s.clients);
  gauge("topics", "Topics with at least one client now.", (s) => s.topics);
  gauge(
    "presence_members",
    "Presence members now, counted once per topic they are on.",
    (s) => s.members,
  );
  counter("connections_opened_total", "Clients subscribed (streams opened).", (s) => s.opened);
  counter(
    "connections_refused_total",
    "Requests refused before subscribing, by reason.",
    (s) => s.refused,
    "reason",
    REFUSAL_REASONS,
  );
  counter(
    "connections_closed_total",
    "Clients ended, by reason.",
    (s) => s.closed,
    "reason",
    CLOSE_REASONS,
  );
  counter("events_published_total", "publish() calls accepted.", (s) => s.published);
  counter(
    "events_delivered_total",
    "Events handed to clients (written or queued).",
    (s) => s.delivered,
  );
  counter(
    "events_dropped_total",
    "Events lost to full client buffers, by the broker's slow-client policy.",
    (s) => ({ [broker.slowClient]: s.dropped }),
    "policy",
    [broker.slowClient],
  );
  counter("resumes_total", "Subscriptions resumed from history.", (s) => s.resumed);
  counter(
    "resume_misses_total",
    "Subscriptions whose Last-Event-ID could not be resumed without a gap.",
    (s) => s.resumeMisses,
  );
  counter(
    "slow_disconnects_total",
    'Clients ended because they fell behind (policy "disconnect").',
    (s) => s.slowDisconnects,
  );

  names.push(`${prefix}fanout_duration_seconds`);
  const fanOut = new Histogram({
    name: `${prefix}fanout_duration_seconds`,
    help: "Time to hand one event to this process's clients of its topic.",
    buckets: [...(options.fanOutBuckets ?? FANOUT_BUCKETS)],
    registers,
  });
  const stopObserving = broker.observe({ published: ({ seconds }) => fanOut.observe(seconds) });

  if (broker.stats().backplane !== undefined) {
    names.push(`${prefix}backplane_state`);
    new Gauge({
      name: `${prefix}backplane_state`,
      help: "The backplane link's state: 1 for the current one, 0 for the others.",
      labelNames: ["state"],
      registers,
      collect() {
        const state = stats().backplane?.state;
        for (const s of BACKPLANE_STATES) this.set({ state: s }, s === state ? 1 : 0);
      },
    });
    counter(
      "backplane_errors_total",
      "Times the backplane link went down or failed to come up.",
      (s) => s.backplane?.errors ?? 0,
    );
    counter(
      "backplane_local_only_total",
      "Events published while the backplane was not ready, delivered on this process only.",
      (s) => s.backplane?.localOnly ?? 0,
    );
    counter(
      "backplane_received_total",
      "Events received through the backplane.",
      (s) => s.backplane?.received ?? 0,
    );
  }

  return () => {
    stopObserving();
    for (const name of names) registry.removeSingleMetric(name);
  };
}
