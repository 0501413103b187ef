// app/events/route.js in a Next.js app (App Router): route handlers are plain
// functions from a Request to a Response, so fetchHandler is one already.
import { EventBroker, fetchHandler } from "@burrow/sse-core";

// One broker per server process; keep it in a module of its own in a real app.
export const broker = new EventBroker({ historySize: 100 });

// Never cache or pre-render a stream.
export const dynamic = "force-dynamic";

export const GET = fetchHandler(broker, "notifications");

export async function POST(request) {
  const form = await request.formData();
  const title = String(form.get("title") ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  broker.publish("notifications", { data: `<li>${title}</li>` });
  return new Response(null, { status: 204 });
}
