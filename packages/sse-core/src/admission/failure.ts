import type { SSERequest, SSEResponse } from "../transport/sse-request.js";
import { answerError, errorAnswer } from "./answers.js";
import { connectionState } from "./connection.js";
import { readableThrown, reportError } from "./error-reports.js";

/** How a handler settles a failure before its stream started. @internal */
export interface Failure<R> {
  req: SSERequest;
  res: SSEResponse;
  /** The framework answers bugs (its hooks' `propagate`, and no `onError` was given). */
  propagate: boolean;
  /** Takes the response over from the framework (idempotent). */
  takeOver(): void;
  /** False when the client is known to have left: nothing is written. */
  answerable: boolean;
  /** Headers added to the answer (e.g. `Connection: close` after shutdown). */
  extraHeaders?: Readonly<Record<string, string>>;
  /** Where a bug is reported when it is answered here. */
  report(error: unknown, subject: R): void;
  subject: R;
}

/**
 * The one failure path of broker streams and request streams: whatever was
 * thrown is read safely; a bug the framework answers is returned, with
 * nothing written, for the caller to throw; anything else takes the
 * response over, is answered (unless the client is gone) and, for a bug,
 * reported. Returns undefined once settled here. @internal
 */
export function settleFailure<R>(thrown: unknown, failure: Failure<R>): unknown {
  const error = readableThrown(thrown);
  const { status, message, headers, report } = errorAnswer.of(error);
  if (report && failure.propagate && !failure.res.headersSent) return error;
  failure.takeOver();
  if (failure.answerable && connectionState(failure.req, failure.res) !== "gone") {
    const extra = failure.extraHeaders;
    answerError(
      failure.res,
      status,
      message,
      extra === undefined ? headers : { ...headers, ...extra },
    );
  }
  if (report) reportError(failure.report, error, failure.subject);
  return undefined;
}
