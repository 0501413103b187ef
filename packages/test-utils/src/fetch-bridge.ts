import type { IncomingMessage, RequestListener, ServerResponse } from "node:http";

/** Waits for 'drain', or for 'close' (a client that left never drains). */
function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.removeListener("drain", done);
      res.removeListener("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/**
 * The smallest node:http ↔ fetch adapter (what Hono's node server does): a
 * Request whose signal aborts when the response closes, and the Response body
 * written to `res` with backpressure (a body is read no faster than the
 * socket takes it).
 */
export function fromFetch(fetchListener: (request: Request) => Promise<Response>): RequestListener {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const abort = new AbortController();
    res.once("close", () => abort.abort());
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      for (const v of Array.isArray(value) ? value : [value ?? ""]) headers.append(name, v);
    }
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers,
      signal: abort.signal,
    });
    const response = await fetchListener(request);
    response.headers.forEach((value, name) => {
      res.setHeader(name, value);
    });
    res.writeHead(response.status);
    res.flushHeaders();
    if (response.body === null) {
      res.end();
      return;
    }
    const reader = response.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await drainOrClose(res);
    }
    res.end();
  };
}
