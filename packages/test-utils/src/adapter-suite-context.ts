/**
 * What the parts of the shared adapter suite (see {@link describeAdapter})
 * share inside its one `describe`: the harness, the test's server and
 * clients, and the suite's topic function.
 */
import type { AdapterHarness, SuiteBroker, SuiteTopicsFn } from "./adapter-harness.js";
import { type SuiteServing, suiteServing } from "./suite-serving.js";

/** The harness, the running test's serving, and the suite's topic function. */
export interface AdapterSuiteContext<B extends SuiteBroker, Req, H> {
  readonly harness: AdapterHarness<B, Req, H>;
  /** The test's server and clients, closed after it. */
  readonly served: SuiteServing<Req, H>;
  /** `project:<id>`, from the route parameter `id`. */
  readonly projectTopic: SuiteTopicsFn<Req>;
}

/**
 * Builds the context in the calling `describe`, registering there the
 * `afterEach` of {@link suiteServing}.
 */
export function adapterSuiteContext<B extends SuiteBroker, Req, H>(
  harness: AdapterHarness<B, Req, H>,
): AdapterSuiteContext<B, Req, H> {
  return {
    harness,
    served: suiteServing(harness),
    projectTopic: (req) => `project:${harness.param(req, "id")}`,
  };
}
