/** Real servers on loopback for the tests, and their cleanup. */
import { once } from "node:events";
import { createServer, type RequestListener, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach } from "vitest";

/** A server listening on 127.0.0.1 on a free port. */
export interface TestServer {
  server: Server;
  port: number;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Closes the server, dropping any connection still open. */
  close(): Promise<void>;
}

/**
 * Starts `listenerOrServer` on 127.0.0.1 on a free port, or on `port` (a
 * restarted server taking its predecessor's port).
 */
export async function listen(
  listenerOrServer: RequestListener | Server,
  port = 0,
): Promise<TestServer> {
  const server =
    typeof listenerOrServer === "function" ? createServer(listenerOrServer) : listenerOrServer;
  server.listen(port, "127.0.0.1");
  await once(server, "listening");
  const { port: bound } = server.address() as AddressInfo;
  return {
    server,
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Registers an `afterEach` that runs, newest first, every cleanup pushed onto
 * the returned list during a test (so clients close before their server).
 */
export function cleanupAfterEach(): (() => unknown)[] {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  return cleanups;
}
