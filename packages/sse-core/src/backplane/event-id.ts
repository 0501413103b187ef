/**
 * The ids a backplane gives the events it orders, `<epoch>-<seq>`, and the
 * origin it stamps on a publish, `<process>:<publish number>`: written and
 * read back the same way by every engine. Reading never throws, whatever
 * another program wrote.
 */

/**
 * The id of the event at `seq` in `epoch`: `<epoch>-<seq>`.
 *
 * @example
 * ```ts
 * formatEventId("mwyyxavba70d", 1); // "mwyyxavba70d-1"
 * ```
 */
export function formatEventId(epoch: string, seq: number): string {
  return `${epoch}-${seq}`;
}

/**
 * The epoch and seq of an id a backplane assigned (`<epoch>-<seq>`, epoch
 * of `0-9a-z`); undefined for any other id (explicit, malformed, a seq past
 * the safe integers): a `Last-Event-ID` the backplane cannot resume from.
 *
 * @example
 * ```ts
 * parseEventId("mwyyxavba70d-1"); // { epoch: "mwyyxavba70d", seq: 1 }
 * parseEventId("order-42-x"); // undefined
 * ```
 */
export function parseEventId(id: string): { epoch: string; seq: number } | undefined {
  const match = /^([0-9a-z]+)-(\d+)$/.exec(id);
  if (match === null) return undefined;
  const seq = Number(match[2]);
  return Number.isSafeInteger(seq) ? { epoch: match[1]!, seq } : undefined;
}

/**
 * A publish's origin, stored and sent with its event: `<process>:<nonce>`,
 * so that a process tells its own publishes apart when they come back.
 *
 * @example
 * ```ts
 * formatOrigin("3f2a9c", 7); // "3f2a9c:7"
 * ```
 */
export function formatOrigin(process: string, nonce: number): string {
  return `${process}:${nonce}`;
}

/**
 * The publish number in `origin` when `process` published it; undefined for
 * another process's publish, or an origin that is not one.
 *
 * @example
 * ```ts
 * ownNonce("3f2a9c:7", "3f2a9c"); // 7
 * ownNonce("77aa01:7", "3f2a9c"); // undefined
 * ```
 */
export function ownNonce(origin: string, process: string): number | undefined {
  const colon = origin.indexOf(":");
  if (colon === -1 || origin.slice(0, colon) !== process) return undefined;
  const text = origin.slice(colon + 1);
  const nonce = Number(text);
  return /^\d+$/.test(text) && Number.isSafeInteger(nonce) ? nonce : undefined;
}
