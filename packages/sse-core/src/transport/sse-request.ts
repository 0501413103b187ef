import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";

/** A request a handler accepts: `node:http`'s, or `node:http2`'s compatibility one. */
export type SSERequest = IncomingMessage | Http2ServerRequest;
/** A response a handler writes: `node:http`'s, or `node:http2`'s compatibility one. */
export type SSEResponse = ServerResponse | Http2ServerResponse;

/** Either response, with the members of both, for code that reads what both have. @internal */
export type AnyResponse = ServerResponse & Http2ServerResponse;
