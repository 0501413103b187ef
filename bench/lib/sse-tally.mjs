// What one connection received, event by event: for the converge scenario's
// stuck clients once they read again. The stream is the raw bytes of the
// socket (HTTP head and chunk framing included), so an event is counted from
// its `event:` line to its blank line; blocks without one (comments,
// keepalives, retry) are skipped.

const EVENT_LINE = /(?:^|\n)event: ([^\r\n]*)\n/;
const SEQ = /\ndata: s=(\d+) /;

/**
 * Tallies the events of one stream by kind: `fill:*` events (what filled
 * the connection before it blocked), snapshots (data starting with
 * `<hx-partial`), and the other events by type, each with their bytes; and
 * the sequence number (`s=<n>` in the data) of the last event of `lastOf`.
 */
export class SseTally {
  constructor(lastOf) {
    this.lastOf = lastOf;
    this.rest = "";
    this.fillBytes = 0;
    this.events = {};
    this.eventBytes = 0;
    this.snapshots = {};
    this.snapshotBytes = 0;
    this.last = -1;
  }

  add(chunk) {
    let text = this.rest + chunk.toString("latin1");
    let end = text.indexOf("\n\n");
    while (end !== -1) {
      this.block(text.slice(0, end + 1));
      text = text.slice(end + 2);
      end = text.indexOf("\n\n");
    }
    this.rest = text;
  }

  /** One event's lines (without the blank line that ends it). */
  block(lines) {
    const match = EVENT_LINE.exec(lines);
    if (match === null) return;
    const type = match[1];
    const start = match.index + (match[0].startsWith("\n") ? 1 : 0);
    // From its `event:` line to its blank line (the "\n" that `lines` lacks).
    const bytes = lines.length - start + 1;
    if (type.startsWith("fill:")) {
      this.fillBytes += bytes;
    } else if (lines.includes("\ndata: <hx-partial")) {
      this.snapshots[type] = (this.snapshots[type] ?? 0) + 1;
      this.snapshotBytes += bytes;
    } else {
      this.events[type] = (this.events[type] ?? 0) + 1;
      this.eventBytes += bytes;
      const seq = type === this.lastOf ? SEQ.exec(lines) : null;
      if (seq !== null) this.last = Number(seq[1]);
    }
  }

  summary() {
    const { fillBytes, events, eventBytes, snapshots, snapshotBytes, last } = this;
    return { fillBytes, events, eventBytes, snapshots, snapshotBytes, last };
  }
}
