import { AddressCounts } from "../base/address-counts.js";
import { SSEError } from "../base/errors.js";
import {
  bufferSizeOption,
  callbackOption,
  capOption,
  checkKeys,
  numberOption,
  optionKeys,
  optionsObject,
  slowClientOption,
} from "../base/option-checks.js";
import type { SlowClientPolicy } from "../base/slow-client-policy.js";
import { DEFAULT_BUFFER_SIZE } from "../broker/broker-options.js";
import { DEFAULT_KEEPALIVE_MS } from "../delivery/event-stream.js";
import { FlushScheduler } from "../delivery/flush.js";
import type { SSERequest } from "../transport/sse-request.js";
import { DEFAULT_LIMITS } from "./limits.js";

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
   * A size below 1 is 1 (a stream always holds the event being written).
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
   * with `Retry-After`. 0 (or `Infinity`) means no cap.
   * @default 10000
   */
  maxClients?: number;
  /**
   * Streams of this handler one client address may hold at once; 0 (or
   * `Infinity`) means no cap.
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
   * stream then ends), or when `authorize` throws an error without a 4xx
   * status (after the client was answered a bare 500): a bug, as for
   * the handlers' `onError`.
   * @default an `authorize` bug goes to the framework's error handling with
   *   nothing answered (`next(err)` under express, koa's chain, fastify's
   *   error handler); a producer's error, once the stream started, to what
   *   cannot write (a log line; koa's `ctx.onerror`; fastify's logger);
   *   otherwise it is logged once with `console.error`, with the request's
   *   method and path
   */
  onError?: (error: unknown, req: R) => void;
}

/** Every key of {@link StreamOptions} (a key missing here, or not an option, fails to compile). */
const STREAM_OPTION_KEYS: readonly string[] = optionKeys<StreamOptions>()([
  "keepaliveMs",
  "bufferSize",
  "slowClient",
  "maxClients",
  "maxClientsPerAddress",
  "authorize",
  "onError",
]);

/** A stream handler's options, checked once, and its open streams. @internal */
export class StreamPlan<R> {
  readonly keepaliveMs: number;
  readonly bufferSize: number;
  readonly slowClient: SlowClientPolicy;
  readonly maxClients: number;
  readonly maxClientsPerAddress: number;
  readonly authorize: ((req: R) => boolean | Promise<boolean>) | undefined;
  readonly onError: ((error: unknown, req: R) => void) | undefined;
  /** Flushes this handler's streams once per tick. */
  readonly flusher = new FlushScheduler();
  /** Streams open now, and per address. */
  open = 0;
  private readonly perAddress = new AddressCounts();

  constructor(given: StreamOptions<R> | undefined) {
    const options = optionsObject(given, "stream options", "{ bufferSize: 32 }");
    checkKeys(options, STREAM_OPTION_KEYS, "a stream option");
    this.keepaliveMs = numberOption("keepaliveMs", options.keepaliveMs, {
      fallback: DEFAULT_KEEPALIVE_MS,
      min: 0,
      fraction: true,
      infinity: false,
    });
    this.bufferSize = bufferSizeOption("bufferSize", options.bufferSize, DEFAULT_BUFFER_SIZE);
    this.maxClients = capOption("maxClients", options.maxClients, DEFAULT_LIMITS.maxClients);
    this.maxClientsPerAddress = capOption(
      "maxClientsPerAddress",
      options.maxClientsPerAddress,
      DEFAULT_LIMITS.maxClientsPerAddress,
    );
    this.slowClient = slowClientOption(options.slowClient);
    callbackOption("authorize", options.authorize, "(req) => boolean");
    callbackOption("onError", options.onError, "(error, req) => void");
    this.authorize = options.authorize;
    this.onError = options.onError;
  }

  /** Reserves a slot for one stream from `address`, or throws 503 / 429; returns its release. */
  reserve(address: string | undefined): () => void {
    if (this.open >= this.maxClients) {
      throw new SSEError("sse: too many streams", 503, { headers: { "Retry-After": "5" } });
    }
    const capped = this.maxClientsPerAddress !== Number.POSITIVE_INFINITY && address !== undefined;
    if (capped) this.perAddress.add(address, this.maxClientsPerAddress);
    this.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      if (capped) this.perAddress.remove(address);
    };
  }
}
