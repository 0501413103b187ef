import { EventBroker } from "@burrow/sse-core";
import { brokerMetrics } from "@burrow/sse-prometheus";
import { register } from "prom-client";

const broker = new EventBroker();
brokerMetrics(broker); // joins prom-client's default registry, which your /metrics serves

const client = broker.subscribe("news");
broker.publish("news", { data: "<li>hello</li>" });
broker.unsubscribe(client);

const exposition = await register.metrics(); // what GET /metrics answers
const shown =
  /^burrow_sse_(clients|connections_opened_total|connections_closed_total\{reason="client"\}|events_published_total) /;
for (const line of exposition.split("\n")) if (shown.test(line)) console.log(line);
