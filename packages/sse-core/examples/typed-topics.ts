import { EventBroker, handler, handlerFunc } from "@burrow/sse-core";

// HTML the app has escaped: only its own escape function makes one.
type Html = string & { readonly __brand: "Html" };
const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`) as Html;

// Every topic the app publishes on, and the type of its data.
type AppTopics = {
  notes: Html;
  status: string;
  [project: `project:${string}`]: Html;
};

const broker = new EventBroker<AppTopics>();

// Handlers take only declared topics; a swap map only the handler's own.
export const events = handler(broker, ["notes", "status"], {
  swap: { notes: { target: "#notes", swap: "beforeend" }, status: "#status" },
});
export const projectEvents = handlerFunc(broker, (req) => {
  const id = new URL(req.url ?? "/", "http://localhost").searchParams.get("id");
  return `project:${id}`;
});

// @ts-expect-error "note" is not a declared topic
broker.publish("note", { data: escapeHtml("typo") });
// @ts-expect-error notes carries Html: this string was never escaped
broker.publish("notes", { data: "<b>raw</b>" });
// @ts-expect-error "project-42" matches no declared topic
handler(broker, "project-42");

const watcher = broker.subscribe(["notes", "project:42"]);
broker.publish("project:42", { data: escapeHtml("Build <passed>") });
for await (const event of watcher) {
  console.log(event.type, event.data); // project:42 Build &#60;passed&#62;
  break;
}
broker.close();
