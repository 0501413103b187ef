// The sse-core server of the converge scenario (issue #25), loaded by
// server.mjs when BENCH_CONVERGE is set: a broker with one state topic and
// one log topic with a snapshot (or, "plain", the same topics without the
// `topics` option: the behaviour before convergence), every client on both,
// and each stuck client also on a topic of its own that only fills its
// connection until the transport refuses more.

import { now } from "./proc.mjs";

/** The state topic: only its latest event matters. */
export const STATE_TOPIC = "status";
/** The log topic, whose snapshot renders the region whole. */
export const LOG_TOPIC = "notes";
/** Notes the snapshot shows (the region as a page would render it). */
const RECENT_NOTES = 20;
/** A stuck client asks for `/events?stuck=<i>`: its topics add `fill:<i>`. */
const STUCK_QUERY = /[?&]stuck=(\d+)/;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The broker, with the `topics` rules when `rules` is true. A build that
 * refuses the option (before convergence, unknown keys throw) gets a broker
 * without it, and `rules` says so; so does one that takes the option but
 * reports no conflation count (it ignored it).
 */
function brokerOf(EventBroker, rules, topics) {
  if (!rules) return { broker: new EventBroker(), rules: "off" };
  try {
    const broker = new EventBroker({ topics });
    const known = broker.stats().conflated !== undefined;
    return { broker, rules: known ? "on" : "ignored (no stats().conflated)" };
  } catch (err) {
    return { broker: new EventBroker(), rules: `refused (${err?.code ?? err?.name}), run without` };
  }
}

/** True when the connection behind `res` refused more (a write returned false, no drain since). */
function blocked(res) {
  return res.writableNeedDrain === true || res.socket?.writableNeedDrain === true;
}

/**
 * Builds the converge server on `core` (a loaded @burrow/sse-core):
 * `payload(seq, size)` makes an event's data. Returns what server.mjs serves
 * (listener, clients, stats) and the scenario's commands.
 */
export function convergeServer(core, { rules: wanted, payload, maxClients }) {
  const recent = [];
  let renders = 0;
  const topics = {
    [STATE_TOPIC]: { kind: "state" },
    [LOG_TOPIC]: {
      snapshot: () => {
        renders++;
        return recent.map((data) => `<li>${data}</li>`).join("");
      },
      target: "#notes",
    },
  };
  const { broker, rules } = brokerOf(core.EventBroker, wanted, topics);
  const both = [STATE_TOPIC, LOG_TOPIC];
  const topicsOf = (req) => {
    const stuck = STUCK_QUERY.exec(req.url);
    return stuck === null ? both : [...both, `fill:${stuck[1]}`];
  };
  const events = core.handlerFunc(broker, topicsOf, { maxClients });
  /** The responses of the stuck clients, by index. */
  const stuck = new Map();
  let seq = 0;
  let lastStatus = -1;
  const publish = (topic, data) => broker.publish(topic, { data });
  const note = (data) => {
    recent.push(data);
    if (recent.length > RECENT_NOTES) recent.shift();
    publish(LOG_TOPIC, data);
  };

  const listener = (req, res) => {
    if (!req.url.startsWith("/events")) {
      res.writeHead(404).end();
      return;
    }
    const match = STUCK_QUERY.exec(req.url);
    if (match !== null) {
      const i = Number(match[1]);
      stuck.set(i, res);
      res.on("close", () => stuck.delete(i));
    }
    events(req, res);
  };

  const commands = {
    "converge-info": () => ({ rules }),
    /**
     * Fills every stuck client's connection with events of `size` on its
     * own topic until its transport refuses more (and stays so for two
     * checks): from then on, what the scenario publishes waits in the
     * broker for it. Publishes only to clients not blocked, so their queues
     * hold nothing of it.
     */
    "converge-fill": async ({ size, maxRounds = 5000 }) => {
      let bytes = 0;
      let calm = 0;
      for (let round = 0; round < maxRounds; round++) {
        let open = 0;
        for (const [i, res] of stuck) {
          if (blocked(res)) continue;
          open++;
          const data = payload(seq++, size);
          bytes += data.length;
          publish(`fill:${i}`, data);
        }
        calm = open === 0 ? calm + 1 : 0;
        if (calm >= 2) return { rounds: round, bytes, blocked: stuck.size };
        await sleep(open === 0 ? 50 : 2);
      }
      throw new Error(`converge-fill: stuck clients still writable after ${maxRounds} rounds`);
    },
    /**
     * `k` events published back to back in one tick, `states` (< k) of them
     * status, spread evenly, the others notes; notes last (so a client that
     * has every note of the burst has its last status too).
     */
    "converge-burst": ({ k, states, size }) => {
      const t0 = now();
      for (let j = 0; j < k; j++) {
        const s = seq++;
        const back = k - 1 - j;
        if (Math.floor(((back + 1) * states) / k) === Math.floor((back * states) / k))
          note(payload(s, size));
        else {
          lastStatus = s;
          publish(STATE_TOPIC, payload(s, size));
        }
      }
      return { t0, t1: now() };
    },
    /** `k` notes in one tick: more than any client's write budget and buffer hold. */
    "converge-overflow": ({ k, size }) => {
      for (let i = 0; i < k; i++) note(payload(seq++, size));
      return {};
    },
    "converge-stats": () => {
      let blockedNow = 0;
      let bufferedMax = 0;
      for (const res of stuck.values()) {
        if (blocked(res)) blockedNow++;
        const buffered = (res.socket?.writableLength ?? 0) + res.writableLength;
        if (buffered > bufferedMax) bufferedMax = buffered;
      }
      return {
        stats: broker.stats(),
        renders,
        lastStatus,
        stuck: { connected: stuck.size, blocked: blockedNow, bufferedMax },
      };
    },
  };

  return {
    listener,
    clients: () => broker.stats().clients,
    publish: note,
    publishMany: (datas) => {
      for (const data of datas) note(data);
    },
    stats: () => broker.stats(),
    commands,
  };
}
