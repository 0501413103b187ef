import type { IncomingMessage, ServerResponse } from "node:http";
import { listen } from "./server.js";

/** `handlerFunc` of `@burrow/sse-core` (passed in: this package does not depend on core). */
export type TopicHandlerFunc<B> = (
  broker: B,
  topicsFn: (req: IncomingMessage) => string,
  options: { topicPattern: RegExp },
) => (req: IncomingMessage, res: ServerResponse) => unknown;

/**
 * How a stream handler of `broker` that lets any topic name through its
 * limits (`topicPattern` `/^[\s\S]+$/`, the topic read from `?topic=`)
 * answers a request for `topic`: its status and body (none for a stream,
 * 200, which is closed at once). For tests of topics the broker itself must
 * refuse (with 400).
 */
export async function topicAnswer<B>(
  handlerFunc: TopicHandlerFunc<B>,
  broker: B,
  topic: string,
): Promise<{ status: number; body: string }> {
  const events = handlerFunc(
    broker,
    (req) => new URL(req.url ?? "/", "http://x").searchParams.get("topic") ?? "",
    { topicPattern: /^[\s\S]+$/ },
  );
  const server = await listen((req, res) => void events(req, res));
  try {
    const answer = await fetch(`${server.url}/?topic=${encodeURIComponent(topic)}`);
    // A stream (200) never ends: its body is not read.
    if (answer.status === 200) await answer.body?.cancel();
    return { status: answer.status, body: answer.status === 200 ? "" : await answer.text() };
  } finally {
    await server.close();
  }
}
