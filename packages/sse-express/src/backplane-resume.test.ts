import { fileURLToPath } from "node:url";
import { rawClient, waitFor } from "@burrow/test-utils";
import { eventually, type FixtureProcess, startFixture } from "@burrow/test-utils/fixture-process";
import {
  DATABASE_URL,
  describePostgres,
  dropPrefix,
  uniquePrefix as tablePrefix,
} from "@burrow/test-utils/postgres";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "@burrow/test-utils/redis";
import { afterAll, beforeAll, expect, it } from "vitest";

// A client resuming with Last-Event-ID on a real backplane (Redis, PostgreSQL),
// through an express app whose router matches its stream twice, with more
// requests pipelined behind it on its keep-alive connection (a resume again,
// and a page): it gets its head and `:resuming` at once, then its replay read
// from the backplane exactly once, then live events; what is pipelined
// behind it is never subscribed and breaks nothing (fixtures/backplane-server.mjs).

const fixture = new URL("./fixtures/backplane-server.mjs", import.meta.url);
const backplaneOf = (name: string) =>
  fileURLToPath(new URL(`../../${name}/src/fixtures/backplane.mjs`, import.meta.url));

interface Stats {
  clients: number;
  resumed: number;
  resumeMisses: number;
  backplane: { state: string; topics: number; replays: number; errors: number };
}

const engines = [
  {
    name: "Redis",
    describe: describeRedis,
    start: (prefix: string, env: Record<string, string>) => ({
      BACKPLANE_MODULE: backplaneOf("sse-redis"),
      REDIS_URL,
      PREFIX: prefix,
      NAME: "burrow-sse-express-test",
      ...env,
    }),
    prefix: uniquePrefix,
    drop: (prefix: string) => deleteKeys(prefix),
  },
  {
    name: "PostgreSQL",
    describe: describePostgres,
    start: (prefix: string, env: Record<string, string>) => ({
      BACKPLANE_MODULE: backplaneOf("sse-postgres"),
      DATABASE_URL,
      LISTEN_URL: DATABASE_URL,
      PREFIX: prefix,
      ...env,
    }),
    prefix: tablePrefix,
    drop: (prefix: string) => dropPrefix(prefix),
  },
];

for (const engine of engines) {
  for (const [version, express] of [
    ["express 5", "express"],
    ["express 4", "express4"],
  ] as const) {
    engine.describe(
      `${engine.name}, ${version}: a resume pipelined on keep-alive, its route matched twice`,
      () => {
        const prefix = engine.prefix();
        let app: FixtureProcess;
        let port: number;

        beforeAll(async () => {
          app = await startFixture(fixture, engine.start(prefix, { EXPRESS: express }));
          port = Number(new URL(app.url).port);
        });

        afterAll(async () => {
          app?.child.kill("SIGKILL");
          await engine.drop(prefix);
        });

        for (const route of ["/twice", "/used"]) {
          it(`${route}: the replay once, then live events; the requests behind it subscribe nothing and crash nothing`, async () => {
            app.mark();
            const watcher = rawClient(port, "/good");
            const stats = () => app.json<Stats>("/stats");
            const publish = (data: string) =>
              fetch(`${app.url}/publish?data=${data}`, { method: "POST" });
            let resumer: ReturnType<typeof rawClient> | undefined;
            try {
              await watcher.ready;
              await waitFor(async () => {
                const { backplane } = await stats();
                return backplane.state === "ready" && backplane.topics >= 1;
              }, "the backplane to listen to news");
              const stem = route.slice(1);
              for (const n of [1, 2, 3]) await publish(`${stem}${n}`);
              await waitFor(() => watcher.events.length === 3, "the three events on the watcher");
              const ids = watcher.events.map((event) => event.id);
              const before = await stats();

              resumer = rawClient(port, route, {
                headers: { "Last-Event-ID": ids[0]! },
                pipelined: [route, "/ok"],
              });
              await resumer.ready;
              expect(resumer.head).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
              await waitFor(() => resumer!.events.length >= 2, "the replay");
              await publish(`${stem}4`);
              await waitFor(() => watcher.events.length === 4, "the live event on the watcher");
              await waitFor(() => resumer!.events.length >= 3, "the live event on the resume");
              // Anything sent twice would have come by now, before the watcher's fourth event.
              const whileOpen = await stats();
              expect(resumer.comments).toContain("resuming");
              expect(resumer.events.map((event) => `${event.data} ${event.id}`)).toEqual(
                watcher.events.slice(1).map((event) => `${event.data} ${event.id}`),
              );
              expect(resumer.finished).toBe(false);
              expect({
                clients: whileOpen.clients,
                resumed: whileOpen.resumed - before.resumed,
                misses: whileOpen.resumeMisses - before.resumeMisses,
              }).toEqual({ clients: 2, resumed: 1, misses: 0 });
            } finally {
              watcher.close();
              resumer?.close();
            }
            const after = await eventually(
              stats,
              (s) => s.clients === 0 && s.backplane.replays === 0,
            );
            expect({ clients: after.clients, replays: after.backplane.replays }).toEqual({
              clients: 0,
              replays: 0,
            });
            expect(await app.crash()).toBe("");
            // Each of the two stream requests ran the handler twice: the second run was refused.
            const taken = () => app.stderr.split("this response is already taken").length - 1;
            expect(
              await eventually(
                async () => taken(),
                (n) => n >= 2,
              ),
            ).toBe(2);
            expect(app.stderr).not.toContain("[error]");
          });
        }
      },
    );
  }
}
