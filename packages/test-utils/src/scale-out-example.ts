/**
 * Checks a backplane package's README against its `examples/notes.mjs`: the
 * README shows the example verbatim, and two processes of it, run as a user
 * would run them, share one topic space: a note posted to one reaches a
 * browser on the other, a reconnect with `Last-Event-ID` resumes, a named
 * reader on one is listed by `/members` on the other (presence) until it
 * leaves, and both stop on SIGTERM.
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, expect, it } from "vitest";
import { rawClient, recordEvents } from "./clients.js";
import { startExample } from "./quick-start-suite.js";
import { waitFor } from "./waits.js";

/** How a backplane package's example is run. */
export interface ScaleOutExample {
  /** The package's root, as a file URL (`new URL("..", import.meta.url)`). */
  root: URL;
  /** What the example reads from its environment (its engine's URL, a prefix of its own). */
  env: Record<string, string>;
  /** `describe`, skipped without the engine (e.g. `describeRedis`). */
  describe(name: string, body: () => void): void;
  /** Deletes what the example stored (its prefix's keys or tables). */
  cleanup(): Promise<void>;
}

/** Runs the two-process example checks for a backplane package. */
export function describeScaleOutExample(example: ScaleOutExample): void {
  const dir = fileURLToPath(example.root);
  const file = `${dir}examples/notes.mjs`;
  const children: ChildProcess[] = [];

  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
  });

  it("notes.mjs appears in the README verbatim", () => {
    expect(readFileSync(`${dir}README.md`, "utf8")).toContain(readFileSync(file, "utf8").trimEnd());
  });

  async function start(): Promise<{ child: ChildProcess; url: string; port: number }> {
    const { child, url } = await startExample(file, example.env);
    children.push(child);
    return { child, url, port: Number(url.split(":")[2]) };
  }

  async function health(url: string): Promise<{ state: string; topics: number }> {
    return (await fetch(`${url}/health`)).json() as Promise<{ state: string; topics: number }>;
  }

  example.describe("the README's two-process example", () => {
    afterAll(() => example.cleanup());

    it("a note posted to one process reaches a browser on the other; a reconnect to the first resumes; a reader is listed on both while connected; SIGTERM stops both", async () => {
      const [one, two] = await Promise.all([start(), start()]);
      const client = recordEvents(`${one.url}/events`, ["notes"]);
      await client.opened;
      await waitFor(async () => (await health(one.url)).topics === 1, "one to listen to notes");
      await waitFor(async () => (await health(two.url)).state === "ready", "two to be ready");
      const posted = await fetch(`${two.url}/notes`, { method: "POST", body: "<b>hi</b>" });
      expect(posted.status).toBe(204);
      const [note] = await client.waitForCount(1);
      expect(note?.data).toBe(`<li>&#60;b&#62;hi&#60;/b&#62; (via :${two.port})</li>`);
      client.close();

      await fetch(`${two.url}/notes`, { method: "POST", body: "missed" });
      const back = rawClient(two.port, "/events", {
        headers: { "Last-Event-ID": note?.id ?? "" },
      });
      await waitFor(() => back.events.length >= 1, "the missed note");
      expect(back.events[0]?.data).toBe(`<li>missed (via :${two.port})</li>`);
      back.close();

      // Presence: a reader named on one process is listed on the other, and leaves with its stream.
      const members = async (url: string) =>
        (await (await fetch(`${url}/members`)).json()) as { id: string; connections: number }[];
      const ann = rawClient(one.port, "/events?name=ann");
      await ann.ready;
      await waitFor(
        async () => JSON.stringify(await members(two.url)) === '[{"id":"ann","connections":1}]',
        "ann listed on the other process",
      );
      ann.close();
      await waitFor(
        async () => (await members(two.url)).length === 0 && (await members(one.url)).length === 0,
        "ann gone on both processes",
      );

      for (const { child } of [one, two]) child.kill("SIGTERM");
      const codes = await Promise.all(
        [one, two].map(async ({ child }) => (await once(child, "exit"))[0]),
      );
      expect(codes).toEqual([0, 0]);
    });
  });
}
