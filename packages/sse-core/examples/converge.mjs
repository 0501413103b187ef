import { EventBroker } from "@burrow/sse-core";

// The app's own state, and how its page renders the notes region.
const notes = [];
const renderNotes = () => notes.map((text) => `<li>${text}</li>`).join("");

const broker = new EventBroker({
  historySize: 100,
  topics: {
    // A log: every note matters. Its snapshot is the region as the page renders it.
    notes: { snapshot: renderNotes, target: "#notes" },
    // State: only the latest status matters.
    status: { kind: "state" },
  },
});

const addNote = (text) => {
  notes.push(text);
  broker.publish("notes", { data: `<li>${text}</li>` });
};

// A tab saw the page at this point, then went to the background...
const seen = await broker.cursor();
// ...while a colleague added 150 notes (more than history holds) and the status changed.
for (let i = 1; i <= 150; i++) addNote(`note ${i}`);
broker.publish("status", { data: "150 notes" });
broker.publish("status", { data: "all synced" });

// It comes back with Last-Event-ID: one snapshot replaces the list, the status is the latest.
const back = broker.subscribe(["notes", "status"], { lastEventId: seen });
for await (const event of back) {
  const shown = event.data.length > 60 ? `${event.data.slice(0, 60)}…` : event.data;
  console.log(event.type, shown);
  if (event.type === "notes") break;
}
console.log(broker.stats().snapshots);
