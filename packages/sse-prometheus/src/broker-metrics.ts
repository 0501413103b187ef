import {
  type BrokerObserver,
  type BrokerStats,
  CLOSE_REASONS,
  type EventBroker,
  REFUSAL_REASONS,
  REPAIR_REASONS,
  SSEOptionError,
} from "@burrow/sse-core";
import { Counter, Gauge, Histogram } from "prom-client";
import { type BrokerMetricsOptions, resolveMetricsOptions } from "./broker-metrics-options.js";

const BACKPLANE_STATES = ["connecting", "ready", "down", "closed"] as const;

/**
 * Exposes `broker`'s figures as Prometheus metrics in a prom-client registry,
 * read from `broker.stats()` at each scrape, plus histograms (fan-out time,
 * time-to-drain, backplane round trip) and the backplane's reconnects fed by
 * the broker's hooks (`broker.observe`). Names follow Prometheus conventions
 * (`_total` counters, seconds); labels take only the fixed values listed in
 * the README, never a topic or a user. Throws an SSEOptionError naming the option
 * for a bad `prefix` or buckets, a key that is not an option (with the
 * closest one: `register` is `registry` here), or a registry given in place
 * of the options; and prom-client's error when a
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
    throw new SSEOptionError(
      "brokerMetrics.broker",
      "must be an EventBroker of @burrow/sse-core",
      broker,
      {
        hint: "pass the broker your handlers serve",
      },
    );
  }
  const { registry, prefix, fanOutBuckets, drainBuckets, roundTripBuckets } =
    resolveMetricsOptions(options);
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
  counter(
    "events_conflated_total",
    "Events of state topics that took the place of an older one queued for a slow client.",
    (s) => s.conflated,
  );
  counter(
    "snapshots_sent_total",
    "Snapshots (or state topics' latest events) sent instead of missed events, by reason.",
    (s) => s.snapshots,
    "reason",
    REPAIR_REASONS,
  );
  counter(
    "snapshot_renders_total",
    "Snapshot renders started (failed ones too); fewer than snapshots sent when one serves several clients.",
    (s) => s.snapshotRenders,
  );
  counter(
    "snapshot_failures_total",
    "Snapshot renders that threw, rejected, timed out or returned no string.",
    (s) => s.snapshotFailures,
  );

  const histogram = (name: string, help: string, buckets: readonly number[]): Histogram => {
    names.push(prefix + name);
    return new Histogram({ name: prefix + name, help, buckets: [...buckets], registers });
  };
  const fanOut = histogram(
    "fanout_duration_seconds",
    "Time to hand one event to this process's clients of its topic.",
    fanOutBuckets,
  );
  const drain = histogram(
    "drain_duration_seconds",
    "Time a slow client's stream was blocked (its connection took no more) until it could write again.",
    drainBuckets,
  );
  const observer: BrokerObserver = {
    published: ({ seconds }) => fanOut.observe(seconds),
    drained: (_client, seconds) => drain.observe(seconds),
  };

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
    names.push(`${prefix}backplane_reconnects_total`);
    const reconnects = new Counter({
      name: `${prefix}backplane_reconnects_total`,
      help: 'Times the backplane link came back ("ready" after "down").',
      registers,
    });
    const roundTrip = histogram(
      "backplane_round_trip_seconds",
      "Time from publish() on this process to the event's return from the backplane in the global order.",
      roundTripBuckets,
    );
    // Down since the link was last ready: its next "ready" is a reconnect (whatever
    // states a backplane passes through on the way, e.g. "connecting").
    let wasDown = broker.stats().backplane?.state === "down";
    observer.backplane = (report) => {
      if (report.kind === "roundTrip") roundTrip.observe(report.seconds);
      else if (report.state === "down") wasDown = true;
      else if (report.state === "ready" && wasDown) {
        wasDown = false;
        reconnects.inc();
      }
    };
  }
  const stopObserving = broker.observe(observer);

  return () => {
    stopObserving();
    for (const name of names) registry.removeSingleMetric(name);
  };
}
