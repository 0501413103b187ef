// What the storm's topics hold, and how it gets there: every topic receives
// the same number of events, each naming its topic and sequence number, and
// the ids the broker (or its backplane) gave them are read back by an
// in-process subscriber, so that the load generator knows which id each
// client resumes from and what it must then receive.

const PAD = "x".repeat(64 * 1024);

/** The name of the storm's topic number `t`. */
export const topicName = (t) => `room-${t}`;

/** An event's data: `<topic> <seq> ` and padding up to `size` characters. */
export function eventData(topic, seq, size) {
  const head = `${topic} ${seq} `;
  return head.length >= size ? head : head + PAD.slice(0, size - head.length);
}

/** The topic and sequence number an event's data names (`undefined` for other data). */
export function parseEventData(data) {
  const space = data.indexOf(" ");
  const next = data.indexOf(" ", space + 1);
  if (space <= 0 || next === -1) return undefined;
  const seq = Number(data.slice(space + 1, next));
  return Number.isSafeInteger(seq) ? { topic: data.slice(0, space), seq } : undefined;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Publishes `perTopic` events of `size` characters to each of `topics`
 * topics on `broker`, round by round (event 0 of every topic, then event
 * 1, ...), waiting after every `batch` publishes until an in-process
 * subscriber has received them back (so that neither the backplane's
 * pending queue nor the subscriber's buffer overflows). Returns the ids:
 * `ids[t][seq]`. Throws if an event never came back or came without an id.
 */
export async function seedTopics(broker, { topics, perTopic, size, batch, timeoutMs = 60_000 }) {
  const names = Array.from({ length: topics }, (_, t) => topicName(t));
  const index = new Map(names.map((name, t) => [name, t]));
  const client = broker.subscribe(names);
  let received = 0;
  const backplaneReady = () => {
    const b = broker.stats().backplane;
    return b === undefined || (b.state === "ready" && b.topics >= topics);
  };
  // Fails only when nothing comes back for `timeoutMs`: seeding 500,000 events takes minutes.
  let lastProgress = Date.now();
  let lastCount = -1;
  const waitFor = async (ok, what) => {
    while (!ok()) {
      if (received !== lastCount) {
        lastCount = received;
        lastProgress = Date.now();
      } else if (Date.now() - lastProgress > timeoutMs)
        throw new Error(`seeding: ${what}: nothing for ${timeoutMs} ms (${received} back)`);
      await (broker.stats().backplane === undefined ? turn() : sleep(2));
    }
  };
  await waitFor(backplaneReady, "the backplane's subscription to every topic");
  const ids = names.map(() => new Array(perTopic));
  const reading = (async () => {
    for await (const event of client) {
      const parsed = parseEventData(event.data ?? "");
      if (parsed === undefined || !index.has(parsed.topic)) continue;
      ids[index.get(parsed.topic)][parsed.seq] = event.id;
      received++;
      if (received === topics * perTopic) return;
    }
  })();
  let published = 0;
  for (let seq = 0; seq < perTopic; seq++)
    for (const name of names) {
      broker.publish(name, { data: eventData(name, seq, size) });
      if (++published % batch === 0) await waitFor(() => received >= published, "events back");
    }
  await waitFor(() => received >= published, "every event back");
  await reading;
  broker.unsubscribe(client);
  for (let t = 0; t < topics; t++)
    for (let seq = 0; seq < perTopic; seq++)
      if (typeof ids[t][seq] !== "string" || ids[t][seq] === "")
        throw new Error(`seeding: ${names[t]} event ${seq} came back without an id`);
  if (client.dropped > 0) throw new Error(`seeding: the subscriber dropped ${client.dropped}`);
  return ids;
}
