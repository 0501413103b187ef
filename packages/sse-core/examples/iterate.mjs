import { EventBroker } from "@burrow/sse-core";

const broker = new EventBroker();
const client = broker.subscribe(["orders", "alerts"]);

setTimeout(() => {
  broker.publish("orders", { id: "1", data: "order #1 paid" });
  broker.publish("alerts", { data: "disk almost full" });
  broker.close();
});

for await (const event of client) {
  console.log(`${event.type}: ${event.data}`);
}
console.log("dropped:", client.dropped);
