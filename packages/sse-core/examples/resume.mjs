import { EventBroker } from "@burrow/sse-core";

const broker = new EventBroker({ historySize: 100, resumeMissEvent: "resync" });

// A browser watches "chat" and sees the first message...
const first = broker.subscribe("chat");
broker.publish("chat", { data: "hello" });
const { value: seen } = await first[Symbol.asyncIterator]().next();
broker.unsubscribe(first); // ...then its connection drops.

broker.publish("chat", { data: "you missed this" });
broker.publish("chat", { data: "and this" });

// It reconnects with Last-Event-ID: what it missed comes first, then live events.
const back = broker.subscribe("chat", { lastEventId: seen.id });
broker.publish("chat", { data: "live again" });
let n = 0;
for await (const event of back) {
  console.log(event.data);
  if (++n === 3) break;
}
console.log(broker.stats().resumed, "resumed");
