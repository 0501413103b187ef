import { DEFAULT_BUFFER_SIZE } from "./broker.js";
import type { SlowClientPolicy } from "./client.js";
import { SSEError, SSEOptionError } from "./errors.js";
import { DEFAULT_KEEPALIVE_MS } from "./event-stream.js";
import { DEFAULT_LIMITS } from "./limits.js";
import type { SSERequest } from "./node-handler.js";

/** Options of {@link streamHandler} and the adapters' `streamHandler`. */
export interface StreamOptions<R = SSERequest> {
  /**
   * Interval of the `:keepalive` comment, in milliseconds; 0 turns it off.
   * @default 30000
   */
  keepaliveMs?: number;
  /**
   * Events a stream may hold while its connection cannot take them (a
   * producer that does not await `send`); past it, `slowClient` applies.
   * @default 16
   */
  bufferSize?: number;
  /**
   * What happens to an event sent while `bufferSize` events wait:
   * `"drop-newest"` (the new one is not sent, `send` resolves false),
   * `"drop-oldest"`, or `"disconnect"` (the stream ends).
   * @default "drop-newest"
   */
  slowClient?: SlowClientPolicy;
  /**
   * Streams of this handler open at once; past it, requests are answered 503
   * with `Retry-After`.
   * @default 10000
   */
  maxClients?: number;
  /**
   * Streams of this handler one client address may hold at once (0: no cap).
   * @default 0
   */
  maxClientsPerAddress?: number;
  /**
   * Called with the request before anything is sent: false answers 403, a
   * thrown error with a `status` answers that status.
   * @default undefined (everyone may)
   */
  authorize?: (req: R) => boolean | Promise<boolean>;
  /**
   * Told when a producer throws or rejects (after the 200 was sent: the
   * stream then ends).
   * @default logs the error with the request's method and path on `console.error`
   */
  onError?: (error: unknown, req: R) => void;
}

const KNOWN_OPTIONS = new Set([
  "keepaliveMs",
  "bufferSize",
  "slowClient",
  "maxClients",
  "maxClientsPerAddress",
  "authorize",
  "onError",
]);

function count(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (
    typeof value !== "number" ||
    !(value === Number.POSITIVE_INFINITY || (Number.isSafeInteger(value) && value >= min))
  ) {
    throw new SSEOptionError(name, `must be an integer of at least ${min} (or Infinity)`, value);
  }
  return value;
}

function callback(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new SSEOptionError(name, "must be a function", value);
  }
}

/** A stream handler's options, checked once, and its open streams. @internal */
export class StreamPlan<R> {
  readonly keepaliveMs: number;
  readonly bufferSize: number;
  readonly slowClient: SlowClientPolicy;
  readonly maxClients: number;
  readonly maxClientsPerAddress: number;
  readonly authorize: ((req: R) => boolean | Promise<boolean>) | undefined;
  readonly onError: (error: unknown, req: R) => void;
  /** Streams open now, and per address. */
  open = 0;
  readonly perAddress = new Map<string, number>();

  constructor(options: StreamOptions<R>) {
    if (typeof options !== "object" || options === null) {
      throw new SSEOptionError("options", "must be an object of stream options", options);
    }
    for (const key of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(key)) {
        throw new SSEOptionError(
          key,
          `is not a stream option (known: ${[...KNOWN_OPTIONS].join(", ")})`,
          (options as Record<string, unknown>)[key],
        );
      }
    }
    this.keepaliveMs = count("keepaliveMs", options.keepaliveMs, DEFAULT_KEEPALIVE_MS, 0);
    this.bufferSize = count("bufferSize", options.bufferSize, DEFAULT_BUFFER_SIZE, 1);
    this.maxClients = count("maxClients", options.maxClients, DEFAULT_LIMITS.maxClients, 0);
    this.maxClientsPerAddress = count(
      "maxClientsPerAddress",
      options.maxClientsPerAddress,
      DEFAULT_LIMITS.maxClientsPerAddress,
      0,
    );
    const policy = options.slowClient ?? "drop-newest";
    if (policy !== "drop-newest" && policy !== "drop-oldest" && policy !== "disconnect") {
      throw new SSEOptionError(
        "slowClient",
        'must be "drop-newest", "drop-oldest" or "disconnect"',
        policy,
      );
    }
    this.slowClient = policy;
    callback("authorize", options.authorize);
    callback("onError", options.onError);
    this.authorize = options.authorize;
    this.onError = options.onError ?? logProducerError;
  }

  /** Takes a slot for one stream from `address`, or throws 503 / 429; returns its release. */
  take(address: string | undefined): () => void {
    if (this.open >= this.maxClients) {
      throw new SSEError("sse: too many streams", 503, { headers: { "Retry-After": "5" } });
    }
    const capped = this.maxClientsPerAddress > 0 && address !== undefined;
    const mine = capped ? (this.perAddress.get(address) ?? 0) : 0;
    if (capped && mine >= this.maxClientsPerAddress) {
      throw new SSEError(
        `sse: too many streams from this address (at most ${this.maxClientsPerAddress})`,
        429,
      );
    }
    this.open++;
    if (capped) this.perAddress.set(address, mine + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      if (!capped) return;
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left === 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    };
  }
}

function logProducerError(error: unknown, req: unknown): void {
  const { method, url } = (req ?? {}) as { method?: string; url?: string };
  const where = method === undefined ? "" : ` (${method} ${url ?? ""})`;
  console.error(`sse: a stream producer failed${where}:`, error);
}
