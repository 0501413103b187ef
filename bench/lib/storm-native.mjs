// The storm's native load generator (BENCH_STORM_CLIENT=native): the clients
// of lib/storm-clients.mjs, run by lib/storm-gen.c on one epoll loop, so that
// reading thousands of replays neither takes the server's CPU nor delays the
// generator's own reading of a head (a JavaScript generator's event loop
// stalls while it parses replays, and each head it reads late looks like a
// late server). Built once per source with the system's C compiler (`cc`,
// else `gcc`) into the system's temporary folder.

import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, renameSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { topicName } from "./storm-seed.mjs";

const SOURCE = join(dirname(fileURLToPath(import.meta.url)), "storm-gen.c");

/** The generator's binary, compiled now unless this source's already is; a clear error without a compiler. */
export function nativeGenerator() {
  const source = readFileSync(SOURCE);
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 12);
  const binary = join(os.tmpdir(), `burrow-storm-gen-${hash}`);
  if (existsSync(binary)) return binary;
  const partial = `${binary}.${process.pid}`;
  for (const cc of ["cc", "gcc"]) {
    try {
      execFileSync(cc, ["-O2", "-o", partial, SOURCE], { stdio: ["ignore", "ignore", "pipe"] });
      renameSync(partial, binary);
      return binary;
    } catch (err) {
      if (err.code !== "ENOENT")
        throw new Error(`bench: compiling ${SOURCE}: ${err.stderr ?? err}`);
    }
  }
  throw new Error(
    "bench: BENCH_STORM_CLIENT=native needs a C compiler (cc or gcc; apt-get install gcc)",
  );
}

/** The input of lib/storm-gen.c for this generator's clients (see its header). */
function input(opts, clients) {
  const { port, ids, perTopic, topics, quietMs, timeoutMs, startAt } = opts;
  const lines = [[port, clients.length, perTopic, topics, quietMs, timeoutMs, startAt].join(" ")];
  for (let t = 0; t < topics; t++) lines.push(`${topicName(t)} ${ids[t].join(" ")}`);
  for (const c of clients) lines.push(`${c.t} ${c.k} ${c.due}`);
  return `${lines.join("\n")}\n`;
}

let running;

/**
 * This generator's part of the storm, as lib/storm-clients.mjs's `storm`
 * answers it (the same clients, times and checks), read by the native
 * generator; its connections stay open until {@link closeNative}.
 */
export async function nativeStorm(opts) {
  const { n, gen, generators, topics, spread, spreadMs } = opts;
  const clients = [];
  for (let i = gen; i < n; i += generators)
    clients.push({ t: i % topics, k: Math.floor(i / topics) % spread, due: (i / n) * spreadMs });
  const child = spawn(nativeGenerator(), [], { stdio: ["pipe", "pipe", "inherit"] });
  running = child;
  child.stdin.write(input(opts, clients));
  let out = "";
  child.stdout.setEncoding("utf8");
  const lines = await new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => reject(new Error(`bench: the native generator exited (${code})`)));
    child.stdout.on("data", (text) => {
      out += text;
      if (/^END .*\n/m.test(out)) resolve(out.trimEnd().split("\n"));
    });
  });
  const end = lines.pop().split(" ");
  const [tOpened, tEnd, tLast, cpuMs, p99, max] = end.slice(1, 7).map(Number);
  const words = (text) => text.replaceAll("_", " ");
  return {
    tOpened,
    tEnd,
    tLast,
    ended: words(end[7]),
    loopDelayMs: { p99, max },
    cpuMs,
    clients: lines.map((line) => {
      const f = line.split(" ");
      const [startAt, connectAt, headAt, doneAt] = f.slice(0, 4).map(Number);
      const [status, expected, got, duplicated, reordered, wrongId, foreign] = f
        .slice(4, 11)
        .map(Number);
      return {
        startAt,
        connectAt,
        headAt,
        doneAt,
        status,
        failure: f[11] === "-" ? undefined : words(f[11]),
        expected,
        got,
        duplicated,
        reordered,
        wrongId,
        foreign,
      };
    }),
  };
}

/** Closes the native generator's connections (it exits). */
export function closeNative() {
  running?.removeAllListeners("exit");
  running?.stdin.end();
  running = undefined;
}
