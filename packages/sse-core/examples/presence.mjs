import { EventBroker } from "@burrow/sse-core";

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const broker = new EventBroker({
  presence: {
    debounceMs: 1000, // a reload (leave, then join within a second) publishes nothing
    render: ({ members }) =>
      `<ul id="viewing">${members.map((m) => `<li>${escapeHtml(m.data.name)}</li>`).join("")}</ul>`,
  },
});

// What a page's stream watches: "presence:" + the topic.
const viewing = broker.subscribe("presence:project-1");
// What handlers do for each stream whose `presence` option names a member:
const alice = { id: "alice", data: { name: "Alice" } };
broker.subscribe("project-1", { member: alice });
broker.subscribe("project-1", { member: alice }); // a second tab
const bob = broker.subscribe("project-1", { member: { id: "bob", data: { name: "Bob" } } });

for (const m of await broker.members("project-1")) console.log(m.id, m.connections);
broker.unsubscribe(bob); // bob closes his tab: he leaves a second later
for await (const event of viewing) {
  console.log(event.type, event.data);
  if (!event.data.includes("Bob")) break;
}
broker.close();
