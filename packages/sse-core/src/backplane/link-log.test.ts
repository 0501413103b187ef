// LinkLog: each down cause once until ready, in the same words for every
// engine; the reconnection and the gap lines.
import { describe, expect, it } from "vitest";
import { LinkLog } from "./link-log.js";

function setUp() {
  const lines: string[] = [];
  const logger = {
    error: (m: string) => lines.push(`error ${m}`),
    info: (m: string) => lines.push(`info ${m}`),
  };
  return { lines, log: new LinkLog(logger, "sse-x", "X", "x://host") };
}

describe("LinkLog", () => {
  it("says the engine is unreachable once until the link is ready, and the reconnection", () => {
    const { lines, log } = setUp();
    log.unreachable("connect ECONNREFUSED");
    log.unreachable("connect ECONNREFUSED");
    log.once("refused: auth", "refused");
    log.once("refused: auth", "refused");
    log.ready();
    log.reconnected(2);
    log.unreachable("gone");
    expect(lines).toEqual([
      "error sse-x: X at x://host is unreachable (connect ECONNREFUSED); events published on this process reach its own clients only, and resuming with Last-Event-ID is unavailable, until it is back",
      "error sse-x: refused",
      "info sse-x: reconnected to X at x://host; 2 event(s) published here meanwhile reached this process's clients only",
      "error sse-x: X at x://host is unreachable (gone); events published on this process reach its own clients only, and resuming with Last-Event-ID is unavailable, until it is back",
    ]);
  });

  it("says what a gap may have cost; logs nothing without a logger", () => {
    const { lines, log } = setUp();
    log.gap("X lost its data");
    expect(lines).toEqual([
      "error sse-x: events published on other processes while this one was cut from X at x://host could not be recovered (X lost its data); clients here may have missed some",
    ]);
    const silent = new LinkLog(undefined, "sse-x", "X", "x://host");
    silent.unreachable("gone");
    silent.reconnected(0);
  });
});
