// A minimal client side of an SSE response read off a raw socket, for the
// storm's load generator (no http module, no EventSource: one object per
// connection and a few string operations per chunk). It reads the HTTP/1.1
// response head, undoes chunked transfer coding when the head says so, and
// splits the body into events (id, event, data; comments and retry ignored)
// as the WHATWG EventSource parser does for one stream.

import { StringDecoder } from "node:string_decoder";

const HEAD_END = "\r\n\r\n";

/**
 * One response: feed it every chunk the socket gives (`push`); it calls
 * `onHead(status, headers)` once when the head is complete (header names in
 * lower case), then `onEvent({ id, event, data })` for each event (`id` is
 * the stream's last event id at dispatch, as a browser would send it back).
 * `error` holds what made it stop reading (a malformed head or chunk size).
 */
export class RawSseResponse {
  constructor({ onHead = () => {}, onEvent = () => {} } = {}) {
    this.onHead = onHead;
    this.onEvent = onEvent;
    this.head = "";
    this.status = 0;
    this.chunked = false;
    this.headDone = false;
    /** Bytes still to read of the current chunk, or -1 while reading a chunk-size line. */
    this.chunkLeft = -1;
    this.sizeLine = "";
    /** CR LF after a chunk's data still to skip. */
    this.skip = 0;
    this.ended = false;
    this.error = undefined;
    this.decoder = new StringDecoder("utf8");
    this.text = "";
    this.lastId = "";
    this.type = "";
    /** The event's data lines so far, joined by LF; undefined before its first. */
    this.data = undefined;
  }

  /** Reads one chunk of the socket's bytes. */
  push(chunk) {
    if (this.error !== undefined || this.ended) return;
    let body = chunk;
    if (!this.headDone) {
      this.head += chunk.toString("latin1");
      const end = this.head.indexOf(HEAD_END);
      if (end === -1) return;
      const rest = this.head.length - end - HEAD_END.length;
      body = chunk.subarray(chunk.length - rest);
      this.readHead(this.head.slice(0, end));
      if (this.error !== undefined) return;
    }
    if (this.chunked) this.unchunk(body);
    else this.feed(body);
  }

  readHead(text) {
    this.headDone = true;
    const [statusLine, ...lines] = text.split("\r\n");
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (match === null) {
      this.error = `not an HTTP/1.x status line: ${JSON.stringify(statusLine.slice(0, 60))}`;
      return;
    }
    this.status = Number(match[1]);
    const headers = {};
    for (const line of lines) {
      const colon = line.indexOf(":");
      if (colon > 0)
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    this.chunked = /\bchunked\b/i.test(headers["transfer-encoding"] ?? "");
    this.onHead(this.status, headers);
  }

  /** Undoes chunked transfer coding: `<hex size>[;ext]\r\n<data>\r\n`, until a 0-size chunk. */
  unchunk(buf) {
    let at = 0;
    while (at < buf.length && !this.ended && this.error === undefined) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - at);
        this.skip -= n;
        at += n;
      } else if (this.chunkLeft > 0) {
        const n = Math.min(this.chunkLeft, buf.length - at);
        this.feed(buf.subarray(at, at + n));
        this.chunkLeft -= n;
        at += n;
        if (this.chunkLeft === 0) {
          this.chunkLeft = -1;
          this.skip = 2;
        }
      } else {
        const nl = buf.indexOf(10, at);
        if (nl === -1) {
          this.sizeLine += buf.toString("latin1", at);
          return;
        }
        this.sizeLine += buf.toString("latin1", at, nl);
        at = nl + 1;
        const size = Number.parseInt(this.sizeLine, 16);
        this.sizeLine = "";
        if (!Number.isFinite(size)) this.error = "malformed chunk size";
        else if (size === 0) this.ended = true;
        else this.chunkLeft = size;
      }
    }
  }

  /** Body text: split into lines (CR LF, LF or CR), each handled as the EventSource parser does. */
  feed(buf) {
    this.text += this.decoder.write(buf);
    const { text } = this;
    let start = 0;
    // LF-only lines (what servers send) through the native indexOf; a CR anywhere: char by char.
    if (!text.includes("\r")) {
      for (let end = text.indexOf("\n"); end !== -1; end = text.indexOf("\n", start)) {
        this.line(text.slice(start, end));
        start = end + 1;
      }
      this.text = text.slice(start);
      return;
    }
    for (;;) {
      let end = -1;
      let next = -1;
      for (let i = start; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 10) {
          end = i;
          next = i + 1;
          break;
        }
        if (c === 13) {
          // A CR at the very end may be the first half of CR LF: wait for more.
          if (i + 1 === text.length) break;
          end = i;
          next = text.charCodeAt(i + 1) === 10 ? i + 2 : i + 1;
          break;
        }
      }
      if (end === -1) break;
      this.line(text.slice(start, end));
      start = next;
    }
    this.text = text.slice(start);
  }

  line(line) {
    if (line === "") {
      if (this.data !== undefined)
        this.onEvent({ id: this.lastId, event: this.type || "message", data: this.data });
      this.data = undefined;
      this.type = "";
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ":" a comment
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === "data") this.data = this.data === undefined ? value : `${this.data}\n${value}`;
    else if (field === "event") this.type = value;
    else if (field === "id" && !value.includes("\0")) this.lastId = value;
  }
}

/** The request a resuming EventSource sends, as bytes for `socket.write`. */
export function resumeRequest(port, path, lastEventId) {
  const id = lastEventId === undefined ? "" : `Last-Event-ID: ${lastEventId}\r\n`;
  return `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n${id}\r\n`;
}
