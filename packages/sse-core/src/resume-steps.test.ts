import { rawClient, waitFor } from "@burrow/test-utils";
import { killServers, sharedFixture } from "@burrow/test-utils/fixture-process";
import { afterAll, describe, expect, it } from "vitest";

// A client leaving at each await of its resume on a backplane (its topic's
// SUBSCRIBE answered, the storm hold, the shared read, the barrier), beside
// a client resuming from the same id: the server lives (it runs as its own
// process, fixtures/resume-steps-server.mjs, where a crash shows), the
// leaving resume settles at once, the other gets its events once, and no
// subscription, resume or held read is left once both are gone.

const server = sharedFixture(new URL("./fixtures/resume-steps-server.mjs", import.meta.url));
afterAll(killServers);

interface Stats {
  clients: number;
  resumed: number;
  resumeMisses: number;
  resumes: number;
  reads: number;
  held: number;
  steps: { answered: number; read: number; barrier: number };
}

describe("a client leaving at each step of its resume on a backplane", () => {
  for (const step of ["answered", "hold", "read", "barrier"] as const) {
    it(`leaving at ${step}: the server lives, the resume beside it gets its events once, nothing is kept`, async () => {
      const app = await server();
      const port = Number(new URL(app.url).port);
      const post = async (path: string) =>
        (await fetch(`${app.url}${path}`, { method: "POST" })).json();
      const stats = () => app.json<Stats>("/stats");
      /** Waits until the stats satisfy `done`. */
      const until = (done: (s: Stats) => boolean, what: string) =>
        waitFor(async () => done(await stats()), what);
      const ids: string[] = [];
      for (const n of [1, 2, 3]) ids.push(await post(`/publish?data=${step}${n}`));
      const before = await stats();
      if (step === "hold") await post("/storm?on=1");
      const from = { headers: { "Last-Event-ID": ids[0]! } };
      const leaving = rawClient(port, "/events", from);
      const staying = rawClient(port, "/events", from);
      try {
        await waitFor(
          () => [leaving, staying].every((c) => c.comments.includes("resuming")),
          "both heads",
        );
        await until((s) => s.steps.answered === 2, "both SUBSCRIBEs awaited");
        if (step !== "answered") await post("/open");
        if (step === "hold") await until((s) => s.held === 1, "their read held by the storm");
        if (step === "read" || step === "barrier")
          await until((s) => s.steps.read === 1, "their read");
        if (step === "barrier") {
          await post("/open");
          await until((s) => s.steps.barrier === 1, "their barrier");
        }
        expect((await stats()).resumes).toBe(2);

        leaving.close();
        // Settled at once: no step opened since.
        await until((s) => s.clients === 1 && s.resumes === 1, "the leaving resume settled");
        await post("/storm?on=0");
        await waitFor(async () => {
          await post("/open");
          return staying.events.length >= 2;
        }, "the staying client's replay");
        await post(`/publish?data=${step}4`);
        await waitFor(() => staying.events.length >= 3, "the live event after it");
        expect(staying.events.map((e) => e.data)).toEqual([`${step}2`, `${step}3`, `${step}4`]);
      } finally {
        leaving.close();
        staying.close();
        await post("/storm?on=0");
        // Whatever failed, the next test finds nothing of this one waiting.
        await waitFor(async () => {
          await post("/open");
          const s = await stats();
          return s.clients === 0 && s.resumes === 0;
        }, "every client and resume gone");
      }
      const after = await stats();
      expect(after).toEqual({
        ...after,
        resumes: 0,
        reads: 0,
        held: 0,
        steps: { answered: 0, read: 0, barrier: 0 },
      });
      expect({
        resumed: after.resumed - before.resumed,
        misses: after.resumeMisses - before.resumeMisses,
      }).toEqual({ resumed: 1, misses: 0 });
      expect(await app.crash()).toBe("");
    });
  }
});
