import { createHash } from "node:crypto";
import type { SSEEvent } from "@burrow/sse-core";

/**
 * How events travel through PostgreSQL: their JSON in ASCII only (so that a
 * length in characters is a length in bytes, whatever the database's
 * encoding), channel names derived from topics, and notifications put back
 * together from their chunks. Internal.
 */

/** An event's JSON with every non-ASCII UTF-16 unit escaped (`\uXXXX`): what is stored and notified. */
export function eventJson(event: SSEEvent): string {
  return JSON.stringify(event).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/**
 * The notification channel of `topic`: the prefix and 128 bits of its
 * SHA-256, so that any topic (any length, any character) makes a valid
 * channel name of at most 62 characters.
 */
export function channelOf(prefix: string, topic: string): string {
  return `${prefix}${createHash("sha256").update(topic).digest("hex").slice(0, 32)}`;
}

/** A complete event received through a channel. */
export interface Notified {
  seq: number;
  epoch: string;
  /** `<process>:<publish number>` of its publisher. */
  origin: string;
  /** The backplane gives it an id (`<epoch>-<seq>`) when it has none. */
  assigned: boolean;
  json: string;
  /** A gap marker (no event: the publisher's `maxPending` overflowed on this topic). */
  gap: boolean;
}

interface Part {
  seq: number;
  epoch: string;
  origin: string;
  assigned: boolean;
  part: number;
  parts: number;
  chunk: string;
}

function parsePart(payload: string): Part | undefined {
  const newline = payload.indexOf("\n");
  if (newline === -1) return undefined;
  const fields = payload.slice(0, newline).split(" ");
  if (fields.length !== 6) return undefined;
  const [seq, part, parts] = [Number(fields[0]), Number(fields[4]), Number(fields[5])];
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(part) || !Number.isSafeInteger(parts)) {
    return undefined;
  }
  return {
    seq,
    epoch: fields[1]!,
    origin: fields[2]!,
    assigned: fields[3] === "1",
    part,
    parts,
    chunk: payload.slice(newline + 1),
  };
}

/**
 * Puts events back together from their notifications. The chunks of one
 * event come from one transaction, which PostgreSQL delivers contiguously and
 * in order; anything else (a chunk out of place, a malformed payload) drops
 * the event being assembled.
 */
export class Reassembler {
  private current: Part | undefined;
  private chunks: string[] = [];

  /** Feeds one notification's payload; returns the event it completes, if any. */
  add(payload: string): Notified | undefined {
    const part = parsePart(payload);
    if (part === undefined) {
      this.reset();
      return undefined;
    }
    if (part.parts === 0 && part.part === 0) {
      this.reset();
      const { seq, epoch, origin, assigned } = part;
      return { seq, epoch, origin, assigned, json: "", gap: true };
    }
    if (part.part === 0) {
      this.current = part;
      this.chunks = [part.chunk];
    } else if (
      this.current?.seq === part.seq &&
      this.current.epoch === part.epoch &&
      this.chunks.length === part.part
    ) {
      this.chunks.push(part.chunk);
    } else {
      this.reset();
      return undefined;
    }
    if (this.chunks.length < part.parts) return undefined;
    const { seq, epoch, origin, assigned } = this.current!;
    const json = this.chunks.length === 1 ? this.chunks[0]! : this.chunks.join("");
    this.reset();
    return { seq, epoch, origin, assigned, json, gap: false };
  }

  /** Forgets a partial event (the connection was lost). */
  reset(): void {
    this.current = undefined;
    this.chunks = [];
  }
}
