/**
 * The behaviour every framework adapter (`@burrow/sse-express`,
 * `@burrow/sse-koa`, `@burrow/sse-fastify`) must show, as one vitest suite
 * run against each: the adapter's test supplies how its framework mounts
 * routes and how a topic function reads the request; the suite checks, on a
 * real server with the `eventsource` client, that the translation reaches
 * core. Its cases live in one file a concern, composed here.
 */
import { describe } from "vitest";
import { adapterConnectionCases } from "./adapter-connection-cases.js";
import { adapterErrorCases } from "./adapter-error-cases.js";
import { adapterHandlerCases } from "./adapter-handler-cases.js";
import type { AdapterHarness, SuiteBroker } from "./adapter-harness.js";
import { adapterSuiteContext } from "./adapter-suite-context.js";
import { describeAwaitedReplay } from "./awaited-replay-suite.js";
import { describeHtmx } from "./htmx-suite.js";
import { describePresence } from "./presence-suite.js";
import { describeSnapshots } from "./snapshot-suite.js";

/** Runs the shared adapter suite against `harness`. */
export function describeAdapter<B extends SuiteBroker, Req, H>(
  name: string,
  harness: AdapterHarness<B, Req, H>,
): void {
  describe(`${name}: shared adapter behaviour`, () => {
    const context = adapterSuiteContext(harness);
    adapterHandlerCases(context);
    adapterErrorCases(context);
    adapterConnectionCases(context);
  });

  describeHtmx(name, harness);
  describePresence(name, harness);
  describeSnapshots(name, harness);
  describeAwaitedReplay(name, harness);
}
