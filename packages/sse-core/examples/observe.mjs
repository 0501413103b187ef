import { EventBroker } from "@burrow/sse-core";

const broker = new EventBroker({ bufferSize: 1, slowClient: "disconnect" });
broker.observe({
  opened: (client) => console.log("opened", client.topics.join(",")),
  dropped: (client) => console.log("dropped", client.topics.join(",")),
  closed: (client, reason) => console.log("closed", client.topics.join(","), reason),
});
const reader = broker.subscribe("news"); // never read: it falls behind
broker.publish("news", { data: "one" });
broker.publish("news", { data: "two" });
await reader.done;
console.log(broker.stats().closed);
