import { SSEError } from "../base/errors.js";
import type { EventBroker } from "../broker/broker.js";
import type { RefusalReason } from "../broker/observer.js";
import type { Subscription } from "../delivery/subscription.js";
import type { SwapFormat } from "../wire/swap.js";
import { warnUntargeted } from "../wire/swap-keys.js";
import { checkLastEventId, checkTopicLimits } from "../wire/topic-limits.js";
import { normalizeTopics, type TopicsSource } from "../wire/topics.js";
import { errorAnswer } from "./answers.js";
import type { HandlerPlan } from "./handler-options.js";
import { formatFor } from "./request-format.js";

/** What a request asks for, read off whichever request type a handler serves. @internal */
export interface StreamRequest {
  method: string | undefined;
  lastEventId: string | undefined;
  /** The client's address, for the per-address cap; undefined where unknown or without that cap. */
  address: string | undefined;
  /**
   * True for a request htmx sent (`HX-Request` header), which cannot be an
   * `EventSource`: htmx 4 retries every half second after a 2xx answer, so a
   * closed broker answers it 503 instead of an empty stream; a handler
   * without `swap` sends it htmx 4's messages.
   */
  htmx?: boolean;
  /** The fix a missing broker's message names, in the adapter's words; default core's. */
  noBrokerFix?: string;
}

/** A request admitted to stream: its topics, and the slot reserved for it. @internal */
export interface Admission {
  broker: EventBroker;
  topics: readonly string[];
  /** The format its stream is sent in (see {@link formatFor}); undefined: named events. */
  format: SwapFormat | undefined;
  /** Opens the stream's subscription in its reserved slot (held until the client leaves). */
  open(lastEventId: string | undefined): Subscription;
  /** Gives the slot back when the stream will not be subscribed. Idempotent; no-op after subscribe. */
  cancel(): void;
}

/**
 * The id a reconnecting client last saw: the `Last-Event-ID` header, or a
 * `lastEventId` query parameter for clients that cannot set headers (htmx
 * rebuilds its EventSource without it).
 * @internal
 */
export function lastEventIdOf(
  header: string | string[] | null | undefined,
  url: string | undefined,
): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value) return value;
  if (url === undefined) return undefined;
  const q = url.indexOf("?");
  if (q === -1) return undefined;
  return new URLSearchParams(url.slice(q + 1)).get("lastEventId") || undefined;
}

/**
 * Everything a request must pass before it is subscribed, in order: the
 * method (405), a broker (500), its topics (a topic function's own status,
 * 400 for a bad list or one past the limits), its `Last-Event-ID` (400),
 * `authorize` (403), and room for one more client (503 / 429), whose slot it
 * reserves from the broker's own ({@link EventBroker.slots}). Throws an error that `errorAnswer.of` turns into the answer; the
 * broker counts the refusal by its reason. @internal
 */
export async function admitRequest<R>(
  request: StreamRequest,
  broker: EventBroker | undefined,
  topics: TopicsSource,
  plan: HandlerPlan<R>,
  subject: R,
): Promise<Admission> {
  const stage: { reason: RefusalReason } = { reason: "bad_request" };
  try {
    return await checkRequest(request, broker, topics, plan, subject, stage);
  } catch (err) {
    if (broker !== undefined) {
      const { status, message } = errorAnswer.of(err);
      broker.refuse(status === 400 || status === 405 ? "bad_request" : stage.reason, {
        status,
        message,
      });
    }
    throw err;
  }
}

async function checkRequest<R>(
  request: StreamRequest,
  broker: EventBroker | undefined,
  topics: TopicsSource,
  plan: HandlerPlan<R>,
  subject: R,
  stage: { reason: RefusalReason },
): Promise<Admission> {
  const { limits, authorize } = plan;
  if (request.method !== undefined && request.method !== "GET") {
    throw new SSEError("sse: method not allowed", 405, { headers: { Allow: "GET" } });
  }
  if (broker === undefined) throw errorAnswer.noBroker(request.noBrokerFix);
  stage.reason = "limit";
  if (broker.closed && request.htmx === true) throw errorAnswer.shuttingDown();
  stage.reason = "error";
  const list = normalizeTopics(typeof topics === "function" ? await topics() : topics);
  checkTopicLimits(list, limits);
  checkLastEventId(request.lastEventId, limits);
  stage.reason = "authorize";
  if (authorize !== undefined && !(await authorize(subject, withSources(list, broker)))) {
    throw new SSEError("sse: forbidden", 403);
  }
  stage.reason = "error";
  const member =
    plan.presence === undefined
      ? undefined
      : broker.roster.admit(await plan.presence(subject), "presence");
  stage.reason = "limit";
  const slot = broker.slots.reserve(request.address, limits);
  const format = formatFor(plan, request.htmx === true, list);
  return {
    broker,
    topics: list,
    format,
    open(lastEventId) {
      const snapshot = plan.snapshotOnConnect && !lastEventId;
      const own = plan.snapshot;
      const renderSnapshot = own && ((topic: string) => own(topic, subject));
      const options = { lastEventId, member, snapshot, renderSnapshot };
      const client = broker.open(list, options, format);
      slot.fill(client);
      // A topic function's topics are known only now (a handler's static ones were checked at creation).
      if (format !== undefined) warnUntargeted(format, list);
      return client;
    },
    cancel: slot.cancel,
  };
}

/**
 * `topics`, plus the topic each presence topic among them carries: a topic's
 * presence is visible only to whom `authorize` allows on the topic itself.
 */
function withSources(topics: readonly string[], broker: EventBroker): readonly string[] {
  let out: string[] | undefined;
  for (const topic of topics) {
    const source = broker.presenceSourceOf(topic);
    if (source === undefined || topics.includes(source) || out?.includes(source)) continue;
    out ??= [...topics];
    out.push(source);
  }
  return out ?? topics;
}
