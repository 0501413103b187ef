import { once } from "node:events";
import { createServer, type Socket, connect as tcpConnect } from "node:net";

/** A TCP proxy on loopback in front of a server (Redis, PostgreSQL, an app), for fault tests. */
export interface TcpProxy {
  /** The target's URL with the proxy's host and port. */
  url: string;
  /** Sends every new connection to `target` (a URL) instead, and drops every open one (a load balancer's switch). */
  switchTo(target: string): void;
  /** Drops every connection through the proxy and refuses new ones (closed at once) until {@link restore}. */
  cut(): void;
  /** Lets connections through again. */
  restore(): void;
  /** Drops every connection and stops listening. */
  close(): void;
}

/**
 * Proxies connections to the server at `target` (a URL). What the client
 * sends passes unchanged; what the server answers goes through
 * `answer(client)(chunk)`, by default straight to the client: a test can
 * delay it, or destroy the client instead (an answer lost).
 */
export async function tcpProxy(
  target: string,
  answer: (client: Socket) => (chunk: Buffer) => void = (client) => (chunk) => {
    client.write(chunk);
  },
): Promise<TcpProxy> {
  let to = new URL(target);
  const defaultPort = () => (to.protocol.startsWith("redis") ? 6379 : 5432);
  const sockets = new Set<Socket>();
  let refusing = false;
  const proxy = createServer((client) => {
    if (refusing) return void client.destroy();
    const server = tcpConnect(Number(to.port || defaultPort()), to.hostname);
    for (const socket of [client, server]) {
      sockets.add(socket);
      socket.on("error", () => {});
      socket.on("close", () => {
        sockets.delete(socket);
        client.destroy();
        server.destroy();
      });
    }
    client.pipe(server);
    server.on("data", answer(client));
  });
  proxy.listen(0, "127.0.0.1");
  await once(proxy, "listening");
  const url = new URL(target);
  url.host = `127.0.0.1:${(proxy.address() as { port: number }).port}`;
  const dropAll = () => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    url: url.toString(),
    switchTo: (next) => {
      to = new URL(next);
      dropAll();
    },
    cut: () => {
      refusing = true;
      dropAll();
    },
    restore: () => {
      refusing = false;
    },
    close: () => {
      dropAll();
      proxy.close();
    },
  };
}

/** A {@link TcpProxy} whose answers can be held, then passed on in order. */
export interface HoldingProxy extends TcpProxy {
  /** Holds the answers chosen (see {@link holdingProxy}) from now on. */
  hold(): void;
  /** Whether an answer held since {@link hold} contains `text`. */
  holds(text: string): boolean;
  /** Passes on what was held, and holds nothing more. */
  release(): void;
}

/**
 * A proxy to `target` (a URL) that, once {@link HoldingProxy.hold} is
 * called, holds every answer for which `chosen(client, chunk)` is true
 * (called for every answer, held or not, so that it can tell connections
 * apart by what they were answered): a server slow on one connection.
 */
export async function holdingProxy(
  target: string,
  chosen: (client: Socket, chunk: Buffer) => boolean = () => true,
): Promise<HoldingProxy> {
  let held: (() => void)[] | undefined;
  let chunks: Buffer[] = [];
  const proxy = await tcpProxy(target, (client) => (chunk) => {
    if (!chosen(client, chunk) || held === undefined) return void client.write(chunk);
    chunks.push(chunk);
    held.push(() => client.write(chunk));
  });
  return {
    ...proxy,
    hold: () => {
      held = [];
      chunks = [];
    },
    holds: (text) => chunks.some((chunk) => chunk.includes(text)),
    release: () => {
      const writes = held ?? [];
      held = undefined;
      for (const write of writes) write();
    },
  };
}
