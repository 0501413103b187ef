import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { rawClient, recordEvents, waitFor } from "@burrow/test-utils";
import { afterAll, afterEach, expect, it } from "vitest";
import { deleteKeys, describeRedis, REDIS_URL, uniquePrefix } from "./fixtures/harness.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const example = `${root}examples/notes.mjs`;
const prefix = uniquePrefix();
const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

it("notes.mjs appears in the README verbatim", () => {
  expect(readFileSync(`${root}README.md`, "utf8")).toContain(
    readFileSync(example, "utf8").trimEnd(),
  );
});

async function start(): Promise<{ child: ChildProcess; url: string; port: number }> {
  const child = spawn(process.execPath, [example], {
    env: { ...process.env, PORT: "0", REDIS_URL, REDIS_PREFIX: prefix },
    stdio: ["ignore", "pipe", "inherit"],
  });
  children.push(child);
  let out = "";
  child.stdout?.on("data", (chunk) => {
    out += chunk;
  });
  await waitFor(() => out.includes("listening on"), "the example to listen");
  const url = /http:\/\/[\d.]+:\d+/.exec(out)![0];
  return { child, url, port: Number(url.split(":")[2]) };
}

async function health(url: string): Promise<{ state: string; topics: number }> {
  return (await fetch(`${url}/health`)).json() as Promise<{ state: string; topics: number }>;
}

describeRedis("the README's two-process example", () => {
  afterAll(() => deleteKeys(prefix));

  it("a note posted to one process reaches a browser on the other; a reconnect to the first resumes; SIGTERM stops both", async () => {
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
    const back = rawClient(two.port, "/events", { headers: { "Last-Event-ID": note?.id ?? "" } });
    await waitFor(() => back.events.length >= 1, "the missed note");
    expect(back.events[0]?.data).toBe(`<li>missed (via :${two.port})</li>`);
    back.close();

    for (const { child } of [one, two]) child.kill("SIGTERM");
    const codes = await Promise.all(
      [one, two].map(async ({ child }) => (await once(child, "exit"))[0]),
    );
    expect(codes).toEqual([0, 0]);
  });
});
